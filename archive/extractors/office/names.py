"""How a reader calls each office type, for titles of failures and notes."""

from __future__ import annotations

from .detect import DOC, DOCX, ENCRYPTED_OOXML, ODG, ODP, ODS, ODT, PPT, PPTX, RTF, XLS, XLSX

KIND_NAMES = {
    DOCX: "Word document (.docx)",
    DOC: "Word 97-2003 document (.doc)",
    XLSX: "Excel workbook (.xlsx)",
    XLS: "Excel 97-2003 workbook (.xls)",
    PPTX: "PowerPoint deck (.pptx)",
    PPT: "PowerPoint 97-2003 deck (.ppt)",
    ODT: "OpenDocument text (.odt)",
    ODS: "OpenDocument spreadsheet (.ods)",
    ODP: "OpenDocument presentation (.odp)",
    ODG: "OpenDocument drawing (.odg)",
    RTF: "RTF document",
    ENCRYPTED_OOXML: "Office document",
}


def kind_name(mime: str) -> str:
    return KIND_NAMES.get(mime, "office file")
