"""`Archive`: the public API that the CLI and the web app use."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from . import publishing, retries
from .access import LOCAL, Viewer
from .accounts import Accounts
from .alerts import Alerts
from .indexing import Indexer
from .inputs import InputFile, Skipped
from .originals import Original
from .pipeline import Ingester, IngestReport, build_steps
from .reading import ReadingRoom
from .search import SearchBackend, SearchQuery, get_backend
from .search.base import IndexRecord
from .search.results import ResultCache, SearchResults
from .steps import Step, StepContext
from .store import Store, default_archive_dir
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
        # What readers see, each query filtered for its viewer (archive/reading.py).
        self.reading = ReadingRoom(self.store, self.backend, self.results, self.last_index_error)
        # Scheduled publications go live when their time has come, checked again then.
        self.schedules = publishing.Schedules(self)
        self.reading.before_read = self.schedules.settle
        self.ocr_languages: tuple[str, ...] | None = self.config.get("ocr_languages", DEFAULT_OCR_LANGUAGES)
        self._ocr: Any = None

    def close(self) -> None:
        self.drop_ocr_engine()
        self.indexer.close()
        self.backend.close()
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- processing -------------------------------------------------------------------------

    def drop_ocr_engine(self) -> None:
        """Close the OCR engine (its pool, or its cluster client); the next ingest makes a new
        one, which is how a long-lived server gets a cluster back after losing it."""
        engine, self._ocr = self._ocr, None
        if engine is not None:
            try:
                engine.close()
            except Exception:  # a client of a lost scheduler may fail to close: it is dropped anyway
                log.warning("OCR engine not closed cleanly", exc_info=True)

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

    # -- reading (archive/reading.py: every query filtered for the viewer through archive/access.py)

    def search(self, query: SearchQuery, viewer: Viewer = LOCAL) -> SearchResults:
        """Ranked hits with snippets and facets among what `viewer` may read."""
        return self.reading.search(query, viewer)

    def scoped(self, query: SearchQuery, viewer: Viewer) -> SearchQuery:
        """`query` restricted to the collections and documents `viewer` may read."""
        return self.reading.scoped(query, viewer)

    def may_read(self, doc: dict[str, Any] | None, viewer: Viewer) -> bool:
        return self.reading.may_read(doc, viewer)

    def document(
        self, doc_id: int, with_words: bool = False, viewer: Viewer = LOCAL
    ) -> dict[str, Any] | None:
        """A document with its stages, pages and children; None when missing or unreadable."""
        return self.reading.document(doc_id, with_words, viewer)

    def page_highlights(
        self, doc_id: int, number: int, query: str = "", viewer: Viewer = LOCAL
    ) -> dict[str, Any] | None:
        return self.reading.page_highlights(doc_id, number, query, viewer)

    def status(self, viewer: Viewer = LOCAL) -> dict[str, Any]:
        return self.reading.status(viewer)

    @property
    def in_transaction(self) -> bool:
        """Whether a store transaction is open (such an archive is not lent to another request)."""
        return self.store.in_transaction

    def document_record(self, doc_id: int, viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        return self.reading.document_record(doc_id, viewer)

    def page(self, doc_id: int, number: int, viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        return self.reading.page(doc_id, number, viewer)

    def parent(self, doc: dict[str, Any], viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        return self.reading.parent(doc, viewer)

    def thread(self, doc: dict[str, Any], viewer: Viewer = LOCAL) -> list[dict[str, Any]]:
        return self.reading.thread(doc, viewer)

    def collections(self, viewer: Viewer = LOCAL) -> list[dict[str, Any]]:
        return self.reading.collections(viewer)

    def collection(self, name: str, viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        return self.reading.collection(name, viewer)

    def collection_documents(
        self, name: str, limit: int, offset: int, viewer: Viewer = LOCAL
    ) -> list[dict[str, Any]]:
        return self.reading.collection_documents(name, limit, offset, viewer)

    def original(self, doc: dict[str, Any], viewer: Viewer = LOCAL) -> Original | None:
        return self.reading.original(doc, viewer)

    def page_image(self, doc: dict[str, Any], number: int, viewer: Viewer = LOCAL) -> bytes | None:
        return self.reading.page_image(doc, number, viewer)

    def page_thumbnail(self, doc: dict[str, Any], number: int, viewer: Viewer = LOCAL) -> bytes | None:
        return self.reading.page_thumbnail(doc, number, viewer)

    def failed_documents(self, limit: int = 200, viewer: Viewer = LOCAL) -> list[dict[str, Any]]:
        return self.reading.failed_documents(limit, viewer)

    def latest_documents(self, limit: int = 10, viewer: Viewer = LOCAL) -> list[dict[str, Any]]:
        return self.reading.latest_documents(limit, viewer)

    def attachments(self, doc_ids: list[int], viewer: Viewer = LOCAL) -> dict[int, list[dict[str, Any]]]:
        return self.reading.attachments(doc_ids, viewer)

    # -- redactions (records: archive/reading.py; the check: archive/publishing.py) -----------

    def redactions(
        self, doc_id: int, viewer: Viewer = LOCAL, show_hidden: bool = False, page: int | None = None
    ) -> list[dict[str, Any]]:
        return self.reading.redactions(doc_id, viewer, show_hidden, page)

    def redaction_summary(self, collection: str, viewer: Viewer = LOCAL) -> dict[str, Any] | None:
        return self.reading.redaction_summary(collection, viewer)

    def redaction_rows(self, collection: str, viewer: Viewer = LOCAL) -> Iterator[list[Any]]:
        return self.reading.redaction_rows(collection, viewer)

    def check_collection(self, collection: str, allow: Iterable[str] = ()) -> list[dict[str, Any]]:
        """The publication check: a list of findings (archive/publishing.py)."""
        return publishing.check_collection(self, collection, allow)

    # -- accounts, publishing and takedowns (archive/accounts.py, archive/publishing.py) --------

    @property
    def accounts(self) -> Accounts:
        return Accounts(self.store)

    def viewer_for_token(self, token: str) -> Viewer | None:
        return self.accounts.token_viewer(token)

    def publish(self, name: str, at: str | None = None, force: bool = False) -> list[dict[str, Any]]:
        return publishing.publish(self, name, at, force)

    def unpublish(self, name: str) -> None:
        publishing.unpublish(self, name)

    def set_collection(self, name: str, **fields: Any) -> None:
        self.store.ensure_collection(name)
        self.store.set_collection(name, **fields)

    def hide_document(self, doc_id: int, reason: str, by: str | None = None) -> int:
        """Take a document (and what was found in it) down from every view but an admin's."""
        return publishing.take_down(self, doc_id, reason, by)

    def unhide_document(self, doc_id: int) -> int:
        return self.store.unhide_document(doc_id)

    @property
    def uploads(self) -> Uploads:
        """The queue of files uploaded through the web (archive/uploads.py)."""
        return Uploads(self)

    def collection_zip(self, name: str, viewer: Viewer = LOCAL) -> Iterator[bytes]:
        """The release as a zip of the originals `viewer` may read, in pieces."""
        return publishing.release_zip(self, name, viewer)

    def secret_key(self) -> str:
        """The key that signs this archive's web sessions, made once (secret_key, mode 0600)."""
        path = self.root / "secret_key"
        if not path.exists():
            import secrets

            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip()

    def retry(self, doc_id: int, viewer: Viewer = LOCAL) -> IngestReport | None:
        """Read a failed document again now, from its stored original (its children too); None
        when the document is not failed (or `viewer` may not write to its collection)."""
        if not retries.queue(self, doc_id, viewer):
            return None
        return retries.run_queued(self)

    def queue_retry(self, doc_id: int, viewer: Viewer = LOCAL) -> bool:
        """Queue a failed document to be read again in the background (archive/retries.py);
        False when it is not failed (or `viewer` may not write to its collection)."""
        return retries.queue(self, doc_id, viewer)

    def run_queued_retries(self) -> IngestReport | None:
        """Read the documents queued by `queue_retry` again; None when none was queued."""
        return retries.run_queued(self)

    def translation_model(self) -> str | None:
        """The id of the installed zh->en translation model, or None when there is none."""
        from .translate import ArgosTranslator

        translator = ArgosTranslator(self.root)
        return translator.model_id if translator.available() else None
