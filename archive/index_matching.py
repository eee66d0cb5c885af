"""Saved searches matched against the documents just indexed, beside indexing rather than in its
way: the match of batch N runs on a thread of its own while the indexer reads, sends and stores
batch N+1 (archive/indexing.py hands each batch over and waits at catch-up and close).

Crash safety: a document stays in the store's `alert_unmatched` table until its hits are recorded;
only then does the matching thread forget it, on its own connection. A kill, or an error in the
thread (logged), leaves it there, and a later hand-over (this run's next batch, catch-up, or the
next run) matches it again; hits are recorded once per (saved search, document) anyway.

Lingering: a batch handed over waits up to LINGER seconds for more before it is matched, since
one match of several batches costs much less than one match each (the saved searches are read and
sent once; the engine parses each query once). An ingest that indexes fast (text, mail, a
re-index) is matched every few seconds instead of after every batch; a slow one (OCR) has each
batch matched LINGER seconds after it was indexed. Catch-up, close and a caller held by a full
waiting batch cut the wait short.

Back-pressure: at most one batch waits behind the one being matched. Batches handed over while
one waits join it (one match of several batches costs much less than one match each), up to
MERGE_DOCS documents and MERGE_PAGES page records; past that, handing over waits, so memory stays
bounded and a matcher that falls behind slows indexing down.

The thread never touches the caller's sqlite3 connection: it opens its own `Store` on the same
archive (WAL: the two write in turn). A backend indexing one document at a time on its own
connection (the embedded SQLite one) matches inline, on the caller's thread and store: its
matching reads the index through the connection the indexer writes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from .search.base import IndexRecord
from .store import Store

log = logging.getLogger(__name__)

# The indexer's `after_index`: (documents just indexed, their records as indexed or None, the
# store to read and record through: the matching thread's own, or the caller's when inline).
AfterIndex = Callable[[list[int], "list[IndexRecord] | None", Store], object]

# The batch waiting behind the one being matched takes in the batches handed over meanwhile (one
# match of several batches costs much less than one each: the saved searches are parsed and run
# once), up to these many documents and page records; past them, handing over waits.
MERGE_DOCS = 2000
MERGE_PAGES = 5000
# Seconds a batch handed over waits for more before it is matched (see the module's docstring).
LINGER = 5.0


@dataclass
class _Batch:
    after_index: AfterIndex
    ids: list[int]
    pages: list[IndexRecord] | None
    since: float = 0.0  # when it was handed over (time.monotonic)

    def takes(self, after_index: AfterIndex, ids: list[int], pages: list[IndexRecord] | None) -> bool:
        return (
            self.after_index == after_index
            and len(self.ids) + len(ids) <= MERGE_DOCS
            and len(self.pages or ()) + len(pages or ()) <= MERGE_PAGES
        )

    def merge(self, ids: list[int], pages: list[IndexRecord] | None) -> None:
        self.ids.extend(ids)
        # Records are given only when every document's are at hand.
        self.pages = None if self.pages is None or pages is None else self.pages + pages


class Matcher:
    """Hands batches of indexed documents to `after_index`, on a thread (`threaded`) or inline."""

    def __init__(self, store: Store, threaded: bool):
        self.store = store
        self.threaded = threaded
        self._cond = threading.Condition()
        self._waiting: _Batch | None = None
        self._busy = False  # a batch is being matched
        self._closing = False
        self._thread: threading.Thread | None = None
        self._claimed: set[int] = set()  # handed over, not yet matched or given up
        self._hurry = 0  # callers waiting for the matching (drain) or for room (hand_over)
        self._own: Store | None = None  # the thread's store, opened there on first use

    def claimed(self) -> set[int]:
        with self._cond:
            return set(self._claimed)

    def hand_over(self, after_index: AfterIndex, ids: list[int], pages: list[IndexRecord] | None) -> bool:
        """Match `ids` (not already handed over). Inline: returns whether matching succeeded.
        Threaded: joins the batch waiting, or waits while it is full (back-pressure); True."""
        if not self.threaded:
            return self._run(after_index, ids, pages, self.store)
        with self._cond:
            if self._waiting is not None and not self._waiting.takes(after_index, ids, pages):
                self._hurry += 1  # the waiting batch is full: it goes now, not after its linger
                self._cond.notify_all()
                try:
                    while self._waiting is not None and not self._waiting.takes(after_index, ids, pages):
                        self._cond.wait()
                finally:
                    self._hurry -= 1
            if self._waiting is None:
                self._waiting = _Batch(after_index, list(ids), pages, time.monotonic())
            else:
                self._waiting.merge(ids, pages)
            self._claimed.update(ids)
            self._closing = False
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="foi-match", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return True

    def drain(self) -> None:
        """Wait until every batch handed over is matched (or given up, logged)."""
        with self._cond:
            self._hurry += 1
            self._cond.notify_all()
            try:
                while self._waiting is not None or self._busy:
                    self._cond.wait()
            finally:
                self._hurry -= 1

    def close(self) -> None:
        self.drain()
        with self._cond:
            thread, self._thread = self._thread, None
            self._closing = True
            self._cond.notify_all()
        if thread is not None:
            thread.join()
        if self._own is not None:
            self._own.close()
            self._own = None

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._waiting is None:
                        if self._closing:
                            return
                        self._cond.wait()
                        continue
                    left = self._waiting.since + LINGER - time.monotonic()
                    if left <= 0 or self._hurry or self._closing:
                        break
                    self._cond.wait(left)
                batch, self._waiting = self._waiting, None
                self._busy = True
                self._cond.notify_all()
            try:
                if self._own is None:
                    self._own = Store(self.store.root)
                self._run(batch.after_index, batch.ids, batch.pages, self._own)
            except Exception:  # opening the store: the documents stay unmatched
                log.warning("could not open the store for saved-search matching", exc_info=True)
            finally:
                with self._cond:
                    self._busy = False
                    self._claimed.difference_update(batch.ids)
                    self._cond.notify_all()

    @staticmethod
    def _run(after_index: AfterIndex, ids: list[int], pages: list[IndexRecord] | None, store: Store) -> bool:
        """Match, then forget the documents as matched; on failure they stay unmatched."""
        try:
            after_index(ids, pages, store)
        except Exception:
            log.warning("matching saved searches against %d documents failed", len(ids), exc_info=True)
            return False
        if store.in_transaction:
            store.forget_unmatched(ids)
        else:
            with store.transaction():
                store.forget_unmatched(ids)
        return True


def unclaimed(store: Store, claimed: Collection[int], limit: int = 5000) -> list[int]:
    """Documents indexed and not yet matched, less those already handed over (at most `limit`)."""
    ids = store.indexed_unmatched(limit + len(claimed))
    return [d for d in ids if d not in claimed][:limit]
