"""Access (.mdb/.accdb, through mdbtools) and dBase (.dbf, dbfread) tables as rows, like
spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from ...models import Extraction, PageResult, Source, StageError
from .. import ExtractContext
from ..tables import Row, TablePages
from .common import run_tool

MAX_CELLS = 5_000_000


class AccessExtractor:
    name = "access"

    def score(self, source: Source) -> int | None:
        if source.mime == "application/x-msaccess" or source.extension in {"mdb", "accdb"}:
            return 80
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        what = "Access database"
        names = [
            t
            for t in run_tool(["mdb-tables", "-1", str(source.path)], what)
            .decode("utf-8", "replace")
            .splitlines()
            if t.strip()
        ]
        tables = TablePages()
        listed = []
        for table in names:
            out = run_tool(["mdb-export", "-D", "%Y-%m-%d %H:%M:%S", str(source.path), table], what)
            rows = csv.reader(io.StringIO(out.decode("utf-8", "replace")))
            header = next(rows, [])
            listed.append(
                {"name": table, "rows": tables.add_table(table, _named_rows(header, rows), MAX_CELLS)}
            )
        return Extraction(
            kind="database",
            title=source.filename,
            pages=tables.pages or [PageResult(number=1, text="")],
            metadata={"tables": listed},
        )


def _named_rows(header: list[str], rows: Iterator[list[str]]) -> Iterator[Row]:
    for number, row in enumerate(rows, start=1):
        filled = [
            (header[i] if i < len(header) else f"column {i + 1}", v) for i, v in enumerate(row) if v.strip()
        ]
        if filled:
            yield number, filled


class DbaseExtractor:
    name = "dbase"

    def score(self, source: Source) -> int | None:
        if source.extension == "dbf" or source.mime in {"application/dbf", "application/x-dbf"}:
            return 80
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        import dbfread

        try:
            table = dbfread.DBF(
                str(source.path), load=False, char_decode_errors="replace", ignore_missing_memofile=True
            )
            fields = list(table.field_names)
            tables = TablePages()

            def rows() -> Iterator[Row]:
                for number, record in enumerate(table, start=1):
                    filled = [(k, v) for k, v in record.items() if v is not None and str(v).strip()]
                    if filled:
                        yield number, filled

            count = tables.add_table(Path(source.filename).stem or "table", rows(), MAX_CELLS)
        except Exception as exc:
            raise StageError("extract", f"dBase table: damaged ({type(exc).__name__})") from exc
        return Extraction(
            kind="database",
            title=source.filename,
            pages=tables.pages or [PageResult(number=1, text="")],
            metadata={"tables": [{"name": Path(source.filename).stem, "rows": count, "fields": fields}]},
        )
