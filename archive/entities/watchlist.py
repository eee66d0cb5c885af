"""Watchlists: named entities with aliases in several scripts, matched in every text field.

A watchlist is a YAML or CSV file.

YAML::

    name: my list
    entries:
      - id: hikvision
        name: Hangzhou Hikvision Digital Technology Co., Ltd.
        type: org                      # org | person | place
        aliases: [Hikvision, 海康威视, 海康威視, Haikang Weishi]

CSV (aliases separated by "|")::

    id,name,type,aliases
    hikvision,Hangzhou Hikvision Digital Technology Co.,org,Hikvision|海康威视|海康威視

Matching ignores case, character width (full-width Latin), Traditional vs Simplified characters
and the spaces OCR puts between Chinese characters. Latin aliases match whole words only.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..hanfold import traditional_to_simplified as _fold_table
from ..script import HAN
from .base import Mention

BUILTIN = Path(__file__).with_name("data") / "watchlist_defence.yaml"
ENTRY_TYPES = {"org", "person", "place"}


class WatchlistError(ValueError):
    """A watchlist file that cannot be read; the message names the file and the problem."""


@dataclass
class WatchlistEntry:
    id: str
    name: str
    type: str
    aliases: list[str]
    note: str = ""
    list_name: str = ""

    def all_names(self) -> list[str]:
        return [self.name, *self.aliases]


@dataclass
class Watchlist:
    entries: list[WatchlistEntry] = field(default_factory=list)

    def chinese_names(self) -> list[tuple[str, str]]:
        """(name, jieba tag) for every alias written in Chinese characters: the segmenter's user words."""
        tags = {"org": "nt", "person": "nr", "place": "ns"}
        out = []
        for e in self.entries:
            for alias in e.all_names():
                if HAN.search(alias) and " " not in alias.strip():
                    out.append((alias.strip(), tags.get(e.type, "nz")))
        return out


# -- normalisation ------------------------------------------------------------------------------


def traditional_to_simplified() -> dict[str, str]:
    """Character map from CC-CEDICT: each Traditional form to its Simplified one (the table
    search folds with, so a watchlist matches what search finds)."""
    return _fold_table()


def fold(text: str) -> tuple[str, list[int]]:
    """Text for matching, and for each of its characters the index of the original character.

    NFKC (width), case folding, Traditional -> Simplified, Latin diacritics dropped (pinyin tone
    marks), whitespace runs -> one space, and no space next to a Chinese character (OCR spaces
    CJK text out).
    """
    t2s = traditional_to_simplified()
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            c = t2s.get(c, c)
            if "\u00c0" <= c <= "\u024f" or "\u1e00" <= c <= "\u1eff":  # pinyin tones, accents: hǎi -> hai
                c = (
                    "".join(x for x in unicodedata.normalize("NFD", c) if not unicodedata.combining(x))[:1]
                    or c
                )
            if c.isspace() or c in "\u00ad\u200b":
                if c == "\u00ad" or c == "\u200b" or (chars and (chars[-1] == " " or HAN.match(chars[-1]))):
                    continue
                c = " "
            elif HAN.match(c) and chars and chars[-1] == " ":
                chars.pop()
                index.pop()
            chars.append(c)
            index.append(i)
    return "".join(chars), index


def fold_alias(alias: str) -> str:
    return fold(alias.strip())[0].strip()


# -- loading -----------------------------------------------------------------------------------


def _split_aliases(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [a.strip() for a in re.split(r"[|;]", value) if a.strip()]
    if isinstance(value, Iterable):
        return [str(a).strip() for a in value if str(a).strip()]
    raise WatchlistError(f"aliases must be a list or a |-separated string, not {type(value).__name__}")


def _entry(raw: dict[str, Any], list_name: str, where: str) -> WatchlistEntry:
    name = str(raw.get("name") or "").strip()
    if not name:
        raise WatchlistError(f"{where}: an entry has no name")
    type_ = str(raw.get("type") or "org").strip().lower()
    if type_ not in ENTRY_TYPES:
        raise WatchlistError(f"{where}: entry {name!r} has type {type_!r}; use one of {sorted(ENTRY_TYPES)}")
    entry_id = str(raw.get("id") or "").strip() or re.sub(r"[^a-z0-9]+", "-", fold_alias(name)).strip("-")
    return WatchlistEntry(
        id=entry_id,
        name=name,
        type=type_,
        aliases=_split_aliases(raw.get("aliases")),
        note=str(raw.get("note") or ""),
        list_name=list_name,
    )


def load_watchlist(path: Path | str) -> Watchlist:
    """Read one YAML or CSV watchlist; raises WatchlistError with the file name on bad content."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        raw_text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WatchlistError(f"{path}: cannot read: {exc}") from exc
    if suffix in {".yaml", ".yml"}:
        import yaml

        try:
            data = yaml.safe_load(raw_text)
        except yaml.YAMLError as exc:
            raise WatchlistError(f"{path}: not valid YAML: {exc}") from exc
        if isinstance(data, list):
            data = {"entries": data}
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            raise WatchlistError(f"{path}: expected a mapping with an 'entries' list")
        list_name = str(data.get("name") or path.stem)
        rows = data["entries"]
    elif suffix == ".csv":
        reader = csv.DictReader(raw_text.splitlines())
        if not reader.fieldnames or "name" not in [f.strip().lower() for f in reader.fieldnames]:
            raise WatchlistError(f"{path}: a CSV watchlist needs a header with at least 'name'")
        rows = [{(k or "").strip().lower(): v for k, v in row.items()} for row in reader]
        list_name = path.stem
    else:
        raise WatchlistError(f"{path}: watchlists are .yaml, .yml or .csv files")
    entries = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise WatchlistError(f"{path}: entry {n} is not a mapping")
        entries.append(_entry(row, list_name, f"{path}: entry {n}"))
    return Watchlist(entries)


def load_watchlists(paths: Sequence[Path | str], builtin: bool = True) -> Watchlist:
    """The built-in starter list (unless disabled) plus the given files; later ids extend earlier ones."""
    merged: dict[str, WatchlistEntry] = {}
    files = ([BUILTIN] if builtin else []) + [Path(p) for p in paths]
    for path in files:
        for e in load_watchlist(path).entries:
            if e.id in merged:
                old = merged[e.id]
                old.aliases += [a for a in e.all_names() if a not in old.all_names()]
            else:
                merged[e.id] = e
    return Watchlist(list(merged.values()))


# -- matching ----------------------------------------------------------------------------------


def _is_word_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


class WatchlistExtractor:
    """Watchlist aliases in the original, translation and gloss."""

    name: str = "watchlist"
    fields: tuple[str, ...] = ("original", "translation", "gloss")

    def __init__(self, watchlist: Watchlist):
        self.watchlist = watchlist
        self._by_alias: dict[str, WatchlistEntry] = {}
        for e in watchlist.entries:
            for alias in e.all_names():
                key = fold_alias(alias)
                if len(key) >= 2:
                    self._by_alias.setdefault(key, e)
        keys = sorted(self._by_alias, key=len, reverse=True)
        self._rx = re.compile("|".join(re.escape(k) for k in keys)) if keys else None

    def available(self) -> bool:
        return self._rx is not None

    def extract(self, text: str, lang: str | None, field: str) -> list[Mention]:
        if self._rx is None:
            return []
        folded, index = fold(text)
        out = []
        pos = 0
        while True:
            m = self._rx.search(folded, pos)
            if m is None:
                break
            s, e = m.span()
            key = m.group()
            # Latin aliases are whole words: CETC, not CETCX; AVIC, not Avicenna.
            if (_is_word_char(key[0]) and s > 0 and _is_word_char(folded[s - 1])) or (
                _is_word_char(key[-1]) and e < len(folded) and _is_word_char(folded[e])
            ):
                pos = s + 1
                continue
            entry = self._by_alias[key]
            start, end = index[s], index[e - 1] + 1
            out.append(
                Mention(
                    entry.type,
                    text[start:end],
                    entry.name,
                    start,
                    end,
                    self.name,
                    entity_id=f"watchlist:{entry.id}",
                    # Aliases travel with the mention so `entity:"CETC"` finds the canonical entity.
                    extra={"watchlist": entry.list_name, "watchlist_id": entry.id, "aliases": entry.aliases},
                )
            )
            pos = e
        return out
