"""Word boxes for mentions in OCR'd originals, from where the OCR words sit in the page text
(`highlights.word_spans`, the alignment the hit boxes use too)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..highlights import word_spans
from .base import Mention


def attach_boxes(mentions: list[Mention], text: str, words: Sequence[Sequence[Any]]) -> None:
    spans = word_spans(text, words)
    if not spans:
        return
    for m in mentions:
        m.boxes = [box for s, e, box in spans if s < m.end and m.start < e]
