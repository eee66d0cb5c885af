"""Who may read and write what: the one place where access to a document is decided.

Every route, export, feed and alert asks this module; nothing else in the project decides
whether a viewer may see a document. A `Viewer` is who is asking:

- `LOCAL`: the single investigator of a local archive with no accounts (reads and writes all);
- `PUBLIC`: an anonymous visitor of a public site (reads published collections only, writes nothing);
- a named account with a role (`admin`, `editor`, `reader`) and per-collection grants.

A collection is readable by everyone once it is published: `public` set. A scheduled one
(`publish_at`) becomes public when its time has come and the pre-publication check, run again
then, finds nothing (archive/publishing.py `go_live_due`, run before reads, so nobody has to act
at that time); until then, and while that check holds it back, it is private. A hidden document
(a takedown, `foi documents hide`) and everything found inside it is readable by admins only. An unreadable document is answered as a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import Store

ROLES = ("admin", "editor", "reader")


@dataclass(frozen=True)
class Viewer:
    """Who is asking. `name` is None for the local user and for anonymous visitors."""

    name: str | None
    role: str  # "local" | "public" | "admin" | "editor" | "reader"
    read: frozenset[str] = field(default_factory=frozenset)  # collections granted for reading
    write: frozenset[str] = field(default_factory=frozenset)  # collections granted for writing

    @property
    def is_local(self) -> bool:
        return self.role == "local"

    @property
    def is_admin(self) -> bool:
        return self.role in ("local", "admin")

    @property
    def is_anonymous(self) -> bool:
        return self.role == "public"


LOCAL = Viewer(name=None, role="local")
PUBLIC = Viewer(name=None, role="public")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_published(collection: dict[str, Any]) -> bool:
    """Public now. A scheduled publication whose time has passed is public only once the go-live
    check has made it so (it sets `public`): a collection is never public unchecked."""
    return bool(collection.get("public"))


def embargoed_until(collection: dict[str, Any]) -> str | None:
    """The time a collection scheduled for publishing becomes public, while it is still ahead."""
    if bool(collection.get("public")) or not collection.get("publish_at"):
        return None
    at = str(collection["publish_at"])
    return at if at > utc_now() else None


def may_read_collection(viewer: Viewer, collection: dict[str, Any] | None) -> bool:
    """May `viewer` read documents of this collection (a row of `Store.collection`)?"""
    if collection is None:
        return False
    if viewer.is_admin or is_published(collection):
        return True
    return viewer.role != "public" and str(collection.get("name")) in (viewer.read | viewer.write)


def may_write_collection(viewer: Viewer, collection: dict[str, Any] | None) -> bool:
    """May `viewer` change this collection, and see what it holds back (text under redactions)?"""
    if collection is None:
        return False
    if viewer.is_admin:
        return True
    return viewer.role == "editor" and str(collection.get("name")) in viewer.write


def readable_collections(store: Store, viewer: Viewer) -> tuple[str, ...] | None:
    """The names of the collections `viewer` may read, or None for an admin (no restriction).
    Anyone else always gets the list, even when it holds every collection: a document whose
    collection has no row (or one made meanwhile) is then left out, never shown by default."""
    if viewer.is_admin:
        return None
    return tuple(str(c["name"]) for c in store.collection_visibility() if may_read_collection(viewer, c))


def hidden_documents(store: Store, viewer: Viewer) -> tuple[int, ...]:
    """The ids of the taken-down documents `viewer` may not see (none for an admin)."""
    return () if viewer.is_admin else store.hidden_document_ids()


def may_read_document(store: Store, viewer: Viewer, doc: dict[str, Any] | None) -> bool:
    """May `viewer` read this document (a row of `Store.document`)? Its collection must be
    readable and, unless the viewer is an admin, neither it nor a document it was found in hidden
    (the hide step records every descendant, so one look is enough)."""
    if doc is None:
        return False
    if viewer.is_admin:
        return True
    if not may_read_collection(viewer, store.collection(str(doc["collection"]))):
        return False
    return not store.is_hidden(int(doc["id"]))


def may_manage_accounts(viewer: Viewer) -> bool:
    return viewer.is_admin


def may_upload(viewer: Viewer, collection: dict[str, Any] | None) -> bool:
    """Uploading adds documents: a write to the collection (never for the public)."""
    return may_write_collection(viewer, collection)


def may_create_collection(viewer: Viewer) -> bool:
    return viewer.role in ("local", "admin", "editor")


def mail_as_seen(viewer: Viewer, mail: dict[str, Any], readable: list[dict[str, Any]]) -> dict[str, Any]:
    """The headers of a readable e-mail (its `metadata["mail"]`) as `viewer` may see them.
    In-Reply-To and References name other messages by Message-ID, and one of those may be a
    message `viewer` may not read: its id alone would tell that it exists, and it is what the
    archive joins threads by. So a reference is kept only when it names one of `readable` (the
    messages of its thread that `viewer` may read, as `may_read_document` decided); any other
    value is withheld, also one that names no message of the archive, so that what is withheld
    says nothing about what the archive holds. Admins see the headers as stored. Returns a copy."""
    if viewer.is_admin:
        return mail
    known = {
        str(m["metadata"]["mail"].get("message_id") or "") for m in readable if m["metadata"].get("mail")
    }
    known.discard("")
    refs = [r for r in mail.get("references") or [] if r in known]
    withheld = (mail.get("in_reply_to") not in (None, *known)) or len(refs) < len(
        mail.get("references") or []
    )
    seen = {**mail, "in_reply_to": mail.get("in_reply_to") if mail.get("in_reply_to") in known else None}
    seen["references"] = refs
    if withheld:
        seen["references_withheld"] = True
    return seen
