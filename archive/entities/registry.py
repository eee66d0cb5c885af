"""Which extractors run, and on which pages: every extractor this build can run (with the
archive's watchlists), and the per-document caps that keep statistical NER, then all
extractors, to the first pages of a very long document."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .base import EntityExtractor
from .exemptions import ExemptionExtractor
from .ner_en import SpacyExtractor
from .ner_zh import JiebaExtractor
from .patterns import PatternExtractor
from .watchlist import WatchlistExtractor, load_watchlists


def default_extractors(
    watchlists: Sequence[Path] = (), builtin_watchlist: bool = True
) -> list[EntityExtractor]:
    """Every extractor this build can run, in priority order, NER last (it may be unavailable)."""
    wl = load_watchlists(list(watchlists), builtin=builtin_watchlist)
    extractors: list[EntityExtractor] = [
        WatchlistExtractor(wl),
        ExemptionExtractor(),
        PatternExtractor(),
        JiebaExtractor(extra_words=wl.chinese_names()),
        SpacyExtractor(),
    ]
    return [e for e in extractors if e.available()]


def archive_watchlists(root: Path) -> list[Path]:
    """Watchlists added with `foi watchlist add`, kept in <archive>/watchlists/."""
    folder = Path(root) / "watchlists"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in {".csv", ".yaml", ".yml"})


DEFAULT_MAX_ENTITY_CHARS = 500_000
DEFAULT_MAX_NER_CHARS = 100_000
# Extractors that cost far more than the others (spaCy's statistical NER: about 50 µs a
# character on one core, against 1 to 10 for the dictionary and pattern ones).
STATISTICAL = frozenset({"ner_en"})


def _setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    return value if value > 0 else default


def max_entity_chars() -> int:
    """Characters of a document (originals, translations, glosses) read by the entity
    extractors (`FOI_MAX_ENTITY_CHARS`); pages past it are stored and indexed, not scanned."""
    return _setting("FOI_MAX_ENTITY_CHARS", DEFAULT_MAX_ENTITY_CHARS)


def max_ner_chars() -> int:
    """Characters of a document read by statistical NER (`FOI_MAX_NER_CHARS`); pages past it are
    still scanned by the watchlist, exemption, pattern and Chinese name extractors."""
    return _setting("FOI_MAX_NER_CHARS", DEFAULT_MAX_NER_CHARS)


def pages_within_cap(sizes: Sequence[int], cap: int) -> int:
    """How many leading pages (of these sizes in characters) are read under a cap: pages are
    taken while fewer than `cap` characters were, so at most one page goes past it."""
    used = 0
    for n, size in enumerate(sizes):
        if used >= cap:
            return n
        used += size
    return len(sizes)


@dataclass(frozen=True)
class ScanPlan:
    """Which pages of a document the extractors read: the first `full` by all of them, the
    ones up to `scanned` by all but the statistical ones, none after; `note` says what was cut."""

    full: int
    scanned: int
    note: str | None

    @classmethod
    def of(cls, sizes: Sequence[int], extractors: Sequence[EntityExtractor]) -> ScanPlan:
        pages = len(sizes)
        scanned = pages_within_cap(sizes, max_entity_chars())
        statistical = any(ex.name in STATISTICAL for ex in extractors)
        full = min(scanned, pages_within_cap(sizes, max_ner_chars())) if statistical else scanned
        parts = []
        if full < scanned:
            parts.append(
                f"statistical NER read the first {full} of {pages} pages only "
                f"(limit of {max_ner_chars()} characters per document, FOI_MAX_NER_CHARS)"
            )
        if scanned < pages:
            parts.append(
                f"entities looked for in the first {scanned} of {pages} pages only "
                f"(limit of {max_entity_chars()} characters per document, FOI_MAX_ENTITY_CHARS)"
            )
        return cls(full, scanned, "; ".join(parts) or None)

    def skip(self, index: int) -> frozenset[str]:
        return frozenset() if index < self.full else STATISTICAL
