"""Language analysis shared by every search backend.

Both SQLite FTS5 and Elasticsearch index the token stream made here (space-joined), so they see
the same terms: NFKC, case folding, Traditional -> Simplified folding (`hanfold`), and jieba
segmentation for Chinese. Backends only split on whitespace (FTS5 unicode61 over our output is
equivalent because we already removed punctuation).

A text with Han characters also gets its characters one by one after its words (`CHARS`, then
every Han character of the text in order, `BREAK` where letters or digits of another script come
between two of them): a query's Han text is also searched as a phrase of characters there, so any
substring of a run is found whatever jieba made of it, while whole words still rank first.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import jieba

from .hanfold import fold_han
from .script import HAN, HAN_RUN

jieba.setLogLevel(logging.WARNING)

# Bumped whenever the token stream changes: indexes made by another version need `foi reindex`.
# 5: Han runs include the Tertiary Ideographic Plane (Extension G and on; archive.script).
ANALYSIS_VERSION = "5"
# Private-use characters: FTS5's unicode61 and Elasticsearch's whitespace analyzer keep them as
# tokens, and no query term can hold one (they are not word characters), so only our code puts
# them in phrases. CHARS starts a text's character stream; BREAK separates two Han characters
# that have another script's letters or digits between them.
CHARS = "\ue000"
BREAK = "\ue001"

# Letters/digits runs; Han runs (archive.script.HAN_RUN) are handed to jieba. Underscore is
# punctuation for us (and FTS5).
# At most MAX_TERM characters: a longer run (base64, hashes, OCR noise) is cut into pieces of
# that length, which both backends index whole (Elasticsearch's whitespace analyzer would cut a
# token over 255 characters itself, and a query for the whole word would then find nothing).
MAX_TERM = 255
_WORD = re.compile(rf"[^\W_]{{1,{MAX_TERM}}}", re.UNICODE)


@dataclass(frozen=True)
class Token:
    term: str
    start: int  # character offsets into the NFKC text given to tokenize()
    end: int


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


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
    (`words`, in order): each word's 2- and 3-character dictionary words, then the word."""
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


def han_chars(text: str) -> list[str]:
    """The Han characters of a folded, normalized text in order, with `BREAK` between two that
    have letters or digits of another script between them (spaces and punctuation don't break:
    OCR spaces Chinese out, and a reader searching 海洋 wants 海 洋 and 海-洋 too)."""
    out: list[str] = []
    last = -1
    for m in HAN_RUN.finditer(text):
        if out and _WORD.search(text, last, m.start()):
            out.append(BREAK)
        out.extend(m.group())
        last = m.end()
    return out


def tokenize(text: str, for_index: bool = True) -> list[Token]:
    """Split NFKC text into case-folded terms with their offsets.

    Offsets refer to `normalize(text)`; NFKC rarely changes lengths for the scripts we meet, and
    snippet code works on the normalized text too.
    """
    return _folded_tokens(fold_han(normalize(text)), for_index)


def _folded_tokens(folded: str, for_index: bool) -> list[Token]:
    """`tokenize` of a text already normalized and folded."""
    tokens: list[Token] = []
    for at, piece, han in _pieces(folded):
        if han:
            tokens.extend(_han_tokens(piece, at, for_index))
        else:
            tokens.append(Token(piece.casefold(), at, at + len(piece)))
    return tokens


def _pieces(norm: str) -> Iterator[tuple[int, str, bool]]:
    """The words of a normalized text cut into Han runs and the rest, in order: (offset, piece,
    whether it is a Han run)."""
    for m in _WORD.finditer(norm):
        word = m.group()
        pos = 0
        for h in HAN_RUN.finditer(word):
            if h.start() > pos:
                yield m.start() + pos, word[pos : h.start()], False
            yield m.start() + h.start(), h.group(), True
            pos = h.end()
        if pos < len(word):
            yield m.start() + pos, word[pos:], False


def index_words(text: str) -> list[str]:
    """The word terms a backend indexes for `text` (its character stream left out)."""
    return [t.term for t in tokenize(text, for_index=True)]


def index_text(text: str) -> str:
    """The whitespace-joined term stream a backend indexes: the words, then (when the text has
    Han characters) `CHARS` and its character stream."""
    folded = fold_han(normalize(text))  # once for the words and the characters
    words = [t.term for t in _folded_tokens(folded, for_index=True)]
    chars = han_chars(folded) if HAN.search(folded) else []
    if chars:
        words.append(CHARS)
        words.extend(chars)
    return " ".join(words)


def query_terms(text: str) -> list[str]:
    """Terms of a piece of a user query (precise segmentation)."""
    return [t.term for t in tokenize(text, for_index=False)]
