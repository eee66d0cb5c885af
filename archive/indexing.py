"""Keeping the search index in step with the store: index records made from stored pages (their
analysis kept on the page), the write queue for backends that take batches (with its sending
thread and back-off), catch-up of index-pending documents, and rebuilds (`foi reindex`).

A document is `index_pending=1` in the store until the engine has acknowledged all its pages, so a
crash, a kill or an engine outage loses nothing: the next catch-up sends it again.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jieba

from .analysis import _WORD, ANALYSIS_VERSION, index_text, normalize
from .index_matching import AfterIndex, Matcher, unclaimed
from .script import HAN
from .search import SearchBackend, SearchError, SearchUnavailable
from .search.base import IndexRecord
from .store import Store, now

if TYPE_CHECKING:
    from .pipeline import IngestReport

log = logging.getLogger(__name__)

# Documents indexed one at a time (the embedded backend) are matched against saved searches this
# many at once (and at every flush and catch-up).
MATCH_BATCH = 200


class Indexer:
    """The search index of one archive: `index_document` after each document is stored,
    `catch_up` at the end of an ingest, `reindex` to rebuild, `close` to send what is queued."""

    def __init__(self, store: Store, backend: SearchBackend, config: dict[str, Any] | None = None):
        self.store = store
        self.backend = backend
        self.config = dict(config or {})
        self.state = _IndexState()
        self.queue: _IndexQueue | None = None
        # Called with the ids of documents just indexed, after each batch (the saved searches'
        # matching, archive/alerts), their records as indexed when they are all still at hand
        # (else None) and the store to use: set by the Archive facade; None: nothing to tell.
        # On a batching backend it runs on a thread of its own, beside indexing
        # (archive/index_matching.py); close and catch-up wait for it.
        self.after_index: AfterIndex | None = None
        self.matcher = Matcher(store, threaded=backend.supports_batches)
        self._unmatched = 0  # documents indexed since `after_index` was last called
        self._sent: dict[int, list[IndexRecord]] = {}  # records of those documents, as indexed

    def close(self) -> None:
        """Send what is queued or in flight (failures stay index-pending); never raises."""
        if self.queue is not None:
            try:
                self.queue.close()
            except Exception:  # closing must not raise over an engine problem
                log.warning("search index queue not flushed on close", exc_info=True)
        self.tell_indexed()
        self.matcher.close()

    def indexed(
        self, doc_ids: Collection[int], batch_done: bool, records: Mapping[int, list[IndexRecord]]
    ) -> None:
        """Documents just indexed (already noted in the store, `Store.note_indexed`, in the
        transaction that marked them) with the records sent: tell `after_index` when a batch is
        done, or, for a backend indexing one document at a time, every MATCH_BATCH documents."""
        if self.after_index is None:
            return
        for d in doc_ids:
            self._sent[d] = records[d]
        self._unmatched += len(doc_ids)
        if batch_done or self._unmatched >= MATCH_BATCH:
            self.tell_indexed()

    def tell_indexed(self) -> None:
        """Hand the documents indexed and not yet matched to `after_index` (those a killed process
        left included), then forget them; never raises (a saved search must not stop indexing:
        after a failure they are handed over again next time). On a batching backend the match
        runs on the matcher's thread and this returns at once (unless the batch waiting is full)."""
        self._unmatched = 0
        if self.after_index is None:
            self._sent.clear()
            return
        if self.matcher.threaded and self.store.in_transaction:
            # Inside the caller's transaction: the matcher's thread could not see these documents
            # noted, and waiting for it (back-pressure) while holding the write lock would stall
            # its recording. They stay noted and go at the next call (catch-up, close at the latest).
            return
        handed: set[int] = set()  # in this call: one try each (a failure waits for next time)
        while ids := unclaimed(self.store, self.matcher.claimed() | handed):
            handed.update(ids)
            # Documents a killed process left unmatched have no records here: then none are given.
            sent = [self._sent.pop(d, None) for d in ids]
            pages = None if any(r is None for r in sent) else [p for r in sent if r for p in r]
            if not self.matcher.hand_over(self.after_index, ids, pages):
                return

    def wait_matched(self) -> None:
        """Wait until the saved searches are matched against everything handed over."""
        self.matcher.drain()

    def store_analysis(self, doc_id: int) -> int:
        """Make and keep the token streams of a document's pages (ingest does this as it stores
        them, so indexing only reads them). Returns the number of pages analysed now."""
        rows = self.store.page_texts(doc_id)
        fresh = [(stored, row["id"]) for row in rows if (stored := _page_analysis(row)[3]) is not None]
        if fresh:
            self.store.set_page_analyses(fresh)
        return len(fresh)

    def records(self, doc_id: int) -> list[IndexRecord]:
        """The pages of one document as the backend indexes them ([] when it does not exist)."""
        return self.records_for_many([doc_id]).get(doc_id, [])

    def records_for_many(self, doc_ids: Iterable[int]) -> dict[int, list[IndexRecord]]:
        """The pages of these documents as the backend indexes them, for the documents that exist:
        two store reads per 500 documents (not two per document), the kept analysis reused."""
        out: dict[int, list[IndexRecord]] = {}
        fresh: list[tuple[str, int]] = []
        for doc, pages in self.store.documents_for_index(doc_ids):
            out[int(doc["id"])] = _page_records(doc, pages, fresh)
        if fresh:
            # Kept for the next (re)index: jieba costs more than sending a page to the engine.
            self.store.set_page_analyses(fresh)
        return out

    def index_document(self, doc_id: int) -> bool:
        """Index one document (ingest calls this after storing each one).

        With a backend that takes batches (Elasticsearch) the document joins a queue that is sent
        in one bulk request when it holds `index_batch_pages` pages (500), when its oldest entry
        waits `index_batch_seconds` (2 s), before any read through the backend, at
        `catch_up_index` (the end of an ingest) and on close. The document stays `index_pending=1`
        until the engine has acknowledged all its pages, so a crash or kill loses nothing.

        Returns False when the document is left index-pending (engine down or refusing); on True
        it is indexed or queued. Nothing else is lost either way."""
        queue = self._queue()
        if queue is not None:
            row = self.store.index_state(doc_id)
            if row is None:
                return True  # deleted meanwhile: nothing to index
            if queue.paused():
                # The node was unreachable moments ago: don't stall on it again for every document.
                queue.leave_pending(doc_id, row)
                return False
            # Its pages are read from the store when the batch goes, with the others' (two reads
            # per batch, not two per document).
            return queue.add(doc_id, int(row["page_count"] or 0), bool(row["index_pending"]))
        records = self.records_for_many([doc_id]).get(doc_id)
        if records is None:
            return True  # deleted meanwhile: nothing to index
        try:
            self.backend.index(records)
        except SearchError as exc:
            self.note_error(str(exc), isinstance(exc, SearchUnavailable))
            with _transaction(self.store):
                self.store.update_document(doc_id, index_pending=1)
                self.store.set_stage(doc_id, "index", "pending", str(exc))
            return False
        self.state.unreachable = None
        with _transaction(self.store):
            self.store.update_document(doc_id, index_pending=0)
            self.store.set_stage(doc_id, "index", "ok")
            if self.after_index is not None:
                self.store.note_indexed([doc_id])
        self.indexed([doc_id], batch_done=False, records={doc_id: records})
        return True

    def flush(self) -> None:
        """Send the documents queued for the search index now (failures stay index-pending)."""
        queue = self._queue()
        if queue is not None:
            queue.flush()
        self.tell_indexed()
        self.wait_matched()

    def catch_up(self, report: IngestReport | None = None) -> int:
        """Index documents left pending (queued by this ingest, or by an outage or a kill before);
        returns how many remain pending. Stops at the first connection failure: a dead or hanging
        node costs one timeout, not one per document. With a report, sets `report.index_pending`
        and `report.index_error` (the first indexing error since the last catch-up, or None)."""
        queue = self._queue()
        if queue is None:
            for doc_id, _ in self.store.index_pending_documents():
                if not self.index_document(doc_id) and self.state.unreachable:
                    break
        else:
            queue.resume()  # a catch-up always makes one attempt
            queue.flush()  # what this ingest queued first: tells at once whether the node is there
            # Read after that flush: the batch it collected was pending until then, and read before
            # it would be sent (and matched against the saved searches) a second time.
            for doc_id, pages in self.store.index_pending_documents():
                if queue.paused():
                    break
                if doc_id not in queue.docs:
                    queue.add(doc_id, pages, True, by_time=False)
            queue.flush()
        self.tell_indexed()
        self.wait_matched()  # an ingest returns with its hits recorded
        remaining = self.store.index_pending_count()
        state = self.state
        error, state.first_error = state.first_error, None
        if not remaining:
            state.unreachable = None
        if report is not None:
            report.index_pending = remaining
            # `IngestReport.index_error`: what to tell the user when documents stay pending.
            report.index_error = error if remaining else None
        return remaining

    def last_error(self) -> str | None:
        """The most recent reason a document is index-pending (for `foi status`), or None."""
        return self.store.last_index_pending_reason()

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the search index from the store (`SearchBackend.rebuild`).

        A versioned backend (Elasticsearch) fills a new index and swaps it in; the embedded one
        empties its index and fills it again. An ingest (or translation, entity pass) running
        meanwhile writes to what the rebuild replaces (the old version, which the swap drops, or a
        page the rebuild then writes again from an earlier read): so every document whose
        `updated` time is not older than the moment the rebuild read it (or that the rebuild did
        not read) is indexed again afterwards, and only the others are marked indexed by the
        rebuild."""
        self.flush()  # queued documents are in the rebuild anyway: send, don't hold them
        started = now()  # before listing: a document finished after the listing is newer
        ids = self.store.finished_document_ids()
        # When each document was read for the rebuild (`updated` has second resolution, so a
        # document updated in the second it was read counts as changed): the seconds at which
        # the id-ordered read moved on, as (first id read in that second, second). Documents are
        # read 200 at a time; the second taken before a read stands for all of them.
        read_marks: list[tuple[int, str]] = []

        def records() -> Iterator[list[IndexRecord]]:
            for i in range(0, len(ids), 200):
                chunk = ids[i : i + 200]
                stamp = now()
                if not read_marks or read_marks[-1][1] != stamp:
                    read_marks.append((chunk[0], stamp))
                read = self.records_for_many(chunk)
                for doc_id in chunk:
                    yield read.get(doc_id, [])
                    if progress:
                        progress(doc_id)

        self.backend.rebuild(records(), len(ids))
        firsts = [m[0] for m in read_marks]

        def read_at(doc_id: int) -> str:
            return read_marks[bisect.bisect_right(firsts, doc_id) - 1][1]

        in_rebuild = set(ids)
        changed = [
            doc_id
            for doc_id, updated in self.store.finished_updated_since(started)
            if doc_id not in in_rebuild or updated >= read_at(doc_id)
        ]
        unchanged = sorted(in_rebuild - set(changed))
        stamp = now()
        with _transaction(self.store):
            self.store.mark_indexed_if_unchanged([(i, read_at(i)) for i in unchanged])
            self.store.set_stages("index", [(i, "ok", None) for i in unchanged], stamp)
        for doc_id in changed:
            self.index_document(doc_id)  # re-read from the store, into the new version
        self.catch_up()
        return len(ids)

    def _queue(self) -> _IndexQueue | None:
        """The write queue, for backends that take batches (`supports_batches`); None for the
        others. The backend sends the queue before every read through it."""
        if self.queue is None and self.backend.supports_batches:
            pages = int(self.config.get("index_batch_pages") or 500)
            seconds = float(self.config.get("index_batch_seconds") or 2.0)
            self.queue = _IndexQueue(self, max(1, pages), seconds)
            self.backend.set_before_read(self.queue.flush)
        return self.queue

    def note_error(self, message: str, unreachable: bool = False) -> None:
        """Remember an indexing error: the first since the last catch-up goes into the ingest
        report; a connection failure stands for the engine's state until an index succeeds."""
        state = self.state
        if state.first_error is None:
            state.first_error = message
        if unreachable:
            state.unreachable = message


def _page_records(doc: Any, pages: list[Any], fresh: list[tuple[str, int]]) -> list[IndexRecord]:
    """A document's rows (documents, pages) as index records; the analyses made now (stored one
    stale or missing) go into `fresh` as (JSON, page id)."""
    # JSON parsed only when it can hold what indexing takes from it (mail addresses, entities):
    # a page's meta also keeps its gloss words, much larger than anything indexed from it.
    metadata = doc["metadata"] or ""
    doc_keywords = _document_keywords(json.loads(metadata)) if '"mail"' in metadata else {}
    redactions = json.loads(metadata).get("redactions") or {} if '"redactions"' in metadata else {}
    doc_keywords.update(_redaction_keywords(redactions))
    withheld = float(redactions.get("withheld") or 0.0)
    title = doc["title"] or doc["filename"]
    kind = doc["kind"] or "unknown"
    records = []
    for page in pages:
        keywords = {k: list(v) for k, v in doc_keywords.items()}
        meta = page["meta"] or ""
        if '"entities"' in meta:
            for name, values in _page_keywords(json.loads(meta)).items():
                keywords.setdefault(name, []).extend(values)
        body, translation, gloss, stored = _page_analysis(page)
        if stored is not None:
            fresh.append((stored, page["id"]))
        records.append(
            IndexRecord(
                page_id=page["id"],
                doc_id=doc["id"],
                number=page["number"],
                collection=doc["collection"],
                kind=kind,
                lang=page["lang"] or "und",
                title=title,
                body=body,
                translation=translation,
                gloss=gloss,
                date=doc["date"],
                keywords=keywords,
                withheld=withheld,
            )
        )
    return records


# Changes whenever the kept analysis would: our analysis code (its ANALYSIS_VERSION) or jieba's.
_ANALYSIS_VERSION = f"{ANALYSIS_VERSION}/jieba-{getattr(jieba, '__version__', '?')}"
_ANALYSED_FIELDS = ("body", "translation", "gloss")  # of the texts (text, translation, gloss), in order


def _texts_digest(texts: tuple[str, str, str]) -> str:
    return hashlib.blake2b("\x00".join(texts).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _page_texts(page: Any) -> tuple[str, str, str]:
    return page["text"] or "", page["translation"] or "", page["gloss"] or ""


def _kept_analysis(page: Any, digest: str) -> dict[str, Any] | None:
    """The page's kept analysis when it was made from these texts (`digest`) by this analysis."""
    raw = page["analysed"]
    if raw:
        try:
            kept = json.loads(raw)
            if kept.get("v") == _ANALYSIS_VERSION and kept.get("h") == digest:
                return kept  # type: ignore[no-any-return]
        except (ValueError, TypeError, AttributeError):
            pass  # damaged: made again by the next index
    return None


def _page_analysis(page: Any) -> tuple[str, str, str, str | None]:
    """The token streams of a page's original, translation and gloss: the stored ones when they
    were made from the same texts by the same analysis, else made now. The fourth value is the
    JSON to store (None when the stored one is still good)."""
    texts = _page_texts(page)
    digest = _texts_digest(texts)
    kept = _kept_analysis(page, digest)
    if kept is not None:
        try:
            return kept["body"], kept["translation"], kept["gloss"], None
        except KeyError:
            pass  # damaged: made again below
    record = _analysis_record(texts, digest)
    return record["body"], record["translation"], record["gloss"], json.dumps(record, ensure_ascii=False)


def page_analysis(text: str | None, translation: str | None, gloss: str | None) -> str:
    """The analysis a page keeps (JSON) for these texts, as indexing would make it; a cluster
    worker makes it with the document's other analysis (archive/portable.py), so the ingest's
    coordinator never segments Chinese for the index."""
    texts = (text or "", translation or "", gloss or "")
    return json.dumps(_analysis_record(texts, _texts_digest(texts)), ensure_ascii=False)


def _analysis_record(texts: tuple[str, str, str], digest: str) -> dict[str, Any]:
    record: dict[str, Any] = {"v": _ANALYSIS_VERSION, "h": digest}
    record.update(zip(_ANALYSED_FIELDS, [_analysed(t) for t in texts], strict=True))
    return record


def _analysed(text: str | None) -> str:
    """`index_text(text)`: for text without Han characters its terms are just the case-folded
    words, so they are made here without the per-token bookkeeping (4x faster; the same output,
    checked in tests/test_elasticsearch.py)."""
    if not text:
        return ""
    norm = normalize(text)
    if HAN.search(norm) is None:
        return " ".join([w.casefold() for w in _WORD.findall(norm)])
    return index_text(text)


@contextmanager
def _transaction(store: Store) -> Iterator[None]:
    """A store transaction, or the caller's if one is open."""
    if store.in_transaction:
        yield
    else:
        with store.transaction():
            yield


def _document_keywords(meta: dict[str, Any]) -> dict[str, list[str]]:
    """Filterable values of a document: mail senders and recipients."""
    out: dict[str, list[str]] = {}
    mail = meta.get("mail") or {}
    if mail:
        sender = mail.get("from") or {}
        out["sender"] = [v for v in (sender.get("address"), sender.get("name")) if v]
        recips = []
        for key in ("to", "cc", "bcc"):
            for r in mail.get(key) or []:
                recips += [v for v in (r.get("address"), r.get("name")) if v]
        out["recipient"] = recips
    return out


def _redaction_keywords(summary: dict[str, Any]) -> dict[str, list[str]]:
    """`redacted` and `bad_redaction` (yes | no) of a document, from its redaction summary."""
    return {
        "redacted": ["yes" if summary.get("boxes") else "no"],
        "bad_redaction": ["yes" if summary.get("bad") else "no"],
    }


def _page_keywords(meta: dict[str, Any]) -> dict[str, list[str]]:
    """Entities and exemption codes found on a page (filled by the entity step)."""
    out: dict[str, list[str]] = {}
    for ent in meta.get("entities") or []:
        name = "exemption" if ent.get("type") == "exemption" else "entity"
        value = ent.get("norm") or ent.get("text")
        if value:
            out.setdefault(name, []).append(str(value))
        # Aliases are searchable (`entity:"CETC"`) without splitting the entity's facet count.
        for alias in ent.get("aliases") or []:
            out.setdefault(f"{name}_alias", []).append(str(alias))
    return out


@dataclass
class _IndexState:
    first_error: str | None = None  # since the last catch-up: goes into the ingest report
    unreachable: str | None = None  # the last connection failure, while it lasts


class _IndexQueue:
    """Documents on their way to a backend that indexes in batches (`index_batch`).

    A queued document is `index_pending=1` in the store until the engine has acknowledged every
    page of it; only then is it marked indexed. After a connection failure the queue pauses (30 s,
    doubling to 10 min while failures go on): documents meanwhile stay pending without a try, so
    a dead or hanging node costs one timeout, not one per document.

    A queued document is only an id: its pages are read from the store when its batch goes,
    with the whole batch's in two reads. One bulk request may be in flight while the caller
    reads the next batch: the engine indexes batch N while we prepare batch N+1 (the store is
    only touched from the caller's thread; the sending thread calls the backend alone). Reads
    through the backend, catch-up and close wait for it."""

    PAUSE = (30.0, 600.0)

    def __init__(self, indexer: Indexer, batch_pages: int, batch_seconds: float):
        self.indexer = indexer
        self.batch_pages = batch_pages
        self.batch_seconds = batch_seconds
        self.docs: dict[int, int] = {}  # queued document -> its page count
        self.pages = 0
        self.since = 0.0
        self.lock = threading.RLock()
        self.flushing = False
        self.paused_until = 0.0
        self.pause = self.PAUSE[0]
        self._sender: ThreadPoolExecutor | None = None
        self._inflight: tuple[dict[int, list[IndexRecord]], Future[dict[int, str]] | None] | None = None

    @property
    def store(self) -> Store:
        return self.indexer.store

    def paused(self) -> bool:
        return time.monotonic() < self.paused_until

    def resume(self) -> None:
        self.paused_until = 0.0

    def leave_pending(self, doc_id: int, doc: Any) -> None:
        """`doc`: anything with the document's `index_pending` (a row, a dict), or None."""
        if doc is None:
            return
        reason = f"not sent while the search engine is unreachable: {self.indexer.state.unreachable}"
        with _transaction(self.store):
            if not doc["index_pending"]:
                self.store.update_document(doc_id, index_pending=1)
            self.store.set_stage(doc_id, "index", "pending", reason)

    def add(self, doc_id: int, pages: int, pending: bool, by_time: bool = True) -> bool:
        """Queue a document (`pages`: its page count; `pending`: whether it is index-pending in the
        store); flush when the batch is full or, with `by_time`, old. False when a flush this
        caused left the document pending."""
        if not pending:
            # Already indexed (re-indexed after translation, entities...): pending again until the
            # new version is in, so a crash before the flush leaves it for the next catch-up.
            self.store.update_document(doc_id, index_pending=1)
        with self.lock:
            if doc_id in self.docs:
                self.pages -= self.docs.pop(doc_id)
            if not self.docs:
                self.since = time.monotonic()
            self.docs[doc_id] = pages
            self.pages += pages
            due = self.pages >= self.batch_pages or (
                by_time and time.monotonic() - self.since >= self.batch_seconds
            )
        if due:
            return doc_id not in self.flush(wait=False)
        return True

    def flush(self, wait: bool = True) -> set[int]:
        """Send everything queued; returns the documents left pending by the batches collected.
        With `wait` False the new batch stays in flight and is collected by the next flush."""
        with self.lock:
            if self.flushing or (not self.docs and self._inflight is None):
                return set()  # (re-entered: a read during our own flush)
            queued, self.docs, self.pages = self.docs, {}, 0
            self.flushing = True
        try:
            # Read and serialise while the previous batch is still in flight; deleted documents
            # drop out. Paused is decided once: a pause ending in between must not drop the batch.
            paused = self.paused()
            batch, unreadable = self._read(queued) if queued and not paused else ({}, set())
            encoded = self.indexer.backend.encode_batch(batch) if batch else None
            left = self._collect(requeued=queued) | unreadable
            if queued:
                if paused:
                    for doc_id in queued:
                        self.leave_pending(doc_id, {"index_pending": True})
                    left |= set(queued)
                else:
                    self._start(batch, encoded)
                    if wait:
                        left |= self._collect()
            return left
        finally:
            self.flushing = False

    def _read(self, queued: Collection[int]) -> tuple[dict[int, list[IndexRecord]], set[int]]:
        """The batch's records, and the documents that could not be read: when the batch read
        fails (a damaged row), each document is read on its own and those that fail stay
        index-pending with the reason, so one bad document holds up no other."""
        try:
            return self.indexer.records_for_many(queued), set()
        except Exception:
            log.warning("reading an index batch failed; reading its documents one by one", exc_info=True)
        batch: dict[int, list[IndexRecord]] = {}
        unreadable: set[int] = set()
        for doc_id in queued:
            try:
                batch.update(self.indexer.records_for_many([doc_id]))
            except Exception as exc:
                unreadable.add(doc_id)
                with _transaction(self.store):
                    self.store.update_document(doc_id, index_pending=1)
                    self.store.set_stage(doc_id, "index", "pending", f"could not be read for indexing: {exc}")
        return batch, unreadable

    def close(self) -> None:
        self.flush()
        if self._sender is not None:
            self._sender.shutdown(wait=True)
            self._sender = None

    def _start(self, batch: dict[int, list[IndexRecord]], encoded: Any = None) -> None:
        """Send a batch on the sending thread (`encoded`: the backend's `encode_batch` of it)."""
        send, fresh = self._prepare(batch)
        future: Future[dict[int, str]] | None = None
        if send:
            if self._sender is None:
                self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="foi-index")
            # Documents left out of `send` have no pages, so `encoded` holds the same actions.
            future = self._sender.submit(self.indexer.backend.index_batch, send, fresh, encoded)
        self._inflight = (batch, future)

    def _collect(self, requeued: Collection[int] = ()) -> set[int]:
        """Wait for the batch in flight, record its outcome; the documents it left pending.
        Documents queued again meanwhile (`requeued`, or in the queue) stay pending: the version
        sent was not their latest."""
        if self._inflight is None:
            return set()
        batch, future = self._inflight
        self._inflight = None
        try:
            refused: dict[int, str] = future.result() if future is not None else {}
        except SearchError as exc:
            unreachable = isinstance(exc, SearchUnavailable)
            self.indexer.note_error(str(exc), unreachable)
            if unreachable:
                self.paused_until = time.monotonic() + self.pause
                self.pause = min(self.pause * 2, self.PAUSE[1])
            self._mark(batch, {d: str(exc) for d in batch}, requeued)
            return set(batch)
        self.pause = self.PAUSE[0]
        self.indexer.state.unreachable = None
        if refused:
            self.indexer.note_error(next(iter(refused.values())))
        self._mark(batch, refused, requeued)
        return set(refused)

    def _prepare(self, batch: dict[int, list[IndexRecord]]) -> tuple[dict[int, list[IndexRecord]], list[int]]:
        """What to send of a batch, and which documents were never sent before (recorded as sent
        first, so a crash leaves them "seen")."""
        seen = self.store.documents_with_stage(batch, "index")
        # A document with no index stage was never sent: nothing of it can be in the index, so the
        # backend skips the look-up for its stale pages (and an empty one needs no request at all).
        send = {d: recs for d, recs in batch.items() if recs or d in seen}
        fresh = [d for d in send if d not in seen]
        if fresh:
            with _transaction(self.store):  # from here on, a crash leaves them "seen"
                self.store.add_missing_stages(fresh, "index", "pending", "sent to the search index")
        return send, fresh

    def _mark(
        self, batch: dict[int, list[IndexRecord]], refused: dict[int, str], requeued: Collection[int] = ()
    ) -> None:
        """Record the outcome of a batch in one transaction (statements batched: this runs for
        every document an ingest indexes)."""
        stamp = now()
        done = [d for d in batch if d not in refused and d not in requeued and d not in self.docs]
        outcomes: list[tuple[int, str, str | None]] = [(d, "ok", None) for d in done]
        outcomes += [(d, "pending", r) for d, r in refused.items()]
        with _transaction(self.store):
            self.store.mark_indexed(done, stamp)
            self.store.set_stages("index", outcomes, stamp)
            if self.indexer.after_index is not None:
                self.store.note_indexed(done)
        self.indexer.indexed(done, batch_done=True, records=batch)
