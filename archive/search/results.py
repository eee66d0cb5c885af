"""Search results as the UI, the API and the CLI show them: the backend's ranked pages with their
documents' titles, snippets (marked in the page's own text), the fields that matched, facets and
the cursor; and the cache of finished results, kept per archive until its index changes."""

from __future__ import annotations

import copy
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..store import Store
from .base import BackendResults, SearchBackend, SearchQuery
from .query import Phrase, Term, parse
from .snippets import gloss_spans, make_snippet, matched_fields, snippet_at


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


def assemble(store: Store, raw: BackendResults, query: SearchQuery, backend_name: str) -> SearchResults:
    """The results of `query` from the backend's hits: what the store holds of each hit's page and
    document, with snippets and matched fields (deleted since indexing: left out)."""
    terms: list[Term | Phrase] = [] if query.raw else parse(query.text).positive_terms()
    hits: list[Hit] = []
    # Two reads for the whole page of hits (not two per hit), without the metadata JSON.
    docs = store.hit_documents({bh.doc_id for bh in raw.hits})
    rows = store.hit_pages({bh.page_id for bh in raw.hits})
    for bh in raw.hits:
        doc, row = docs.get(bh.doc_id), rows.get(bh.page_id)
        if doc is None or row is None:
            continue  # deleted since indexing
        fields = {
            "original": row["text"] or "",
            "translation": row["translation"] or "",
            "gloss": row["gloss"] or "",
        }
        snippet = str(make_snippet(fields["original"], terms))
        # The snippet already found the hits in the original; only the other fields need a look.
        matched = (["original"] if "<mark>" in snippet else []) + (
            matched_fields({k: v for k, v in fields.items() if k != "original"}, terms) if terms else []
        )
        if "gloss" in matched and "original" not in matched:
            # Found through the English gloss: mark the Chinese words whose gloss matched.
            snippet = _gloss_snippet(store, bh.page_id, fields["original"], terms) or snippet
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
        backend=backend_name,
    )


def _gloss_snippet(store: Store, page_id: int, text: str, terms: list[Term | Phrase]) -> str | None:
    """The original's snippet with the words marked whose per-word gloss matches the query."""
    try:
        words = json.loads(store.page_meta(page_id) or "{}").get("gloss_words") or []
    except (ValueError, AttributeError):
        return None
    spans = gloss_spans(text, words, terms)
    return str(snippet_at(text, spans)) if spans else None


class ResultCache:
    """Finished results (snippets included) by (database, index generation, query), for a backend
    that reports its index generation (the embedded one): any write to the index moves the
    generation, so a cached result is never stale. At most `size` results; off with size 0. One
    cache may serve several `Archive` objects (the web app's pool shares one)."""

    def __init__(self, size: int = 256):
        self.size = size
        self._results: OrderedDict[tuple[str, int, str], SearchResults] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def configured(cls) -> ResultCache:
        """The cache as the environment sets it: `FOI_SEARCH_CACHE=0` turns it off."""
        return cls(0 if os.environ.get("FOI_SEARCH_CACHE", "1") == "0" else 256)

    def search(
        self,
        database: str,
        backend: SearchBackend,
        query: SearchQuery,
        run: Callable[[SearchQuery], SearchResults],
    ) -> SearchResults:
        """`run(query)`'s results, from the cache when the index has not changed since."""
        if self.size <= 0:
            return run(query)
        generation = backend.generation()
        if generation is None:
            return run(query)
        key = (database, generation, repr(query))
        with self._lock:
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
                return copy.deepcopy(cached)
        results = run(query)
        with self._lock:
            self._results[key] = copy.deepcopy(results)
            while len(self._results) > self.size:
                self._results.popitem(last=False)
        return results

    def clear(self) -> None:
        with self._lock:
            self._results.clear()
