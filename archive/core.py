"""`Archive`: the public API that the CLI and the web app use."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import access
from .access import LOCAL, Viewer
from .accounts import Accounts
from .alerts import Alerts
from .highlights import page_boxes
from .indexing import Indexer
from .inputs import InputFile, Skipped
from .originals import Original, original_file, page_png, page_thumbnail
from .pipeline import STAGES, Ingester, IngestReport, build_steps
from .redactions.check import check_collection
from .redactions.records import collection_summary, csv_rows, document_redactions
from .search import SearchBackend, SearchError, SearchQuery, get_backend
from .search.base import IndexRecord
from .search.base import SearchQuery as _Query
from .search.query import parse
from .search.results import ResultCache, SearchResults, assemble
from .steps import Step, StepContext
from .store import Store, default_archive_dir
from .threads import thread_messages
from .uploads import Uploads

log = logging.getLogger(__name__)

DEFAULT_OCR_LANGUAGES: tuple[str, ...] | None = None  # None: chosen per page by the OCR engine


class Archive:
    """One archive folder: its store, its search backend and its processing steps."""

    def __init__(self, root: Path | str | None = None, config: dict[str, Any] | None = None):
        self.config = dict(config or {})
        self.root = (Path(root) if root is not None else default_archive_dir()).resolve()
        self.store = Store(self.root)
        self.backend: SearchBackend = get_backend(self.store.db_path, self.config)
        self.indexer = Indexer(self.store, self.backend, self.config)
        # Saved searches and alerts (archive/alerts): matched after each indexing batch.
        self.alerts = Alerts(self.store, self.backend, self.config)
        self.indexer.after_index = self.alerts.match_documents
        # Shared when the caller passes one (the web app's pool of archives); FOI_SEARCH_CACHE=0: off.
        self.results: ResultCache = self.config.get("result_cache") or ResultCache.configured()
        self.ocr_languages: tuple[str, ...] | None = self.config.get("ocr_languages", DEFAULT_OCR_LANGUAGES)
        self._ocr: Any = None

    def close(self) -> None:
        if self._ocr is not None:
            self._ocr.close()
            self._ocr = None
        self.indexer.close()
        self.backend.close()
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- processing -------------------------------------------------------------------------

    def ocr_engine(self) -> Any:
        if self._ocr is None:
            from .cluster import cluster_address
            from ocr import TesseractEngine

            address = cluster_address(self.config)
            if address is not None:  # OCR (rendering included) on a Dask cluster: archive/cluster.py
                from .cluster import ClusterOcrEngine, connect

                self._ocr = ClusterOcrEngine(
                    connect(address),
                    cache_dir=self.root / "cache" / "ocr",
                    tmp_dir=self.root / "tmp" / "ocr",
                    pages_in_flight=int(
                        self.config.get("cluster_pages_in_flight")
                        or os.environ.get("FOI_CLUSTER_PAGES_IN_FLIGHT", "0")
                        or 0
                    ),
                    chinese_engine=self.ocr_chinese_engine,
                )
                return self._ocr
            workers = (
                self.config.get("ocr_workers") or int(os.environ.get("FOI_OCR_WORKERS", "0") or 0) or None
            )
            self._ocr = TesseractEngine(
                cache_dir=self.root / "cache" / "ocr",
                workers=workers,
                tmp_dir=self.root / "tmp" / "ocr",
                chinese_engine=self.ocr_chinese_engine,
            )
        return self._ocr

    @property
    def ocr_chinese_engine(self) -> str:
        """Which OCR engine reads Chinese pages: `tesseract`, `auto` (RapidOCR where Tesseract
        reads poorly) or `rapidocr`; the `ocr_chinese_engine` setting, else $FOI_OCR_CHINESE."""
        return str(self.config.get("ocr_chinese_engine") or os.environ.get("FOI_OCR_CHINESE") or "auto")

    @property
    def context(self) -> StepContext:
        """What the ingest steps get of this archive (archive/steps.py)."""
        return StepContext(
            store=self.store,
            root=self.root,
            config=self.config,
            indexer=self.indexer,
            ocr_languages=self.ocr_languages,
            start_ocr=self.ocr_engine,
        )

    def steps(self) -> list[Step]:
        """The pipeline, in order (`pipeline.build_steps`)."""
        return build_steps(self.context)

    def ingest(
        self,
        paths: Iterable[Path | str | InputFile | Skipped],
        collection: str = "default",
        progress: Callable[[Path], None] | None = None,
        passwords: tuple[str, ...] = (),
        follow_symlinks: bool = False,
    ) -> IngestReport:
        """Ingest files and folders (see `archive.inputs.select_files` for what is read; entries
        it already chose are taken as they are)."""
        ingester = Ingester(self.context, self.steps(), passwords=passwords)
        items = [p if isinstance(p, InputFile | Skipped) else Path(p) for p in paths]
        return ingester.ingest_paths(items, collection, progress, follow_symlinks=follow_symlinks)

    # -- indexing (archive/indexing.py) --------------------------------------------------------

    def store_analysis(self, doc_id: int) -> int:
        return self.indexer.store_analysis(doc_id)

    def index_records(self, doc_id: int) -> list[IndexRecord]:
        return self.indexer.records(doc_id)

    def index_document(self, doc_id: int) -> bool:
        return self.indexer.index_document(doc_id)

    def flush_index(self) -> None:
        self.indexer.flush()

    def catch_up_index(self, report: IngestReport | None = None) -> int:
        return self.indexer.catch_up(report)

    def last_index_error(self) -> str | None:
        return self.indexer.last_error()

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        return self.indexer.reindex(progress)

    # -- reading ----------------------------------------------------------------------------

    def search(self, query: SearchQuery, viewer: Viewer = LOCAL) -> SearchResults:
        """Ranked hits with snippets and facets (archive/search/results.py) among what `viewer`
        may read (the restriction goes inside the engine's query); finished results are cached
        until the index changes, when the backend tells (the embedded one)."""
        query = self.scoped(query, viewer)
        return self.results.search(str(self.store.db_path), self.backend, query, self._search)

    def scoped(self, query: _Query, viewer: Viewer) -> _Query:
        """`query` restricted to the collections and documents `viewer` may read."""
        readable = access.readable_collections(self.store, viewer)
        hidden = access.hidden_documents(self.store, viewer)
        if readable is None and not hidden:
            return query
        return replace(query, collections=readable, exclude_docs=hidden)

    def may_read(self, doc: dict[str, Any] | None, viewer: Viewer) -> bool:
        return access.may_read_document(self.store, viewer, doc)

    def _search(self, query: SearchQuery) -> SearchResults:
        return assemble(self.store, self.backend.search(query), query, self.backend.name)

    def document(
        self, doc_id: int, with_words: bool = False, viewer: Viewer = LOCAL
    ) -> dict[str, Any] | None:
        """A document with its stages, pages and the tree of what was found in it; None when it
        does not exist or `viewer` may not read it (the same answer)."""
        doc = self.store.document(doc_id)
        if not self.may_read(doc, viewer):
            return None
        assert doc is not None
        self._thread_as_seen(doc, viewer)
        doc["stages"] = self.store.stages(doc_id)
        doc["pages"] = self.store.pages(doc_id, with_words=with_words)
        hidden = set(access.hidden_documents(self.store, viewer))
        doc["children"] = [
            self._child_tree(c, hidden) for c in self.store.children(doc_id) if c["id"] not in hidden
        ]
        if viewer.is_admin:
            doc["takedown"] = self.store.takedown_of(doc_id)
        return doc

    def _thread_as_seen(self, doc: dict[str, Any], viewer: Viewer) -> None:
        """Number the thread of `doc` among the messages `viewer` may read (the stored thread id
        is the smallest message id of the whole thread, which may be one the viewer may not read)."""
        mail = doc["metadata"].get("mail")
        if viewer.is_admin or not isinstance(mail, dict) or not isinstance(mail.get("thread"), dict):
            return
        seen = self.thread(doc, viewer)
        ids = [m["id"] for m in seen]
        if doc["id"] in ids:
            mail["thread"] = {"id": min(ids), "position": ids.index(doc["id"]) + 1, "size": len(ids)}

    def _child_tree(self, doc: dict[str, Any], hidden: set[int] | None = None) -> dict[str, Any]:
        hidden = hidden or set()
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

    def page_highlights(
        self, doc_id: int, number: int, query: str = "", viewer: Viewer = LOCAL
    ) -> dict[str, Any] | None:
        """Boxes to draw over a page image (archive/highlights.py): the query's hits and the
        entities with word boxes; None when the page doesn't exist. A malformed query raises
        QueryError."""
        terms = parse(query).positive_terms() if query.strip() else []
        page = self.page(doc_id, number, viewer)
        return None if page is None else page_boxes(page, terms)

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

    # -- documents, pages and collections for readers (the web app) -------------------------

    @property
    def in_transaction(self) -> bool:
        """Whether a store transaction is open (such an archive is not lent to another request)."""
        return self.store.in_transaction

    def document_record(self, doc_id: int, viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        """The document's own fields (no pages, stages or children), or None (also when `viewer`
        may not read it)."""
        doc = self.store.document(doc_id)
        if not self.may_read(doc, viewer):
            return None
        assert doc is not None
        self._thread_as_seen(doc, viewer)
        return doc

    def page(self, doc_id: int, number: int, viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        """One page with its OCR word boxes, or None."""
        if not viewer.is_admin and self.document_record(doc_id, viewer) is None:
            return None
        return self.store.page(doc_id, number)

    def parent(self, doc: dict[str, Any], viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        """The document (archive, e-mail) that `doc` was found in, or None for a top-level one
        (and when `viewer` may not read it)."""
        return self.document_record(doc["parent_id"], viewer) if doc["parent_id"] else None

    def thread(self, doc: dict[str, Any], viewer: Viewer = LOCAL) -> list[dict[str, Any]]:
        """The e-mail thread of `doc` in thread order, the messages `viewer` may read; [] when it
        has no thread id."""
        messages = thread_messages(self.store, doc)
        return messages if viewer.is_admin else [m for m in messages if self.may_read(m, viewer)]

    def collections(self, viewer: Viewer = LOCAL) -> list[dict[str, Any]]:
        """The collections `viewer` may read with their number of top-level documents (those the
        viewer may read), by name; `embargoed_until` for one scheduled to be published."""
        hidden = {} if viewer.is_admin else self.store.hidden_top_level_counts()
        out = []
        for c in self.store.collections():
            if not access.may_read_collection(viewer, c):
                continue
            c["documents"] -= hidden.get(c["name"], 0)
            c["published"] = access.is_published(c)
            c["embargoed_until"] = access.embargoed_until(c)
            out.append(c)
        return out

    def collection(self, name: str, viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        return next((c for c in self.collections(viewer) if c["name"] == name), None)

    def collection_documents(
        self, name: str, limit: int, offset: int, viewer: Viewer = LOCAL
    ) -> list[dict[str, Any]]:
        """The top-level documents of a collection that `viewer` may read, by id."""
        if not access.may_read_collection(viewer, self.store.collection(name)):
            return []
        return self.store.collection_documents(name, limit, offset, without_hidden=not viewer.is_admin)

    def original(self, doc: dict[str, Any], viewer: Viewer = LOCAL) -> Original | None:
        """The stored original of `doc` as a download, or None when the file is missing (or
        `viewer` may not read it)."""
        return original_file(self.store, doc) if self.may_read(doc, viewer) else None

    # -- redactions (archive/redactions) ------------------------------------------------------

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

    def check_collection(self, collection: str, allow: Iterable[str] = ()) -> list[dict[str, Any]]:
        """The publication check (archive/redactions/check.py): a list of findings. Values on the
        archive's own allow-list (`allow-list.txt` in the archive folder, one per line) and in
        `allow` are never reported."""
        kept = self.root / "allow-list.txt"
        if kept.is_file():
            allow = [*allow, *kept.read_text(encoding="utf-8", errors="replace").splitlines()]
        return check_collection(self, collection, allow)

    def page_image(self, doc: dict[str, Any], number: int, viewer: Viewer = LOCAL) -> bytes | None:
        """Page `number` of `doc` as PNG bytes (rendered once, then cached), or None when there is
        no such page (or `viewer` may not read it). Raises NoPageImages for a kind without page
        images (text, e-mail)."""
        return page_png(self.store, doc, number) if self.may_read(doc, viewer) else None

    # -- accounts, publishing and takedowns (archive/accounts.py, archive/publishing.py) --------

    @property
    def accounts(self) -> Accounts:
        return Accounts(self.store)

    def viewer_for_token(self, token: str) -> Viewer | None:
        return self.accounts.token_viewer(token)

    def publish(self, name: str, at: str | None = None, force: bool = False) -> list[dict[str, Any]]:
        from .publishing import publish

        return publish(self, name, at, force)

    def unpublish(self, name: str) -> None:
        from .publishing import unpublish

        unpublish(self, name)

    def set_collection(self, name: str, **fields: Any) -> None:
        self.store.ensure_collection(name)
        self.store.set_collection(name, **fields)

    def hide_document(self, doc_id: int, reason: str, by: str | None = None) -> int:
        """Take a document (and what was found in it) down from every view but an admin's."""
        if self.store.document(doc_id) is None:
            raise KeyError(doc_id)
        if not reason.strip():
            raise ValueError("a takedown needs a reason")
        return self.store.hide_document(doc_id, reason.strip(), by)

    def unhide_document(self, doc_id: int) -> int:
        return self.store.unhide_document(doc_id)

    @property
    def uploads(self) -> Uploads:
        """The queue of files uploaded through the web (archive/uploads.py)."""
        return Uploads(self)

    def collection_zip(self, name: str, viewer: Viewer = LOCAL) -> Iterator[bytes]:
        """The release as a zip of the originals `viewer` may read, in pieces."""
        from .publishing import release_zip

        return release_zip(self, name, viewer)

    def secret_key(self) -> str:
        """The key that signs this archive's web sessions, made once (secret_key, mode 0600)."""
        path = self.root / "secret_key"
        if not path.exists():
            import secrets

            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip()

    # -- the reading room (issue #20) ---------------------------------------------------------

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

    def retry(self, doc_id: int, viewer: Viewer = LOCAL) -> IngestReport | None:
        """Read a failed document again from its stored original (its children too); None when
        the document is not failed (or `viewer` may not write to its collection)."""
        doc = self.store.document(doc_id)
        if doc is None or not access.may_write_collection(viewer, self.store.collection(doc["collection"])):
            return None
        if not self.store.mark_for_retry(doc_id):
            return None
        return Ingester(self.context, self.steps()).recover()

    def translation_model(self) -> str | None:
        """The id of the installed zh->en translation model, or None when there is none."""
        from .translate import ArgosTranslator

        translator = ArgosTranslator(self.root)
        return translator.model_id if translator.available() else None
