"""PDF pages to images with pypdfium2, at the resolution of the scan itself."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .images import encode_image

DEFAULT_DPI = 300.0
MIN_DPI, MAX_DPI = 72.0, 600.0


@dataclass
class RenderedPage:
    index: int  # 0-based
    data: bytes  # the image file, in `format`
    dpi: float
    width: int
    height: int
    format: str = "PNG"

    @property
    def png(self) -> bytes:
        if self.format != "PNG":
            raise ValueError(f"this page was rendered as {self.format}, not PNG")
        return self.data


# PDFium is not thread-safe: two threads in it at once (the web app rendering page images for
# two requests, or the ingester beside it) crash the process. Every call goes through this lock.
_PDFIUM_LOCK = threading.RLock()


def _open(pdf_path: str | os.PathLike[str], password: str | None) -> pdfium.PdfDocument:
    return pdfium.PdfDocument(str(pdf_path), password=password)


def _page_native_dpi(page: pdfium.PdfPage) -> float | None:
    """Resolution of the largest image on the page: its pixels over its placed size in inches."""
    best: tuple[float, float] | None = None  # (area in points, dpi)
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
        try:
            left, bottom, right, top = obj.get_bounds()
            px_w, px_h = obj.get_px_size()
        except Exception:  # an image pdfium cannot measure: ignore it
            continue
        w_pt, h_pt = abs(right - left), abs(top - bottom)
        if w_pt < 1 or h_pt < 1 or px_w < 2 or px_h < 2:
            continue
        # Long side against long side, so images placed rotated by 90 degrees measure right.
        dpi = max(px_w, px_h) / (max(w_pt, h_pt) / 72.0)
        area = w_pt * h_pt
        if best is None or area > best[0]:
            best = (area, dpi)
    return best[1] if best else None


def native_dpi(pdf_path: str | os.PathLike[str], page_index: int, password: str | None = None) -> float:
    """The scan's own resolution for a page; 300 when the page holds no image. Clamped to 72-600."""
    with _PDFIUM_LOCK:
        pdf = _open(pdf_path, password)
        try:
            dpi = _page_native_dpi(pdf[page_index])
        finally:
            pdf.close()
    if dpi is None:
        return DEFAULT_DPI
    return float(min(max(round(dpi), MIN_DPI), MAX_DPI))


def render_pdf_page(
    pdf_path: str | os.PathLike[str],
    page_index: int,
    dpi: float | None = None,
    password: str | None = None,
    image_format: str = "PNG",
) -> RenderedPage:
    """Render one page in grayscale (honouring /Rotate), at the scan's own resolution unless
    `dpi` is given, as a PNG (`image_format` OCR_FORMAT for Tesseract: see `encode_image`)."""
    with _PDFIUM_LOCK:
        pdf = _open(pdf_path, password)
        try:
            page = pdf[page_index]
            if dpi is None:
                found = _page_native_dpi(page)
                dpi = DEFAULT_DPI if found is None else min(max(round(found), MIN_DPI), MAX_DPI)
            bitmap = page.render(scale=dpi / 72.0, grayscale=True)
            image = bitmap.to_pil()
            image.load()  # own the pixels before the bitmap goes
        finally:
            pdf.close()
    data = encode_image(image, image_format, (dpi, dpi))
    return RenderedPage(page_index, data, float(dpi), image.width, image.height, image_format)


def page_count(pdf_path: str | os.PathLike[str], password: str | None = None) -> int:
    with _PDFIUM_LOCK:
        pdf = _open(pdf_path, password)
        try:
            return len(pdf)
        finally:
            pdf.close()
