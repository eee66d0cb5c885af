"""PDF: the text layer page by page with pdfminer.six; pages without a usable layer go to OCR."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LAParams, LTAnno, LTChar, LTFigure, LTImage, LTPage, LTTextContainer
from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser, PDFSyntaxError
from pdfminer.psparser import PSException
from pdfminer.utils import apply_matrix_pt

from ..models import Extraction, OcrRequest, PageResult, Source, StageError, Word
from ..redactions import Box
from ..redactions.vector import Drawing, DrawingAggregator, DrawingInterpreter, page_boxes, pixel_rect
from ..script import CJK_TEXT
from . import ExtractContext, register

# A page needs OCR when its text layer has fewer letters than this.
MIN_TEXT_LETTERS = 20
# An image covering this share of the page means it is a scan; a text layer on it is someone's OCR.
SCAN_COVERAGE = 0.8

# Word boxes of text-layer pages are stored in pixels of the page rendered at this resolution (what
# the web UI renders a page without OCR at), so they are used exactly like OCR word boxes.
TEXT_LAYER_DPI = 100.0

_CID = re.compile(r"\(cid:\d+\)")
_LETTER = re.compile(r"[^\W\d_]")


def usable_text(text: str, image_coverage: float = 0.0) -> bool:
    """False for empty layers and mojibake: unmapped glyph ids, private-use or replacement chars.

    A short layer is trusted on a page without images (there is nothing else to read there).
    """
    letters = _LETTER.findall(text)
    if not letters or (len(letters) < MIN_TEXT_LETTERS and image_coverage >= 0.05):
        return False
    bad = len(_CID.findall(text)) + sum(1 for ch in text if ch == "\ufffd" or "\ue000" <= ch <= "\uf8ff")
    return bad < 0.1 * len(letters)


def _image_coverage(page: LTPage) -> float:
    """Largest share of the page covered by one image (images inside form XObjects included)."""
    area = max(page.width * page.height, 1.0)
    covered = 0.0

    def walk(obj: Any) -> None:
        nonlocal covered
        for child in obj:
            if isinstance(child, LTImage):
                covered = max(covered, (child.width * child.height) / area)
            elif isinstance(child, LTFigure):
                walk(child)

    walk(page)
    return min(covered, 1.0)


def _page_text(page: LTPage) -> str:
    """Text of a page, including text drawn inside form XObjects (pdfminer's figures)."""
    parts: list[str] = []

    def walk(obj: Any) -> None:
        for el in obj:
            if isinstance(el, LTTextContainer):
                parts.append(el.get_text())
            elif isinstance(el, LTFigure):
                walk(el)

    walk(page)
    # Soft hyphens split words (e.g. inside dates) without being visible.
    return "".join(parts).replace("\u00ad", "").strip()


def _layouts(
    path: Path,
    password: str,
    laparams: LAParams,
    page_numbers: list[int] | None = None,
    drawing: bool = False,
) -> Iterator[tuple[PDFPage, LTPage, Drawing | None]]:
    """pdfminer's extract_pages, keeping each page object (its crop box and rotation), and with
    `drawing` what the page drew that redaction detection reads (read in the same pass)."""
    with open(path, "rb") as fh:
        manager = PDFResourceManager(caching=True)
        if drawing:
            recorder = DrawingAggregator(manager, laparams=laparams)
            device: PDFPageAggregator = recorder
            interpreter: PDFPageInterpreter = DrawingInterpreter(manager, device)
        else:
            device = PDFPageAggregator(manager, laparams=laparams)
            interpreter = PDFPageInterpreter(manager, device)
        for page in PDFPage.get_pages(fh, page_numbers, password=password, caching=True):
            interpreter.process_page(page)
            yield page, device.get_result(), recorder.drawing if drawing else None


def _visible_box(page: PDFPage) -> tuple[float, float, float, float]:
    """The crop box (what a renderer draws) in the layout's coordinates (pdfminer moves the media
    box's corner to the origin and applies /Rotate, exactly as below)."""
    x0, y0, x1, y1 = page.mediabox
    rotate = page.rotate % 360
    if rotate == 90:
        ctm = (0, -1, 1, 0, -y0, x1)
    elif rotate == 180:
        ctm = (-1, 0, 0, -1, x1, y1)
    elif rotate == 270:
        ctm = (0, 1, -1, 0, y1, -x0)
    else:
        ctm = (1, 0, 0, 1, -x0, -y0)
    cx0, cy0, cx1, cy1 = page.cropbox
    points = [apply_matrix_pt(ctm, (x, y)) for x in (cx0, cx1) for y in (cy0, cy1)]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def redaction_boxes(page: PDFPage, drawing: Drawing, dpi: float = TEXT_LAYER_DPI) -> list[Box]:
    """The redaction boxes of a text-layer page (redactions/vector.py), in the pixels of its
    word boxes."""
    bx0, _by0, _bx1, by1 = _visible_box(page)
    return page_boxes(drawing, pixel_rect(bx0, by1, dpi))


def find_pdf_boxes(
    path: Path | str, page_index: int, password: str = "", dpi: float = TEXT_LAYER_DPI
) -> list[Box]:
    """The redaction boxes of one page of a PDF read on its own (the evaluation's entry)."""
    for page, _layout, drawing in _layouts(
        Path(path), password, LAParams(all_texts=True), [page_index], True
    ):
        assert drawing is not None
        return redaction_boxes(page, drawing, dpi)
    return []


def _page_words(page: PDFPage, layout: LTPage, dpi: float = TEXT_LAYER_DPI) -> tuple[list[Word], int, int]:
    """Word boxes of a text layer, in pixels of the page image at `dpi` (top-left origin), with the
    image's width and height. Words are runs of non-space characters in text order (the order of
    the page text, so they can be found in it); each Chinese or Japanese character is a word."""
    bx0, by0, bx1, by1 = _visible_box(page)
    scale = dpi / 72.0
    # As pdfium sizes the bitmap: a partial pixel is a pixel.
    width, height = math.ceil((bx1 - bx0) * scale - 1e-6), math.ceil((by1 - by0) * scale - 1e-6)
    words: list[Word] = []
    run: list[LTChar] = []

    def flush() -> None:
        if not run:
            return
        text = "".join(c.get_text() for c in run).replace("\u00ad", "")
        x0, y0 = min(c.x0 for c in run), min(c.y0 for c in run)
        x1, y1 = max(c.x1 for c in run), max(c.y1 for c in run)
        run.clear()
        left, top = max(0.0, (x0 - bx0) * scale), max(0.0, (by1 - y1) * scale)
        right, bottom = min(float(width), (x1 - bx0) * scale), min(float(height), (by1 - y0) * scale)
        if text.strip() and right > left and bottom > top:
            words.append(
                Word(
                    text,
                    round(left),
                    round(top),
                    max(1, round(right - left)),
                    max(1, round(bottom - top)),
                    100.0,
                )
            )

    def walk(obj: Any) -> None:
        for el in obj:
            if isinstance(el, LTChar):
                ch = el.get_text()
                if not ch.strip():
                    flush()
                elif CJK_TEXT.match(ch):
                    flush()
                    run.append(el)
                    flush()
                else:
                    run.append(el)
            elif isinstance(el, LTAnno):
                if not el.get_text().strip():
                    flush()
            elif isinstance(el, LTTextContainer | LTFigure):
                walk(el)
                if isinstance(el, LTTextContainer):
                    flush()

    walk(layout)
    flush()
    return words, width, height


def _one_char_per_line(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return len(lines) > 20 and sum(len(ln.strip()) <= 1 for ln in lines) > 0.6 * len(lines)


def _pdf_info(path: Path, password: str) -> dict[str, Any]:
    with open(path, "rb") as fh:
        doc = PDFDocument(PDFParser(fh), password=password)
        info: dict[str, Any] = {}
        for entry in doc.info or []:
            for key, value in entry.items():
                info[key] = _decode_pdf_string(value)
        return info


def _decode_pdf_string(value: Any) -> Any:
    if hasattr(value, "resolve"):
        value = value.resolve()
    if isinstance(value, bytes):
        if value.startswith(b"\xfe\xff"):
            return value[2:].decode("utf-16-be", "replace")
        if value.startswith(b"\xff\xfe"):
            return value[2:].decode("utf-16-le", "replace")
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    if isinstance(value, int | float | str):
        return value
    return str(value)


class PdfExtractor:
    """`find_redactions`: read the redaction boxes of text-layer pages while they are parsed
    (`PageResult.drawn_boxes`, for the redaction step); off only to measure what it costs."""

    name = "pdf"

    def __init__(self, find_redactions: bool = True):
        self.find_redactions = find_redactions

    def score(self, source: Source) -> int | None:
        if source.mime == "application/pdf":
            return 100
        if source.extension == "pdf":
            return 10  # named .pdf but no header: we try, and report what is wrong
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        password = self._find_password(source.path, ctx)
        info = _pdf_info(source.path, password)
        pages: list[PageResult] = []
        try:
            layouts = _layouts(source.path, password, LAParams(all_texts=True), drawing=self.find_redactions)
            for number, (pdfpage, layout, drawing) in enumerate(layouts, start=1):
                text = _page_text(layout)
                if _one_char_per_line(text):
                    # Rotated pages come out a character per line; vertical grouping reads them.
                    vertical = self._vertical_layout(source.path, password, number - 1)
                    if vertical is not None and _page_text(vertical):
                        text, layout = _page_text(vertical), vertical
                coverage = _image_coverage(layout)
                request = OcrRequest("pdf", source.path, number - 1, password or None)
                meta: dict[str, Any] = {"image_coverage": round(coverage, 3)}
                if usable_text(text, coverage) and coverage < SCAN_COVERAGE:
                    words, width, height = _page_words(pdfpage, layout)
                    page = PageResult(
                        number=number,
                        text=text,
                        meta=meta,
                        words=words,
                        width=width,
                        height=height,
                        dpi=TEXT_LAYER_DPI,
                    )
                    if drawing is not None:
                        try:
                            page.drawn_boxes = redaction_boxes(pdfpage, drawing)
                        except Exception as exc:  # said by the redaction step; the text is kept
                            page.drawn_boxes = f"{type(exc).__name__}: {exc}"
                    pages.append(page)
                else:
                    if text:
                        # Keep the old layer (often a poor OCR by the scanner software) for reference.
                        meta["text_layer"] = text
                    pages.append(PageResult(number=number, text=text, meta=meta, needs_ocr=request))
        except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, AssertionError) as exc:
            pages = self._pages_for_ocr(source, password, f"{type(exc).__name__}: {exc}")
        if not pages:
            pages = self._pages_for_ocr(source, password, "no pages found")
        title = str(info.get("Title") or "").strip()
        if title.lower() in {"", "untitled", "untitled document", "document"}:
            title = source.filename
        return Extraction(kind="pdf", title=title, pages=pages, metadata={"pdf": info})

    @staticmethod
    def _pages_for_ocr(source: Source, password: str, problem: str) -> list[PageResult]:
        """pdfminer could not read the structure; pdfium is more lenient: OCR every page it finds."""
        from ocr import page_count

        try:
            count = page_count(source.path, password or None)
        except Exception as exc:
            raise StageError("extract", f"broken PDF: {problem}") from exc
        if count == 0:
            raise StageError("extract", f"broken PDF: {problem}")
        return [
            PageResult(
                number=i + 1,
                text="",
                meta={"text_layer_error": problem},
                needs_ocr=OcrRequest("pdf", source.path, i, password or None),
            )
            for i in range(count)
        ]

    @staticmethod
    def _vertical_layout(path: Path, password: str, index: int) -> LTPage | None:
        params = LAParams(all_texts=True, detect_vertical=True)
        for _page, layout, _drawing in _layouts(path, password, params, page_numbers=[index]):
            return layout
        return None

    def _find_password(self, path: Path, ctx: ExtractContext) -> str:
        for candidate in ("", *ctx.passwords):
            try:
                with open(path, "rb") as fh:
                    PDFDocument(PDFParser(fh), password=candidate)
                return candidate
            except PDFPasswordIncorrect:
                continue
            except PDFEncryptionError as exc:
                raise StageError("extract", f"encrypted PDF with unsupported encryption: {exc}") from exc
            except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError) as exc:
                raise StageError("extract", f"broken PDF: {type(exc).__name__}: {exc}") from exc
        raise StageError("extract", "encrypted PDF: password required (pass it with --password)")


register(PdfExtractor())
