"""Helpers the data-file extractors share: a text extraction cut into pages, and running one of
djvulibre's or mdbtools' programs with a time limit."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from ...models import Extraction, PageResult, Source, StageError
from ..text import split_pages

TOOL_TIMEOUT = 600.0


def text_extraction(
    kind: str, source: Source, text: str, metadata: dict[str, Any] | None = None
) -> Extraction:
    pages = [PageResult(number=i + 1, text=t) for i, t in enumerate(split_pages(text))]
    return Extraction(kind=kind, title=source.filename, pages=pages, metadata=metadata or {})


def run_tool(command: list[str], what: str, timeout: float = TOOL_TIMEOUT) -> bytes:
    """Output of one of djvulibre's or mdbtools' programs; a failure names the file kind only."""
    if shutil.which(command[0]) is None:
        raise StageError("extract", f"{what}: {command[0]} is not installed")
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise StageError("extract", f"{what}: {command[0]} took longer than {timeout:g} s") from None
    if done.returncode != 0:
        raise StageError("extract", f"{what}: damaged or unsupported ({command[0]} failed)")
    return done.stdout
