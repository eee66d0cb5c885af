"""OCR: page rendering (pypdfium2) and Tesseract. A leaf package: images and languages in; text,
confidence and word boxes out. It imports neither `archive` nor `web`."""

from .images import OCR_FORMAT, encode_image, usable_dpi
from .render import RenderedPage, native_dpi, page_count, render_pdf_page
from .tesseract import OcrError, OcrResult, OcrWord, TesseractEngine

__all__ = [
    "OCR_FORMAT",
    "OcrError",
    "OcrResult",
    "OcrWord",
    "RenderedPage",
    "TesseractEngine",
    "encode_image",
    "native_dpi",
    "page_count",
    "render_pdf_page",
    "usable_dpi",
]
