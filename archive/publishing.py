"""Publishing a collection: now, or at a time (`publish_at`), after the pre-publication checks.

A check is a function `(archive, collection name) -> list of findings`, each finding a dict with
at least 'kind' and 'message'. `PUBLICATION_CHECKS` is the explicit list `publish` runs, in order;
a check added later (redactions, personal data) is one more entry there. When any check reports a
finding, publishing is refused unless forced, and the findings say why.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .redactions.check import check_collection as redactions_check

if TYPE_CHECKING:
    from .access import Viewer
    from .core import Archive

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
        archive.store.set_collection(name, public=0, publish_at=parse_when(at))
    else:
        archive.store.set_collection(name, public=1, publish_at=None)
    archive.results.clear()
    return findings


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
    archive.store.set_collection(name, public=0, publish_at=None)
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
