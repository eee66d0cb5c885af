"""PDF: the text layer page by page with pdfminer.six; pages without a usable layer go to OCR."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTFigure, LTImage, LTPage, LTTextContainer
from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFParser, PDFSyntaxError
from pdfminer.psparser import PSException

from ..models import Extraction, OcrRequest, PageResult, Source, StageError
from . import ExtractContext, register

# A page needs OCR when its text layer has fewer letters than this.
MIN_TEXT_LETTERS = 20
# An image covering this share of the page means it is a scan; a text layer on it is someone's OCR.
SCAN_COVERAGE = 0.8

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
    name = "pdf"

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
            layouts = extract_pages(source.path, password=password, laparams=LAParams(all_texts=True))
            for number, layout in enumerate(layouts, start=1):
                text = _page_text(layout)
                if _one_char_per_line(text):
                    # Rotated pages come out a character per line; vertical grouping reads them.
                    text = self._vertical_text(source.path, password, number - 1) or text
                coverage = _image_coverage(layout)
                request = OcrRequest("pdf", source.path, number - 1, password or None)
                meta: dict[str, Any] = {"image_coverage": round(coverage, 3)}
                if usable_text(text, coverage) and coverage < SCAN_COVERAGE:
                    pages.append(PageResult(number=number, text=text, meta=meta))
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
    def _vertical_text(path: Path, password: str, index: int) -> str:
        params = LAParams(all_texts=True, detect_vertical=True)
        for layout in extract_pages(path, password=password, page_numbers=[index], laparams=params):
            return _page_text(layout)
        return ""

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
