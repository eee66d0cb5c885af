"""Safe markup for document text: the text is escaped piece by piece and only our own tags
(<mark> for query hits, <span> for entities and dictionary glosses) are inserted, by offsets.

Nothing from a document ever becomes markup: text and attribute values both go through
`markupsafe.escape`, and tag names and classes come from this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from archive import spans_in_original
from archive.search import Phrase, Term, highlight_spans, matching_tokens

# Outer to inner: an entity may hold glossed words, which may hold a query hit.
RANK = {"entity": 0, "gloss": 1, "hit": 2}
_CLASS_SAFE = re.compile(r"[^a-z0-9_-]")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # entity | gloss | hit
    classes: str = ""
    title: str = ""

    def open_tag(self) -> Markup:
        tag = "mark" if self.kind == "hit" else "span"
        attrs = Markup("")
        if self.classes:
            attrs += Markup(' class="{}"').format(self.classes)
        if self.title:
            attrs += Markup(' title="{}"').format(self.title)
        if self.kind == "gloss":
            # Focusable, with the meaning shown on focus (CSS): reachable by keyboard and by a tap.
            attrs += Markup(' tabindex="0" data-gloss="{}"').format(self.title)
        return Markup("<{}{}>").format(Markup(tag), attrs)

    def close_tag(self) -> Markup:
        return Markup("</mark>") if self.kind == "hit" else Markup("</span>")


def css_name(value: Any) -> str:
    """A value usable in a class name (entity types come from the data)."""
    return _CLASS_SAFE.sub("_", str(value or "other").lower())[:32] or "other"


def annotate(text: str, spans: Iterable[Span]) -> Markup:
    """`text` escaped, with the spans' tags inserted. Overlapping spans are split at each other's
    edges so the tags always nest properly."""
    n = len(text)
    items = [s for s in spans if 0 <= s.start < s.end <= n]
    if not items:
        return escape(text)
    order = {id(s): (RANK.get(s.kind, 9), s.start, -s.end, i) for i, s in enumerate(items)}
    cuts = sorted({0, n, *(s.start for s in items), *(s.end for s in items)})
    out: list[Markup] = []
    open_: list[Span] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        active = sorted((s for s in items if s.start <= a and b <= s.end), key=lambda s: order[id(s)])
        keep = 0
        while keep < len(open_) and keep < len(active) and open_[keep] is active[keep]:
            keep += 1
        out.extend(s.close_tag() for s in reversed(open_[keep:]))
        out.extend(s.open_tag() for s in active[keep:])
        open_ = active
        out.append(escape(text[a:b]))
    out.extend(s.close_tag() for s in reversed(open_))
    return Markup("").join(out)


def hit_spans(text: str, terms: Sequence[Term | Phrase]) -> list[tuple[int, int]]:
    """Spans of `text` (not of its NFKC form) that match the query terms."""
    if not terms or not text:
        return []
    return spans_in_original(text, lambda t: highlight_spans(t, list(terms)))


def locate(pieces: Sequence[str], text: str) -> list[int | None]:
    """Where each piece (sentence of an alignment) starts in `text`, searching forward."""
    out: list[int | None] = []
    cursor = 0
    for piece in pieces:
        needle = piece.strip()
        pos = text.find(needle, cursor) if needle else -1
        if pos < 0:
            out.append(None)
            continue
        lead = len(piece) - len(piece.lstrip())
        out.append(pos - lead)
        cursor = pos + len(needle)
    return out


def entity_spans(mentions: Iterable[dict[str, Any]], field: str, base: int, length: int) -> list[Span]:
    out = []
    for m in mentions:
        if (m.get("field") or "original") != field:
            continue
        try:
            start, end = int(m["start"]) - base, int(m["end"]) - base
        except (KeyError, TypeError, ValueError):
            continue
        if start < 0 or end > length:
            continue
        classes = f"ent ent-{css_name(m.get('type'))}" + (" watch" if m.get("source") == "watchlist" else "")
        label = f"{m.get('type')}: {m.get('norm') or m.get('text')}"
        if m.get("source") == "watchlist":
            label += " (watchlist)"
        out.append(Span(start, end, "entity", classes, label))
    return out


def gloss_spans(records: Iterable[Sequence[Any]], base: int, length: int) -> list[Span]:
    """Dictionary words ([word, start, end, pinyin, definition], offsets into the page text)."""
    out = []
    for rec in records:
        try:
            _word, start, end, pinyin, definition = rec[:5]
            start, end = int(start) - base, int(end) - base
        except (TypeError, ValueError):
            continue
        if 0 <= start < end <= length:
            out.append(Span(start, end, "gloss", "gl", f"{pinyin}: {definition}"))
    return out


def render_text(
    text: str,
    terms: Sequence[Term | Phrase] = (),
    mentions: Iterable[dict[str, Any]] = (),
    field: str = "original",
    gloss: Iterable[Sequence[Any]] = (),
    base: int | None = 0,
) -> Markup:
    """One stretch of page text (`base` is where it starts in the page's full field, None when
    unknown: then only query hits, which are found in the stretch itself, are marked)."""
    spans = [Span(s, e, "hit") for s, e in hit_spans(text, terms)]
    if base is not None:
        spans += entity_spans(mentions, field, base, len(text))
        glossed = gloss_spans(gloss, base, len(text))
        spans += glossed
        if terms:
            # English queries find Chinese pages through the gloss: mark the words whose gloss matched.
            taken = [(s.start, s.end) for s in spans if s.kind == "hit"]
            for g in glossed:
                if not any(s < g.end and g.start < e for s, e in taken) and matching_tokens(
                    g.title, list(terms)
                ):
                    spans.append(Span(g.start, g.end, "hit", "via-gloss"))
    return annotate(text, spans)
