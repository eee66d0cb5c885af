"""Where things sit on a page image: the alignment of OCR words with the page text (`word_spans`,
which entity boxes use too), and the boxes of a page's search hits and entities in percent of the
image, one per hit and line, from the page's words (OCR or text layer) under each hit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .script import spans_in_original
from .search.query import Phrase, Term
from .search.snippets import highlight_spans, matching_tokens


def _all_cjk(token: str) -> bool:
    return bool(token) and all(
        "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\uffef" or "\u3000" <= ch <= "\u303f" for ch in token
    )


def _same_line(a: Sequence[Any], b: Sequence[Any]) -> bool:
    top, bottom = max(float(a[2]), float(b[2])), min(float(a[2]) + float(a[4]), float(b[2]) + float(b[4]))
    return bottom - top > 0.5 * min(float(a[4]), float(b[4]))


def ocr_character_boxes(words: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """OCR words with each run of Chinese words on a line cut into one box per character.

    Tesseract's LSTM places the boxes of Chinese words late: a word's left edge sits about half
    a character right of its first glyph and its right edge varies (measured: 海洋 at 793-920 px
    over glyphs at 780-888), while the run as a whole starts and ends where its ink does. Chinese
    print is set one character per em, so the characters are spread evenly over the run; other
    words are kept as they are."""
    out: list[list[Any]] = []
    run: list[Sequence[Any]] = []

    def flush() -> None:
        if not run:
            return
        chars = "".join(str(w[0]).strip() for w in run)
        left = float(run[0][1])
        right = max(float(w[1]) + float(w[3]) for w in run)
        top = min(float(w[2]) for w in run)
        bottom = max(float(w[2]) + float(w[4]) for w in run)
        conf = min(float(w[5]) if len(w) > 5 else 0.0 for w in run)
        pitch = (right - left) / len(chars)
        for i, ch in enumerate(chars):
            out.append([ch, round(left + i * pitch, 1), top, round(pitch, 1), bottom - top, conf])
        run.clear()

    for w in words:
        token = str(w[0]).strip()
        if _all_cjk(token) and (not run or _same_line(run[-1], w)):
            run.append(w)
            continue
        flush()
        if _all_cjk(token):
            run.append(w)
        else:
            out.append(list(w))
    flush()
    return out


def word_spans(text: str, words: Sequence[Sequence[Any]]) -> list[tuple[int, int, list[float]]]:
    """Where each OCR word sits in the page text (which the OCR engine built from the words).

    Words are found in order; a word that cannot be found close to the previous one (text
    post-processing changed it) is left out rather than misplaced.
    """
    spans: list[tuple[int, int, list[float]]] = []
    cursor = 0
    for w in words:
        token = str(w[0]).strip()
        if not token:
            continue
        pos = text.find(token, cursor)
        if pos < 0 or pos - cursor > 40 + len(token):
            continue
        # OCR boxes are whole pixels; text-layer boxes may be fractional: kept as they are.
        spans.append((pos, pos + len(token), [w[1], w[2], w[3], w[4]]))
        cursor = pos + len(token)
    return spans


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
    if page.get("ocr"):
        words = ocr_character_boxes(words)
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
