"""`Archive`: the public API that the CLI and the web app use."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .highlights import page_boxes
from .indexing import Indexer
from .inputs import InputFile, Skipped
from .originals import Original, original_file, page_png
from .pipeline import STAGES, Ingester, IngestReport, build_steps
from .search import SearchBackend, SearchError, SearchQuery, get_backend
from .search.base import IndexRecord
from .search.query import parse
from .search.results import ResultCache, SearchResults, assemble
from .steps import Step, StepContext
from .store import Store, default_archive_dir
from .threads import thread_messages

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
                    connect(address), cache_dir=self.root / "cache" / "ocr", tmp_dir=self.root / "tmp" / "ocr"
                )
                return self._ocr
            workers = (
                self.config.get("ocr_workers") or int(os.environ.get("FOI_OCR_WORKERS", "0") or 0) or None
            )
            self._ocr = TesseractEngine(
                cache_dir=self.root / "cache" / "ocr", workers=workers, tmp_dir=self.root / "tmp" / "ocr"
            )
        return self._ocr

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

    def search(self, query: SearchQuery) -> SearchResults:
        """Ranked hits with snippets and facets (archive/search/results.py); finished results are
        cached until the index changes, when the backend tells (the embedded one)."""
        return self.results.search(str(self.store.db_path), self.backend, query, self._search)

    def _search(self, query: SearchQuery) -> SearchResults:
        return assemble(self.store, self.backend.search(query), query, self.backend.name)

    def document(self, doc_id: int, with_words: bool = False) -> dict[str, Any] | None:
        doc = self.store.document(doc_id)
        if doc is None:
            return None
        doc["stages"] = self.store.stages(doc_id)
        doc["pages"] = self.store.pages(doc_id, with_words=with_words)
        doc["children"] = [self._child_tree(c) for c in self.store.children(doc_id)]
        return doc

    def _child_tree(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": doc["id"],
            "filename": doc["filename"],
            "kind": doc["kind"],
            "status": doc["status"],
            "error_stage": doc["error_stage"],
            "error_reason": doc["error_reason"],
            "children": [self._child_tree(c) for c in self.store.children(doc["id"])],
        }

    def page_highlights(self, doc_id: int, number: int, query: str = "") -> dict[str, Any] | None:
        """Boxes to draw over a page image (archive/highlights.py): the query's hits and the
        entities with word boxes; None when the page doesn't exist. A malformed query raises
        QueryError."""
        terms = parse(query).positive_terms() if query.strip() else []
        page = self.store.page(doc_id, number)
        return None if page is None else page_boxes(page, terms)

    def status(self) -> dict[str, Any]:
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

    def document_record(self, doc_id: int) -> dict[str, Any] | None:
        """The document's own fields (no pages, stages or children), or None."""
        return self.store.document(doc_id)

    def page(self, doc_id: int, number: int) -> dict[str, Any] | None:
        """One page with its OCR word boxes, or None."""
        return self.store.page(doc_id, number)

    def parent(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """The document (archive, e-mail) that `doc` was found in, or None for a top-level one."""
        return self.store.document(doc["parent_id"]) if doc["parent_id"] else None

    def thread(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        """The e-mail thread of `doc` in thread order; [] when it has no thread id."""
        return thread_messages(self.store, doc)

    def collections(self) -> list[dict[str, Any]]:
        """Every collection with its number of top-level documents, by name."""
        return self.store.collections()

    def collection(self, name: str) -> dict[str, Any] | None:
        return self.store.collection(name)

    def collection_documents(self, name: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """The top-level documents of a collection, by id."""
        return self.store.collection_documents(name, limit, offset)

    def original(self, doc: dict[str, Any]) -> Original | None:
        """The stored original of `doc` as a download, or None when the file is missing."""
        return original_file(self.store, doc)

    def page_image(self, doc: dict[str, Any], number: int) -> bytes | None:
        """Page `number` of `doc` as PNG bytes (rendered once, then cached), or None when there is
        no such page. Raises NoPageImages for a kind without page images (text, e-mail)."""
        return page_png(self.store, doc, number)
