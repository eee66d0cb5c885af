"""The reading room: what a viewer may see of an archive's documents, pages and collections.

Search, documents with their pages and children, threads, collections, originals, page images,
the status summary and the redaction records, each for one viewer. Whether the viewer may read a
collection or a document is asked of archive/access.py every time; this module only applies the
answers (leaving out, numbering among what is left, withholding). `Archive` (archive/core.py)
delegates its reading methods here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from . import access
from .access import LOCAL, Viewer
from .highlights import page_boxes
from .originals import Original, original_file, page_png, page_thumbnail
from .pipeline import STAGES
from .publishing import held_publication
from .redactions.records import collection_summary, csv_rows, document_redactions
from .search import SearchBackend, SearchError, SearchQuery
from .search.query import parse
from .search.results import ResultCache, SearchResults, assemble
from .store import Store
from .threads import thread_messages


class ReadingRoom:
    """The reading queries of one archive, each filtered for the viewer who asks."""

    def __init__(
        self,
        store: Store,
        backend: SearchBackend,
        results: ResultCache,
        last_index_error: Callable[[], str | None],
    ):
        self.store = store
        self.backend = backend
        self.results = results
        self.last_index_error = last_index_error
        # Run before each read that decides access: scheduled publications whose time has come
        # are checked again and go live then (archive/publishing.py Schedules; set by Archive).
        self.before_read: Callable[[], None] = lambda: None

    # -- search ---------------------------------------------------------------------------------

    def search(self, query: SearchQuery, viewer: Viewer = LOCAL) -> SearchResults:
        """Ranked hits with snippets and facets (archive/search/results.py) among what `viewer`
        may read (the restriction goes inside the engine's query); finished results are cached
        until the index changes, when the backend tells (the embedded one)."""
        query = self.scoped(query, viewer)
        return self.results.search(str(self.store.db_path), self.backend, query, self._search)

    def scoped(self, query: SearchQuery, viewer: Viewer) -> SearchQuery:
        """`query` restricted to the collections and documents `viewer` may read."""
        self.before_read()
        readable = access.readable_collections(self.store, viewer)
        hidden = access.hidden_documents(self.store, viewer)
        if readable is None and not hidden:
            return query
        return replace(query, collections=readable, exclude_docs=hidden)

    def _search(self, query: SearchQuery) -> SearchResults:
        return assemble(self.store, self.backend.search(query), query, self.backend.name)

    # -- documents and pages ----------------------------------------------------------------------

    def may_read(self, doc: dict[str, Any] | None, viewer: Viewer) -> bool:
        self.before_read()
        return access.may_read_document(self.store, viewer, doc)

    def document(
        self, doc_id: int, with_words: bool = False, viewer: Viewer = LOCAL
    ) -> dict[str, Any] | None:
        """A document with its stages, pages and the tree of what was found in it; None when it
        does not exist or `viewer` may not read it (the same answer)."""
        doc = self.document_record(doc_id, viewer)
        if doc is None:
            return None
        doc["stages"] = self.store.stages(doc_id)
        doc["pages"] = self.store.pages(doc_id, with_words=with_words)
        hidden = set(access.hidden_documents(self.store, viewer))
        doc["children"] = [
            self._child_tree(c, hidden) for c in self.store.children(doc_id) if c["id"] not in hidden
        ]
        if viewer.is_admin:
            doc["takedown"] = self.store.takedown_of(doc_id)
        return doc

    def document_record(self, doc_id: int, viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        """The document's own fields (no pages, stages or children), or None (also when `viewer`
        may not read it)."""
        doc = self.store.document(doc_id)
        if not self.may_read(doc, viewer):
            return None
        assert doc is not None
        self._mail_as_seen(doc, viewer)
        return doc

    def _mail_as_seen(self, doc: dict[str, Any], viewer: Viewer) -> None:
        """The e-mail headers of `doc` as `viewer` may see them: its thread numbered among the
        messages they may read (the stored thread id is the smallest message id of the whole
        thread, which may be one they may not read), and its references to other messages kept
        as access.mail_as_seen decides."""
        mail = doc["metadata"].get("mail")
        if viewer.is_admin or not isinstance(mail, dict):
            return
        seen = self._readable_thread(doc, viewer) if isinstance(mail.get("thread"), dict) else []
        ids = [m["id"] for m in seen]
        if doc["id"] in ids:
            mail["thread"] = {"id": min(ids), "position": ids.index(doc["id"]) + 1, "size": len(ids)}
        doc["metadata"]["mail"] = access.mail_as_seen(viewer, mail, seen)

    def _child_tree(self, doc: dict[str, Any], hidden: set[int]) -> dict[str, Any]:
        return {
            "id": doc["id"],
            "filename": doc["filename"],
            "kind": doc["kind"],
            "status": doc["status"],
            "error_stage": doc["error_stage"],
            "error_reason": doc["error_reason"],
            "children": [
                self._child_tree(c, hidden) for c in self.store.children(doc["id"]) if c["id"] not in hidden
            ],
        }

    def page(self, doc_id: int, number: int, viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        """One page with its OCR word boxes, or None."""
        if not viewer.is_admin and self.document_record(doc_id, viewer) is None:
            return None
        return self.store.page(doc_id, number)

    def page_highlights(
        self, doc_id: int, number: int, query: str = "", viewer: Viewer = LOCAL
    ) -> dict[str, Any] | None:
        """Boxes to draw over a page image (archive/highlights.py): the query's hits and the
        entities with word boxes; None when the page doesn't exist. A malformed query raises
        QueryError."""
        terms = parse(query).positive_terms() if query.strip() else []
        page = self.page(doc_id, number, viewer)
        return None if page is None else page_boxes(page, terms)

    def parent(self, doc: dict[str, Any], viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        """The document (archive, e-mail) that `doc` was found in, or None for a top-level one
        (and when `viewer` may not read it)."""
        return self.document_record(doc["parent_id"], viewer) if doc["parent_id"] else None

    def thread(self, doc: dict[str, Any], viewer: Viewer = LOCAL) -> list[dict[str, Any]]:
        """The e-mail thread of `doc` in thread order, the messages `viewer` may read; [] when it
        has no thread id. Each message's references are as `viewer` may see them."""
        if viewer.is_admin:
            return thread_messages(self.store, doc)
        # The thread id as stored: `doc` may be one numbered for the viewer (_mail_as_seen).
        stored = self.store.document(int(doc["id"]))
        return self._readable_thread(stored, viewer) if stored is not None else []

    def _readable_thread(self, doc: dict[str, Any], viewer: Viewer) -> list[dict[str, Any]]:
        seen = [m for m in thread_messages(self.store, doc) if self.may_read(m, viewer)]
        for m in seen:
            mail = m["metadata"].get("mail")
            if isinstance(mail, dict):
                m["metadata"]["mail"] = access.mail_as_seen(viewer, mail, seen)
        return seen

    def attachments(self, doc_ids: list[int], viewer: Viewer = LOCAL) -> dict[int, list[dict[str, Any]]]:
        """The attachments (direct children: id, filename, kind) of each document, by id: those
        `viewer` may read."""
        found = self.store.children_by_parent(doc_ids)
        if viewer.is_admin:
            return found
        return {
            parent: [c for c in children if self.document_record(int(c["id"]), viewer) is not None]
            for parent, children in found.items()
        }

    def original(self, doc: dict[str, Any], viewer: Viewer = LOCAL) -> Original | None:
        """The stored original of `doc` as a download, or None when the file is missing (or
        `viewer` may not read it)."""
        return original_file(self.store, doc) if self.may_read(doc, viewer) else None

    def page_image(self, doc: dict[str, Any], number: int, viewer: Viewer = LOCAL) -> bytes | None:
        """Page `number` of `doc` as PNG bytes (rendered once, then cached), or None when there is
        no such page (or `viewer` may not read it). Raises NoPageImages for a kind without page
        images (text, e-mail)."""
        return page_png(self.store, doc, number) if self.may_read(doc, viewer) else None

    def page_thumbnail(self, doc: dict[str, Any], number: int, viewer: Viewer = LOCAL) -> bytes | None:
        """A small PNG of page `number` for the viewer's page strip (cached); None and
        NoPageImages as `page_image`."""
        return page_thumbnail(self.store, doc, number) if self.may_read(doc, viewer) else None

    def failed_documents(self, limit: int = 200, viewer: Viewer = LOCAL) -> list[dict[str, Any]]:
        """Failed documents `viewer` may read, newest first: id, filename, title, collection,
        kind, error stage and reason, and the parent's filename for a member."""
        docs = self.store.failed_documents(limit if viewer.is_admin else limit * 5)
        return docs if viewer.is_admin else [d for d in docs if self.may_read(d, viewer)][:limit]

    def latest_documents(self, limit: int = 10, viewer: Viewer = LOCAL) -> list[dict[str, Any]]:
        """The newest top-level documents `viewer` may read (by document date, then by id)."""
        docs = self.store.latest_documents(limit if viewer.is_admin else limit * 10)
        return docs if viewer.is_admin else [d for d in docs if self.may_read(d, viewer)][:limit]

    # -- collections ----------------------------------------------------------------------------

    def collections(self, viewer: Viewer = LOCAL) -> list[dict[str, Any]]:
        """The collections `viewer` may read with their number of top-level documents (those the
        viewer may read), by name; `embargoed_until` for one scheduled to be published."""
        self.before_read()
        hidden = {} if viewer.is_admin else self.store.hidden_top_level_counts()
        out = []
        for c in self.store.collections():
            if not access.may_read_collection(viewer, c):
                continue
            c["documents"] -= hidden.get(c["name"], 0)
            c["published"] = access.is_published(c)
            c["embargoed_until"] = access.embargoed_until(c)
            # Why a scheduled publication is held back: for those who may change the collection.
            verdict = c.pop("publish_check", None)
            c["publish_held"] = None
            if verdict and access.may_write_collection(viewer, c):
                c["publish_held"] = held_publication(c | {"publish_check": verdict})
            out.append(c)
        return out

    def collection(self, name: str, viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        return next((c for c in self.collections(viewer) if c["name"] == name), None)

    def collection_documents(
        self, name: str, limit: int, offset: int, viewer: Viewer = LOCAL
    ) -> list[dict[str, Any]]:
        """The top-level documents of a collection that `viewer` may read, by id. An e-mail's
        record carries neither its thread nor its references here, unless `viewer` is an admin
        (`document` has them as the viewer may see them: a thread lookup per message would make
        a page of a large release slow)."""
        self.before_read()
        if not access.may_read_collection(viewer, self.store.collection(name)):
            return []
        docs = self.store.collection_documents(name, limit, offset, without_hidden=not viewer.is_admin)
        for doc in docs:
            mail = doc["metadata"].get("mail")
            if isinstance(mail, dict) and not viewer.is_admin:
                mail.pop("thread", None)
                doc["metadata"]["mail"] = access.mail_as_seen(viewer, mail, [])
        return docs

    def status(self, viewer: Viewer = LOCAL) -> dict[str, Any]:
        """The processing summary; a viewer who may not read everything gets only counts of what
        they may read (nothing of the rest: no failures, languages or stage counts)."""
        if not viewer.is_admin:
            collections = self.collections(viewer)
            return {
                "documents_readable": sum(int(c["documents"]) for c in collections),
                "collections": len(collections),
                "search_backend": self.backend.name,
            }
        summary = self.store.status_summary()
        summary["stages"] = list(STAGES)
        summary["search_backend"] = self.backend.name
        try:
            summary["indexed_pages"] = self.backend.count()
        except SearchError as exc:
            summary["indexed_pages"] = None
            summary["search_error"] = str(exc)
        summary["index_error"] = self.last_index_error() if summary.get("index_pending") else None
        return summary

    # -- redaction records (archive/redactions/records.py) ----------------------------------------

    def redactions(
        self, doc_id: int, viewer: Viewer = LOCAL, show_hidden: bool = False, page: int | None = None
    ) -> list[dict[str, Any]]:
        """A document's redaction boxes (of one page when `page` is given). The text left under
        bad ones (`hidden_text`) only when asked for and the viewer may write to the collection."""
        doc = self.document_record(doc_id, viewer)
        if doc is None:
            return []
        hidden = show_hidden and access.may_write_collection(viewer, self.store.collection(doc["collection"]))
        boxes = document_redactions(self.store, doc_id, hidden)
        return boxes if page is None else [b for b in boxes if b["page"] == page]

    def redaction_summary(self, collection: str, viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        """Pages, redactions, share withheld, bad redactions and boxes by exemption of a collection
        (None when `viewer` may not read it)."""
        if self.collection(collection, viewer) is None:
            return None
        return collection_summary(self.store, collection)

    def redaction_rows(self, collection: str, viewer: Viewer = LOCAL) -> Iterator[list[Any]]:
        """The per-box CSV rows of a collection, header first (text cells as stored); nothing but
        the header when `viewer` may not read it."""
        rows = csv_rows(self.store, collection)
        if self.collection(collection, viewer) is None:
            return iter([next(rows)])
        return rows
