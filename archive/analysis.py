"""Language analysis shared by every search backend.

Both SQLite FTS5 and Elasticsearch index the token stream made here (space-joined), so they see
the same terms: NFKC, case folding, and jieba segmentation for Chinese. Backends only split on
whitespace (FTS5 unicode61 over our output is equivalent because we already removed punctuation).
"""

from __future__ import annotations

import logging
import re
import unicodedata
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
    tk = _jieba()
    out: list[Token] = []
    # Index with search mode (words and their sub-words) so a query for 基地 finds 军事基地;
    # queries use precise mode so a query word is one term.
    mode = "search" if for_index else "default"
    for word, start, end in tk.tokenize(run, mode=mode):
        if word.strip():
            out.append(Token(word, offset + start, offset + end))
    return out


def tokenize(text: str, for_index: bool = True) -> list[Token]:
    """Split NFKC text into case-folded terms with their offsets.

    Offsets refer to `normalize(text)`; NFKC rarely changes lengths for the scripts we meet, and
    snippet code works on the normalized text too.
    """
    text = normalize(text)
    tokens: list[Token] = []
    for m in _WORD.finditer(text):
        word = m.group()
        pos = 0
        for h in _HAN.finditer(word):
            if h.start() > pos:
                tokens.append(Token(word[pos : h.start()].casefold(), m.start() + pos, m.start() + h.start()))
            tokens.extend(_han_tokens(h.group(), m.start() + h.start(), for_index))
            pos = h.end()
        if pos < len(word):
            tokens.append(Token(word[pos:].casefold(), m.start() + pos, m.end()))
    return tokens


def index_text(text: str) -> str:
    """The whitespace-joined term stream a backend indexes."""
    return " ".join(t.term for t in tokenize(text, for_index=True))


def query_terms(text: str) -> list[str]:
    """Terms of a piece of a user query (precise segmentation)."""
    return [t.term for t in tokenize(text, for_index=False)]
