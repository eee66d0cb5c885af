"""The archive folder: SQLite metadata (WAL) and originals stored once by sha256.

Layout of an archive folder:
    foi.sqlite3          documents, pages, stage statuses, errors, the FTS5 index
    originals/ab/cd/<sha256>   each distinct file once
    cache/               OCR and translation caches
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .models import PageResult

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY,
    public INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    parent_id INTEGER REFERENCES documents(id),
    path_in_parent TEXT,
    sha256 TEXT NOT NULL,
    filename TEXT NOT NULL,
    source_path TEXT,
    mime TEXT,
    kind TEXT,
    title TEXT,
    size INTEGER,
    lang TEXT,
    page_count INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',   -- pending | processing | done | failed
    error_stage TEXT,
    error_reason TEXT,
    index_pending INTEGER NOT NULL DEFAULT 1,
    metadata TEXT NOT NULL DEFAULT '{}',
    date TEXT,                                -- document date (sent date for mail), ISO 8601 UTC
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS documents_identity
    ON documents (collection, sha256, ifnull(parent_id, 0), ifnull(path_in_parent, ''));
CREATE INDEX IF NOT EXISTS documents_parent ON documents (parent_id);
CREATE INDEX IF NOT EXISTS documents_status ON documents (status);
CREATE TABLE IF NOT EXISTS pages (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    lang TEXT,
    ocr INTEGER NOT NULL DEFAULT 0,
    confidence REAL,
    width INTEGER,
    height INTEGER,
    dpi REAL,
    words TEXT,                               -- JSON list of [text, left, top, width, height, conf]
    translation TEXT,
    translation_status TEXT,                  -- null | done | pending | skipped
    segments TEXT,                            -- JSON aligned [source, target] pairs
    gloss TEXT,
    meta TEXT NOT NULL DEFAULT '{}',
    analysed TEXT,                            -- JSON: the indexed token streams and what they came from
    UNIQUE (document_id, number)
);
CREATE TABLE IF NOT EXISTS stages (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,                     -- ok | failed | skipped | pending
    reason TEXT,
    updated TEXT NOT NULL,
    PRIMARY KEY (document_id, stage)
);
-- Accounts, grants, takedowns and uploads (issue 16; SQL in archive/accounts.py and below).
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,                       -- admin | editor | reader
    password_hash TEXT NOT NULL,              -- argon2id
    session_version INTEGER NOT NULL DEFAULT 0,  -- moved by a password change: old sessions end
    created TEXT NOT NULL,
    email TEXT                                -- optional: where the owner of alerts hears of trouble
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,          -- sha256 of a 256-bit random token
    label TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS grants (
    collection TEXT NOT NULL,
    user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    can_write INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (collection, user_name)
);
CREATE TABLE IF NOT EXISTS hidden_documents (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    taken_down INTEGER NOT NULL,              -- the document `foi documents hide` was given
    reason TEXT NOT NULL,
    hidden_by TEXT,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    filename TEXT NOT NULL,
    path TEXT NOT NULL,                       -- under uploads/ in the archive folder
    status TEXT NOT NULL DEFAULT 'queued',    -- queued | processing | done | failed
    documents INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    worker INTEGER,                           -- process id of the server ingesting it
    user_name TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);

-- Saved searches and alerts (archive/alerts/, issue #17). The queries on these tables live in
-- archive/alerts/db.py. A hit is recorded once per (saved search, document); each channel that
-- sends hits (e-mail, webhook) gets an outbox row per hit whose state says how far it got.
CREATE TABLE IF NOT EXISTS saved_searches (
    id INTEGER PRIMARY KEY,
    owner TEXT NOT NULL DEFAULT 'local',
    name TEXT NOT NULL,
    query TEXT NOT NULL,                      -- the search text, filters (field:value) included
    filters TEXT NOT NULL DEFAULT '{}',       -- JSON: filters given apart from the text
    sort TEXT NOT NULL DEFAULT 'relevance',
    cadence TEXT NOT NULL DEFAULT 'daily',    -- instant | daily | weekly
    paused INTEGER NOT NULL DEFAULT 0,
    failing TEXT,                             -- why the query last failed, shown to its owner
    feed_token TEXT NOT NULL,                 -- the private Atom feed's URL token (rotatable)
    public_feed INTEGER NOT NULL DEFAULT 0,
    since TEXT NOT NULL,                      -- documents indexed from then on are matched
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (owner, name)
);
-- A new random version at every change to a saved search: matching, after every indexing batch,
-- keeps the active searches it read until this changes (archive/alerts/db.py `matchable`).
CREATE TRIGGER IF NOT EXISTS saved_searches_added AFTER INSERT ON saved_searches BEGIN
    INSERT INTO meta (key, value) VALUES ('saved_searches_version', hex(randomblob(8)))
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
END;
CREATE TRIGGER IF NOT EXISTS saved_searches_changed AFTER UPDATE ON saved_searches BEGIN
    INSERT INTO meta (key, value) VALUES ('saved_searches_version', hex(randomblob(8)))
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
END;
CREATE TRIGGER IF NOT EXISTS saved_searches_removed AFTER DELETE ON saved_searches BEGIN
    INSERT INTO meta (key, value) VALUES ('saved_searches_version', hex(randomblob(8)))
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
END;
CREATE TABLE IF NOT EXISTS alert_channels (
    id INTEGER PRIMARY KEY,
    search_id INTEGER NOT NULL REFERENCES saved_searches(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                       -- email | webhook
    target TEXT NOT NULL,                     -- an address or a URL
    secret TEXT,                              -- a webhook's HMAC key
    confirmed INTEGER NOT NULL DEFAULT 1,     -- 0 until a public e-mail subscription is confirmed
    audience TEXT NOT NULL DEFAULT 'owner',   -- whose reading rights apply: owner | public (subscribers)
    failures INTEGER NOT NULL DEFAULT 0,      -- failed sends in a row
    disabled TEXT,                            -- why it stopped sending (repeated failures, unsubscribed)
    created TEXT NOT NULL,
    UNIQUE (search_id, kind, target)
);
CREATE TABLE IF NOT EXISTS alert_hits (
    id INTEGER PRIMARY KEY,
    search_id INTEGER NOT NULL REFERENCES saved_searches(id) ON DELETE CASCADE,
    document_id INTEGER NOT NULL,
    page INTEGER NOT NULL,
    terms TEXT NOT NULL DEFAULT '[]',         -- JSON: the words that matched
    snippet TEXT NOT NULL DEFAULT '',         -- HTML: the page's text escaped, matches in <mark>
    described INTEGER NOT NULL DEFAULT 0,     -- 1 once terms and snippet are made (after indexing)
    title TEXT NOT NULL DEFAULT '',
    collection TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    UNIQUE (search_id, document_id)
);
-- A search's hits are listed through the unique (search_id, document_id) index and sorted: an index on
-- (search_id, created) cost every batch of recorded hits more than it saved the listing (gone).
DROP INDEX IF EXISTS alert_hits_created;
CREATE INDEX IF NOT EXISTS alert_hits_undescribed ON alert_hits (described) WHERE described = 0;
CREATE TABLE IF NOT EXISTS alert_outbox (
    id INTEGER PRIMARY KEY,
    hit_id INTEGER NOT NULL REFERENCES alert_hits(id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES alert_channels(id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT 'pending',    -- pending | sending | sent | withheld
    delivery TEXT,                            -- the id of the message or request it went out in
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT NOT NULL DEFAULT '',
    error TEXT,
    updated TEXT NOT NULL,
    UNIQUE (hit_id, channel_id)
);
CREATE INDEX IF NOT EXISTS alert_outbox_state ON alert_outbox (state, channel_id);
-- Documents indexed but not yet matched against saved searches: written with the index mark, so a
-- process killed before matching leaves them for the next batch's matching.
CREATE TABLE IF NOT EXISTS alert_unmatched (document_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS alert_digests (
    channel_key TEXT PRIMARY KEY,             -- what a digest goes to: "email:<address>:<cadence>"
    last_sent TEXT NOT NULL
);
-- Redactions (issue #18, archive/redactions; queries in archive/redactions/records.py): one row
-- per box found on a page, in the pixels of the page's word boxes. `hidden_text` is what a bad
-- redaction left in the text layer: kept apart from the page text, never indexed.
CREATE TABLE IF NOT EXISTS redactions (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page INTEGER NOT NULL,
    kind TEXT NOT NULL,                       -- image | vector | annotation
    bbox_left INTEGER NOT NULL,
    bbox_top INTEGER NOT NULL,
    bbox_width INTEGER NOT NULL,
    bbox_height INTEGER NOT NULL,
    area INTEGER NOT NULL,
    bad INTEGER NOT NULL DEFAULT 0,
    label TEXT NOT NULL DEFAULT '',
    exemption TEXT,
    hidden_text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS redactions_document ON redactions (document_id, page);
"""

# Collection settings added by the accounts issue (ALTER TABLE on archives made before).
_COLLECTION_COLUMNS = {
    "title": "TEXT NOT NULL DEFAULT ''",
    "licence": "TEXT NOT NULL DEFAULT ''",
    "publish_at": "TEXT",
    # The pre-publication check's verdict on a scheduled publication (archive/publishing.py):
    # JSON {"version", "findings", ...} while it is held, {"forced": true} when scheduled with --force.
    "publish_check": "TEXT",
}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_archive_dir() -> Path:
    return Path(os.environ.get("FOI_ARCHIVE", "./foi-data"))


class Store:
    """Metadata and originals of one archive folder. One instance per thread."""

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "originals").mkdir(exist_ok=True)
        (self.root / "cache").mkdir(exist_ok=True)
        self.db_path = self.root / "foi.sqlite3"
        self.db = sqlite3.connect(self.db_path, timeout=60, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(_SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(pages)")}
        if "analysed" not in columns:  # archives made before the analysis was kept
            self.db.execute("ALTER TABLE pages ADD COLUMN analysed TEXT")
        if "run" not in {row[1] for row in self.db.execute("PRAGMA table_info(documents)")}:
            # The ingest run working on a `processing` document (see `start_run`).
            self.db.execute("ALTER TABLE documents ADD COLUMN run TEXT")
        have = {row[1] for row in self.db.execute("PRAGMA table_info(collections)")}
        for column, decl in _COLLECTION_COLUMNS.items():
            if column not in have:
                self.db.execute(f"ALTER TABLE collections ADD COLUMN {column} {decl}")
        if "email" not in {row[1] for row in self.db.execute("PRAGMA table_info(users)")}:
            self.db.execute("ALTER TABLE users ADD COLUMN email TEXT")  # archives made before alerts
        self.run: str | None = None
        self._run_lock: Any = None
        self.db.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

    def close(self) -> None:
        self.end_run()
        self.db.close()

    # -- ingest runs ------------------------------------------------------------------------
    # An ingest holds an exclusive lock on `runs/<run>.lock` while it runs, and writes its run id
    # on the documents it sets `processing`. The kernel drops the lock when the process ends,
    # however it ends (SIGKILL, a crash, a reboot), so a `processing` document whose run holds no
    # lock was left by a run that is gone, and may be taken over (`foi recover`, or the next
    # ingest); one whose run still holds its lock belongs to a live ingest and is left alone.
    # A run id reaches a document only after its lock is held, and other processes only look at
    # (and remove) the lock files of run ids found on documents, so a run starting meanwhile is
    # never mistaken for a dead one.

    def start_run(self) -> str:
        """Start an ingest run of this process (the one running, if any); returns its id."""
        if self.run is None:
            folder = self.root / "runs"
            folder.mkdir(exist_ok=True)
            run = f"{os.getpid()}-{secrets.token_hex(6)}"
            fh = open(folder / f"{run}.lock", "a+b")  # noqa: SIM115 (held open while the run lasts)
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.run, self._run_lock = run, fh
        return self.run

    def end_run(self) -> None:
        if self._run_lock is not None:
            (self.root / "runs" / f"{self.run}.lock").unlink(missing_ok=True)
            self._run_lock.close()
            self.run, self._run_lock = None, None

    def run_alive(self, run: str | None) -> bool:
        """Whether the ingest run `run` is still running (this process's own run included). A
        document without a run id was left by a version that recorded none: not alive."""
        if not run:
            return False
        if run == self.run:
            return True
        if "/" in run or run.startswith("."):
            return False
        path = self.root / "runs" / f"{run}.lock"
        try:
            fh = open(path, "rb")  # noqa: SIM115
        except FileNotFoundError:
            return False
        with fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            path.unlink(missing_ok=True)  # a dead run's file: nobody holds it
            return False

    def claim(self, doc_id: int, previous_run: str | None) -> bool:
        """Take a `processing` document over from the (dead) run that left it: False when another
        run took it first."""
        if self.run is None:
            raise RuntimeError("claim() outside an ingest run")
        cur = self.db.execute(
            "UPDATE documents SET run=?, status='processing', error_stage=NULL, error_reason=NULL, updated=? "
            "WHERE id=? AND ifnull(run,'')=? AND status NOT IN ('done','failed')",
            (self.run, now(), doc_id, previous_run or ""),
        )
        return cur.rowcount == 1

    def stuck_documents(self) -> list[sqlite3.Row]:
        """Documents left `processing` by runs that are gone, oldest first."""
        rows = self.db.execute(
            "SELECT id, parent_id, run FROM documents WHERE status IN ('processing','pending') ORDER BY id"
        ).fetchall()
        alive: dict[str | None, bool] = {}
        out = []
        for row in rows:
            if row["run"] not in alive:
                alive[row["run"]] = self.run_alive(row["run"])
            if not alive[row["run"]]:
                out.append(row)
        return out

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open on this store's connection."""
        return self.db.in_transaction

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- originals -------------------------------------------------------------------------

    def blob_path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 digest")
        return self.root / "originals" / sha256[:2] / sha256[2:4] / sha256

    def put_original(self, path: Path) -> tuple[str, int]:
        """Copy a regular file into the store once; returns (sha256, size). Atomic: a kill leaves
        no half file. The file is opened once, without following a link in its last component
        and without blocking, and must be a regular file (a FIFO, device or socket put in its
        place after it was chosen is refused): what is hashed is what is copied."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags)
        with open(fd, "rb") as src:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(f"not a regular file: {path}")
            h = hashlib.sha256()
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
            digest = h.hexdigest()
            target = self.blob_path(digest)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp_fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
                src.seek(0)
                try:
                    with open(tmp_fd, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    os.replace(tmp, target)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
        return digest, target.stat().st_size

    # -- collections ------------------------------------------------------------------------

    def ensure_collection(self, name: str, public: bool | None = None) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO collections(name, public, created) VALUES (?, ?, ?)",
            (name, int(bool(public)), now()),
        )
        if public is not None:
            self.db.execute("UPDATE collections SET public=? WHERE name=?", (int(public), name))

    def collections(self) -> list[dict[str, Any]]:
        rows = self.db.execute(f"{_COLLECTIONS} ORDER BY c.name").fetchall()
        return [dict(r) | {"public": bool(r["public"])} for r in rows]

    def collection(self, name: str) -> dict[str, Any] | None:
        """One entry of `collections()`, or None."""
        row = self.db.execute(f"{_COLLECTIONS} WHERE c.name=?", (name,)).fetchone()
        return dict(row) | {"public": bool(row["public"])} if row else None

    def collection_visibility(self) -> list[dict[str, Any]]:
        """Every collection's name, `public` and `publish_at`: what access needs, without the
        document counts of `collections()` (a search asks this on every request)."""
        rows = self.db.execute("SELECT name, public, publish_at FROM collections ORDER BY name")
        return [dict(r) for r in rows]

    def due_collections(self, at: str) -> list[dict[str, Any]]:
        """Collections scheduled for publishing whose time (`publish_at` <= `at`) has come but
        which are not public yet: name, publish_at, publish_check."""
        rows = self.db.execute(
            "SELECT name, publish_at, publish_check FROM collections "
            "WHERE public=0 AND publish_at IS NOT NULL AND publish_at <= ?",
            (at,),
        )
        return [dict(r) for r in rows]

    def collection_version(self, name: str) -> str:
        """What changes when a collection's documents do (added, read again, removed, hidden)."""
        count, last, updated = self.db.execute(
            "SELECT count(*), max(id), max(updated) FROM documents WHERE collection=?", (name,)
        ).fetchone()
        (hidden,) = self.db.execute(
            "SELECT count(*) FROM hidden_documents h JOIN documents d ON d.id = h.document_id WHERE d.collection=?",
            (name,),
        ).fetchone()
        return f"{count}:{last}:{updated}:{hidden}"

    def set_collection(self, name: str, **fields: Any) -> None:
        """Change a collection's settings (title, description, licence, public, publish_at)."""
        allowed = {"title", "description", "licence", "public", "publish_at", "publish_check"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown collection settings: {', '.join(sorted(unknown))}")
        if fields:
            sets = ", ".join(f"{k}=?" for k in fields)
            self.db.execute(f"UPDATE collections SET {sets} WHERE name=?", (*fields.values(), name))

    def hidden_document_ids(self) -> tuple[int, ...]:
        """Every taken-down document and what was found inside it."""
        return tuple(
            int(r[0]) for r in self.db.execute("SELECT document_id FROM hidden_documents ORDER BY 1")
        )

    def is_hidden(self, doc_id: int) -> bool:
        return (
            self.db.execute("SELECT 1 FROM hidden_documents WHERE document_id=?", (doc_id,)).fetchone()
            is not None
        )

    def hide_document(self, doc_id: int, reason: str, by: str | None) -> int:
        """Take a document down with everything found inside it; returns how many were hidden."""
        with self.transaction() as db:
            ids = [r[0] for r in db.execute(_DESCENDANTS, (doc_id,))]
            db.executemany(
                "INSERT OR REPLACE INTO hidden_documents(document_id, taken_down, reason, hidden_by, created) "
                "VALUES (?,?,?,?,?)",
                [(i, doc_id, reason, by, now()) for i in ids],
            )
        return len(ids)

    def takedown_of(self, doc_id: int) -> dict[str, Any] | None:
        """Why a document is hidden (reason, who, when, the document taken down), or None."""
        row = self.db.execute(
            "SELECT taken_down, reason, hidden_by, created FROM hidden_documents WHERE document_id=?",
            (doc_id,),
        ).fetchone()
        return dict(row) if row else None

    def unhide_document(self, doc_id: int) -> int:
        cur = self.db.execute("DELETE FROM hidden_documents WHERE taken_down=?", (doc_id,))
        return cur.rowcount

    def takedowns(self) -> list[dict[str, Any]]:
        """The documents taken down (not their descendants), with the reason."""
        rows = self.db.execute(
            "SELECT document_id, reason, hidden_by, created FROM hidden_documents "
            "WHERE document_id = taken_down ORDER BY document_id"
        )
        return [dict(r) for r in rows]

    def collection_documents(
        self, name: str, limit: int, offset: int, without_hidden: bool = False
    ) -> list[dict[str, Any]]:
        """The top-level documents of a collection, by id, `limit` from `offset` (taken-down ones
        left out with `without_hidden`)."""
        hidden = " AND id NOT IN (SELECT document_id FROM hidden_documents)" if without_hidden else ""
        return self.documents(
            f"id IN (SELECT id FROM documents WHERE collection=? AND parent_id IS NULL{hidden} "
            "ORDER BY id LIMIT ? OFFSET ?)",
            (name, limit, offset),
        )

    def hidden_top_level_counts(self) -> dict[str, int]:
        """Per collection, how many of its top-level documents are taken down."""
        rows = self.db.execute(
            "SELECT d.collection, count(*) FROM hidden_documents h JOIN documents d ON d.id = h.document_id "
            "WHERE d.parent_id IS NULL GROUP BY d.collection"
        )
        return {str(r[0]): int(r[1]) for r in rows}

    # -- documents --------------------------------------------------------------------------

    def find_document(
        self, collection: str, sha256: str, parent_id: int | None, path_in_parent: str | None
    ) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM documents WHERE collection=? AND sha256=? AND ifnull(parent_id,0)=? "
            "AND ifnull(path_in_parent,'')=?",
            (collection, sha256, parent_id or 0, path_in_parent or ""),
        ).fetchone()
        return row

    def create_document(self, **fields: Any) -> int:
        fields.setdefault("created", now())
        fields.setdefault("updated", fields["created"])
        if "metadata" in fields and not isinstance(fields["metadata"], str):
            fields["metadata"] = json.dumps(fields["metadata"], ensure_ascii=False, default=str)
        cols = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        cur = self.db.execute(f"INSERT INTO documents ({cols}) VALUES ({marks})", tuple(fields.values()))
        assert cur.lastrowid is not None
        return cur.lastrowid

    def update_document(self, doc_id: int, **fields: Any) -> None:
        if "metadata" in fields and not isinstance(fields["metadata"], str):
            fields["metadata"] = json.dumps(fields["metadata"], ensure_ascii=False, default=str)
        fields["updated"] = now()
        sets = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE documents SET {sets} WHERE id=?", (*fields.values(), doc_id))

    def document(self, doc_id: int) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM documents WHERE id=?", (doc_id,)).fetchone()
        return _doc_dict(row) if row else None

    def documents(self, where: str = "1", params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        rows = self.db.execute(f"SELECT * FROM documents WHERE {where} ORDER BY id", tuple(params))
        return [_doc_dict(r) for r in rows]

    def children(self, doc_id: int) -> list[dict[str, Any]]:
        return self.documents("parent_id=?", (doc_id,))

    def thread_documents(self, thread_id: int) -> list[dict[str, Any]]:
        """The e-mail documents whose `metadata.mail.thread.id` is `thread_id`, by id."""
        # The thread id is the smallest document id in the thread: only later rows can belong to it.
        return self.documents(
            "kind='email' AND id >= ? AND json_extract(metadata, '$.mail.thread.id') = ?",
            (thread_id, thread_id),
        )

    def email_documents(self) -> list[dict[str, Any]]:
        """Every e-mail document (kind `email`), by id."""
        return self.documents("kind='email'")

    def finished_documents(self) -> list[dict[str, Any]]:
        """The documents an ingest has finished with (`done` or `failed`), by id."""
        return self.documents(_FINISHED)

    def finished_document_ids(self) -> list[int]:
        """The ids of the finished documents (`done` or `failed`) that have pages, in order:
        what `foi reindex` and `foi entities rescan` go through."""
        rows = self.db.execute(f"SELECT id FROM documents WHERE {_FINISHED} AND page_count > 0 ORDER BY id")
        return [int(r[0]) for r in rows]

    def set_stage(self, doc_id: int, stage: str, status: str, reason: str | None = None) -> None:
        """Record the status of one stage of a document (replacing the one it had)."""
        self.db.execute(_SET_STAGE, (doc_id, stage, status, reason, now()))

    def set_stages(self, stage: str, outcomes: Iterable[tuple[int, str, str | None]], updated: str) -> None:
        """`set_stage` for many documents in one statement: `outcomes` holds (document id,
        status, reason); each row is stamped `updated`."""
        self.db.executemany(
            _SET_STAGE, [(d, stage, status, reason, updated) for d, status, reason in outcomes]
        )

    def add_missing_stages(self, doc_ids: Iterable[int], stage: str, status: str, reason: str | None) -> None:
        """Give a status row for `stage` to the documents that have none yet (rows already there
        are left as they are), in one statement."""
        stamp = now()
        self.db.executemany(
            "INSERT OR IGNORE INTO stages(document_id, stage, status, reason, updated) VALUES (?,?,?,?,?)",
            [(d, stage, status, reason, stamp) for d in doc_ids],
        )

    def documents_with_stage(self, doc_ids: Iterable[int], stage: str) -> set[int]:
        """Which of these documents have a status row for `stage` (one read per 500 ids)."""
        ids = list(doc_ids)
        found: set[int] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            found.update(
                int(r[0])
                for r in self.db.execute(
                    f"SELECT document_id FROM stages WHERE stage=? AND document_id IN ({','.join('?' * len(chunk))})",
                    (stage, *chunk),
                )
            )
        return found

    def stages(self, doc_id: int) -> dict[str, dict[str, Any]]:
        rows = self.db.execute(
            "SELECT stage, status, reason, updated FROM stages WHERE document_id=?", (doc_id,)
        )
        return {
            r["stage"]: {"status": r["status"], "reason": r["reason"], "updated": r["updated"]} for r in rows
        }

    # -- pages ------------------------------------------------------------------------------

    def replace_pages(self, doc_id: int, pages: list[PageResult]) -> list[int]:
        """Write all pages of a document (inside the caller's transaction); returns page ids."""
        self.db.execute("DELETE FROM pages WHERE document_id=?", (doc_id,))
        ids = []
        for p in pages:
            cur = self.db.execute(
                "INSERT INTO pages(document_id, number, text, lang, ocr, confidence, width, height, dpi, "
                "words, translation, translation_status, segments, gloss, meta) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    doc_id,
                    p.number,
                    p.text,
                    p.lang,
                    int(p.ocr),
                    p.confidence,
                    p.width,
                    p.height,
                    p.dpi,
                    # [[text, left, top, width, height, conf], ...]: a Word is a named tuple
                    json.dumps(p.words) if p.words else None,
                    p.meta.get("translation"),
                    p.meta.get("translation_status"),
                    json.dumps(p.meta["segments"], ensure_ascii=False) if p.meta.get("segments") else None,
                    p.meta.get("gloss"),
                    json.dumps(
                        {k: v for k, v in p.meta.items() if k not in _PAGE_COLUMNS_IN_META},
                        ensure_ascii=False,
                        default=str,
                    ),
                ),
            )
            assert cur.lastrowid is not None
            ids.append(cur.lastrowid)
        return ids

    def pages(self, doc_id: int, with_words: bool = False) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM pages WHERE document_id=? ORDER BY number", (doc_id,))
        return [_page_dict(r, with_words) for r in rows]

    def page(self, doc_id: int, number: int) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT * FROM pages WHERE document_id=? AND number=?", (doc_id, number)
        ).fetchone()
        return _page_dict(row, True) if row else None

    def hit_documents(self, ids: Iterable[int]) -> dict[int, sqlite3.Row]:
        """What a search hit shows of its document (id, title, filename, collection, kind, date),
        for many documents in one read, without the metadata JSON."""
        return {
            r["id"]: r
            for r in self._rows_by_id(
                "SELECT id, title, filename, collection, kind, date FROM documents", ids
            )
        }

    def hit_pages(self, ids: Iterable[int]) -> dict[int, sqlite3.Row]:
        """What a search hit shows of its page (id, text, translation, gloss, lang), in one read."""
        return {
            r["id"]: r for r in self._rows_by_id("SELECT id, text, translation, gloss, lang FROM pages", ids)
        }

    def page_meta(self, page_id: int) -> str | None:
        """A page's meta JSON as stored (None when there is no such page)."""
        row = self.db.execute("SELECT meta FROM pages WHERE id=?", (page_id,)).fetchone()
        return row["meta"] if row else None

    def _rows_by_id(self, select: str, ids: Iterable[int]) -> list[sqlite3.Row]:
        """`select` (a SELECT ... FROM table) for the rows with these ids, in one statement."""
        wanted = tuple(set(ids))
        if not wanted:
            return []
        return list(self.db.execute(f"{select} WHERE id IN ({','.join('?' * len(wanted))})", wanted))

    def set_page_analyses(self, analyses: Iterable[tuple[str, int]]) -> None:
        """Keep pages' search analyses, given as (JSON, page id), in one statement (inside the
        caller's transaction when one is open, else one small autocommit)."""
        self.db.executemany("UPDATE pages SET analysed=? WHERE id=?", analyses)

    def page_texts(self, doc_id: int) -> list[sqlite3.Row]:
        """What a document's pages are analysed from, for search: id, text, translation, gloss
        and the analysis kept (`analysed`), without the word boxes."""
        return self.db.execute(
            "SELECT id, text, translation, gloss, analysed FROM pages WHERE document_id=?", (doc_id,)
        ).fetchall()

    def documents_for_index(self, doc_ids: Iterable[int]) -> Iterator[tuple[sqlite3.Row, list[sqlite3.Row]]]:
        """(document row, its page rows by number) for each of these documents that exists, in
        the order given: only the columns an index record is made of (Store.pages() would also
        parse every OCR word box), two reads per 500 documents."""
        ids = list(doc_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            docs = {
                int(row["id"]): row
                for row in self.db.execute(
                    f"SELECT id, collection, kind, title, filename, date, metadata FROM documents WHERE id IN ({marks})",
                    chunk,
                )
            }
            pages = self.db.execute(
                "SELECT id, document_id, number, lang, text, translation, gloss, meta, analysed FROM pages "
                f"WHERE document_id IN ({marks}) ORDER BY document_id, number",
                chunk,
            ).fetchall()
            by_doc: dict[int, list[sqlite3.Row]] = {}
            for page in pages:
                by_doc.setdefault(int(page["document_id"]), []).append(page)
            for doc_id in chunk:
                doc = docs.get(doc_id)
                if doc is not None:
                    yield doc, by_doc.get(doc_id, [])

    def translation_pending_count(self) -> int:
        """How many pages wait for `foi translate` (see `_TRANSLATION_PENDING`)."""
        return int(self.db.execute(f"SELECT count(*) FROM pages WHERE {_TRANSLATION_PENDING}").fetchone()[0])

    def translation_pending_documents(self) -> list[int]:
        """The documents with pages waiting for `foi translate`, by id."""
        rows = self.db.execute(
            f"SELECT DISTINCT document_id FROM pages WHERE {_TRANSLATION_PENDING} ORDER BY document_id"
        )
        return [int(r[0]) for r in rows]

    def translation_pending_pages(self, doc_id: int) -> list[sqlite3.Row]:
        """A document's pages waiting for `foi translate` (id, document_id, text), by number."""
        return self.db.execute(
            f"SELECT id, document_id, text FROM pages WHERE document_id=? AND ({_TRANSLATION_PENDING}) "
            "ORDER BY number",
            (doc_id,),
        ).fetchall()

    def update_page(self, page_id: int, **fields: Any) -> None:
        for key in ("segments", "meta"):
            if key in fields and not isinstance(fields[key], str | None):
                fields[key] = json.dumps(fields[key], ensure_ascii=False)
        sets = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE pages SET {sets} WHERE id=?", (*fields.values(), page_id))

    # -- the search index's marks -------------------------------------------------------------
    # A document is `index_pending=1` until the search engine has acknowledged all its pages;
    # its `index` stage says why it waits (archive/indexing.py).

    def index_state(self, doc_id: int) -> sqlite3.Row | None:
        """A document's id, `index_pending` and `page_count`, or None when it does not exist."""
        row: sqlite3.Row | None = self.db.execute(
            "SELECT id, index_pending, page_count FROM documents WHERE id=?", (doc_id,)
        ).fetchone()
        return row

    def index_pending_documents(self) -> list[tuple[int, int]]:
        """(id, page count) of the finished documents waiting for the search index, by id."""
        rows = self.db.execute(
            f"SELECT id, page_count FROM documents WHERE index_pending=1 AND {_FINISHED} ORDER BY id"
        )
        return [(int(r[0]), int(r[1] or 0)) for r in rows]

    def index_pending_count(self) -> int:
        """How many finished documents wait for the search index."""
        sql = f"SELECT count(*) FROM documents WHERE index_pending=1 AND {_FINISHED}"
        return int(self.db.execute(sql).fetchone()[0])

    def last_index_pending_reason(self) -> str | None:
        """The most recent reason a document waits for the search index, or None."""
        row = self.db.execute(
            "SELECT s.reason FROM stages s JOIN documents d ON d.id = s.document_id "
            "WHERE s.stage='index' AND s.status='pending' AND d.index_pending=1 AND s.reason IS NOT NULL "
            "ORDER BY s.updated DESC, s.document_id DESC LIMIT 1"
        ).fetchone()
        return str(row[0]) if row else None

    def finished_updated_since(self, since: str) -> list[tuple[int, str]]:
        """(id, updated) of the finished documents updated at or after `since`, by id."""
        rows = self.db.execute(
            f"SELECT id, updated FROM documents WHERE updated >= ? AND {_FINISHED} ORDER BY id", (since,)
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    def mark_indexed(self, doc_ids: Iterable[int], updated: str) -> None:
        """These documents are in the search index (no longer pending), stamped `updated`; one
        statement."""
        self.db.executemany(
            "UPDATE documents SET index_pending=0, updated=? WHERE id=?", [(updated, d) for d in doc_ids]
        )

    def mark_indexed_if_unchanged(self, read_at: Iterable[tuple[int, str]]) -> None:
        """For (document id, time it was read for the index): the document is no longer pending
        unless it was updated since it was read. `updated` is left alone (moving it would hide
        changes made meanwhile). One statement."""
        self.db.executemany("UPDATE documents SET index_pending=0 WHERE id=? AND updated < ?", read_at)

    # -- documents indexed and not yet matched against saved searches (archive/alerts) ---------

    def note_indexed(self, doc_ids: Iterable[int]) -> None:
        """Call inside the transaction that marks these documents indexed."""
        self.db.executemany(
            "INSERT OR IGNORE INTO alert_unmatched (document_id) VALUES (?)", [(d,) for d in doc_ids]
        )

    def indexed_unmatched(self, limit: int = 5000) -> list[int]:
        rows = self.db.execute(
            "SELECT document_id FROM alert_unmatched ORDER BY document_id LIMIT ?", (limit,)
        )
        return [int(r[0]) for r in rows]

    def forget_unmatched(self, doc_ids: Iterable[int]) -> None:
        self.db.executemany("DELETE FROM alert_unmatched WHERE document_id = ?", [(d,) for d in doc_ids])

    # -- reporting --------------------------------------------------------------------------

    def status_summary(self) -> dict[str, Any]:
        db = self.db
        by_status = {r[0]: r[1] for r in db.execute("SELECT status, count(*) FROM documents GROUP BY status")}
        failures = [
            dict(r)
            for r in db.execute(
                "SELECT error_stage AS stage, error_reason AS reason, count(*) AS count FROM documents "
                "WHERE status='failed' GROUP BY error_stage, error_reason ORDER BY count DESC, stage"
            )
        ]
        stages: dict[str, dict[str, int]] = {}
        for r in db.execute("SELECT stage, status, count(*) FROM stages GROUP BY stage, status"):
            stages.setdefault(r[0], {})[r[1]] = r[2]
        return {
            "documents": sum(by_status.values()),
            "top_level_documents": db.execute(
                "SELECT count(*) FROM documents WHERE parent_id IS NULL"
            ).fetchone()[0],
            "pages": db.execute("SELECT count(*) FROM pages").fetchone()[0],
            "ocr_pages": db.execute("SELECT count(*) FROM pages WHERE ocr=1").fetchone()[0],
            "by_status": by_status,
            "by_stage": stages,
            "index_pending": db.execute(
                "SELECT count(*) FROM documents WHERE index_pending=1 AND status='done'"
            ).fetchone()[0],
            # `processing` by an ingest that is gone (`foi recover` or the next ingest finishes them)
            "stuck": len(self.stuck_documents()),
            "failures": failures,
            "languages": {
                r[0] or "und": r[1]
                for r in db.execute("SELECT lang, count(*) FROM documents GROUP BY lang ORDER BY 2 DESC")
            },
        }

    # -- the reading room (issue #20): failures to act on, latest documents ---------------------

    def failed_documents(self, limit: int = 200) -> list[dict[str, Any]]:
        """Failed documents, newest first, with their stage, reason and the top-level document
        they were found in (for a member of an archive or e-mail)."""
        rows = self.db.execute(
            "SELECT d.id, d.filename, d.title, d.collection, d.kind, d.parent_id, d.error_stage, "
            "d.error_reason, d.updated, p.filename AS parent_filename FROM documents d "
            "LEFT JOIN documents p ON p.id = d.parent_id "
            "WHERE d.status='failed' ORDER BY d.updated DESC, d.id DESC LIMIT ?",
            (limit,),
        )
        return [dict(r) for r in rows]

    def latest_documents(self, limit: int = 10) -> list[dict[str, Any]]:
        """The newest top-level documents stored (by document date, then by when they were
        stored), without metadata."""
        rows = self.db.execute(
            "SELECT id, filename, title, collection, kind, lang, page_count, date, created FROM documents "
            "WHERE parent_id IS NULL AND status='done' ORDER BY ifnull(date, '') DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [dict(r) for r in rows]

    def set_page_translation_errors(self, page_id: int, errors: list[dict[str, str]]) -> None:
        """Name on a page (meta["translation_errors"]) the sentences the model failed on; an
        empty list clears them."""
        if errors:
            self.db.execute(
                "UPDATE pages SET meta=json_set(meta, '$.translation_errors', json(?)) WHERE id=?",
                (json.dumps(errors, ensure_ascii=False), page_id),
            )
        else:
            self.db.execute(
                "UPDATE pages SET meta=json_remove(meta, '$.translation_errors') WHERE id=?", (page_id,)
            )

    def children_by_parent(self, parent_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        """The direct children (id, filename, kind) of each of `parent_ids`, by id."""
        wanted = tuple(set(parent_ids))
        out: dict[int, list[dict[str, Any]]] = {}
        if not wanted:
            return out
        rows = self.db.execute(
            f"SELECT parent_id, id, filename, kind FROM documents WHERE parent_id IN ({','.join('?' * len(wanted))}) "
            "ORDER BY id",
            wanted,
        )
        for row in rows:
            out.setdefault(int(row["parent_id"]), []).append(
                {"id": row["id"], "filename": row["filename"], "kind": row["kind"]}
            )
        return out

    def mark_for_retry(self, doc_id: int) -> bool:
        """Put a failed document back to `pending` with no run, so the next recovery (or ingest)
        reads it again from its stored original; False when it is not failed."""
        cur = self.db.execute(
            "UPDATE documents SET status='pending', run=NULL, updated=? WHERE id=? AND status='failed'",
            (now(), doc_id),
        )
        return cur.rowcount == 1

    def has_queued_retries(self) -> bool:
        """Whether a document waits to be read again (`mark_for_retry`: pending with no run)."""
        row = self.db.execute("SELECT 1 FROM documents WHERE status='pending' AND run IS NULL LIMIT 1")
        return row.fetchone() is not None


_PAGE_COLUMNS_IN_META = {"translation", "translation_status", "segments", "gloss"}

# The one upsert of a stage status row: (document_id, stage, status, reason, updated).
_SET_STAGE = (
    "INSERT INTO stages(document_id, stage, status, reason, updated) VALUES (?,?,?,?,?) "
    "ON CONFLICT(document_id, stage) DO UPDATE SET status=excluded.status, "
    "reason=excluded.reason, updated=excluded.updated"
)

# Documents an ingest is finished with (stored, or failed for good).
_FINISHED = "status IN ('done','failed')"

# Pages `foi translate` looks at: those marked pending, and Chinese pages from before statuses.
_TRANSLATION_PENDING = (
    "(translation_status='pending' "
    "OR (translation_status IS NULL AND lang LIKE 'zh%' AND translation IS NULL))"
)

# A document and everything found inside it (attachments, archive members), at any depth.
_DESCENDANTS = (
    "WITH RECURSIVE t(id) AS (SELECT ? UNION SELECT d.id FROM documents d JOIN t ON d.parent_id = t.id) "
    "SELECT id FROM t"
)

_COLLECTIONS = (
    "SELECT c.name, c.public, c.description, c.created, c.title, c.licence, c.publish_at, c.publish_check, "
    "(SELECT count(*) FROM documents d WHERE d.collection=c.name AND d.parent_id IS NULL) AS documents "
    "FROM collections c"
)


def _doc_dict(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["metadata"] = json.loads(d["metadata"] or "{}")
    d["index_pending"] = bool(d["index_pending"])
    return d


def _page_dict(row: sqlite3.Row, with_words: bool) -> dict[str, Any]:
    d = dict(row)
    d.pop("analysed", None)  # the index's token streams: internal, not part of a page
    d["ocr"] = bool(d["ocr"])
    d["meta"] = json.loads(d["meta"] or "{}")
    d["segments"] = json.loads(d["segments"]) if d["segments"] else []
    words = json.loads(d.pop("words") or "[]")
    if with_words:
        d["words"] = words
    return d
