"""How much of an OCR reading is made of dictionary words: the measure, beside confidence, by
which a poor reading is told and two readings of a page are compared.

Garbage (a page read upside down, a textured background read as print) is made of letters and
characters in no dictionary; an engine that misses words reads fewer of them. English words come
from the system word list (Debian's `wbritish`, /usr/share/dict/words), Chinese words from the
dictionary jieba ships (words of two characters or more: a single character is always "a word").
Each list is read once per process, on first use.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

ENGLISH_WORDS = Path(os.environ.get("FOI_WORD_LIST", "/usr/share/dict/words"))
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LONGEST_HAN_WORD = 6  # longer dictionary entries (idioms, names) add little and cost time


@dataclass(frozen=True)
class WordCount:
    """Letters and Han characters of a reading, and how many of them are in dictionary words."""

    units: int  # Latin letters in words of 2+ letters, plus Han characters
    in_words: int  # of those, the ones inside dictionary words

    @property
    def share(self) -> float:
        return self.in_words / self.units if self.units else 0.0


@functools.cache
def english_words() -> frozenset[str]:
    """Lower-cased words of the system word list; empty when it is missing (then every Latin
    word counts as unknown, and confidence alone judges English readings)."""
    try:
        text = ENGLISH_WORDS.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    return frozenset(w.lower() for w in text.split() if w.isalpha() or "'" in w)


@functools.cache
def chinese_words() -> frozenset[str]:
    """Words of two to six characters from jieba's dictionary (word, frequency, tag per line)."""
    import jieba

    path = Path(jieba.__file__).with_name("dict.txt")
    words = set()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            word = line.split(" ", 1)[0]
            if 2 <= len(word) <= _LONGEST_HAN_WORD:
                words.add(word)
    return frozenset(words)


def _latin(text: str) -> WordCount:
    known = english_words()
    units = in_words = 0
    for match in _LATIN_WORD.finditer(text):
        word = match.group()
        if len(word) < 2:
            continue
        units += len(word)
        lower = word.lower()
        if lower in known or lower.removesuffix("'s") in known or (word.isupper() and len(word) <= 4):
            # Short capitals are acronyms and codes (FOI, MOD, CUDA): not evidence either way.
            in_words += len(word)
    return WordCount(units, in_words)


def _han(text: str) -> WordCount:
    """Characters covered by dictionary words, cut greedily longest first from the left."""
    known = chinese_words()
    units = in_words = 0
    for match in _HAN_RUN.finditer(text):
        run = match.group()
        units += len(run)
        i = 0
        while i < len(run):
            for size in range(min(_LONGEST_HAN_WORD, len(run) - i), 1, -1):
                if run[i : i + size] in known:
                    in_words += size
                    i += size
                    break
            else:
                i += 1
    return WordCount(units, in_words)


def dictionary_words(text: str) -> WordCount:
    """Letters and Han characters of `text`, and those inside dictionary words."""
    latin, han = _latin(text), _han(text) if _HAN_RUN.search(text) else WordCount(0, 0)
    return WordCount(latin.units + han.units, latin.in_words + han.in_words)
