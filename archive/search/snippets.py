"""Snippets and matched fields, computed in Python from the stored text so every backend gives
the same ones. Output is HTML-safe: document text is escaped, only our <mark> tags are markup."""

from __future__ import annotations

from markupsafe import Markup, escape

from ..analysis import Token, normalize, tokenize
from .query import Phrase, Term


def _wanted(terms: list[Term | Phrase]) -> tuple[set[str], list[str]]:
    exact: set[str] = set()
    prefixes: list[str] = []
    for t in terms:
        if isinstance(t, Term):
            (prefixes.append(t.term) if t.prefix else exact.add(t.term))
        else:
            exact.update(t.terms)
    return exact, prefixes


def _might_contain(text: str, exact: set[str], prefixes: list[str]) -> bool:
    """Cheap pre-check: a term can only match if it occurs as a substring of the folded text."""
    folded = normalize(text).casefold()
    return any(t in folded for t in exact) or any(p in folded for p in prefixes)


def matching_tokens(text: str, terms: list[Term | Phrase]) -> list[Token]:
    exact, prefixes = _wanted(terms)
    if not exact and not prefixes or not _might_contain(text, exact, prefixes):
        return []
    return [
        tok for tok in tokenize(text, for_index=True)
        if tok.term in exact or any(tok.term.startswith(p) for p in prefixes)
    ]


def highlight_spans(text: str, terms: list[Term | Phrase]) -> list[tuple[int, int]]:
    """Merged (start, end) spans of `normalize(text)` that match the query terms."""
    spans = sorted((t.start, t.end) for t in matching_tokens(text, terms))
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def mark(text: str, spans: list[tuple[int, int]]) -> Markup:
    out = []
    pos = 0
    for s, e in spans:
        out.append(escape(text[pos:s]))
        out.append(Markup("<mark>") + escape(text[s:e]) + Markup("</mark>"))
        pos = e
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def make_snippet(text: str, terms: list[Term | Phrase], width: int = 220) -> Markup:
    """A window of `text` around the densest cluster of hits, hits wrapped in <mark>."""
    text = normalize(text)
    exact, prefixes = _wanted(terms)
    folded = text.casefold()
    positions = [i for i in (folded.find(t) for t in [*exact, *prefixes]) if i >= 0]
    if len(text) > 2 * width and positions:
        # Long pages: tokenise only a window around the first occurrence (casefold keeps lengths for
        # the scripts we meet; the window is re-checked by the tokenizer anyway).
        first = min(positions)
        lo = max(0, first - width)
        lo = text.rfind(" ", 0, lo) + 1 if lo else 0
        text = text[lo : first + 2 * width]
        body = _window_snippet(text, terms, width)
        return body if lo == 0 or body.startswith("…") else Markup("…") + body
    return _window_snippet(text, terms, width)


def gloss_spans(text: str, gloss_words: list[list[object]], terms: list[Term | Phrase]) -> list[tuple[int, int]]:
    """Spans of `normalize(text)` holding the Chinese words whose dictionary gloss matches a query
    term (`gloss_words`: [[word, start, end, pinyin, definition], ...] with offsets into `text`)."""
    norm = normalize(text)
    spans: list[tuple[int, int]] = []
    for rec in gloss_words:
        if len(rec) < 5 or not matching_tokens(str(rec[4]), terms):
            continue
        word, start = str(rec[0]), int(rec[1])  # type: ignore[call-overload]
        if norm[start : start + len(word)] != word:  # NFKC moved it: look for it nearby
            found = norm.find(word, max(0, start - 16))
            if found < 0:
                continue
            start = found
        spans.append((start, start + len(word)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def snippet_at(text: str, spans: list[tuple[int, int]], width: int = 220) -> Markup:
    """A snippet of `text` around given spans of `normalize(text)`, each wrapped in <mark>."""
    return _window_snippet(normalize(text), [], width, spans)


def _window_snippet(
    text: str, terms: list[Term | Phrase], width: int, spans: list[tuple[int, int]] | None = None
) -> Markup:
    if spans is None:
        spans = highlight_spans(text, terms)
    if not spans:
        chunk = " ".join(text[:width].split())
        return escape(chunk + ("…" if len(text) > width else ""))
    # The window start that covers the most hits.
    best_start, best_count = spans[0][0], 0
    for s, _ in spans:
        count = sum(1 for s2, _ in spans if s <= s2 < s + width)
        if count > best_count:
            best_start, best_count = s, count
    start = max(0, best_start - width // 4)
    # Begin at a word boundary when one is near.
    space = text.rfind(" ", max(0, start - 20), start)
    start = space + 1 if space >= 0 and start > 0 else start
    end = min(len(text), start + width)
    window = [(max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start]
    body = mark(text[start:end], window)
    # Collapse layout whitespace (line breaks from PDFs) for a one-line snippet.
    body = Markup(" ".join(str(body).split()))
    return (Markup("…") if start > 0 else Markup("")) + body + (Markup("…") if end < len(text) else Markup(""))


def matched_fields(fields: dict[str, str], terms: list[Term | Phrase]) -> list[str]:
    """Which of the page's text fields (original, translation, gloss) contain a query term."""
    return [name for name, text in fields.items() if text and matching_tokens(text, terms)]
