"""OCR: page rendering (pypdfium2), Tesseract, and RapidOCR as the second engine for Chinese pages.
A leaf package: images and languages in; text, confidence and word boxes out. It imports neither
`archive` nor `web`."""

from .images import OCR_FORMAT, encode_image, usable_dpi
from .render import RenderedPage, native_dpi, page_count, render_pdf_page
from .tesseract import CHINESE_ENGINES, OcrError, OcrResult, OcrWord, TesseractEngine

__all__ = [
    "CHINESE_ENGINES",
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
