"""Where a page's search hits and entities sit on its image: boxes in percent of the image, one
per hit and line, from the page's words (OCR or text layer) under each hit."""

from __future__ import annotations

from typing import Any

from .entities import word_spans
from .script import spans_in_original
from .search.query import Phrase, Term
from .search.snippets import highlight_spans, matching_tokens


def page_boxes(page: dict[str, Any], terms: list[Term | Phrase]) -> dict[str, Any]:
    """`{"width", "height", "hits": [box + text], "entities": [box + type, text]}` for a stored page
    (`Store.page`) and the positive terms of a query.

    Hits are found in the page text (so phrases, prefixes and Chinese words spanning several OCR
    words or characters match) and mapped to the words whose text spans they overlap."""
    width, height = page.get("width") or 0, page.get("height") or 0
    out: dict[str, Any] = {"width": width, "height": height, "hits": [], "entities": []}
    if not width or not height:
        return out

    def pct(left: float, top: float, w: float, h: float) -> dict[str, float]:
        return {
            "left": round(100 * left / width, 3),
            "top": round(100 * top / height, 3),
            "width": round(100 * w / width, 3),
            "height": round(100 * h / height, 3),
        }

    def merge_lines(boxes: list[list[float]]) -> list[list[float]]:
        # Neighbouring boxes on one line (the characters of a Chinese word, the words of a phrase)
        # become one box; a hit that wraps gives one box per line.
        merged: list[list[float]] = []
        for left, top, w, h in boxes:
            if merged:
                ml, mt, mw, mh = merged[-1]
                overlap = min(mt + mh, top + h) - max(mt, top)
                gap = left - (ml + mw)
                if overlap > 0.5 * min(mh, h) and -0.5 * h <= gap <= 1.5 * max(mh, h):
                    nl, nt = min(ml, left), min(mt, top)
                    merged[-1] = [nl, nt, max(ml + mw, left + w) - nl, max(mt + mh, top + h) - nt]
                    continue
            merged.append([left, top, w, h])
        return merged

    words = page.get("words") or []
    if terms and words:
        text = page["text"] or ""
        located = word_spans(text, words)  # the same alignment the entity boxes use
        if located:
            spans: list[tuple[int, int]] = []
            # highlight_spans gives offsets into the NFKC text.
            for s, e in spans_in_original(text, lambda t: highlight_spans(t, terms)):
                # Hits separated by spaces only (the words of a phrase) are one hit.
                if spans and text[spans[-1][1] : s].isspace() and s - spans[-1][1] <= 3:
                    spans[-1] = (spans[-1][0], e)
                else:
                    spans.append((s, e))
            for s, e in spans:
                covered = [box for ws, we, box in located if ws < e and s < we]
                for box in merge_lines(covered):
                    out["hits"].append({**pct(*box), "text": text[s:e]})
        else:  # the text was rebuilt after OCR: match word by word
            for w in words:
                if matching_tokens(str(w[0]), terms):
                    out["hits"].append({**pct(*[float(v) for v in w[1:5]]), "text": w[0]})
    for ent in page["meta"].get("entities") or []:
        boxes = [[float(v) for v in box[:4]] for box in ent.get("boxes") or [] if len(box) >= 4]
        for box in merge_lines(boxes):
            out["entities"].append({**pct(*box), "type": ent.get("type"), "text": ent.get("text")})
    return out
