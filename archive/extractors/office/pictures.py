"""Pictures inside legacy office files (.doc .ppt .rtf, and .xls): their packages are not zips,
so the pictures are taken from what LibreOffice made of them. A word processor file or deck is
already converted to PDF for its pages, and the PDF keeps each picture as an image object at its
own resolution (read with pypdfium2); a workbook is converted to .xlsx only when its OLE streams
hold a PNG or JPEG at all. Pictures large enough to hold text become child images, OCR'd like
any image."""

from __future__ import annotations

from pathlib import Path

from ...models import ChildFile

MAX_IMAGES = 20
MIN_IMAGE_SIDE = 200  # pixels: logos, bullets and rules hold no text worth OCR
_PICTURE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def large_enough(width: int, height: int) -> bool:
    return min(width, height) >= MIN_IMAGE_SIDE // 2 and max(width, height) >= MIN_IMAGE_SIDE


def pictures_from_pdf(pdf: Path, outdir: Path) -> tuple[list[ChildFile], list[str]]:
    """The raster pictures of a LibreOffice rendition large enough to hold text, as PNG files."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    children: list[ChildFile] = []
    warnings: list[str] = []
    document = pdfium.PdfDocument(str(pdf))
    try:
        for number, page in enumerate(document, start=1):
            for obj in page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,), max_depth=3):
                if not isinstance(obj, pdfium.PdfImage) or not large_enough(*obj.get_px_size()):
                    continue
                if len(children) >= MAX_IMAGES:
                    warnings.append(f"more than {MAX_IMAGES} pictures: the rest are not OCR'd separately")
                    return children, warnings
                try:
                    picture = obj.get_bitmap(render=False).to_pil()
                except pdfium.PdfiumError:
                    continue
                outdir.mkdir(parents=True, exist_ok=True)
                target = outdir / f"image-{len(children) + 1:03d}.png"
                picture.save(target)
                name = f"page {number} picture {len(children) + 1}"
                children.append(ChildFile(name=name, path=target, meta={"embedded": {"picture": name}}))
    finally:
        document.close()
    return children, warnings


def ole_holds_pictures(path: Path) -> bool:
    """Whether any stream of an OLE2 file (a .xls) holds a PNG or JPEG picture."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            for stream in ole.listdir(streams=True, storages=False):
                fh = ole.openstream(stream)
                tail = b""
                while chunk := fh.read(1024 * 1024):  # by chunks: a stream may be large
                    data = tail + chunk
                    if any(magic in data for magic in _PICTURE_MAGIC):
                        return True
                    tail = data[-8:]
    except (OSError, ValueError):
        return False
    return False
