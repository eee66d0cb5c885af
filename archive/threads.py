"""Conversation threads across the e-mail documents of an archive.

Messages are joined by Message-ID / In-Reply-To / References first; messages that no header links
(Outlook .msg files often lack them) are joined by normalised subject plus a shared participant.
Each email document gets metadata["mail"]["thread"] = {"id", "position", "size"}, positions in
date order. The thread id is stable for a given set of messages: the smallest document id in it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .store import Store


class HasStore(Protocol):
    """An `Archive` or the ingest's `StepContext`: threads only need the store."""

    @property
    def store(self) -> Store: ...


_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|tr|antw|答复|回复|转发|回覆|轉寄|转寄)\s*(?:\[\d+\])?\s*[:：]\s*|\[[^\]]{1,40}\]\s*)",
    re.I,
)


def normalize_subject(subject: str | None) -> str:
    """'Re: Fwd: [list] Hello' and '答复：Hello' -> 'hello'."""
    s = (subject or "").strip()
    while True:
        stripped = _PREFIX.sub("", s, count=1)
        if stripped == s:
            break
        s = stripped
    return re.sub(r"\s+", " ", s).strip().casefold()


def _participants(mail: dict[str, Any]) -> set[str]:
    people = set()
    for entry in [mail.get("from")] + list(mail.get("to") or []) + list(mail.get("cc") or []):
        if entry:
            # Both the address and the name: printed messages often give only a name.
            for key in (entry.get("address"), entry.get("name")):
                if key and key.strip():
                    people.add(key.strip().casefold())
    return people


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group_threads(docs: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Threads (lists of documents in date order) from email documents with metadata["mail"]."""
    uf = _UnionFind()
    by_message_id: dict[str, int] = {}
    for d in docs:
        uf.find(d["id"])
        mid = (d["metadata"]["mail"].get("message_id") or "").strip()
        if mid:
            if mid in by_message_id:
                uf.union(by_message_id[mid], d["id"])  # the same message stored twice
            else:
                by_message_id[mid] = d["id"]
    for d in docs:
        mail = d["metadata"]["mail"]
        for ref in [mail.get("in_reply_to")] + list(mail.get("references") or []):
            if ref and ref in by_message_id:
                uf.union(by_message_id[ref], d["id"])
    # Messages without linking headers: same normalised subject and at least one shared participant.
    by_subject: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        key = normalize_subject(d["metadata"]["mail"].get("subject"))
        if key:
            by_subject.setdefault(key, []).append(d)
    for group in by_subject.values():
        first_with: dict[str, int] = {}  # participant -> a message of this subject they took part in
        for d in group:
            for person in _participants(d["metadata"]["mail"]):
                if person in first_with:
                    uf.union(first_with[person], d["id"])
                else:
                    first_with[person] = d["id"]
    threads: dict[int, list[dict[str, Any]]] = {}
    for d in docs:
        threads.setdefault(uf.find(d["id"]), []).append(d)
    return [sorted(t, key=lambda d: (d.get("date") or "", d["id"])) for t in threads.values()]


def assign_threads(archive: HasStore) -> int:
    """Write thread id/position/size on every email document whose thread changed; returns the
    number of threads with more than one message."""
    store = archive.store
    docs = [d for d in store.email_documents() if isinstance(d["metadata"].get("mail"), dict)]
    threads = group_threads(docs)
    with store.transaction():
        for thread in threads:
            thread_id = min(d["id"] for d in thread)
            for position, d in enumerate(thread, 1):
                info = {"id": thread_id, "position": position, "size": len(thread)}
                if d["metadata"]["mail"].get("thread") != info:
                    d["metadata"]["mail"]["thread"] = info
                    store.update_document(d["id"], metadata=d["metadata"])
    return sum(1 for t in threads if len(t) > 1)


def thread_of(archive: HasStore, doc_id: int) -> list[dict[str, Any]]:
    """The messages of the thread that `doc_id` belongs to, in thread order."""
    doc = archive.store.document(doc_id)
    if doc is None:
        return []
    info = (doc["metadata"].get("mail") or {}).get("thread")
    if not info:
        return [doc] if doc["metadata"].get("mail") else []
    return thread_messages(archive.store, doc)


def thread_messages(store: Store, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages of the thread of `doc` (a document record) in thread order; [] when `doc` has
    no thread id (a message not yet threaded, or not an e-mail)."""
    info = (doc["metadata"].get("mail") or {}).get("thread") or {}
    if info.get("id") is None:
        return []
    return sorted(store.thread_documents(int(info["id"])), key=_thread_position)


def _thread_position(doc: dict[str, Any]) -> int:
    return int(((doc["metadata"].get("mail") or {}).get("thread") or {}).get("position") or 0)
