"""Publishing a collection: now, or at a time (`publish_at`), after the pre-publication checks.

A scheduled publication is checked twice: when it is scheduled, and again when its time comes
(`go_live_due`, run before reads): the collection may have changed in between. Clean, it goes
public; with findings it stays private, held, and the verdict (with the findings, for its
owner) is kept with the collection's content version, so the check runs again only once the
documents (or the allow-list) change. Until the go-live check has passed, a collection whose
time has come is not public (archive/access.py `is_published`).

A check is a function `(archive, collection name) -> list of findings`, each finding a dict with
at least 'kind' and 'message'. `PUBLICATION_CHECKS` is the explicit list `publish` runs, in order;
a check added later (redactions, personal data) is one more entry there. When any check reports a
finding, publishing is refused unless forced, and the findings say why.
"""

from __future__ import annotations

import io
import json
import logging
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .access import utc_now
from .redactions.check import check_collection as redactions_check

if TYPE_CHECKING:
    from .access import Viewer
    from .core import Archive

log = logging.getLogger(__name__)

Finding = dict[str, Any]
Check = Callable[["Archive", str], list[Finding]]


def failed_documents(archive: Archive, name: str) -> list[Finding]:
    """Documents that failed to process: what is published should be what was read."""
    rows = archive.store.documents("collection=? AND status='failed'", (name,))[:20]
    return [
        {
            "kind": "failed_document",
            "message": f"document {r['id']} ({r['filename']}) failed at {r['error_stage']}",
            "document_id": r["id"],
        }
        for r in rows
    ]


def redactions_and_personal_data(archive: Archive, name: str) -> list[Finding]:
    """Bad redactions (text left under a box) and personal data left unredacted: the check of
    `foi collections check` (archive/redactions/check.py), with the archive's allow-list."""
    return check_collection(archive, name)


def check_collection(archive: Archive, name: str, allow: Iterable[str] = ()) -> list[Finding]:
    """The redactions and personal-data check (archive/redactions/check.py): a list of findings.
    Values on the archive's own allow-list (`allow-list.txt` in the archive folder, one per line)
    and in `allow` are never reported."""
    kept = archive.root / "allow-list.txt"
    if kept.is_file():
        allow = [*allow, *kept.read_text(encoding="utf-8", errors="replace").splitlines()]
    return redactions_check(archive, name, allow)


PUBLICATION_CHECKS: list[Check] = [failed_documents, redactions_and_personal_data]


class PublishRefused(RuntimeError):
    """A pre-publication check found something; `findings` says what."""

    def __init__(self, findings: list[Finding]):
        super().__init__(
            f"{len(findings)} finding(s) before publishing: " + "; ".join(f["message"] for f in findings)
        )
        self.findings = findings


def parse_when(text: str) -> str:
    """A date or date-time (ISO 8601; naive means UTC) as the stored ISO 8601 UTC string."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not a date or time: {text!r} (use 2026-12-31 or 2026-12-31T09:00)") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pre_publication_findings(archive: Archive, name: str, checks: list[Check] | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for check in PUBLICATION_CHECKS if checks is None else checks:
        findings.extend(check(archive, name))
    return findings


def publish(archive: Archive, name: str, at: str | None = None, force: bool = False) -> list[Finding]:
    """Publish `name` now, or schedule it for `at`; raises PublishRefused when a check reports
    findings and `force` is not given (returns the findings that were overridden)."""
    if archive.store.collection(name) is None:
        raise KeyError(name)
    findings = pre_publication_findings(archive, name)
    if findings and not force:
        raise PublishRefused(findings)
    if at:
        # Forced: the owner has seen the findings and accepted them; the go-live check is skipped.
        verdict = json.dumps({"forced": True}) if force else None
        archive.store.set_collection(name, public=0, publish_at=parse_when(at), publish_check=verdict)
    else:
        archive.store.set_collection(name, public=1, publish_at=None, publish_check=None)
    archive.results.clear()
    return findings


HELD_FINDINGS = 20  # findings kept with a held publication, for its owner


def content_version(archive: Archive, name: str) -> str:
    """What the go-live verdict depends on: the collection's documents and the allow-list."""
    kept = archive.root / "allow-list.txt"
    stamp = f"{kept.stat().st_mtime_ns}:{kept.stat().st_size}" if kept.is_file() else "-"
    return f"{archive.store.collection_version(name)}:{stamp}"


def go_live_due(archive: Archive, skip_held: Callable[[str], bool] = lambda name: False) -> list[str]:
    """Check again each collection whose scheduled time has come: clean (or scheduled with
    force), it becomes public; with findings it stays private, held, its verdict kept for this
    content version (not checked again until the content changes; `skip_held(name)` true: not
    even its version looked at now). Returns the names that went public."""
    live = []
    for row in archive.store.due_collections(utc_now()):
        name = str(row["name"])
        verdict = json.loads(row["publish_check"] or "null") or {}
        if verdict.get("findings") and skip_held(name):
            continue
        if not verdict.get("forced"):
            version = content_version(archive, name)
            if verdict.get("version") == version:
                continue  # held, and nothing changed since
            findings = pre_publication_findings(archive, name)
            if findings:
                held = {
                    "version": version,
                    "checked": utc_now(),
                    "count": len(findings),
                    "findings": findings[:HELD_FINDINGS],
                }
                archive.store.set_collection(name, publish_check=json.dumps(held, default=str))
                log.warning("scheduled publication of %s held: %d finding(s)", name, len(findings))
                continue
        archive.store.set_collection(name, public=1, publish_check=None)
        live.append(name)
    if live:
        archive.results.clear()
    return live


def held_publication(collection: dict[str, Any]) -> dict[str, Any] | None:
    """The go-live check's findings of a scheduled publication it is holding back, or None."""
    if collection.get("public") or not collection.get("publish_check"):
        return None
    verdict = json.loads(str(collection["publish_check"]))
    return verdict if verdict.get("findings") else None


class Schedules:
    """Runs `go_live_due` before reads: one small query of the collections table when nothing
    is due. A held publication's content version is looked at again at most every
    `recheck_seconds` per archive object (a page of listings asks many times)."""

    def __init__(self, archive: Archive, recheck_seconds: float = 5.0):
        self.archive = archive
        self.recheck_seconds = recheck_seconds
        self._looked: dict[str, float] = {}

    def _skip_held(self, name: str) -> bool:
        now = time.monotonic()
        if now < self._looked.get(name, 0.0):
            return True
        self._looked[name] = now + self.recheck_seconds
        return False

    def settle(self) -> None:
        try:
            go_live_due(self.archive, self._skip_held)
        except Exception:  # a failed check never makes anything public; reads go on
            log.exception("go-live check")


def take_down(archive: Archive, doc_id: int, reason: str, by: str | None = None) -> int:
    """Take a document (and what was found in it) down from every view but an admin's; returns
    the number of documents hidden. KeyError for no such document, ValueError without a reason."""
    if archive.store.document(doc_id) is None:
        raise KeyError(doc_id)
    if not reason.strip():
        raise ValueError("a takedown needs a reason")
    return archive.store.hide_document(doc_id, reason.strip(), by)


def unpublish(archive: Archive, name: str) -> None:
    if archive.store.collection(name) is None:
        raise KeyError(name)
    archive.store.set_collection(name, public=0, publish_at=None, publish_check=None)
    archive.results.clear()


class _Chunks(io.RawIOBase):
    """A write-only stream whose bytes are taken out as they come (zipfile writes into it)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def release_zip(archive: Archive, name: str, viewer: Viewer) -> Iterator[bytes]:
    """The originals of a collection's top-level documents that `viewer` may read, as a zip
    streamed in pieces (never whole in memory); each entry named `<id>-<filename>`."""
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        offset = 0
        while True:
            docs = archive.collection_documents(name, 200, offset, viewer)
            if not docs:
                break
            offset += len(docs)
            for doc in docs:
                original = archive.original(doc, viewer)
                if original is None:
                    continue
                info = zipfile.ZipInfo(f"{doc['id']}-{original.filename}", date_time=_zip_time(doc))
                with zf.open(info, "w", force_zip64=True) as entry, open(original.path, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        entry.write(chunk)
                        yield sink.take()
                yield sink.take()
    yield sink.take()


def _zip_time(doc: dict[str, Any]) -> tuple[int, int, int, int, int, int]:
    date = str(doc.get("date") or doc.get("created") or "1980-01-01")
    try:
        when = datetime.fromisoformat(date.replace("Z", "+00:00"))
    except ValueError:
        return (1980, 1, 1, 0, 0, 0)
    return (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
