"""Saved searches matched against the documents just indexed, beside indexing rather than in its
way: the match of batch N runs on a thread of its own while the indexer reads, sends and stores
batch N+1 (archive/indexing.py hands each batch over and waits at catch-up and close).

Crash safety: a document stays in the store's `alert_unmatched` table until its hits are recorded;
only then does the matching thread forget it, on its own connection. A kill, or an error in the
thread (logged), leaves it there, and a later hand-over (this run's next batch, catch-up, or the
next run) matches it again; hits are recorded once per (saved search, document) anyway.

Back-pressure: at most one batch waits behind the one being matched; handing over a third waits
for the first, so memory stays bounded and a matcher that falls behind slows indexing down.

The thread never touches the caller's sqlite3 connection: it opens its own `Store` on the same
archive (WAL: the two write in turn). A backend indexing one document at a time on its own
connection (the embedded SQLite one) matches inline, on the caller's thread and store: its
matching reads the index through the connection the indexer writes on.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor

from .search.base import IndexRecord
from .store import Store

log = logging.getLogger(__name__)

# The indexer's `after_index`: (documents just indexed, their records as indexed or None, the
# store to read and record through: the matching thread's own, or the caller's when inline).
AfterIndex = Callable[[list[int], "list[IndexRecord] | None", Store], object]

WAITING = 1  # batches that may wait behind the one being matched


class Matcher:
    """Hands batches of indexed documents to `after_index`, on a thread (`threaded`) or inline."""

    def __init__(self, store: Store, threaded: bool):
        self.store = store
        self.threaded = threaded
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future[None]] = deque()
        self._claimed: set[int] = set()  # handed over, not yet matched or given up
        self._lock = threading.Lock()
        self._own: Store | None = None  # the thread's store, opened there on first use

    def claimed(self) -> set[int]:
        with self._lock:
            return set(self._claimed)

    def hand_over(self, after_index: AfterIndex, ids: list[int], pages: list[IndexRecord] | None) -> bool:
        """Match `ids` (not already handed over). Inline: returns whether matching succeeded.
        Threaded: waits while a batch already waits (back-pressure), then queues it; True."""
        if not self.threaded:
            return self._run(after_index, ids, pages, self.store)
        while len(self._pending) > WAITING:
            self._wait_oldest()
        with self._lock:
            self._claimed.update(ids)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="foi-match")
        self._pending.append(self._pool.submit(self._in_thread, after_index, ids, pages))
        return True

    def drain(self) -> None:
        """Wait until every batch handed over is matched (or given up, logged)."""
        while self._pending:
            self._wait_oldest()

    def close(self) -> None:
        self.drain()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._own is not None:
            self._own.close()
            self._own = None

    def _wait_oldest(self) -> None:
        future = self._pending.popleft()
        try:
            future.result()
        except Exception:  # _in_thread catches everything; this is only a safety net
            log.warning("saved-search matching thread failed", exc_info=True)

    def _in_thread(self, after_index: AfterIndex, ids: list[int], pages: list[IndexRecord] | None) -> None:
        try:
            if self._own is None:
                self._own = Store(self.store.root)
            self._run(after_index, ids, pages, self._own)
        except Exception:
            log.warning("could not open the store for saved-search matching", exc_info=True)
        finally:
            with self._lock:
                self._claimed.difference_update(ids)

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
