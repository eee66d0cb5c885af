"""The redaction step: after OCR, find the boxes of every page, take the text left under bad
ones out of the page text (it is kept apart, in the `redactions` table, never indexed), link
each box to the exemption printed on or beside it, and sum up what was withheld.

Page images are the ones OCR rendered (`DocWork.rendered`): nothing is rendered again. Pages
with a text layer were read from the PDF's drawing by the extractor, in the pass that read their
text (vector.py): nothing is parsed again.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

from ..models import PageResult, Word
from . import Box
from .records import replace_redactions

if TYPE_CHECKING:
    from ..steps import DocWork, StepContext

log = logging.getLogger(__name__)

HIDDEN_MARK = "███"  # what the page text shows where text under a box was taken out
BESIDE = 6.0  # a citation within this many box heights of it, on its line, is "beside" the box


class RedactionStep:
    name = "redactions"

    def __init__(self, ctx: StepContext):
        self.archive = ctx

    def needed(self, work: DocWork) -> bool:
        if work.rendered:
            return True
        is_pdf = work.extraction is not None and work.extraction.kind == "pdf"
        return is_pdf and any(not p.ocr for p in work.pages)

    def run(self, work: DocWork) -> None:
        rendered, work.rendered = work.rendered, {}
        boxes: dict[int, list[Box]] = {}
        unread: list[str] = []
        for page in work.pages:
            image = rendered.get(page.number)
            if image is not None:
                try:
                    boxes[page.number] = _image_page_boxes(page, image, self.archive.ocr_engine())
                except Exception as exc:  # a page that can't be read: said, the others go on
                    unread.append(f"page {page.number}: {type(exc).__name__}: {exc}")
        if work.extraction is not None and work.extraction.kind == "pdf":
            text_pages = [p for p in work.pages if not p.ocr and p.number not in boxes]
            if text_pages:
                boxes.update(_pdf_boxes(work, text_pages, unread))
        if unread:
            work.notes[self.name] = ("not all pages read for redactions: " + "; ".join(unread[:3]))[:300]
        for page in work.pages:
            found = boxes.get(page.number, [])
            for box in found:
                box.exemption = _exemption_of(box, page)
            _take_out_hidden(page, found)
            page.meta["redactions"] = _page_summary(page, found)
        replace_redactions(self.archive.store, work.doc_id, boxes)
        if work.extraction is not None:
            work.extraction.metadata["redactions"] = document_summary(work.pages, boxes)


def _image_page_boxes(page: PageResult, image: Any, engine: Any = None) -> list[Box]:
    skew = float((page.meta.get("ocr") or {}).get("skew") or 0.0)
    found = getattr(image, "boxes", None)
    if found is not None:  # found by the cluster worker that read the page, with this dpi and skew
        return list(found)
    run_on_page = getattr(engine, "run_on_page", None)
    if run_on_page is not None and not isinstance(image, bytes | str):
        # A page image that lives on a cluster worker (archive/cluster.py): read there.
        return list(run_on_page(image_boxes, image, page.dpi, skew))
    return image_boxes(image, page.dpi, skew)


def image_boxes(image: bytes | str, dpi: float | None, skew: float) -> list[Box]:
    """The boxes on a page image (encoded bytes or a file path); a top-level function, so that a
    cluster worker holding the image can run it."""
    from PIL import Image

    from .image import find_image_boxes

    with Image.open(io.BytesIO(image) if isinstance(image, bytes) else image) as im:
        return find_image_boxes(im, dpi or _image_dpi(im.info.get("dpi")), skew)


def _image_dpi(value: Any) -> float | None:
    try:
        x = float(value[0])
    except (TypeError, ValueError, IndexError):
        return None
    return x if 70 <= x <= 1200 else None


def _pdf_boxes(work: DocWork, pages: list[PageResult], unread: list[str]) -> dict[int, list[Box]]:
    """The boxes the PDF extractor read in the text-layer pages' drawing while it parsed them
    (extractors/pdf.py, redactions/vector.py): no page is opened again here."""
    out: dict[int, list[Box]] = {}
    for page in pages:
        found, page.drawn_boxes = page.drawn_boxes, None
        if isinstance(found, list):
            out[page.number] = found
        else:
            unread.append(f"page {page.number}: {found or 'not read by the extractor'}")
    return out


def _exemption_of(box: Box, page: PageResult) -> str | None:
    """The exemption code printed on the box, else on its line just beside it."""
    on_box = box.label
    if not on_box and page.words:
        # Words off the box ruled out inline first: a method call per word and box was a good
        # part of a cluster coordinator's CPU on a page with a box.
        right, bottom = box.left + box.width, box.top + box.height
        on_box = " ".join(
            w.text
            for w in page.words
            if w.left < right
            and box.left < w.left + w.width
            and w.top < bottom
            and box.top < w.top + w.height
            and box.overlap(w.left, w.top, w.width, w.height) > 0.5
        )
    code = _exemption_code(on_box)
    if code or not page.words:
        return code
    reach = BESIDE * max(box.height, 1)
    beside = [
        w
        for w in page.words
        if abs((w.top + w.height / 2) - (box.top + box.height / 2)) < box.height / 2 + 2
        and (0 <= w.left - (box.left + box.width) < reach or 0 <= box.left - (w.left + w.width) < reach)
    ]
    return _exemption_code(" ".join(w.text for w in beside))


def _exemption_code(text: str) -> str | None:
    if not text.strip():
        return None
    from ..entities.exemptions import ExemptionExtractor

    found = ExemptionExtractor().extract(text, "en", "original", context={"foi": True})
    return found[0].norm if found else None


def _take_out_hidden(page: PageResult, boxes: list[Box]) -> None:
    """Words of the text layer under a bad box leave the page text and word boxes (their
    characters are in the box's `hidden_text`); each run of them becomes HIDDEN_MARK."""
    bad = [b for b in boxes if b.bad]
    if not bad or not page.words:
        return
    hidden = [any(b.overlap(w.left, w.top, w.width, w.height) >= 0.5 for b in bad) for w in page.words]
    if not any(hidden):
        return
    text = page.text
    out: list[str] = []
    pos = 0
    marked = False
    kept: list[Word] = []
    for word, gone in zip(page.words, hidden, strict=True):
        at = text.find(word.text, pos)
        if at < 0:  # not found in order: leave the text as it is from here on
            if not gone:
                kept.append(word)
            continue
        if gone:
            out.append(text[pos:at])
            if not marked:
                out.append(HIDDEN_MARK)
            marked = True
        else:
            out.append(text[pos : at + len(word.text)])
            marked = False
            kept.append(word)
        pos = at + len(word.text)
    out.append(text[pos:])
    page.text = "".join(out)
    page.words = kept


def text_area(page: PageResult, boxes: list[Box]) -> float:
    """The printed area of a page: the rectangle around its words and boxes (the whole page when
    it has neither)."""
    rects = [(w.left, w.top, w.left + w.width, w.top + w.height) for w in page.words]
    rects += [(b.left, b.top, b.left + b.width, b.top + b.height) for b in boxes]
    if not rects:
        return float((page.width or 0) * (page.height or 0))
    x0, y0 = min(r[0] for r in rects), min(r[1] for r in rects)
    x1, y1 = max(r[2] for r in rects), max(r[3] for r in rects)
    return float(max(0, x1 - x0) * max(0, y1 - y0))


def _page_summary(page: PageResult, boxes: list[Box]) -> dict[str, Any]:
    area = text_area(page, boxes)
    withheld = sum(b.area for b in boxes)
    return {
        "boxes": len(boxes),
        "bad": sum(b.bad for b in boxes),
        "area": withheld,
        "text_area": round(area),
        "withheld": round(min(1.0, withheld / area), 4) if area else 0.0,
    }


def document_summary(pages: list[PageResult], boxes: dict[int, list[Box]]) -> dict[str, Any]:
    """Boxes, pages with boxes, bad boxes and the share of the text area withheld."""
    summaries = [p.meta.get("redactions") or {} for p in pages]
    area = sum(s.get("text_area", 0) for s in summaries)
    withheld = sum(s.get("area", 0) for s in summaries)
    found = [b for bs in boxes.values() for b in bs]
    return {
        "boxes": len(found),
        "pages": sum(1 for bs in boxes.values() if bs),
        "bad": sum(b.bad for b in found),
        "withheld": round(min(1.0, withheld / area), 4) if area else 0.0,
        "by_kind": {k: sum(b.kind == k for b in found) for k in sorted({b.kind for b in found})},
    }
