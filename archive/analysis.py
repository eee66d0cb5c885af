"""Language analysis shared by every search backend.

Both SQLite FTS5 and Elasticsearch index the token stream made here (space-joined), so they see
the same terms: NFKC, case folding, and jieba segmentation for Chinese. Backends only split on
whitespace (FTS5 unicode61 over our output is equivalent because we already removed punctuation).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)

# Letters/digits runs; Han runs are handed to jieba. Underscore is punctuation for us (and FTS5).
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")


@dataclass(frozen=True)
class Token:
    term: str
    start: int  # character offsets into the NFKC text given to tokenize()
    end: int


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def is_han(ch: str) -> bool:
    return bool(_HAN.fullmatch(ch))


@lru_cache(maxsize=1)
def _jieba() -> jieba.Tokenizer:
    tk = jieba.Tokenizer()
    tk.initialize()
    return tk


def _han_tokens(run: str, offset: int, for_index: bool) -> list[Token]:
    # Index with search mode (words and their sub-words) so a query for 基地 finds 军事基地;
    # queries use precise mode so a query word is one term.
    if for_index:
        return search_tokens(_jieba().cut(run), offset)
    out: list[Token] = []
    for word, start, end in _jieba().tokenize(run, mode="default"):
        if word.strip():
            out.append(Token(word, offset + start, offset + end))
    return out


def search_tokens(words: Iterable[str], offset: int) -> list[Token]:
    """jieba's search mode (`Tokenizer.tokenize(run, mode="search")`) from its cut of a run
    (`words`, in order): each word's 2- and 3-character dictionary words, then the word. Snippets
    rebuild a run's index tokens from the cut kept at analysis (`encode_cuts`) without jieba."""
    freq = _jieba().FREQ
    out: list[Token] = []
    start = offset
    for w in words:
        width = len(w)
        for n in (2, 3) if width > 3 else (2,) if width > 2 else ():
            for i in range(width - n + 1):
                gram = w[i : i + n]
                if freq.get(gram):
                    out.append(Token(gram, start + i, start + i + n))
        if w.strip():
            out.append(Token(w, start, start + width))
        start += width
    return out


def index_text_and_cuts(text: str) -> tuple[str, str | None]:
    """`index_text(text)`, and jieba's cut of its Han runs for keeping (None when the text has
    none): one character per character of `normalize(text)`, "0" for a Han character that
    continues a word, "1" for any other (a word's first, or not Han). One jieba pass makes both."""
    text = normalize(text)
    terms: list[str] = []
    cut: list[str] = []
    done = 0  # of the text, described in `cut`
    tk = _jieba()
    for at, piece, han in _pieces(text):
        if not han:
            terms.append(piece.casefold())
            continue
        words = list(tk.cut(piece))
        terms.extend(t.term for t in search_tokens(words, 0))
        cut.append("1" * (at - done))
        cut.extend("1" + "0" * (len(w) - 1) for w in words)
        done = at + len(piece)
    if not cut:
        return " ".join(terms), None
    cut.append("1" * (len(text) - done))
    return " ".join(terms), "".join(cut)


class KeptCuts:
    """jieba's cut of `normalize(text)` as `index_text_and_cuts` kept it, to find a run's index
    tokens without jieba. A cut that does not fit the text (made from another) is never used."""

    def __init__(self, norm_text: str, cut: str):
        self._text = norm_text
        self._cut = cut if len(cut) == len(norm_text) else None

    def matching_words(
        self, window: str, window_at: int, exact: set[str], prefixes: list[str]
    ) -> tuple[list[tuple[int, Token]], int] | None:
        """For `window`, the text from `window_at`: the index tokens (tokenize's, in its order,
        offsets into the window, each with its word's start) that are one of `exact` or start
        with one of `prefixes`, and where the
        window's last run begins when the window cuts it short (len(window) when it does not):
        such a run is segmented as it stands, with jieba. None when no cut fits."""
        text, cut = self._text, self._cut
        end = window_at + len(window)
        if cut is None or text[window_at:end] != window:
            return None
        if window_at > 0 and _HAN.match(text, window_at - 1) and _HAN.match(window):
            return None  # a window never starts inside a run (it starts at a space)
        whole = len(window)
        if end < len(text) and _HAN.match(text, end):
            # The window cuts a Han run short: that run's last piece is segmented as it stands
            # (found by stepping back, not by a regex anchored at the end, which is quadratic).
            while whole > 0 and _HAN.match(window[whole - 1]):
                whole -= 1
        words: dict[int, int] = {}
        for t in (*exact, *prefixes):
            i = window.find(t, 0, whole)
            while i >= 0:
                # The word holding the occurrence's first character; a token is a piece of one word.
                at = window_at + i
                first = cut.rfind("1", 0, at + 1)
                after = cut.find("1", at + 1)
                after = len(cut) if after < 0 else after
                if at + len(t) <= after:
                    words[first] = after
                i = window.find(t, i + 1, whole)
        out: list[tuple[int, Token]] = []
        for first in sorted(words):
            word, at = text[first : words[first]], first - window_at
            if prefixes:
                found = [
                    t
                    for t in search_tokens((word,), at)
                    if t.term in exact or any(t.term.startswith(p) for p in prefixes)
                ]
            else:
                found = _exact_tokens(word, at, exact)
            out += [(at, t) for t in found]
        return out, whole


def _exact_tokens(word: str, offset: int, exact: set[str]) -> list[Token]:
    """The tokens of `search_tokens((word,), offset)` whose term is in `exact`, found directly:
    the word's 2-character then 3-character dictionary words among `exact`, then the word."""
    freq = _jieba().FREQ
    out: list[Token] = []
    width = len(word)
    for n in (2, 3):
        if width > n:
            found = []
            for t in exact:
                if len(t) == n and freq.get(t):
                    i = word.find(t)
                    while i >= 0:
                        found.append(i)
                        i = word.find(t, i + 1)
            out += [Token(word[i : i + n], offset + i, offset + i + n) for i in sorted(found)]
    if word in exact and word.strip():
        out.append(Token(word, offset, offset + width))
    return out


def tokenize(text: str, for_index: bool = True) -> list[Token]:
    """Split NFKC text into case-folded terms with their offsets.

    Offsets refer to `normalize(text)`; NFKC rarely changes lengths for the scripts we meet, and
    snippet code works on the normalized text too.
    """
    tokens: list[Token] = []
    for at, piece, han in _pieces(normalize(text)):
        if han:
            tokens.extend(_han_tokens(piece, at, for_index))
        else:
            tokens.append(Token(piece.casefold(), at, at + len(piece)))
    return tokens


def _pieces(norm: str) -> Iterator[tuple[int, str, bool]]:
    """The words of a normalized text cut into Han runs and the rest, in order: (offset, piece,
    whether it is a Han run). Both `tokenize` and `index_text_and_cuts` walk the text this way."""
    for m in _WORD.finditer(norm):
        word = m.group()
        pos = 0
        for h in _HAN.finditer(word):
            if h.start() > pos:
                yield m.start() + pos, word[pos : h.start()], False
            yield m.start() + h.start(), h.group(), True
            pos = h.end()
        if pos < len(word):
            yield m.start() + pos, word[pos:], False


def index_text(text: str) -> str:
    """The whitespace-joined term stream a backend indexes."""
    return " ".join(t.term for t in tokenize(text, for_index=True))


def query_terms(text: str) -> list[str]:
    """Terms of a piece of a user query (precise segmentation)."""
    return [t.term for t in tokenize(text, for_index=False)]
