"""Saved searches over the documents just indexed (called by the indexer after each batch), and
backfills on request (`foi alerts run NAME --since DATE`)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

from ..analysis import normalize
from ..search import SearchBackend
from ..search.base import IndexRecord, SearchQuery, match_key
from ..search.query import Phrase, Term, parse
from ..search.snippets import highlight_spans, make_snippet
from .db import AlertDB
from .model import SavedSearch

log = logging.getLogger(__name__)

MAX_TERMS = 12


def match_documents(
    db: AlertDB,
    backend: SearchBackend,
    doc_ids: Collection[int],
    pages: Collection[IndexRecord] | None = None,
) -> int:
    """Run every active saved search over `doc_ids` and record the new hits; returns how many.
    Only documents indexed since a search was saved count (it starts from then, not from the back
    catalogue); a hit already recorded for a (search, document) is never recorded again.
    `pages`: the documents' records as just indexed, when the indexer still has them (see
    `SearchBackend.match_documents`)."""
    if not doc_ids:
        return 0
    searches = db.matchable()
    if not searches:
        return 0
    return record_matches(db, backend, searches, doc_ids, respect_since=True, pages=pages)


def backfill(
    db: AlertDB, backend: SearchBackend, search: SavedSearch, since: str | None, chunk: int = 500
) -> int:
    """Match one saved search against the documents added since `since` (all when None)."""
    found, after = 0, 0
    while True:
        ids = db.documents_created_since(since, after, chunk)
        if not ids:
            return found
        found += record_matches(db, backend, [search], ids, respect_since=False)
        after = ids[-1]


def record_matches(
    db: AlertDB,
    backend: SearchBackend,
    searches: Sequence[SavedSearch],
    doc_ids: Collection[int],
    respect_since: bool,
    pages: Collection[IndexRecord] | None = None,
) -> int:
    # Saved searches that are the same query (many people keep "Jari") run once.
    unique: dict[tuple[Any, ...], SearchQuery] = {}
    keys = []
    for s in searches:
        q = s.search_query()
        keys.append(key := match_key(q))
        unique.setdefault(key, q)
    position = {key: n for n, key in enumerate(unique)}
    ran = backend.match_documents(list(unique.values()), doc_ids, pages)
    outcomes = [ran[position[key]] for key in keys]
    firsts: dict[tuple[int, int], int] = {}  # (search, document) -> first matching page
    recovered: list[int] = []  # failing before, ran now
    for search, outcome in zip(searches, outcomes, strict=True):
        if isinstance(outcome, str):
            # Marked failing with the reason, never deleted: the owner sees why and can fix it.
            db.set_failing(search.id, outcome)
            continue
        if search.failing:
            recovered.append(search.id)
        for hit in outcome:
            firsts.setdefault((search.id, hit.doc_id), hit.number)
    if recovered:
        db.clear_failing(recovered)
    if not firsts:
        return 0
    # Per document what a hit row needs, read once (not through sqlite3.Row per hit).
    docs = {
        doc_id: (str(r["updated"]), r["title"] or r["filename"], r["collection"])
        for doc_id, r in db.documents_updated({d for _, d in firsts}).items()
    }
    since = {s.id: s.since for s in searches}
    rows = [
        (search_id, doc_id, number, doc[1], doc[2])
        for (search_id, doc_id), number in firsts.items()
        if (doc := docs.get(doc_id)) is not None and not (respect_since and doc[0] < since[search_id])
    ]
    if not rows:
        return 0
    # A hit recorded before (a re-index, a backfill) is left as it is: `add_hits` ignores it.
    with db.transaction():
        return db.add_hits(rows)


def describe_hits(db: AlertDB, search_id: int | None = None, chunk: int = 2000) -> int:
    """Make the words and snippets of hits recorded since the last call (of one search, or all):
    after indexing, not during it, before anything shows or sends them. Returns how many."""
    done = 0
    searches: dict[int, Described | None] = {}
    while rows := db.undescribed(search_id, chunk):
        texts = db.page_texts({(int(r["document_id"]), int(r["page"])) for r in rows})
        out: list[tuple[int, list[str], str]] = []
        for r in rows:
            sid = int(r["search_id"])
            if sid not in searches:
                search = db.search(sid)
                searches[sid] = Described(search) if search is not None else None
            described = searches[sid]
            page = texts.get((int(r["document_id"]), int(r["page"])), ("", ""))
            terms, snippet = described.match(page) if described is not None else ([], "")
            out.append((int(r["id"]), terms, snippet))
        with db.transaction():
            db.describe(out)
        done += len(rows)
    return done


class Described:
    """What a saved search's hit on a page says: the words that matched on the page and a snippet
    of it (escaped HTML, matches in <mark>), from the original text or, when the match is there,
    the translation. The query is parsed once per batch, not once per hit."""

    def __init__(self, search: SavedSearch):
        parsed = parse(search.query)
        self.terms: list[Term | Phrase] = parsed.positive_terms()
        # Matched by its filters alone (`entity:"Jari"`): those are what matched.
        filters = {**parsed.filters, **search.filters}
        self.said = [f"{k}:{v}" for k, vs in filters.items() for v in vs][:MAX_TERMS]

    def match(self, texts: tuple[str, str]) -> tuple[list[str], str]:
        for text in texts:
            spans = highlight_spans(text, self.terms) if self.terms and text else []
            if spans:
                norm = normalize(text)
                words = list(dict.fromkeys(norm[a:b].casefold() for a, b in spans))[:MAX_TERMS]
                return words, str(make_snippet(text, self.terms))
        return self.said, str(make_snippet(texts[0], []))
