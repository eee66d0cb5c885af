"""The SQL on the alert tables (their schema is the alerts block of archive/store.py)."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..store import Store, now
from .model import Channel, SavedSearch, dump_filters


def new_token() -> str:
    """An unguessable URL token (a private feed's, a webhook secret)."""
    return secrets.token_urlsafe(24)


# The active saved searches as matching reads them, per archive folder, with the
# `saved_searches_version` they were read at (the schema's triggers give it a new random value at
# any change to a saved search): matching runs after every indexing batch and reads them again only when one changed.
_MATCHABLE: dict[str, tuple[str, list[SavedSearch]]] = {}
_MATCHABLE_LOCK = threading.Lock()


class AlertDB:
    """Saved searches, their channels, hits and outbox, in the archive's database."""

    def __init__(self, store: Store):
        self.store = store

    @property
    def db(self) -> sqlite3.Connection:
        return self.store.db

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.store.in_transaction:
            yield
        else:
            with self.store.transaction():
                yield

    # -- saved searches -----------------------------------------------------------------------

    def add_search(
        self,
        owner: str,
        name: str,
        query: str,
        filters: dict[str, list[str]],
        sort: str,
        cadence: str,
        public_feed: bool = False,
    ) -> int:
        stamp = now()
        cur = self.db.execute(
            "INSERT INTO saved_searches (owner, name, query, filters, sort, cadence, feed_token, public_feed, "
            "since, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                owner,
                name,
                query,
                dump_filters(filters),
                sort,
                cadence,
                new_token(),
                int(public_feed),
                stamp,
                stamp,
                stamp,
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def update_search(self, search_id: int, **fields: Any) -> None:
        if "filters" in fields:
            fields["filters"] = dump_filters(fields["filters"])
        fields["updated"] = now()
        sets = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE saved_searches SET {sets} WHERE id=?", (*fields.values(), search_id))

    def matchable(self) -> list[SavedSearch]:
        """The active saved searches, without their channels, the broadest first: what matching
        runs (kept between batches until a saved search is added, changed or removed)."""
        row = self.db.execute("SELECT value FROM meta WHERE key='saved_searches_version'").fetchone()
        if row is None:  # no saved search was ever added (or made before the version existed)
            return self.searches(active_only=True, with_channels=False)
        version, key = str(row[0]), str(self.store.root)
        with _MATCHABLE_LOCK:
            kept = _MATCHABLE.get(key)
        if kept is not None and kept[0] == version:
            return list(kept[1])
        # Read after the version: a change between the two reads only makes the next call read again.
        found = self.searches(active_only=True, with_channels=False)
        # Broad searches first, together: a backend that runs them in groups (Elasticsearch) then
        # has one group that matches much and others that match little, instead of every group
        # matching much. The hits so far say which are broad (counted when the searches are read,
        # not after every batch: it is a look at the whole hit table).
        counts = self.hit_counts()
        found.sort(key=lambda s: -counts.get(s.id, 0))
        with _MATCHABLE_LOCK:
            _MATCHABLE[key] = (version, found)
        return list(found)

    def clear_failing(self, search_ids: Iterable[int]) -> None:
        """These searches ran: those marked failing are not any more (one statement)."""
        self.db.execute(
            "UPDATE saved_searches SET failing=NULL WHERE failing IS NOT NULL "
            "AND id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(search_ids)),),
        )

    def set_failing(self, search_id: int, reason: str | None) -> None:
        self.db.execute(
            "UPDATE saved_searches SET failing=? WHERE id=? AND ifnull(failing,'') <> ifnull(?,'')",
            (reason, search_id, reason),
        )

    def delete_search(self, search_id: int) -> None:
        self.db.execute("DELETE FROM saved_searches WHERE id=?", (search_id,))

    def searches(
        self, owner: str | None = None, active_only: bool = False, with_channels: bool = True
    ) -> list[SavedSearch]:
        """Saved searches (with their channels unless `with_channels` is False: matching, which
        runs after every indexing batch, needs only the queries)."""
        where, params = ["1"], []
        if owner is not None:
            where.append("owner=?")
            params.append(owner)
        if active_only:
            where.append("paused=0")
        rows = self.db.execute(
            f"SELECT * FROM saved_searches WHERE {' AND '.join(where)} ORDER BY id", params
        )
        found = [_search(r) for r in rows]
        if not with_channels:
            return found
        channels = self.channels([s.id for s in found])
        for s in found:
            s.channels = channels.get(s.id, [])
        return found

    def search(self, search_id: int) -> SavedSearch | None:
        row = self.db.execute("SELECT * FROM saved_searches WHERE id=?", (search_id,)).fetchone()
        return self._with_channels(row)

    def search_by_name(self, name: str, owner: str | None = None) -> SavedSearch | None:
        sql, params = "SELECT * FROM saved_searches WHERE name=?", [name]
        if owner is not None:
            sql += " AND owner=?"
            params.append(owner)
        row = self.db.execute(sql + " ORDER BY id LIMIT 1", params).fetchone()
        return self._with_channels(row)

    def search_by_feed_token(self, token: str) -> SavedSearch | None:
        row = self.db.execute("SELECT * FROM saved_searches WHERE feed_token=?", (token,)).fetchone()
        return self._with_channels(row)

    def _with_channels(self, row: sqlite3.Row | None) -> SavedSearch | None:
        if row is None:
            return None
        s = _search(row)
        s.channels = self.channels([s.id]).get(s.id, [])
        return s

    # -- channels -----------------------------------------------------------------------------

    def add_channel(
        self, search_id: int, kind: str, target: str, confirmed: bool = True, audience: str = "owner"
    ) -> Channel:
        """The channel (an existing one of the same kind and target is returned as it is)."""
        secret = new_token() if kind == "webhook" else None
        self.db.execute(
            "INSERT OR IGNORE INTO alert_channels (search_id, kind, target, secret, confirmed, audience, created) "
            "VALUES (?,?,?,?,?,?,?)",
            (search_id, kind, target, secret, int(confirmed), audience, now()),
        )
        row = self.db.execute(
            "SELECT * FROM alert_channels WHERE search_id=? AND kind=? AND target=?",
            (search_id, kind, target),
        ).fetchone()
        return _channel(row)

    def channel(self, channel_id: int) -> Channel | None:
        row = self.db.execute("SELECT * FROM alert_channels WHERE id=?", (channel_id,)).fetchone()
        return _channel(row) if row else None

    def channel_search_id(self, channel_id: int) -> int | None:
        row = self.db.execute("SELECT search_id FROM alert_channels WHERE id=?", (channel_id,)).fetchone()
        return int(row[0]) if row else None

    def channels(self, search_ids: Iterable[int]) -> dict[int, list[Channel]]:
        out: dict[int, list[Channel]] = {}
        rows = self.db.execute(
            "SELECT * FROM alert_channels WHERE search_id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (json.dumps(list(search_ids)),),
        )
        for r in rows:
            out.setdefault(int(r["search_id"]), []).append(_channel(r))
        return out

    def update_channel(self, channel_id: int, **fields: Any) -> None:
        sets = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE alert_channels SET {sets} WHERE id=?", (*fields.values(), channel_id))

    def remove_channel(self, channel_id: int) -> None:
        self.db.execute("DELETE FROM alert_channels WHERE id=?", (channel_id,))

    # -- hits and the outbox --------------------------------------------------------------------

    def documents_updated(self, doc_ids: Iterable[int]) -> dict[int, sqlite3.Row]:
        """id, updated, created, title, filename, collection of these documents."""
        rows = self.db.execute(
            "SELECT id, updated, created, title, filename, collection FROM documents "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(doc_ids)),),
        )
        return {int(r["id"]): r for r in rows}

    def page_texts(self, pages: Iterable[tuple[int, int]]) -> dict[tuple[int, int], tuple[str, str]]:
        """(text, translation) of these (document id, page number) pages, in one read."""
        rows = self.db.execute(
            "SELECT p.document_id, p.number, p.text, p.translation FROM json_each(?) j JOIN pages p "
            "ON p.document_id = json_extract(j.value, '$[0]') AND p.number = json_extract(j.value, '$[1]')",
            (json.dumps(list(pages)),),
        )
        return {(int(r[0]), int(r[1])): (r[2] or "", r[3] or "") for r in rows}

    def documents_created_since(self, since: str | None, after_id: int, limit: int) -> list[int]:
        rows = self.db.execute(
            "SELECT id FROM documents WHERE status IN ('done','failed') AND id > ? AND created >= ? ORDER BY id LIMIT ?",
            (after_id, since or "", limit),
        )
        return [int(r[0]) for r in rows]

    def add_hits(self, hits: Iterable[tuple[int, int, int, str, str]]) -> int:
        """Record hits (search id, document id, page, title, collection; their words and snippet
        come after, `describe`) and queue each new one for every channel of its search; the known
        ones are left as they are. Two statements for a whole batch; call inside a transaction.
        Returns how many were new."""
        stamp = now()
        before = int(self.db.execute("SELECT ifnull(max(id), 0) FROM alert_hits").fetchone()[0])
        self.db.executemany(
            "INSERT OR IGNORE INTO alert_hits (search_id, document_id, page, title, collection, created) "
            "VALUES (?,?,?,?,?,?)",
            [(*hit, stamp) for hit in hits],
        )
        self.db.execute(
            "INSERT OR IGNORE INTO alert_outbox (hit_id, channel_id, updated) "
            "SELECT h.id, c.id, ? FROM alert_hits h JOIN alert_channels c ON c.search_id = h.search_id WHERE h.id > ?",
            (stamp, before),
        )
        return int(self.db.execute("SELECT count(*) FROM alert_hits WHERE id > ?", (before,)).fetchone()[0])

    def undescribed(self, search_id: int | None, limit: int) -> list[sqlite3.Row]:
        sql = "SELECT id, search_id, document_id, page FROM alert_hits WHERE described = 0"
        params: list[Any] = []
        if search_id is not None:
            sql += " AND search_id = ?"
            params.append(search_id)
        return self.db.execute(sql + " ORDER BY id LIMIT ?", (*params, limit)).fetchall()

    def describe(self, descriptions: Iterable[tuple[int, list[str], str]]) -> None:
        """(hit id, matched words, snippet) for hits recorded undescribed."""
        self.db.executemany(
            "UPDATE alert_hits SET terms = ?, snippet = ?, described = 1 WHERE id = ?",
            [(json.dumps(t, ensure_ascii=False), s, i) for i, t, s in descriptions],
        )

    def hits(self, search_id: int, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT * FROM alert_hits WHERE search_id=? ORDER BY created DESC, id DESC LIMIT ? OFFSET ?",
            (search_id, limit, offset),
        )
        return [_hit(r) for r in rows]

    def hit_counts(self) -> dict[int, int]:
        """Hits recorded so far per saved search (from the index on (search_id, created))."""
        rows = self.db.execute("SELECT search_id, count(*) FROM alert_hits GROUP BY search_id")
        return {int(a): int(b) for a, b in rows}

    def hit_count(self, search_id: int) -> int:
        return int(
            self.db.execute("SELECT count(*) FROM alert_hits WHERE search_id=?", (search_id,)).fetchone()[0]
        )

    def outbox(self, kind: str, before: str) -> list[sqlite3.Row]:
        """The outbox rows of live channels of `kind` due by `before` (pending, or left `sending` by a
        sender that died), with their hit, search and channel, oldest first."""
        return self.db.execute(
            "SELECT o.id AS outbox_id, o.state, o.delivery, o.attempts, o.channel_id, h.id AS hit_id, h.search_id, "
            "h.document_id, h.page, h.terms, h.snippet, h.title, h.collection, h.created, s.name AS search_name, "
            "s.owner, s.cadence, s.query, s.paused, c.target, c.secret, c.audience "
            "FROM alert_outbox o JOIN alert_hits h ON h.id = o.hit_id JOIN alert_channels c ON c.id = o.channel_id "
            "JOIN saved_searches s ON s.id = h.search_id "
            "WHERE o.state IN ('pending','sending') AND c.kind=? AND c.disabled IS NULL AND c.confirmed=1 "
            "AND s.paused=0 AND o.next_attempt <= ? ORDER BY o.id",
            (kind, before),
        ).fetchall()

    def set_outbox(
        self, ids: Iterable[int], state: str, delivery: str | None = None, error: str | None = None
    ) -> None:
        """One statement for many rows (committed at once: a state is on disk before what follows)."""
        self.db.execute(
            "UPDATE alert_outbox SET state=?, delivery=ifnull(?, delivery), error=?, updated=? "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (state, delivery, error, now(), json.dumps(list(ids))),
        )

    def retry_later(self, ids: Iterable[int], error: str, next_attempt: str) -> None:
        self.db.execute(
            "UPDATE alert_outbox SET state='pending', attempts=attempts+1, error=?, next_attempt=?, updated=? "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (error, next_attempt, now(), json.dumps(list(ids))),
        )

    def instant_pending(self) -> bool:
        """Whether hits of active instant searches wait in the outbox for a live channel."""
        row = self.db.execute(
            "SELECT 1 FROM alert_outbox o JOIN alert_hits h ON h.id = o.hit_id "
            "JOIN saved_searches s ON s.id = h.search_id JOIN alert_channels c ON c.id = o.channel_id "
            "WHERE o.state='pending' AND s.cadence='instant' AND s.paused=0 AND c.disabled IS NULL "
            "AND c.confirmed=1 LIMIT 1"
        ).fetchone()
        return row is not None

    def outbox_counts(self, search_id: int | None = None) -> dict[str, int]:
        sql = "SELECT o.state, count(*) FROM alert_outbox o JOIN alert_hits h ON h.id = o.hit_id"
        params: list[Any] = []
        if search_id is not None:
            sql += " WHERE h.search_id=?"
            params.append(search_id)
        return {str(a): int(b) for a, b in self.db.execute(sql + " GROUP BY o.state", params)}

    def last_digest(self, key: str) -> str | None:
        row = self.db.execute("SELECT last_sent FROM alert_digests WHERE channel_key=?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_last_digest(self, key: str, stamp: str) -> None:
        self.db.execute(
            "INSERT INTO alert_digests (channel_key, last_sent) VALUES (?,?) "
            "ON CONFLICT(channel_key) DO UPDATE SET last_sent=excluded.last_sent",
            (key, stamp),
        )

    def secret(self) -> str:
        """This archive's key for signed links (made once, kept in `meta`)."""
        self.db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('alerts_secret', ?)", (new_token(),))
        return str(self.db.execute("SELECT value FROM meta WHERE key='alerts_secret'").fetchone()[0])


def _search(r: sqlite3.Row) -> SavedSearch:
    return SavedSearch(
        id=int(r["id"]),
        owner=r["owner"],
        name=r["name"],
        query=r["query"],
        filters=json.loads(r["filters"] or "{}"),
        sort=r["sort"],
        cadence=r["cadence"],
        paused=bool(r["paused"]),
        failing=r["failing"],
        feed_token=r["feed_token"],
        public_feed=bool(r["public_feed"]),
        since=r["since"],
        created=r["created"],
        updated=r["updated"],
    )


def _channel(r: sqlite3.Row) -> Channel:
    return Channel(
        id=int(r["id"]),
        kind=r["kind"],
        target=r["target"],
        secret=r["secret"],
        confirmed=bool(r["confirmed"]),
        failures=int(r["failures"]),
        disabled=r["disabled"],
        audience=r["audience"],
    )


def _hit(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": int(r["id"]),
        "search_id": int(r["search_id"]),
        "document_id": int(r["document_id"]),
        "page": int(r["page"]),
        "terms": json.loads(r["terms"] or "[]"),
        "snippet": r["snippet"],
        "title": r["title"],
        "collection": r["collection"],
        "created": r["created"],
    }
