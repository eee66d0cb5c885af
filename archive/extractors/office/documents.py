"""Word processor files and slide decks (.docx .doc .odt .rtf .pptx .ppt .odp): one document each,
page by page (a slide a page) from the PDF LibreOffice makes of them, which also serves their
page images, so the viewer and hit boxes work as for any PDF. Pictures inside the package (or,
for legacy binary formats and RTF, inside that PDF) large enough to hold text become child
images, OCR'd like any image."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from ...models import ChildFile, Extraction, PageResult, Source
from .. import ExtractContext
from ..pdf import PdfExtractor, _pdf_info
from .convert import converter
from .detect import DOCUMENTS
from .encryption import decrypt, is_encrypted
from .names import kind_name
from .pictures import MAX_IMAGES, large_enough, pictures_from_pdf
from .properties import document_date, from_pdf_info, properties_text, read_properties

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff"}
_MEDIA_FOLDERS = ("word/media/", "ppt/media/", "xl/media/", "Pictures/")


def opened(source: Source, ctx: ExtractContext) -> tuple[Path, str]:
    """The file to read (a decrypted copy when it has a password) and its office type."""
    mime = source.mime
    if is_encrypted(source.path, mime):
        return decrypt(source.path, mime, ctx.passwords, Path(ctx.workdir) / "decrypted", kind_name(mime))
    return source.path, mime


class OfficeDocumentExtractor:
    name = "office"

    def score(self, source: Source) -> int | None:
        if source.mime in DOCUMENTS:
            return 110  # above zip and OLE2 handling: an office file is never unpacked
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        path, mime = opened(source, ctx)
        what = kind_name(mime)
        workdir = Path(ctx.workdir) / "office"
        pdf = converter().convert(path, workdir, "pdf", what)
        from .. import make_source

        rendered = PdfExtractor().extract(make_source(pdf, "rendition.pdf"), ctx)
        pages = rendered.pages
        props = read_properties(path, mime)
        for key, value in from_pdf_info(_pdf_info(pdf, "")).items():
            props.setdefault(key, value)
        text = properties_text(props)
        if text and pages:
            # Searchable with the document: its author, comments and tracked changes.
            pages[0].text = (pages[0].text.rstrip() + "\n\n" + text).strip()
            pages[0].meta["properties"] = True
        metadata: dict[str, Any] = {"office": {"type": what, **props}}
        if path != source.path:
            metadata["office"]["decrypted"] = True
        date = document_date(props)
        if date:
            metadata["date"] = date
        if zipfile.is_zipfile(path):
            children, warnings = package_pictures(path, Path(ctx.workdir) / "images")
        else:
            children, warnings = pictures_from_pdf(pdf, Path(ctx.workdir) / "images")
        title = str(props.get("title") or "").strip() or source.filename
        return Extraction(
            kind="office",
            title=title,
            pages=pages or [PageResult(number=1, text="")],
            metadata=metadata,
            children=children,
            warnings=warnings,
            rendition=pdf,
        )


def package_pictures(path: Path, outdir: Path) -> tuple[list[ChildFile], list[str]]:
    """Raster pictures of an OOXML or OpenDocument package large enough to hold text."""
    from PIL import Image

    children: list[ChildFile] = []
    warnings: list[str] = []
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return children, warnings
    with zf:
        for info in zf.infolist():
            name = info.filename
            if (
                not name.startswith(_MEDIA_FOLDERS)
                or PurePosixPath(name).suffix.lower() not in _IMAGE_SUFFIXES
            ):
                continue
            if info.file_size > 50 * 1024 * 1024:
                warnings.append(f"{name}: picture larger than 50 MB not read")
                continue
            if len(children) >= MAX_IMAGES:
                warnings.append(f"more than {MAX_IMAGES} pictures: the rest are not OCR'd separately")
                break
            outdir.mkdir(parents=True, exist_ok=True)
            target = outdir / f"image-{len(children) + 1:03d}{PurePosixPath(name).suffix.lower()}"
            target.write_bytes(zf.read(info))
            try:
                with Image.open(target) as im:
                    width, height = im.size
            except Exception:
                target.unlink(missing_ok=True)
                continue
            if not large_enough(width, height):
                target.unlink(missing_ok=True)
                continue
            children.append(ChildFile(name=name, path=target, meta={"embedded": {"picture": name}}))
    return children, warnings
