"""Budgets for the whole tree of documents that one top-level file expands to.

A container's limits (members per zip, bytes per member) do not bound a tree of containers: a
37 KB zip of six levels of sixteen copies is 16.7 million documents, each zip within every
per-zip limit. So every top-level file gets one `TreeBudget` that all documents under it draw
on: documents, bytes written for members (attachments, archive members), nesting depth and
time. When one runs out, the members not yet read are not read; the container they belong to
is marked failed with the reason (and the top-level document notes it), and the batch goes on.

Settings (environment, or `Archive(config={"tree_limits": {...}})` with the same names in
lower case without the prefix):

    FOI_TREE_MAX_DOCUMENTS   documents in one tree, the top-level one included   50,000
    FOI_TREE_MAX_BYTES       bytes of members written for one tree               2 GiB
    FOI_TREE_MAX_DEPTH       containers inside containers                        8
    FOI_TREE_MAX_SECONDS     time spent on one tree before its remaining         7200
                             members are left unread
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_DOCUMENTS = 50_000
DEFAULT_DEPTH = 8
DEFAULT_SECONDS = 7200.0


# Bytes written for one top-level file and everything unpacked from it (the zip extractor's own
# default when it runs outside an ingest).
MAX_TOTAL_UNCOMPRESSED = 2 * 1024 * 1024 * 1024


def _default_bytes() -> int:
    return MAX_TOTAL_UNCOMPRESSED


@dataclass(frozen=True)
class TreeLimits:
    documents: int = DEFAULT_DOCUMENTS
    bytes: int = field(default_factory=_default_bytes)
    depth: int = DEFAULT_DEPTH
    seconds: float = DEFAULT_SECONDS

    @classmethod
    def from_settings(cls, config: Mapping[str, Any] | None = None) -> TreeLimits:
        """The limits from `config` (the archive's "tree_limits"), else the environment, else
        the defaults. A value that is not a positive number is an error, said at once."""
        given = dict(config or {})
        values: dict[str, Any] = {}
        for name, kind in (("documents", int), ("bytes", int), ("depth", int), ("seconds", float)):
            raw = given.get(name, os.environ.get(f"FOI_TREE_MAX_{name.upper()}", ""))
            if raw in ("", None):
                continue
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                raise ValueError(f"FOI_TREE_MAX_{name.upper()} must be a number, not {raw!r}") from None
            if value <= 0:
                raise ValueError(f"FOI_TREE_MAX_{name.upper()} must be positive, not {raw!r}")
            values[name] = value
        return cls(**values)


def positive_setting(name: str, default: float) -> float:
    """A positive number from the environment variable `name`, else `default`; anything else is
    an error said at once (a setting mistyped is not silently ignored)."""
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {raw!r}")
    return value


class TreeBudget:
    """What one top-level file and everything inside it may still use."""

    def __init__(self, limits: TreeLimits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.documents = 0  # documents begun in the tree
        self.bytes = 0  # bytes of members written for the tree
        self._clock = clock
        self.started = clock()
        self.cuts: list[int] = []  # containers of the tree whose members a limit left unread

    @property
    def documents_left(self) -> int:
        return max(0, self.limits.documents - self.documents)

    @property
    def bytes_left(self) -> int:
        return max(0, self.limits.bytes - self.bytes)

    def elapsed(self) -> float:
        return self._clock() - self.started

    def over_time(self) -> str | None:
        if self.elapsed() > self.limits.seconds:
            return (
                f"time limit of {self.limits.seconds:g} s per top-level file reached (FOI_TREE_MAX_SECONDS)"
            )
        return None

    def exhausted(self) -> str | None:
        """Why no further document of the tree may be read, or None while it may."""
        if self.documents >= self.limits.documents:
            return f"limit of {self.limits.documents} documents per top-level file reached (FOI_TREE_MAX_DOCUMENTS)"
        if self.bytes > self.limits.bytes:
            return f"limit of {self.limits.bytes} bytes per top-level file reached (FOI_TREE_MAX_BYTES)"
        return self.over_time()
