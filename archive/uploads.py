"""Files uploaded through the web, ingested in the background.

An upload is first written whole to `uploads/<random>/<filename>` in the archive folder, and only
then recorded as a `queued` row of the `uploads` table (so a row always has its file). A worker
(`run_uploads`, a thread of the web server) claims one queued row at a time (`processing`, with its
process id), ingests the file into the upload's collection and records the outcome (`done` with
the number of documents, or `failed` with the reason). When the server restarts, the rows still
`processing` under a process that is gone are queued again; ingesting a file a second time adds
nothing (documents are identified by collection, digest and place), so an upload is neither lost
nor duplicated.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .cluster import ClusterLost, ClusterUnavailable
from .store import now

if TYPE_CHECKING:
    from .core import Archive

log = logging.getLogger(__name__)


def _safe_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f/]", "_", name).strip(". ") or "upload"
    return name[:200]


class Uploads:
    """The upload queue of one archive."""

    def __init__(self, archive: Archive):
        self.archive = archive
        self.db = archive.store.db
        self.dir = archive.root / "uploads"

    def add(self, collection: str, filename: str, stream: IO[bytes], user: str | None) -> int:
        """Store an uploaded file and queue it; returns the upload id."""
        folder = self.dir / secrets.token_hex(8)
        folder.mkdir(parents=True)
        path = folder / _safe_name(filename)
        with open(path, "wb") as fh:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        self.archive.store.ensure_collection(collection)
        stamp = now()
        cur = self.db.execute(
            "INSERT INTO uploads(collection, filename, path, user_name, created, updated) VALUES (?,?,?,?,?,?)",
            (collection, path.name, str(path.relative_to(self.archive.root)), user, stamp, stamp),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def recent(self, collection: str, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, filename, status, documents, failed, error, created, updated FROM uploads "
            "WHERE collection=? ORDER BY id DESC LIMIT ?",
            (collection, limit),
        )
        return [dict(r) for r in rows]

    def requeue_abandoned(self) -> int:
        """Queue again the uploads left `processing` by a process that is gone."""
        n = 0
        for row in self.db.execute("SELECT id, worker FROM uploads WHERE status='processing'").fetchall():
            pid = int(row["worker"] or 0)
            if pid and _alive(pid) and pid != os.getpid():
                continue
            n += self.db.execute(
                "UPDATE uploads SET status='queued', worker=NULL, updated=? WHERE id=? AND status='processing'",
                (now(), row["id"]),
            ).rowcount
        return n

    def claim(self) -> dict[str, Any] | None:
        """Take the oldest queued upload for this process (one statement: two workers never
        take the same one)."""
        row = self.db.execute(
            "UPDATE uploads SET status='processing', worker=?, updated=? "
            "WHERE id = (SELECT id FROM uploads WHERE status='queued' ORDER BY id LIMIT 1) RETURNING *",
            (os.getpid(), now()),
        ).fetchone()
        return dict(row) if row else None

    def run_one(self) -> bool:
        """Ingest one queued upload; False when none was waiting."""
        upload = self.claim()
        if upload is None:
            return False
        path = self.archive.root / upload["path"]
        try:
            report = self.archive.ingest([path], collection=upload["collection"])
        except (ClusterLost, ClusterUnavailable) as exc:
            # No fault of the upload: it waits, queued, for the cluster to come back (what the
            # ingest stored stays; the next attempt resumes it, as a second `foi ingest` would).
            log.warning("upload %s waits for the cluster: %s", upload["id"], exc)
            self._requeue(upload["id"], f"waiting for the cluster: {exc}")
            self.archive.drop_ocr_engine()
            return False
        except Exception as exc:  # recorded on the upload; the queue goes on
            log.exception("upload %s failed", upload["id"])
            self._finish(upload["id"], "failed", 0, 0, f"{type(exc).__name__}: {exc}")
            return True
        failed = sum(report.failed.values())
        documents = len(report.documents) or report.ingested + report.duplicates
        reason = "; ".join(f"{f.get('stage')}: {f.get('reason')}" for f in report.failures[:5]) or None
        self._finish(upload["id"], "done" if documents or not failed else "failed", documents, failed, reason)
        return True

    def _requeue(self, upload_id: int, error: str) -> None:
        self.db.execute(
            "UPDATE uploads SET status='queued', worker=NULL, error=?, updated=? WHERE id=?",
            (error, now(), upload_id),
        )

    def _finish(self, upload_id: int, status: str, documents: int, failed: int, error: str | None) -> None:
        self.db.execute(
            "UPDATE uploads SET status=?, documents=?, failed=?, error=?, updated=? WHERE id=?",
            (status, documents, failed, error, now(), upload_id),
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
