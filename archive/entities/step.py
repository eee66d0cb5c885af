"""The pipeline step that finds entities on every page, and `rescan_document`, which runs the
extractors again on a stored document (`foi entities rescan`, `foi translate`)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .base import EntityExtractor, PageTexts
from .extract import document_context, extract_page, summarize
from .registry import ScanPlan, archive_watchlists, default_extractors

if TYPE_CHECKING:
    from ..core import Archive
    from ..steps import DocWork, StepContext


class EntityStep:
    """Finds entities and exemption citations on every page (after translation and glosses)."""

    name = "entities"

    def __init__(self, archive: StepContext | None, extractors: list[EntityExtractor] | None = None):
        self.archive = archive
        self._extractors = extractors
        self._recipe: EntityRecipe | None = None

    @property
    def extractors(self) -> list[EntityExtractor]:
        if self._extractors is None:
            assert self.archive is not None
            self._extractors = default_extractors(
                archive_watchlists(self.archive.root), builtin_watchlist=self._builtin_watchlist()
            )
        return self._extractors

    def _builtin_watchlist(self) -> bool:
        opts = (self.archive.config.get("entities") if self.archive else None) or {}
        return bool(opts.get("builtin_watchlist", True))

    def recipe(self) -> EntityRecipe:
        """What a cluster worker builds this step from (archive/portable.py): the archive's
        watchlists travel as their contents."""
        assert self.archive is not None
        if self._recipe is None:  # read once per ingest
            files = tuple((p.name, p.read_bytes()) for p in archive_watchlists(self.archive.root))
            self._recipe = EntityRecipe(files, self._builtin_watchlist())
        return self._recipe

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
            found = extract_page(
                texts,
                self.extractors,
                context,
                skip=plan.skip(index),
                given=page.meta.get("record_entities") or (),
            )
            mentions = [m.as_dict() for m in found]
            page.meta["entities"] = mentions
            per_page.append((page.number, mentions))
        assert work.extraction is not None
        work.extraction.metadata["entities"] = summarize(per_page)
        if plan.note:
            work.extraction.metadata["entities_capped"] = plan.note
            work.notes[self.name] = plan.note


@dataclass(frozen=True)
class EntityRecipe:
    watchlists: tuple[tuple[str, bytes], ...]  # (file name, contents) of the archive's watchlists
    builtin_watchlist: bool

    def build(self) -> EntityStep:
        folder = Path(tempfile.mkdtemp(prefix="foi-watchlists-"))
        paths = []
        for name, data in self.watchlists:
            (folder / name).write_bytes(data)
            paths.append(folder / name)
        return EntityStep(None, default_extractors(paths, builtin_watchlist=self.builtin_watchlist))


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
            given = p["meta"].get("record_entities") or ()
            found = extract_page(texts, extractors, context, skip=plan.skip(index), given=given)
            mentions = [m.as_dict() for m in found]
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
