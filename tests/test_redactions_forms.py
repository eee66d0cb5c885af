"""Redaction boxes drawn inside form XObjects of a text-layer PDF (issue #18): a filled rectangle
placed by the form's /Matrix and a solid image inside a form are read with the text under them,
and a see-through fill (an ExtGState alpha, as highlighters draw) is not a box. The PDF is written
here with eval/make_redactions.py's hand-made content streams, so every position is known.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from make_redactions import PAGE_H, _latin_width, _pdf_string, write_pdf  # noqa: E402

SIZE = 11


def _text_line(y: float, words: list[str]) -> tuple[list[str], dict[str, float]]:
    """Content drawing the words on one line at height y, and each word's left edge."""
    ops, lefts, x = [], {}, 72.0
    for word in words:
        ops.append(f"BT 0 0 0 rg /F1 {SIZE} Tf {x:.2f} {y:.2f} Td {_pdf_string(word)} Tj ET")
        lefts[word] = x
        x += _latin_width(word + " ", SIZE)
    return ops, lefts


def forms_pdf(path: Path) -> dict[str, tuple[float, float]]:
    """One page; returns the (left, baseline) of the words boxed over."""
    y1, y2, y3 = PAGE_H - 100, PAGE_H - 130, PAGE_H - 160
    line1, at1 = _text_line(y1, ["Zebulon", "Quaggle", "approved", "the", "dredging."])
    line2, at2 = _text_line(y2, ["Budget", "for", "Marchbanks", "was", "agreed."])
    line3, at3 = _text_line(y3, ["Ask", "Pettigrew", "for", "the", "minutes."])
    # Fm0: a black rectangle over "Quaggle", in the form's own space: its /Matrix moves it 20 pt
    # right and 5 pt down onto the word.
    x, w = at1["Quaggle"], _latin_width("Quaggle", SIZE)
    fm0 = ("/Matrix [1 0 0 1 20 -5]", f"0 0 0 rg {x - 21:.2f} {y1 + 2:.2f} {w + 2:.2f} 15 re f")
    # Fm1: a 2 x 2 black inline image scaled over "Marchbanks".
    x2, w2 = at2["Marchbanks"], _latin_width("Marchbanks", SIZE)
    fm1 = (
        "",
        f"q {w2 + 2:.2f} 0 0 15 {x2 - 1:.2f} {y2 - 3:.2f} cm BI /W 2 /H 2 /CS /G /BPC 8 ID \0\0\0\0 EI Q",
    )
    # On the page: a see-through black fill over "Pettigrew" (alpha 0.3, multiplied).
    x3, w3 = at3["Pettigrew"], _latin_width("Pettigrew", SIZE)
    veil = f"q /GS0 gs 0 0 0 rg {x3 - 1:.2f} {y3 - 3:.2f} {w3 + 2:.2f} 15 re f Q"
    content = [*line1, *line2, *line3, "q /Fm0 Do Q", "q /Fm1 Do Q", veil]
    write_pdf(
        path,
        ["\n".join(content)],
        [[]],
        forms=[{"Fm0": fm0, "Fm1": fm1}],
        resources=["/ExtGState << /GS0 << /Type /ExtGState /ca 0.3 /BM /Multiply >> >>"],
    )
    return {"Quaggle": (x, y1), "Marchbanks": (x2, y2)}


def test_boxes_inside_form_xobjects_are_read_with_the_text_under_them(tmp_path):
    from archive.extractors import ExtractContext, make_source
    from archive.extractors.pdf import PdfExtractor

    where = forms_pdf(tmp_path / "forms.pdf")
    page = PdfExtractor().extract(make_source(tmp_path / "forms.pdf"), ExtractContext()).pages[0]
    boxes = page.drawn_boxes
    assert isinstance(boxes, list)
    # The see-through fill over "Pettigrew" is not one of them.
    assert sorted(b.hidden_text for b in boxes) == ["Marchbanks", "Quaggle"]
    assert all(b.bad and b.kind == "vector" for b in boxes)
    scale = 100 / 72  # the text layer's pixels
    for box in boxes:
        x, baseline = where[box.hidden_text]
        assert abs(box.left - (x - 1) * scale) <= 1.5, (box, x)
        assert abs(box.top - (PAGE_H - baseline - 12) * scale) <= 1.5, (box, baseline)
        assert box.height == round(15 * scale)
    # Without detection the extractor leaves them unread.
    plain = PdfExtractor(find_redactions=False).extract(make_source(tmp_path / "forms.pdf"), ExtractContext())
    assert plain.pages[0].drawn_boxes is None and plain.pages[0].text == page.text


def test_ingest_flags_bad_redactions_drawn_in_forms(tmp_path):
    from archive import Archive
    from archive.search import SearchQuery

    pdf = tmp_path / "files" / "forms.pdf"
    pdf.parent.mkdir()
    forms_pdf(pdf)
    with Archive(tmp_path / "archive") as a:
        assert a.ingest([pdf]).ingested == 1
        doc = a.store.documents()[0]
        summary = doc["metadata"]["redactions"]
        assert summary["boxes"] == 2 and summary["bad"] == 2, summary
        hidden = {b["hidden_text"] for b in a.redactions(doc["id"], show_hidden=True)}
        assert hidden == {"Quaggle", "Marchbanks"}
        assert a.search(SearchQuery("Quaggle")).total == 0
        assert a.search(SearchQuery("Pettigrew")).total == 1  # under the see-through fill: kept
