"""A Dask preload for tests (`foi worker --preload tests/cluster_crash_preload.py`): rendering a
page of a PDF that carries the bytes of $FOI_TEST_CRASH_MARK kills the worker process outright,
every time, as a page that crashes pdfium or Tesseract would. The coordinator names
`archive.cluster.render_page` by reference, so the worker runs this one. Never imported by the
coordinator (it would patch its own module)."""

from __future__ import annotations

import os
from typing import Any

import archive.cluster

CRASH_MARK = os.environ.get("FOI_TEST_CRASH_MARK", "").encode()
# Dask may run a preload file more than once in a process: the original is kept the first time.
_render_page = getattr(archive.cluster.render_page, "unpatched", archive.cluster.render_page)


def _render_or_die(original: bytes, index: int, password: str | None) -> Any:
    if CRASH_MARK and CRASH_MARK in original:
        os._exit(70)
    return _render_page(original, index, password)


_render_or_die.unpatched = _render_page  # type: ignore[attr-defined]
archive.cluster.render_page = _render_or_die  # type: ignore[assignment]


def dask_setup(worker: Any) -> None:
    """Nothing more to set up (Dask calls it on every preload)."""
