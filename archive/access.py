"""Who may read and write what: the one place where access to a document is decided.

Every route, export, feed and alert asks this module; nothing else in the project decides
whether a viewer may see a document. A `Viewer` is who is asking:

- `LOCAL`: the single investigator of a local archive with no accounts (reads and writes all);
- `PUBLIC`: an anonymous visitor of a public site (reads published collections only, writes nothing);
- a named account with a role (`admin`, `editor`, `reader`) and per-collection grants.

The accounts issue fills in the rules for named accounts and published collections; until then
every check answers as the local mode does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


LOCAL = Viewer(name=None, role="local")
PUBLIC = Viewer(name=None, role="public")


def may_read_collection(viewer: Viewer, collection: dict[str, object] | None) -> bool:
    """May `viewer` read documents of this collection (a row of `Store.collection`)?"""
    if collection is None:
        return False
    if viewer.is_admin:
        return True
    if bool(collection.get("public")):
        return True
    return viewer.role != "public" and str(collection.get("name")) in (viewer.read | viewer.write)


def may_write_collection(viewer: Viewer, collection: dict[str, object] | None) -> bool:
    """May `viewer` change this collection, and see what it holds back (text under redactions)?"""
    if collection is None:
        return False
    if viewer.is_admin:
        return True
    return viewer.role == "editor" and str(collection.get("name")) in viewer.write
