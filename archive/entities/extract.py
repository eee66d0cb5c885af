"""Running the extractors on a page: overlaps resolved by source priority, OCR boxes attached,
and a document's mentions summed up per entity."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from ..highlights import ocr_character_boxes
from .alignment import attach_boxes
from .base import FIELDS, TYPES, EntityExtractor, Mention, PageTexts
from .exemptions import is_foi_text

log = logging.getLogger(__name__)

# Lower wins when two mentions overlap. "record": a structured file's own fields (a vCard's FN, a
# calendar attendee's CN), given by its extractor in the page's meta["record_entities"].
PRIORITY = {"record": 0, "watchlist": 0, "exemptions": 1, "patterns": 2, "ner_zh": 3, "ner_en": 4}


def resolve_overlaps(mentions: Iterable[Mention]) -> list[Mention]:
    """Keep one mention per stretch of text: higher-priority sources first, then longer spans."""
    kept: list[Mention] = []
    order = sorted(mentions, key=lambda m: (PRIORITY.get(m.source, 9), -(m.end - m.start), m.start))
    taken = bytearray(max((m.end for m in order), default=0) + 1)  # characters already kept
    for m in order:
        if m.end <= m.start or any(taken[m.start : m.end]):
            continue
        kept.append(m)
        taken[m.start : m.end] = b"\x01" * (m.end - m.start)
    return sorted(kept, key=lambda m: (m.start, m.end))


# No-break and other Unicode spaces read as plain spaces (PDF text layers are full of them).
_SPACES = {
    ord(c): " "
    for c in "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"
}


def extract_page(
    page: PageTexts,
    extractors: Sequence[EntityExtractor],
    context: dict[str, Any] | None = None,
    skip: Collection[str] = (),
    given: Iterable[dict[str, Any]] = (),
) -> list[Mention]:
    """All mentions on one page, overlaps resolved per field, OCR boxes attached to the original.

    `given` are mentions an extractor read from a structured file's fields (type, text, norm,
    start, end in the original text); kept over any overlapping mention the extractors find.

    `context` carries document-level facts to extractors that set `uses_context` (the exemption
    extractor reads {"foi": True}: a later page of an FOI letter need not say "Freedom of Information").
    """
    out: list[Mention] = []
    for name in FIELDS:
        text = page.text(name)
        if not text.strip():
            continue
        found = _given_mentions(text, given) if name == "original" else []
        scan = text.translate(_SPACES)  # same length, so offsets hold for `text`
        for ex in extractors:
            if name not in ex.fields or ex.name in skip:
                continue
            try:
                lang = page.lang if name == "original" else "en"
                if context is not None and getattr(ex, "uses_context", False):
                    found.extend(ex.extract(scan, lang, name, context=context))  # type: ignore[call-arg]
                else:
                    found.extend(ex.extract(scan, lang, name))
            except Exception:  # one extractor's bug must not lose the others' mentions
                log.exception("entity extractor %s failed on page %s", ex.name, page.number)
        mentions = resolve_overlaps(found)
        for m in mentions:
            m.field = name
            m.text = text[m.start : m.end]
        if name == "original" and page.words:  # OCR words, or a text layer's word boxes
            attach_boxes(mentions, text, ocr_character_boxes(page.words) if page.ocr else page.words)
        out.extend(mentions)
    return out


def _given_mentions(text: str, given: Iterable[dict[str, Any]]) -> list[Mention]:
    found = []
    for g in given:
        start, end = int(g.get("start", -1)), int(g.get("end", -1))
        if g.get("type") in TYPES and 0 <= start < end <= len(text) and text[start:end] == g.get("text"):
            found.append(
                Mention(
                    str(g["type"]), text[start:end], str(g.get("norm") or g["text"]), start, end, "record"
                )
            )
    return found


def summarize(pages: Iterable[tuple[int, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """One row per entity id in a document: the preferred name, its spellings, count and pages."""
    rows: dict[str, dict[str, Any]] = {}
    for number, mentions in pages:
        for m in mentions:
            row = rows.setdefault(
                m["entity_id"],
                {
                    "entity_id": m["entity_id"],
                    "type": m["type"],
                    "norm": m["norm"],
                    "count": 0,
                    "pages": [],
                    "texts": [],
                    "fields": [],
                },
            )
            row["count"] += 1
            if number not in row["pages"]:
                row["pages"].append(number)
            if m["text"] not in row["texts"] and len(row["texts"]) < 10:
                row["texts"].append(m["text"])
            if m["field"] not in row["fields"]:
                row["fields"].append(m["field"])
    return sorted(rows.values(), key=lambda r: (r["type"], -r["count"], r["norm"]))


def document_context(texts: Iterable[str]) -> dict[str, Any]:
    """Document-level facts for extractors that use them: is this an FOI document at all?"""
    return {"foi": any(is_foi_text(t) for t in texts)}
