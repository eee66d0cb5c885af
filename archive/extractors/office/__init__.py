"""Office files: word processor files and decks read page by page from a LibreOffice PDF
(`documents`), spreadsheets cell by cell (`sheets`). Told by content (`detect`) before any zip or
OLE2 handling; LibreOffice lives behind `convert`; properties, comments and tracked changes in
`properties`; passwords in `encryption`."""

from __future__ import annotations

from .. import register
from .detect import office_mime
from .documents import OfficeDocumentExtractor
from .sheets import SpreadsheetExtractor

__all__ = ["office_mime"]

register(OfficeDocumentExtractor())
register(SpreadsheetExtractor())
