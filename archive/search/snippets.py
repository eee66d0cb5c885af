"""Snippets and matched fields, computed in Python from the stored text so every backend gives
the same ones. Output is HTML-safe: document text is escaped, only our <mark> tags are markup."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from html import escape as _escape

from markupsafe import Markup, escape

from ..analysis import _HAN, _WORD, Token, _han_tokens, normalize
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
    """The tokens of `tokenize(text)` that a query term matches (the same list, found faster: only
    a Han run that holds a wanted Chinese term as a substring goes through jieba, since every word
    jieba makes of a run is a substring of it, and no other token is built)."""
    found = sorted(_matches(text, terms), key=lambda item: item[0])  # tokenize's order
    return [tok for _, tok in found]


def has_match(text: str, terms: list[Term | Phrase]) -> bool:
    """`bool(matching_tokens(text, terms))`, stopping at the first match (Han runs after the
    other words, so jieba runs only when nothing else matched)."""
    return next(_matches(text, terms), None) is not None


def _matches(text: str, terms: list[Term | Phrase]) -> Iterator[tuple[int, Token]]:
    """(start of the token's run, token) for each token a query term matches, lazily."""
    exact, prefixes = _wanted(terms)
    if not exact and not prefixes or not _might_contain(text, exact, prefixes):
        return
    text = normalize(text)
    if text.isascii():
        # ASCII text: a token is a maximal run of letters and digits, its term the run lowercased.
        pattern = _ascii_matcher(frozenset(exact), tuple(prefixes))
        if pattern is not None:
            yield from ((m.start(), Token(m.group(), m.start(), m.end())) for m in pattern.finditer(text.lower()))
        return
    han_exact = {t for t in exact if _HAN.search(t)}
    han_prefixes = [p for p in prefixes if _HAN.search(p)]
    # Query terms are all Han or all not (tokenize splits Han from other letters), and so are tokens.
    exact, prefixes = exact - han_exact, [p for p in prefixes if p not in han_prefixes]
    if exact or prefixes:
        for m in _WORD.finditer(text):
            word, base = m.group(), m.start()
            pieces, pos = [], 0
            for h in _HAN.finditer(word):
                if h.start() > pos:
                    pieces.append((pos, h.start()))
                pos = h.end()
            if pos < len(word):
                pieces.append((pos, len(word)))
            for a, b in pieces:
                term = word[a:b].casefold()
                if term in exact or any(term.startswith(p) for p in prefixes):
                    yield base + a, Token(term, base + a, base + b)
    if han_exact or han_prefixes:
        wanted = [*han_exact, *han_prefixes]
        for h in _HAN.finditer(text):
            run = h.group()
            if any(t in run for t in wanted):  # jieba's words of a run are substrings of it
                for tok in _han_tokens(run, h.start(), True):
                    if tok.term in han_exact or any(tok.term.startswith(p) for p in han_prefixes):
                        yield h.start(), tok


@lru_cache(maxsize=256)
def _ascii_matcher(exact: frozenset[str], prefixes: tuple[str, ...]) -> re.Pattern[str] | None:
    alts = []
    words = sorted(t for t in exact if t.isascii())
    if words:
        alts.append("(?:" + "|".join(map(re.escape, words)) + ")(?![^\\W_])")
    starts = sorted(p for p in prefixes if p.isascii())
    if starts:
        alts.append("(?:" + "|".join(map(re.escape, starts)) + ")[^\\W_]*")
    if not alts:
        return None
    return re.compile("(?<![^\\W_])(?:" + "|".join(alts) + ")")


def highlight_spans(text: str, terms: list[Term | Phrase]) -> list[tuple[int, int]]:
    """Merged (start, end) spans of `normalize(text)` that match the query terms."""
    return _merged(sorted((t.start, t.end) for t in matching_tokens(text, terms)))


def mark(text: str, spans: list[tuple[int, int]]) -> Markup:
    """`text` escaped (& < > " ' all), with each span wrapped in <mark>. Built as one string:
    a Markup object per piece cost more than the rest of a snippet."""
    out: list[str] = []
    pos = 0
    for s, e in spans:
        out += (_escape(text[pos:s]), "<mark>", _escape(text[s:e]), "</mark>")
        pos = e
    out.append(_escape(text[pos:]))
    return Markup("".join(out))


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
    return _merged(sorted(spans))


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with the overlapping and touching ones joined."""
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
    # Collapse layout whitespace (line breaks from PDFs) for a one-line snippet.
    body = " ".join(str(mark(text[start:end], window)).split())
    return Markup(("…" if start > 0 else "") + body + ("…" if end < len(text) else ""))


def matched_fields(fields: dict[str, str], terms: list[Term | Phrase]) -> list[str]:
    """Which of the page's text fields (original, translation, gloss) contain a query term."""
    return [name for name, text in fields.items() if text and has_match(text, terms)]
