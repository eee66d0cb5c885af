"""Spreadsheets (.xlsx .xls .ods) read cell by cell: a PDF of a large sheet is unreadable, so each
row becomes a line that names its sheet, row and columns ("Budget, row 14: A: Health | C: 4.2"),
and pages are runs of rows of one sheet (`meta["sheet"]`, `meta["rows"]`), so a hit says where
it is. OpenDocument sheets are turned into .xlsx by LibreOffice first; .xls is read by xlrd.
Pictures large enough to hold text become child images, OCR'd like any image (an .xls is turned
into .xlsx for them only when it holds a picture at all)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...models import Extraction, PageResult, Source, StageError
from .. import ExtractContext
from ..tables import Row, TablePages
from .convert import converter
from .detect import ODS, SPREADSHEETS, XLS
from .documents import opened, package_pictures
from .names import kind_name
from .pictures import ole_holds_pictures
from .properties import document_date, properties_text, read_properties

MAX_CELLS = 5_000_000  # a workbook's cells read; the rest noted


def column_letter(index: int) -> str:
    """Spreadsheet column name of a 1-based index (1 -> A, 27 -> AA)."""
    name = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def _openpyxl_sheets(path: Path) -> Iterator[tuple[str, Iterator[Row]]]:
    import openpyxl

    # A file object: openpyxl refuses a path whose name does not end in .xlsx (a stored original's).
    fh = open(path, "rb")  # noqa: SIM115 - closed with the workbook
    wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    try:
        for ws in wb.worksheets:

            def rows(ws: Any = ws) -> Iterator[Row]:
                for cells in ws.iter_rows():
                    filled = [
                        (column_letter(c.column), c.value)
                        for c in cells
                        if c.value is not None and str(c.value).strip() and hasattr(c, "column")
                    ]
                    if filled:
                        yield cells[0].row, filled

            yield ws.title, rows()
    finally:
        wb.close()
        fh.close()


def _xlrd_sheets(path: Path) -> Iterator[tuple[str, Iterator[Row]]]:
    import xlrd

    book = xlrd.open_workbook(str(path), on_demand=True)
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)

            def rows(sheet: Any = sheet) -> Iterator[Row]:
                for r in range(sheet.nrows):
                    filled = []
                    for c, cell in enumerate(sheet.row(r)):
                        value = cell.value
                        if cell.ctype == xlrd.XL_CELL_DATE:
                            with contextlib.suppress(Exception):  # a date out of Excel's range
                                value = xlrd.xldate.xldate_as_datetime(value, book.datemode)
                        elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                            continue
                        elif cell.ctype == xlrd.XL_CELL_ERROR:
                            value = xlrd.error_text_from_code.get(value, "#ERR")
                        if str(value).strip():
                            filled.append((column_letter(c + 1), value))
                    if filled:
                        yield r + 1, filled

            yield sheet.name, rows()
            book.unload_sheet(index)
    finally:
        book.release_resources()


def read_rows(path: Path, mime: str) -> Iterator[tuple[str, Iterator[Row]]]:
    return _xlrd_sheets(path) if mime == XLS else _openpyxl_sheets(path)


class SpreadsheetExtractor:
    name = "spreadsheet"

    def score(self, source: Source) -> int | None:
        return 110 if source.mime in SPREADSHEETS else None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        path, mime = opened(source, ctx)
        what = kind_name(mime)
        props = read_properties(path, mime)
        readable, kind = path, mime
        if mime == ODS:
            readable = converter().convert(path, Path(ctx.workdir) / "office", "xlsx", what)
            kind = "xlsx"
        tables = TablePages()
        sheets: list[dict[str, Any]] = []
        warnings: list[str] = []
        try:
            for sheet, rows in read_rows(readable, kind):
                sheets.append({"name": sheet, "rows": tables.add_table(sheet, rows, MAX_CELLS)})
                if tables.cells >= MAX_CELLS:
                    warnings.append(f"more than {MAX_CELLS} cells: the rest of the workbook is not read")
                    break
        except StageError:
            raise
        except Exception as exc:
            raise StageError("extract", f"{what}: damaged workbook ({type(exc).__name__})") from exc
        pages = tables.pages
        text = properties_text(props)
        if not pages:
            pages = [PageResult(number=1, text="")]
        if text:
            pages[0].text = (pages[0].text.rstrip() + "\n\n" + text).strip()
            pages[0].meta["properties"] = True
        metadata: dict[str, Any] = {"office": {"type": what, **props}, "sheets": sheets}
        if path != source.path:
            metadata["office"]["decrypted"] = True
        date = document_date(props)
        if date:
            metadata["date"] = date
        pictures_from = readable
        if mime == XLS and ole_holds_pictures(path):
            pictures_from = converter().convert(path, Path(ctx.workdir) / "office", "xlsx", what)
        children, more = package_pictures(pictures_from, Path(ctx.workdir) / "images")
        title = str(props.get("title") or "").strip() or source.filename
        return Extraction(
            kind="spreadsheet",
            title=title,
            pages=pages,
            metadata=metadata,
            children=children,
            warnings=warnings + more,
        )
