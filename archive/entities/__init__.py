"""Entities, watchlist hits and FOI exemption citations found in page texts.

Every extractor reads one text field of a page (the original, its English translation, or the word
gloss) and returns `Mention`s with character offsets into that field. The entity step runs them all
after translation, resolves overlaps (a watchlist hit beats an exemption, which beats a pattern,
which beats statistical NER), maps mentions in OCR'd originals to the word boxes they cover and
stores them in page.meta["entities"]; `Archive.index_records` turns those into the `entity` and
`exemption` search keywords. A per-document summary (one row per entity id) goes into the
document's metadata["entities"].
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..core import Archive
    from ..pipeline import DocWork, StepContext

log = logging.getLogger(__name__)

FIELDS = ("original", "translation", "gloss")
# Types an extractor may return. Exemptions are counted in their own facet.
TYPES = (
    "person",
    "org",
    "place",
    "email",
    "phone",
    "url",
    "money",
    "date",
    "foi_ref",
    "postcode",
    "id",
    "exemption",
)
# Lower wins when two mentions overlap.
PRIORITY = {"watchlist": 0, "exemptions": 1, "patterns": 2, "ner_zh": 3, "ner_en": 4}


@dataclass
class Mention:
    """One occurrence of an entity in one text field of a page. `end` is exclusive."""

    type: str
    text: str
    norm: str
    start: int
    end: int
    source: str
    entity_id: str = ""
    field: str = "original"
    boxes: list[list[float]] = dc_field(default_factory=list)  # [left, top, width, height]
    extra: dict[str, Any] = dc_field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.entity_id:
            self.entity_id = f"{self.type}:{entity_key(self.norm)}"

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": self.type,
            "text": self.text,
            "norm": self.norm,
            "entity_id": self.entity_id,
            "start": self.start,
            "end": self.end,
            "field": self.field,
            "source": self.source,
        }
        if self.boxes:
            d["boxes"] = self.boxes
        d.update(self.extra)
        return d


class EntityExtractor(Protocol):
    """Finds mentions in one text.

    `name` is stored as each mention's `source`. `fields` are the page fields it reads.
    `available()` is False when a dependency (a spaCy model) is missing; the step then skips the
    extractor rather than failing. `extract(text, lang, field)` returns mentions whose offsets index
    `text`; it must not raise on any input (hostile documents included). An extractor that needs
    document-level facts sets `uses_context = True` and accepts `context=` (a dict such as
    {"foi": True}) as a keyword argument.
    """

    name: str
    fields: tuple[str, ...]

    def available(self) -> bool: ...

    def extract(self, text: str, lang: str | None, field: str) -> list[Mention]: ...


def entity_key(text: str) -> str:
    """Case-, width- and whitespace-insensitive key used to group spellings of one entity."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def clean_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span so it neither starts nor ends with whitespace or stray punctuation."""
    while start < end and (text[start].isspace() or text[start] in "\"'“‘([{<"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "\"'”’.,;:)]}>"):
        if text[end - 1] == ")" and "(" in text[start:end]:
            break
        end -= 1
    return start, end


# -- extractor registry ------------------------------------------------------------------------


def default_extractors(
    watchlists: Sequence[Path] = (), builtin_watchlist: bool = True
) -> list[EntityExtractor]:
    """Every extractor this build can run, in priority order, NER last (it may be unavailable)."""
    from .exemptions import ExemptionExtractor
    from .ner_en import SpacyExtractor
    from .ner_zh import JiebaExtractor
    from .patterns import PatternExtractor
    from .watchlist import WatchlistExtractor, load_watchlists

    wl = load_watchlists(list(watchlists), builtin=builtin_watchlist)
    extractors: list[EntityExtractor] = [
        WatchlistExtractor(wl),
        ExemptionExtractor(),
        PatternExtractor(),
        JiebaExtractor(extra_words=wl.chinese_names()),
        SpacyExtractor(),
    ]
    return [e for e in extractors if e.available()]


# -- running extractors on a page ---------------------------------------------------------------


@dataclass
class PageTexts:
    """What the extractors read of one page, whether it comes from the pipeline or the store."""

    number: int
    original: str
    translation: str = ""
    gloss: str = ""
    lang: str | None = None
    ocr: bool = False
    words: list[tuple[str, int, int, int, int]] = dc_field(default_factory=list)

    def text(self, name: str) -> str:
        return {"original": self.original, "translation": self.translation, "gloss": self.gloss}[name] or ""


def resolve_overlaps(mentions: Iterable[Mention]) -> list[Mention]:
    """Keep one mention per stretch of text: higher-priority sources first, then longer spans."""
    kept: list[Mention] = []
    order = sorted(mentions, key=lambda m: (PRIORITY.get(m.source, 9), -(m.end - m.start), m.start))
    taken = bytearray(max((m.end for m in order), default=0) + 1)  # characters already kept
    for m in order:
        if m.end <= m.start or any(taken[m.start : m.end]):
            continue
        kept.append(m)
        taken[m.start : m.end] = b"\x01" * (m.end - m.start)
    return sorted(kept, key=lambda m: (m.start, m.end))


def word_spans(text: str, words: Sequence[Sequence[Any]]) -> list[tuple[int, int, list[float]]]:
    """Where each OCR word sits in the page text (which the OCR engine built from the words).

    Words are found in order; a word that cannot be found close to the previous one (text
    post-processing changed it) is left out rather than misplaced.
    """
    spans: list[tuple[int, int, list[float]]] = []
    cursor = 0
    for w in words:
        token = str(w[0]).strip()
        if not token:
            continue
        pos = text.find(token, cursor)
        if pos < 0 or pos - cursor > 40 + len(token):
            continue
        # OCR boxes are whole pixels; text-layer boxes may be fractional: kept as they are.
        spans.append((pos, pos + len(token), [w[1], w[2], w[3], w[4]]))
        cursor = pos + len(token)
    return spans


def attach_boxes(mentions: list[Mention], text: str, words: Sequence[Sequence[Any]]) -> None:
    spans = word_spans(text, words)
    if not spans:
        return
    for m in mentions:
        m.boxes = [box for s, e, box in spans if s < m.end and m.start < e]


# No-break and other Unicode spaces read as plain spaces (PDF text layers are full of them).
_SPACES = {
    ord(c): " "
    for c in "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"
}


def extract_page(
    page: PageTexts,
    extractors: Sequence[EntityExtractor],
    context: dict[str, Any] | None = None,
    skip: Collection[str] = (),
) -> list[Mention]:
    """All mentions on one page, overlaps resolved per field, OCR boxes attached to the original.

    `context` carries document-level facts to extractors that set `uses_context` (the exemption
    extractor reads {"foi": True}: a later page of an FOI letter need not say "Freedom of Information").
    """
    out: list[Mention] = []
    for name in FIELDS:
        text = page.text(name)
        if not text.strip():
            continue
        found: list[Mention] = []
        scan = text.translate(_SPACES)  # same length, so offsets hold for `text`
        for ex in extractors:
            if name not in ex.fields or ex.name in skip:
                continue
            try:
                lang = page.lang if name == "original" else "en"
                if context is not None and getattr(ex, "uses_context", False):
                    found.extend(ex.extract(scan, lang, name, context=context))  # type: ignore[call-arg]
                else:
                    found.extend(ex.extract(scan, lang, name))
            except Exception:  # one extractor's bug must not lose the others' mentions
                log.exception("entity extractor %s failed on page %s", ex.name, page.number)
        mentions = resolve_overlaps(found)
        for m in mentions:
            m.field = name
            m.text = text[m.start : m.end]
        if name == "original" and page.words:  # OCR words, or a text layer's word boxes
            attach_boxes(mentions, text, page.words)
        out.extend(mentions)
    return out


def summarize(pages: Iterable[tuple[int, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """One row per entity id in a document: the preferred name, its spellings, count and pages."""
    rows: dict[str, dict[str, Any]] = {}
    for number, mentions in pages:
        for m in mentions:
            row = rows.setdefault(
                m["entity_id"],
                {
                    "entity_id": m["entity_id"],
                    "type": m["type"],
                    "norm": m["norm"],
                    "count": 0,
                    "pages": [],
                    "texts": [],
                    "fields": [],
                },
            )
            row["count"] += 1
            if number not in row["pages"]:
                row["pages"].append(number)
            if m["text"] not in row["texts"] and len(row["texts"]) < 10:
                row["texts"].append(m["text"])
            if m["field"] not in row["fields"]:
                row["fields"].append(m["field"])
    return sorted(rows.values(), key=lambda r: (r["type"], -r["count"], r["norm"]))


# -- the pipeline step --------------------------------------------------------------------------


def archive_watchlists(root: Path) -> list[Path]:
    """Watchlists added with `foi watchlist add`, kept in <archive>/watchlists/."""
    folder = Path(root) / "watchlists"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in {".csv", ".yaml", ".yml"})


def document_context(texts: Iterable[str]) -> dict[str, Any]:
    """Document-level facts for extractors that use them: is this an FOI document at all?"""
    from .exemptions import is_foi_text

    return {"foi": any(is_foi_text(t) for t in texts)}


class EntityStep:
    """Finds entities and exemption citations on every page (after translation and glosses)."""

    name = "entities"

    def __init__(self, archive: StepContext):
        self.archive = archive
        self._extractors: list[EntityExtractor] | None = None

    @property
    def extractors(self) -> list[EntityExtractor]:
        if self._extractors is None:
            opts = self.archive.config.get("entities") or {}
            self._extractors = default_extractors(
                archive_watchlists(self.archive.root), builtin_watchlist=opts.get("builtin_watchlist", True)
            )
        return self._extractors

    def needed(self, work: DocWork) -> bool:
        return any(p.text.strip() or p.meta.get("translation") for p in work.pages)

    def run(self, work: DocWork) -> None:
        per_page = []
        plan = ScanPlan.of(
            [
                len(p.text or "") + len(p.meta.get("translation") or "") + len(p.meta.get("gloss") or "")
                for p in work.pages
            ],
            self.extractors,
        )
        context = document_context(p.text for p in work.pages[: plan.scanned])
        for page in work.pages[plan.scanned :]:
            page.meta["entities"] = []
        for index, page in enumerate(work.pages[: plan.scanned]):
            texts = PageTexts(
                number=page.number,
                original=page.text or "",
                translation=page.meta.get("translation") or "",
                gloss=page.meta.get("gloss") or "",
                lang=page.lang,
                ocr=page.ocr,
                words=[(w.text, w.left, w.top, w.width, w.height) for w in page.words],
            )
            found = extract_page(texts, self.extractors, context, skip=plan.skip(index))
            mentions = [m.as_dict() for m in found]
            page.meta["entities"] = mentions
            per_page.append((page.number, mentions))
        assert work.extraction is not None
        work.extraction.metadata["entities"] = summarize(per_page)
        if plan.note:
            work.extraction.metadata["entities_capped"] = plan.note
            work.notes[self.name] = plan.note


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


def rescan_document(archive: Archive, doc_id: int, extractors: Sequence[EntityExtractor]) -> int:
    """Run the extractors again on a stored document, store and re-index it; returns mentions."""
    doc = archive.store.document(doc_id)
    if doc is None:
        return 0
    per_page = []
    total = 0
    pages = archive.store.pages(doc_id, with_words=True)
    plan = ScanPlan.of(
        [len(p["text"] or "") + len(p["translation"] or "") + len(p["gloss"] or "") for p in pages],
        extractors,
    )
    scanned = plan.scanned
    context = document_context(p["text"] or "" for p in pages[:scanned])
    with archive.store.transaction():
        for p in pages[scanned:]:  # past the cap: no mentions kept from an earlier scan either
            if p["meta"].get("entities"):
                archive.store.update_page(p["id"], meta={**p["meta"], "entities": []})
        for index, p in enumerate(pages[:scanned]):
            texts = PageTexts(
                number=p["number"],
                original=p["text"] or "",
                translation=p["translation"] or "",
                gloss=p["gloss"] or "",
                lang=p["lang"],
                ocr=p["ocr"],
                words=[tuple(w[:5]) for w in p.get("words") or []],
            )
            mentions = [m.as_dict() for m in extract_page(texts, extractors, context, skip=plan.skip(index))]
            meta = dict(p["meta"])
            meta["entities"] = mentions
            archive.store.update_page(p["id"], meta=meta)
            per_page.append((p["number"], mentions))
            total += len(mentions)
        metadata = dict(doc["metadata"])
        metadata["entities"] = summarize(per_page)
        note = plan.note
        if note:
            metadata["entities_capped"] = note
        else:
            metadata.pop("entities_capped", None)
        archive.store.update_document(doc_id, metadata=metadata)
        archive.store.set_stage(doc_id, "entities", "ok", note)
    archive.index_document(doc_id)
    return total
