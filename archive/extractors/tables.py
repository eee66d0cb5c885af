"""Rows of a table (a spreadsheet sheet, a database table) as pages: each row one line naming its
table, row and columns ("Budget, row 14: A: Health | C: 4.2"), pages of up to PAGE_ROWS rows of
one table with `meta["sheet"]` and `meta["rows"]`, so a hit says where it is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from ..models import PageResult

PAGE_ROWS = 100
PAGE_CHARS = 8000
MAX_CELL_CHARS = 5000

Row = tuple[int, list[tuple[str, Any]]]  # 1-based row number, (column label, value) of non-empty cells


def cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"({len(value)} bytes of binary data)"
    return " ".join(str(value).split())[:MAX_CELL_CHARS]


class TablePages:
    """Collects the rows of one table after another into pages numbered from 1."""

    def __init__(self) -> None:
        self.pages: list[PageResult] = []
        self.cells = 0

    def add_table(self, table: str, rows: Iterable[Row], max_cells: int) -> int:
        """Add a table's rows; returns how many rows it had (stops at `max_cells` in all)."""
        lines: list[str] = []
        size = first = last = count = 0
        for number, filled in rows:
            if self.cells >= max_cells:
                break
            self.cells += len(filled)
            count += 1
            line = f"{table}, row {number}: " + " | ".join(f"{c}: {cell_text(v)}" for c, v in filled)
            if lines and (len(lines) >= PAGE_ROWS or size + len(line) > PAGE_CHARS):
                self._flush(table, first, last, lines)
                lines, size = [], 0
            if not lines:
                first = number
            lines.append(line)
            size += len(line) + 1
            last = number
        if lines:
            self._flush(table, first, last, lines)
        return count

    def _flush(self, table: str, first: int, last: int, lines: list[str]) -> None:
        self.pages.append(
            PageResult(
                number=len(self.pages) + 1,
                text="\n".join(lines),
                meta={"sheet": table, "rows": [first, last]},
            )
        )
