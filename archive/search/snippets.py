"""Snippets and matched fields, computed in Python from the stored text so every backend gives
the same ones. Output is HTML-safe: document text is escaped, only our <mark> tags are markup."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from functools import lru_cache
from html import escape as _escape

from markupsafe import Markup, escape

from ..analysis import _WORD, Token, normalize
from ..hanfold import fold_han
from ..script import HAN, HAN_RUN
from .query import Phrase, Term


def _wanted(terms: list[Term | Phrase]) -> tuple[set[str], list[str]]:
    exact: set[str] = set()
    prefixes: list[str] = []
    for t in terms:
        if isinstance(t, Term):
            # A Han prefix is a Han substring: its characters in a row match anywhere.
            (prefixes.append(t.term) if t.prefix and not HAN.match(t.term) else exact.add(t.term))
        elif t.chars:
            exact.add("".join(t.terms))
        else:
            exact.update(t.terms)
    return exact, prefixes


def _wanted_in(norm: str, terms: list[Term | Phrase]) -> tuple[set[str], list[str]] | None:
    """The wanted terms (`_wanted`), or None when none can match: a cheap pre-check, since a term
    can only match if it occurs as a substring of the folded text (a Han term: its first
    character, as spaces may stand between its characters)."""
    exact, prefixes = _wanted(terms)
    folded = fold_han(norm.casefold())
    if any(_probe(t) in folded for t in exact) or any(_probe(p) in folded for p in prefixes):
        return exact, prefixes
    return None


def _probe(term: str) -> str:
    return term[0] if HAN.match(term) else term


def matching_tokens(text: str, terms: list[Term | Phrase]) -> list[Token]:
    """What the query terms match in `text`, in order: the tokens of `tokenize(text)` that a term
    of another script matches, and every occurrence of a Chinese term's characters in a row (of
    the folded text: 測試 matches 测试), which is what the index's character stream finds."""
    found = sorted(_matches(text, terms), key=lambda item: item[0])  # the text's order
    return [tok for _, tok in found]


def has_match(text: str, terms: list[Term | Phrase]) -> bool:
    """`bool(matching_tokens(text, terms))`, stopping at the first match."""
    return next(_matches(text, terms), None) is not None


def _matches(text: str, terms: list[Term | Phrase]) -> Iterator[tuple[int, Token]]:
    """(start, token) for each token a query term matches, lazily."""
    return _matches_normalized(normalize(text), terms)


def _matches_normalized(text: str, terms: list[Term | Phrase]) -> Iterator[tuple[int, Token]]:
    """`_matches` of a text already NFKC-normalised (NFKC of Chinese text is not free: its
    full-width punctuation changes)."""
    wanted = _wanted_in(text, terms)
    if wanted is None:
        return
    exact, prefixes = wanted
    if text.isascii():
        lowered = text.lower()
        yield from (
            (m.start(), Token(m.group(), m.start(), m.end()))
            for m in _ascii_matches(lowered, exact, prefixes)
        )
        return
    han = [t for t in (*exact, *prefixes) if HAN.search(t)]
    # Query terms are all Han or all not (tokenize splits Han from other letters), and so are tokens.
    exact, prefixes = {t for t in exact if t not in han}, [p for p in prefixes if p not in han]
    if exact or prefixes:
        for m in _WORD.finditer(text):
            word, base = m.group(), m.start()
            pieces, pos = [], 0
            for h in HAN_RUN.finditer(word):
                if h.start() > pos:
                    pieces.append((pos, h.start()))
                pos = h.end()
            if pos < len(word):
                pieces.append((pos, len(word)))
            for a, b in pieces:
                term = word[a:b].casefold()
                if term in exact or any(term.startswith(p) for p in prefixes):
                    yield base + a, Token(term, base + a, base + b)
    if han:
        # Han text matches wherever its characters stand in a row in the folded text (spaces and
        # punctuation between them allowed), as the index's character stream finds it.
        pattern = _han_matcher(tuple(sorted(set(han))))
        for m in pattern.finditer(fold_han(text)):
            yield m.start(), Token(m.group(), m.start(), m.end())


# What may stand between two Han characters of a match: anything but a letter or digit (the
# index's character stream breaks only there, see analysis.han_chars).
_HAN_GAP = r"[\W_]*?"


@lru_cache(maxsize=256)
def _han_matcher(terms: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, so a longer term's occurrence is marked whole.
    alts = [_HAN_GAP.join(map(re.escape, t)) for t in sorted(terms, key=len, reverse=True)]
    return re.compile("|".join(alts))


def _ascii_matches(lowered: str, exact: set[str], prefixes: list[str]) -> Iterator[re.Match[str]]:
    """In lowercased ASCII text a token is a maximal run of letters and digits, its term the run:
    the runs that a term matches. (The run's start is checked here, not by a look-behind in the
    pattern: one at every position of the text cost more than the rest of a snippet, and a
    match refused here spans letters only, so it hides no run start.)"""
    pattern = _ascii_matcher(frozenset(exact), tuple(prefixes))
    if pattern is None:
        return
    for m in pattern.finditer(lowered):
        start = m.start()
        if start == 0 or not lowered[start - 1].isalnum():
            yield m


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
    return re.compile("|".join(alts))


def highlight_spans(text: str, terms: list[Term | Phrase]) -> list[tuple[int, int]]:
    """Merged (start, end) spans of `normalize(text)` that match the query terms."""
    return _spans(normalize(text), terms)


def _spans(norm: str, terms: list[Term | Phrase]) -> list[tuple[int, int]]:
    if norm.isascii():  # the common case, without a Token per hit (regex matches come in order)
        wanted = _wanted_in(norm, terms)
        return _merged([m.span() for m in _ascii_matches(norm.lower(), *wanted)]) if wanted else []
    return _merged(sorted((t.start, t.end) for _, t in _matches_normalized(norm, terms)))


def mark(text: str, spans: list[tuple[int, int]]) -> Markup:
    """`text` escaped (& < > " ' all), with each span wrapped in <mark>. Built as one string:
    a Markup object per piece cost more than the rest of a snippet."""
    esc = _escape if _HTML_SPECIAL.search(text) else str  # most text has nothing to escape
    out: list[str] = []
    pos = 0
    for s, e in spans:
        out += (esc(text[pos:s]), "<mark>", esc(text[s:e]), "</mark>")
        pos = e
    out.append(esc(text[pos:]))
    return Markup("".join(out))


_HTML_SPECIAL = re.compile("[&<>\"']")


def make_snippet(text: str, terms: list[Term | Phrase], width: int = 220) -> Markup:
    """A window of `text` around the densest cluster of hits, hits wrapped in <mark>."""
    text = normalize(text)
    exact, prefixes = _wanted(terms)
    folded = fold_han(text.casefold())
    positions = [i for i in (folded.find(_probe(t)) for t in [*exact, *prefixes]) if i >= 0]
    if len(text) > 2 * width and positions:
        # Long pages: tokenise only a window around the first occurrence (casefold keeps lengths for
        # the scripts we meet; the window is re-checked by the tokenizer anyway).
        first = min(positions)
        lo = max(0, first - width)
        lo = text.rfind(" ", 0, lo) + 1 if lo else 0
        text = text[lo : first + 2 * width]
        body = _window_snippet(text, terms, width, _spans(text, terms))
        return body if lo == 0 or body.startswith("…") else Markup("…") + body
    return _window_snippet(text, terms, width, _spans(text, terms))


def gloss_spans(
    text: str, gloss_words: list[list[object]], terms: list[Term | Phrase]
) -> list[tuple[int, int]]:
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
    # The window start that covers the most hits (spans are merged, so their starts increase:
    # the hits from the i-th on that start before s + width).
    starts = [s for s, _ in spans]
    best_start, best_count = spans[0][0], 0
    for i, s in enumerate(starts):
        count = bisect.bisect_left(starts, s + width, i) - i
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
