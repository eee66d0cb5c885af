"""`Archive`: the public API that the CLI and the web app use."""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analysis import index_text
from .models import STAGES
from .pipeline import ExtractStep, Ingester, IngestReport, LanguageStep, OcrStep, Step
from .search import SearchBackend, SearchError, SearchQuery, get_backend
from .search.base import IndexRecord
from .search.query import Phrase, Term, parse
from .search.snippets import make_snippet, matched_fields
from .store import Store, default_archive_dir

log = logging.getLogger(__name__)

DEFAULT_OCR_LANGUAGES: tuple[str, ...] | None = None  # None: chosen per page by the OCR engine

# Finished search results (snippets included) by (database, index generation, query).
_RESULTS: OrderedDict[tuple[str, int, str], SearchResults] = OrderedDict()
_RESULTS_LOCK = threading.Lock()
_RESULTS_CACHE_ON = os.environ.get("FOI_SEARCH_CACHE", "1") != "0"


@dataclass
class Hit:
    doc_id: int
    page: int
    title: str
    collection: str
    kind: str
    lang: str
    score: float
    snippet: str
    translation_snippet: str | None
    matched: list[str]
    date: str | None = None
    filename: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.doc_id,
            "title": self.title,
            "filename": self.filename,
            "collection": self.collection,
            "kind": self.kind,
            "language": self.lang,
            "page": self.page,
            "snippet": self.snippet,
            "translation_snippet": self.translation_snippet,
            "matched_fields": self.matched,
            "score": round(self.score, 4),
            "date": self.date,
        }


@dataclass
class SearchResults:
    query: str
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    next_cursor: list[Any] | None = None
    backend: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "backend": self.backend,
            "hits": [h.as_dict() for h in self.hits],
            "facets": {k: [{"value": v, "count": n} for v, n in vs] for k, vs in self.facets.items()},
            "next_cursor": self.next_cursor,
        }


class Archive:
    """One archive folder: its store, its search backend and its processing steps."""

    def __init__(self, root: Path | str | None = None, config: dict[str, Any] | None = None):
        self.config = dict(config or {})
        self.root = Path(root) if root is not None else default_archive_dir()
        self.store = Store(self.root)
        self.backend: SearchBackend = get_backend(self.store.db_path, self.config)
        self.ocr_languages: tuple[str, ...] | None = self.config.get("ocr_languages", DEFAULT_OCR_LANGUAGES)
        self._ocr: Any = None

    def close(self) -> None:
        if self._ocr is not None:
            self._ocr.close()
            self._ocr = None
        self.backend.close()
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- processing -------------------------------------------------------------------------

    def ocr_engine(self) -> Any:
        if self._ocr is None:
            from ocr import TesseractEngine

            workers = self.config.get("ocr_workers") or int(os.environ.get("FOI_OCR_WORKERS", "0") or 0) or None
            self._ocr = TesseractEngine(cache_dir=self.root / "cache" / "ocr", workers=workers)
        return self._ocr

    def steps(self) -> list[Step]:
        """The pipeline, in order. Optional steps (translation, entities) join when available."""
        steps: list[Step] = [ExtractStep(), OcrStep(self), LanguageStep()]
        _load_optional_steps()
        for factory in _optional_steps:
            steps.append(factory(self))
        return steps

    def ingest(
        self,
        paths: Iterable[Path | str],
        collection: str = "default",
        progress: Callable[[Path], None] | None = None,
        passwords: tuple[str, ...] = (),
    ) -> IngestReport:
        ingester = Ingester(self, passwords=passwords)
        return ingester.ingest_paths([Path(p) for p in paths], collection, progress)

    # -- indexing ---------------------------------------------------------------------------

    def index_records(self, doc_id: int) -> list[IndexRecord]:
        doc = self.store.document(doc_id)
        if doc is None:
            return []
        meta = doc["metadata"]
        doc_keywords = _document_keywords(meta)
        records = []
        for page in self.store.pages(doc_id):
            keywords = {k: list(v) for k, v in doc_keywords.items()}
            for name, values in _page_keywords(page["meta"]).items():
                keywords.setdefault(name, []).extend(values)
            records.append(
                IndexRecord(
                    page_id=page["id"],
                    doc_id=doc_id,
                    number=page["number"],
                    collection=doc["collection"],
                    kind=doc["kind"] or "unknown",
                    lang=page["lang"] or "und",
                    title=doc["title"] or doc["filename"],
                    body=index_text(page["text"] or ""),
                    translation=index_text(page["translation"] or ""),
                    gloss=index_text(page["gloss"] or ""),
                    date=doc["date"],
                    keywords=keywords,
                )
            )
        return records

    def index_document(self, doc_id: int) -> bool:
        """Index one document; on a backend failure it stays index-pending and nothing is lost."""
        try:
            self.backend.index(self.index_records(doc_id))
        except SearchError as exc:
            self.store.set_stage(doc_id, "index", "pending", str(exc))
            return False
        self.store.update_document(doc_id, index_pending=0)
        self.store.set_stage(doc_id, "index", "ok")
        return True

    def catch_up_index(self, report: IngestReport | None = None) -> int:
        """Index documents left pending by a backend outage or a kill; returns how many remain."""
        pending = [d["id"] for d in self.store.documents("index_pending=1 AND status IN ('done','failed')")]
        remaining = 0
        for doc_id in pending:
            if not self.index_document(doc_id):
                remaining += 1
        if report is not None:
            report.index_pending = remaining
        return remaining

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the search index from the store."""
        rebuild = getattr(self.backend, "rebuild", None)
        ids = [d["id"] for d in self.store.documents("status IN ('done','failed') AND page_count > 0")]
        if rebuild is not None:
            rebuild((self.index_records(i) for i in ids), len(ids))
            for doc_id in ids:
                self.store.update_document(doc_id, index_pending=0)
                self.store.set_stage(doc_id, "index", "ok")
            return len(ids)
        self.backend.clear()
        for doc_id in ids:
            self.index_document(doc_id)
            if progress:
                progress(doc_id)
        return len(ids)

    # -- reading ----------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResults:
        """Ranked hits with snippets. With a backend that reports an index generation (the embedded
        one), finished results are cached until the index changes."""
        generation = getattr(self.backend, "generation", None)
        if generation is None or not _RESULTS_CACHE_ON:
            return self._search(query)
        key = (str(self.store.db_path), generation(), repr(query))
        with _RESULTS_LOCK:
            cached = _RESULTS.get(key)
            if cached is not None:
                _RESULTS.move_to_end(key)
                return copy.deepcopy(cached)
        results = self._search(query)
        with _RESULTS_LOCK:
            _RESULTS[key] = copy.deepcopy(results)
            while len(_RESULTS) > 256:
                _RESULTS.popitem(last=False)
        return results

    def _search(self, query: SearchQuery) -> SearchResults:
        raw = self.backend.search(query)
        terms: list[Term | Phrase] = [] if query.raw else parse(query.text).positive_terms()
        hits: list[Hit] = []
        docs: dict[int, dict[str, Any] | None] = {}
        for bh in raw.hits:
            if bh.doc_id not in docs:
                docs[bh.doc_id] = self.store.document(bh.doc_id)
            doc = docs[bh.doc_id]
            row = self.store.db.execute(
                "SELECT text, translation, gloss, lang FROM pages WHERE id=?", (bh.page_id,)
            ).fetchone()
            if doc is None or row is None:
                continue  # deleted since indexing
            fields = {"original": row["text"] or "", "translation": row["translation"] or "", "gloss": row["gloss"] or ""}
            snippet = str(make_snippet(fields["original"], terms))
            # The snippet already found the hits in the original; only the other fields need a look.
            matched = (["original"] if "<mark>" in snippet else []) + (
                matched_fields({k: v for k, v in fields.items() if k != "original"}, terms) if terms else []
            )
            hits.append(
                Hit(
                    doc_id=bh.doc_id,
                    page=bh.number,
                    title=doc["title"] or doc["filename"],
                    filename=doc["filename"],
                    collection=doc["collection"],
                    kind=doc["kind"] or "unknown",
                    lang=row["lang"] or "und",
                    score=bh.score,
                    snippet=snippet,
                    translation_snippet=str(make_snippet(fields["translation"], terms))
                    if fields["translation"]
                    else None,
                    matched=matched,
                    date=doc["date"],
                )
            )
        return SearchResults(
            query=query.text,
            total=raw.total,
            hits=hits,
            facets=raw.facets,
            next_cursor=raw.next_cursor,
            backend=self.backend.name,
        )

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
        """Boxes to draw over a page image, in percent of the image: OCR words that match the
        query's terms, and entities that carry word boxes. None when the page doesn't exist."""
        page = self.store.page(doc_id, number)
        if page is None:
            return None
        width, height = page.get("width") or 0, page.get("height") or 0
        out: dict[str, Any] = {"width": width, "height": height, "hits": [], "entities": []}
        if not width or not height:
            return out

        def pct(left: float, top: float, w: float, h: float) -> dict[str, float]:
            return {
                "left": round(100 * left / width, 3),
                "top": round(100 * top / height, 3),
                "width": round(100 * w / width, 3),
                "height": round(100 * h / height, 3),
            }

        terms = parse(query).positive_terms() if query.strip() else []
        if terms:
            from .search.snippets import matching_tokens

            for text, left, top, w, h, _conf in page.get("words") or []:
                if matching_tokens(str(text), terms):
                    out["hits"].append({**pct(left, top, w, h), "text": text})
        for ent in page["meta"].get("entities") or []:
            for box in ent.get("boxes") or []:
                out["entities"].append({**pct(*box[:4]), "type": ent.get("type"), "text": ent.get("text")})
        return out

    def status(self) -> dict[str, Any]:
        summary = self.store.status_summary()
        summary["stages"] = list(STAGES)
        summary["search_backend"] = self.backend.name
        try:
            summary["indexed_pages"] = self.backend.count()
        except SearchError as exc:
            summary["indexed_pages"] = None
            summary["search_error"] = str(exc)
        return summary


def _document_keywords(meta: dict[str, Any]) -> dict[str, list[str]]:
    """Filterable values of a document: mail senders and recipients."""
    out: dict[str, list[str]] = {}
    mail = meta.get("mail") or {}
    if mail:
        sender = mail.get("from") or {}
        out["sender"] = [v for v in (sender.get("address"), sender.get("name")) if v]
        recips = []
        for key in ("to", "cc", "bcc"):
            for r in mail.get(key) or []:
                recips += [v for v in (r.get("address"), r.get("name")) if v]
        out["recipient"] = recips
    return out


def _page_keywords(meta: dict[str, Any]) -> dict[str, list[str]]:
    """Entities and exemption codes found on a page (filled by the entity step)."""
    out: dict[str, list[str]] = {}
    for ent in meta.get("entities") or []:
        name = "exemption" if ent.get("type") == "exemption" else "entity"
        value = ent.get("norm") or ent.get("text")
        if value:
            out.setdefault(name, []).append(str(value))
        # Aliases are searchable (`entity:"CETC"`) without splitting the entity's facet count.
        for alias in ent.get("aliases") or []:
            out.setdefault(f"{name}_alias", []).append(str(alias))
    return out


# Factories of optional steps (translation, entities), registered by their modules.
_optional_steps: list[Callable[[Archive], Step]] = []


def register_step(factory: Callable[[Archive], Step]) -> None:
    if factory not in _optional_steps:
        _optional_steps.append(factory)


# Modules that register steps, in pipeline order: dictionary glosses, translation, then entities.
OPTIONAL_STEP_MODULES = ("archive.gloss", "archive.translate", "archive.entities", "archive.printed_mail")


def _load_optional_steps() -> None:
    import importlib

    for name in OPTIONAL_STEP_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
