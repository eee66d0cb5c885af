"""`foi translate`: translating pages stored while no model was installed, then re-indexing
their documents (and finding entities in the new translations)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .cache import TranslationCache, aligned_pairs, cacheable, plan_texts, sentence_errors
from .engine import ArgosTranslator, has_chinese, split_sentences
from .packages import TranslationError

if TYPE_CHECKING:
    from ..core import Archive

# Sentences sent to the model at once by `foi translate` (across pages and documents).
BACKFILL_CHUNK = 512


def pending_count(archive: Archive) -> int:
    """How many pages wait for `foi translate` (marked pending, or Chinese pages stored before
    translation statuses existed)."""
    return archive.store.translation_pending_count()


@dataclass
class _Job:
    """One chunk of `foi translate`: its documents' pending pages, and the model call under way."""

    chunk: list[tuple[int, list[Any]]]
    todo: list[Any]
    split: list[list[str]]
    known: dict[str, str]
    missing: list[str]
    future: Future[list[str]] | None


def backfill(
    archive: Archive,
    progress: Callable[[int], None] | None = None,
    translator: ArgosTranslator | None = None,
    chunk_sentences: int = BACKFILL_CHUNK,
) -> dict[str, int]:
    """Translate pages left pending (ingested before a model was installed) and re-index them.

    Pages are taken a whole document at a time into chunks of about `chunk_sentences` sentences,
    and each chunk's sentences go to the model in one call, so small pages do not cost a model
    call each. While the model translates one chunk (in a worker thread: CTranslate2 releases
    the GIL) the previous chunk's pages, cache entries and stages are written in one transaction
    and its documents re-indexed, so the database and index work overlaps the model's. A kill
    loses at most the chunks not yet written; their pages stay pending."""
    translator = translator or ArgosTranslator(archive.root)
    if not translator.available():
        raise TranslationError("no zh->en model installed: run `foi models install zh en` or `--file`")
    store = archive.store
    model_id = translator.model_id
    cache = TranslationCache(store.db)
    # Document ids first, texts one document at a time: the whole backlog is never in memory.
    doc_ids = store.translation_pending_documents()
    totals = {"pages": 0, "documents": 0}

    def chunks() -> Iterator[list[tuple[int, list[Any]]]]:
        chunk: list[tuple[int, list[Any]]] = []
        size = 0
        for doc_id in doc_ids:
            doc_rows = store.translation_pending_pages(doc_id)
            chunk.append((doc_id, doc_rows))
            size += sum(len(split_sentences(r["text"])) for r in doc_rows if has_chinese(r["text"]))
            if size >= chunk_sentences:
                yield chunk
                chunk, size = [], 0
        if chunk:
            yield chunk

    def start(chunk: list[tuple[int, list[Any]]], inflight: _Job | None) -> _Job:
        todo = [row for _, doc_rows in chunk for row in doc_rows if has_chinese(row["text"])]
        exclude = set(inflight.missing) if inflight else set()
        split, known, missing = plan_texts([row["text"] for row in todo], model_id, cache, exclude)
        future = pool.submit(translator.translate_segments, missing) if missing else None
        return _Job(chunk, todo, split, known, missing, future)

    def finish(job: _Job, previous: dict[str, str]) -> dict[str, str]:
        """Write a chunk once its model call is done; returns its new translations."""
        targets = job.future.result() if job.future is not None else []
        fresh = dict(zip(job.missing, targets, strict=True))
        known = {**previous, **job.known, **fresh}  # `previous`: what the chunk before translated
        changed = sorted({row["document_id"] for row in job.todo})
        failures = getattr(translator, "failures", {})
        with store.transaction():
            cache.put_many(model_id, cacheable(fresh, failures))
            for row, (translation, pairs) in zip(job.todo, aligned_pairs(job.split, known), strict=True):
                store.update_page(
                    row["id"], translation=translation, segments=pairs, translation_status="done"
                )
                # A sentence the model failed on stays untranslated, named on its page.
                store.set_page_translation_errors(row["id"], sentence_errors(pairs, failures))
            for _, doc_rows in job.chunk:
                for row in doc_rows:
                    if not has_chinese(row["text"]):  # nothing to translate: never pending again
                        store.update_page(row["id"], translation_status="skipped")
            for doc_id in changed:
                store.set_stage(doc_id, "translate", "ok")
                # Pending for the search index until re-indexed (a kill before that leaves the
                # document to `catch_up_index`).
                store.update_document(doc_id, index_pending=1)
        for doc_id in changed:
            refresh(doc_id)
        totals["documents"] += len(changed)
        totals["pages"] += len(job.todo)
        if progress:
            progress(sum(len(doc_rows) for _, doc_rows in job.chunk))
        return fresh

    entity_extractors: list[Any] | None = None

    def refresh(doc_id: int) -> None:
        """Entities read the new translation too (the entity step ran before it existed); that
        re-indexes the document, else re-index it here."""
        nonlocal entity_extractors
        try:
            from ..entities import archive_watchlists, default_extractors, rescan_document
        except ModuleNotFoundError:
            archive.index_document(doc_id)
            return
        if entity_extractors is None:
            opts = archive.config.get("entities") or {}
            entity_extractors = default_extractors(
                archive_watchlists(archive.root), builtin_watchlist=opts.get("builtin_watchlist", True)
            )
        rescan_document(archive, doc_id, entity_extractors)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="foi-translate")
    try:
        inflight: _Job | None = None
        previous: dict[str, str] = {}
        for chunk in chunks():
            job = start(chunk, inflight)
            if inflight is not None:
                previous = finish(inflight, previous)
            inflight = job
        if inflight is not None:
            finish(inflight, previous)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    archive.flush_index()  # a batching backend sends its queue now
    return totals
