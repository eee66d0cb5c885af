"""Where OCR words sit in a page's text, so that mentions in OCR'd originals get word boxes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import Mention


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


def attach_boxes(mentions: list[Mention], text: str, words: Sequence[Sequence[Any]]) -> None:
    spans = word_spans(text, words)
    if not spans:
        return
    for m in mentions:
        m.boxes = [box for s, e, box in spans if s < m.end and m.start < e]
