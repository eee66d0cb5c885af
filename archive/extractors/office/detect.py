"""Office files told by their content, before any zip or OLE2 handling: an OOXML package is a zip
with `[Content_Types].xml`, an OpenDocument one a zip whose `mimetype` entry names its type, a
legacy Office file an OLE2 store with a WordDocument, Workbook or PowerPoint Document stream (or
an EncryptedPackage: an OOXML file with a password)."""

from __future__ import annotations

import zipfile
from pathlib import Path

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
ODG = "application/vnd.oasis.opendocument.graphics"
RTF = "application/rtf"
# An OOXML package encrypted with a password (an OLE2 store holding EncryptedPackage).
ENCRYPTED_OOXML = "application/x-ooxml-encrypted"

SPREADSHEETS = {XLSX, XLS, ODS}
DOCUMENTS = {DOCX, DOC, PPTX, PPT, ODT, ODP, ODG, RTF, ENCRYPTED_OOXML}

# The main part of each OOXML kind (macro-enabled and template variants share them).
_OOXML_PARTS = (("word/document.xml", DOCX), ("xl/workbook.xml", XLSX), ("ppt/presentation.xml", PPTX))
_ODF_PREFIX = "application/vnd.oasis.opendocument."
_ODF_KINDS = {"text": ODT, "spreadsheet": ODS, "presentation": ODP, "graphics": ODG}
_ODF_KINDS.update({f"{k}-template": v for k, v in list(_ODF_KINDS.items())})


def office_mime(path: Path, container: str) -> str | None:
    """The office type of a file sniffed as `container` (application/zip or
    application/x-ole-storage), or None when it is a plain zip or another OLE2 file."""
    try:
        if container == "application/zip":
            return _zip_office(path)
        if container == "application/x-ole-storage":
            return _ole_office(path)
    except Exception:  # damaged: the container's own extractor reports it
        return None
    return None


def _zip_office(path: Path) -> str | None:
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        if "mimetype" in names:
            declared = zf.read("mimetype")[:100].decode("ascii", "replace").strip()
            if declared.startswith(_ODF_PREFIX):
                return _ODF_KINDS.get(declared[len(_ODF_PREFIX) :])
        if "[Content_Types].xml" in names:
            for part, mime in _OOXML_PARTS:
                if part in names:
                    return mime
            types = zf.read("[Content_Types].xml")[:200_000]
            for marker, mime in (
                (b"wordprocessingml", DOCX),
                (b"spreadsheetml", XLSX),
                (b"presentationml", PPTX),
            ):
                if marker in types:
                    return mime
        if "content.xml" in names and "META-INF/manifest.xml" in names:
            return ODT  # an OpenDocument file without its mimetype entry: LibreOffice tells the rest
    return None


def _ole_office(path: Path) -> str | None:
    import olefile

    with olefile.OleFileIO(str(path)) as ole:
        streams = {"/".join(entry) for entry in ole.listdir(streams=True, storages=False)}
    if "WordDocument" in streams:
        return DOC
    if "Workbook" in streams or "Book" in streams:
        return XLS
    if "PowerPoint Document" in streams:
        return PPT
    if "EncryptedPackage" in streams:
        return ENCRYPTED_OOXML
    return None
