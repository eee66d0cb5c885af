"""Redaction detection on what real releases look like (issue #18, item 1): a black highlight
annotation over words that are still in the text layer (a bad redaction; a yellow highlight is
not a redaction at all), and a scanned page that came out of the scanner a little skewed and
was saved as a low-quality JPEG."""

from __future__ import annotations

import math

import pytest
from PIL import Image
from test_redactions import PAGE_H, _latin_width, _line, _scan, write_pdf


def _highlight(x0: float, x1: float, y: float, colour: str) -> str:
    """A /Highlight annotation over one line of 11 pt text at baseline y (its QuadPoints as
    Acrobat writes them: upper left, upper right, lower left, lower right)."""
    top, bottom = y + 11, y - 3
    return (
        f"<< /Type /Annot /Subtype /Highlight /Rect [{x0:.2f} {bottom:.2f} {x1:.2f} {top:.2f}] "
        f"/QuadPoints [{x0:.2f} {top:.2f} {x1:.2f} {top:.2f} {x0:.2f} {bottom:.2f} {x1:.2f} {bottom:.2f}] "
        f"/C [{colour}] /CA 1 >>"
    )


def test_a_black_highlight_annotation_over_text_is_a_bad_redaction(tmp_path):
    from archive import Archive, SearchQuery

    words = [
        ("Payment", "text"),
        ("to", "text"),
        ("Ottoline", "text"),
        ("Fernsby", "text"),
        ("approved.", "text"),
    ]
    noted = [("Reviewed", "text"), ("by", "text"), ("the", "text"), ("auditor", "text")]
    content = [*_line(PAGE_H - 100, words), *_line(PAGE_H - 130, noted)]
    x0 = 72 + sum(_latin_width(w + " ", 11) for w in ("Payment", "to"))
    x1 = x0 + _latin_width("Ottoline Fernsby", 11)
    y0 = 72 + sum(_latin_width(w + " ", 11) for w in ("Reviewed", "by", "the"))
    annots = [
        _highlight(x0 - 1, x1 + 1, PAGE_H - 100, "0 0 0"),  # blacked out with the highlighter
        _highlight(y0 - 1, y0 + _latin_width("auditor", 11) + 1, PAGE_H - 130, "1 1 0"),  # a yellow one
    ]
    write_pdf(tmp_path / "highlighted.pdf", ["\n".join(content)], [annots])
    with Archive(tmp_path / "archive") as a:
        doc_id = a.ingest([tmp_path / "highlighted.pdf"], collection="c").documents[0]
        boxes = a.redactions(doc_id, show_hidden=True)
        assert [(b["kind"], b["bad"]) for b in boxes] == [("annotation", True)], boxes
        assert boxes[0]["hidden_text"] == "Ottoline Fernsby"
        left, top, width, _ = boxes[0]["bbox"]  # in the text layer's pixels (100 dpi)
        assert abs(left - (x0 - 1) * 100 / 72) < 3 and abs(width - (x1 - x0 + 2) * 100 / 72) < 4
        assert abs(top - 89 * 100 / 72) < 4
        page = a.store.pages(doc_id)[0]
        assert "Fernsby" not in page["text"] and "auditor" in page["text"]
        assert a.search(SearchQuery("Fernsby")).total == 0 and a.search(SearchQuery("auditor")).total == 1
        assert [f["kind"] for f in a.check_collection("c")] == ["bad_redaction"]
        assert a.document(doc_id)["metadata"]["redactions"]["bad"] == 1


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    dx = min(ax0 + aw, bx0 + bw) - max(ax0, bx0)
    dy = min(ay0 + ah, by0 + bh) - max(ay0, by0)
    inter = max(0.0, dx) * max(0.0, dy)
    return inter / (aw * ah + bw * bh - inter)


def _rotated(box: tuple[int, int, int, int], degrees: float, size: tuple[int, int]) -> tuple[float, ...]:
    """The upright rectangle around `box` once the page is turned by `degrees` (PIL's rotate:
    counter-clockwise about the page centre)."""
    cx, cy = size[0] / 2, size[1] / 2
    t = math.radians(degrees)
    left, top, width, height = box
    xs, ys = [], []
    for x, y in ((left, top), (left + width, top), (left, top + height), (left + width, top + height)):
        dx, dy = x - cx, y - cy
        xs.append(cx + dx * math.cos(t) + dy * math.sin(t))
        ys.append(cy - dx * math.sin(t) + dy * math.cos(t))
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


@pytest.mark.tesseract
def test_a_skewed_jpeg_scan_keeps_its_boxes(tmp_path):
    """A scanned page with two boxes, turned 1.5 degrees and saved as JPEG at quality 40, then
    ingested for real (OCR, then redactions on the image OCR rendered): both boxes found with
    IoU >= 0.5, nothing else."""
    from archive import Archive

    wanted = [(600, 550, 420, 44), (300, 1155, 260, 44)]
    _scan(tmp_path / "page.png", wanted, negatives=False)
    with Image.open(tmp_path / "page.png") as im:
        turned = im.rotate(1.5, resample=Image.Resampling.BICUBIC, fillcolor=255)
        turned.save(tmp_path / "scan.jpg", quality=40, dpi=(200, 200))
        size = im.size
    with Archive(tmp_path / "archive") as a:
        doc_id = a.ingest([tmp_path / "scan.jpg"], collection="scans").documents[0]
        page = a.page(doc_id, 1)
        boxes = a.redactions(doc_id)
    assert page["ocr"] and "harbour" in page["text"]
    scale = page["width"] / size[0]
    expected = [tuple(v * scale for v in _rotated(b, 1.5, size)) for b in wanted]
    found = [tuple(b["bbox"]) for b in boxes]
    assert len(found) == 2 and all(b["kind"] == "image" for b in boxes), boxes
    for box in expected:
        assert max(_iou(box, f) for f in found) >= 0.5, (box, found)
