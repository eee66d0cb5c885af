"""The embedded default: SQLite FTS5 in the archive's own database file.

Terms come from `archive.analysis`, so FTS5's unicode61 tokenizer only splits on the spaces we put
there (with diacritics kept: case folding and normalisation already happened in Python).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .base import BackendHit, BackendResults, IndexRecord, SearchError, SearchQuery
from .query import And, Node, Not, Or, Phrase, QueryError, Term, check_runnable, parse

_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
    body, translation, gloss, tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TABLE IF NOT EXISTS search_page (
    page_id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    collection TEXT NOT NULL,
    kind TEXT,
    lang TEXT,
    title TEXT,
    date TEXT,
    year TEXT
);
CREATE INDEX IF NOT EXISTS search_page_doc ON search_page (doc_id);
CREATE TABLE IF NOT EXISTS search_keyword (
    page_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL COLLATE NOCASE
);
CREATE INDEX IF NOT EXISTS search_keyword_page ON search_keyword (page_id);
CREATE INDEX IF NOT EXISTS search_keyword_value ON search_keyword (name, value);
CREATE TABLE IF NOT EXISTS search_generation (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT OR IGNORE INTO search_generation (id, n) VALUES (1, 0);
"""

# Column weights for bm25: the original text counts most, then a translation, then a gloss.
_WEIGHTS = (1.0, 0.7, 0.4)
_COLUMN_FACETS = {"collection", "lang", "kind", "year"}


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def compile_fts(node: Node) -> str:
    """An FTS5 MATCH expression with every term quoted, so no user text acts as syntax."""
    if isinstance(node, Term):
        return _quote(node.term) + ("*" if node.prefix else "")
    if isinstance(node, Phrase):
        return _quote(" ".join(node.terms))
    if isinstance(node, Or):
        return "(" + " OR ".join(compile_fts(i) for i in node.items) + ")"
    if isinstance(node, And):
        pos = [compile_fts(i) for i in node.items if not isinstance(i, Not)]
        neg = [compile_fts(i.item) for i in node.items if isinstance(i, Not)]
        expr = "(" + " AND ".join(pos) + ")"
        return expr + "".join(f" NOT {n}" for n in neg)
    raise QueryError("a query needs at least one term that is not negated")


class SqliteBackend:
    name = "sqlite"

    def __init__(self, db_path: Path | str):
        self.path = str(Path(db_path).resolve())
        self.db = sqlite3.connect(db_path, timeout=60, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- writing ----------------------------------------------------------------------------

    def index(self, records: list[IndexRecord]) -> None:
        if not records:
            return
        db = self.db
        own_tx = not db.in_transaction
        if own_tx:
            db.execute("BEGIN IMMEDIATE")
        try:
            for doc_id in {r.doc_id for r in records}:
                self._delete(doc_id)
            for r in records:
                db.execute(
                    "INSERT INTO search_fts(rowid, body, translation, gloss) VALUES (?,?,?,?)",
                    (r.page_id, r.body, r.translation, r.gloss),
                )
                db.execute(
                    "INSERT INTO search_page(page_id, doc_id, number, collection, kind, lang, title, date, year) "
                    "VALUES (?,?,?,?,?,?,?,?,?)",
                    (r.page_id, r.doc_id, r.number, r.collection, r.kind, r.lang, r.title, r.date, r.year),
                )
                db.executemany(
                    "INSERT INTO search_keyword(page_id, name, value) VALUES (?,?,?)",
                    [(r.page_id, name, v) for name, values in r.keywords.items() for v in set(values) if v],
                )
            self._bump()
        except BaseException:
            if own_tx:
                db.execute("ROLLBACK")
            raise
        if own_tx:
            db.execute("COMMIT")

    def _delete(self, doc_id: int) -> None:
        ids = [r[0] for r in self.db.execute("SELECT page_id FROM search_page WHERE doc_id=?", (doc_id,))]
        for pid in ids:
            self.db.execute("DELETE FROM search_fts WHERE rowid=?", (pid,))
            self.db.execute("DELETE FROM search_keyword WHERE page_id=?", (pid,))
        self.db.execute("DELETE FROM search_page WHERE doc_id=?", (doc_id,))

    def delete_document(self, doc_id: int) -> None:
        self._delete(doc_id)
        self._bump()

    def clear(self) -> None:
        self.db.executescript(
            "DELETE FROM search_fts; DELETE FROM search_page; DELETE FROM search_keyword;"
        )
        self._bump()

    def generation(self) -> int:
        """A number that changes whenever the index changes (in any process); Archive.search keys
        its result cache on it."""
        return int(self.db.execute("SELECT n FROM search_generation WHERE id = 1").fetchone()[0])

    def _bump(self) -> None:
        """Every change to the index moves the generation, which keys the result cache."""
        self.db.execute("UPDATE search_generation SET n = n + 1 WHERE id = 1")

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM search_page").fetchone()[0])

    # -- reading ----------------------------------------------------------------------------

    def _filters(self, q: SearchQuery, extra: dict[str, list[str]]) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        filters: dict[str, list[str]] = {}
        for source in (q.filters, extra):
            for k, vs in source.items():
                filters.setdefault(k, []).extend(v for v in vs if v)
        # Pop both always (else a leftover `from` becomes a keyword filter); [] when `from:""`.
        text_from, text_to = (next(iter(filters.pop(k, [])), None) for k in ("from", "to"))
        date_from = q.date_from or text_from
        date_to = q.date_to or text_to
        for name, values in filters.items():
            if not values:
                continue
            if name == "lang":
                # `zh` matches zh-Hans and zh-Hant.
                ors = []
                for v in values:
                    ors.append("(p.lang = ? OR p.lang LIKE ?)")
                    params += [v, v + "-%"]
                where.append("(" + " OR ".join(ors) + ")")
            elif name in _COLUMN_FACETS:
                where.append(f"p.{name} IN ({','.join('?' * len(values))})")
                params += values
            else:
                for v in values:
                    # A filter matches a value or an alias of it (watchlist entities have aliases).
                    where.append(
                        "EXISTS (SELECT 1 FROM search_keyword k WHERE k.page_id = p.page_id "
                        "AND k.name IN (?, ?) AND k.value = ?)"
                    )
                    params += [name, f"{name}_alias", v]
        if date_from:
            where.append("p.date >= ?")
            params.append(date_from)
        if date_to:
            where.append("p.date < ?")
            params.append(_day_after(date_to))
        return where, params

    def search(self, q: SearchQuery) -> BackendResults:
        parsed = parse(q.text) if not q.raw else None
        extra = parsed.filters if parsed else {}
        where, params = self._filters(q, extra)
        match: str | None
        if q.raw:
            match = q.text.strip() or None
        else:
            assert parsed is not None
            check_runnable(parsed.tree)
            match = compile_fts(parsed.tree) if parsed.tree is not None else None
        if match:
            base = "FROM search_fts f JOIN search_page p ON p.page_id = f.rowid WHERE search_fts MATCH ?"
            base_params: list[Any] = [match]
            score = "bm25(search_fts, {}, {}, {})".format(*_WEIGHTS)
        else:
            base = "FROM search_page p WHERE 1"
            base_params = []
            score = "0.0"
        if where:
            base += " AND " + " AND ".join(where)
        all_params = base_params + params
        order = {
            "relevance": "score, p.page_id" if match else "p.doc_id, p.number",
            "date": "p.date IS NULL, p.date, p.doc_id, p.number",
            "-date": "p.date IS NULL, p.date DESC, p.doc_id, p.number",
        }.get(q.sort, "score, p.page_id")
        offset = int(q.search_after[0]) if q.search_after else q.offset
        try:
            rows = self.db.execute(
                f"SELECT p.page_id, p.doc_id, p.number, {score} AS score {base} ORDER BY {order} LIMIT ? OFFSET ?",
                (*all_params, q.limit, offset),
            ).fetchall()
            total = int(self.db.execute(f"SELECT count(*) {base}", all_params).fetchone()[0])
            column_facets = [n for n in q.facets if n in _COLUMN_FACETS]
            facets = self._column_facets(column_facets, base, all_params, q.facet_size)
            facets.update({n: self._facet(n, base, all_params, q.facet_size) for n in q.facets if n not in facets})
            facets = {n: facets[n] for n in q.facets}
        except sqlite3.OperationalError as exc:
            if q.raw or "fts5" in str(exc).lower() or "syntax" in str(exc).lower():
                raise QueryError(f"query not understood: {exc}") from exc
            raise SearchError(str(exc)) from exc
        hits = [BackendHit(r[0], r[1], r[2], -float(r[3]) if match else 0.0) for r in rows]
        next_cursor = [offset + len(hits)] if offset + len(hits) < total else None
        return BackendResults(total=total, hits=hits, facets=facets, next_cursor=next_cursor)

    def _column_facets(
        self, names: list[str], base: str, params: list[Any], size: int
    ) -> dict[str, list[tuple[str, int]]]:
        """Every column facet in one pass over the matches (grouped by all of them at once),
        instead of one pass per facet: common terms match most of the archive."""
        if not names:
            return {}
        cols = ", ".join(f"p.{n}" for n in names)
        counts: dict[str, dict[str, int]] = {n: {} for n in names}
        for row in self.db.execute(f"SELECT {cols}, count(*) {base} GROUP BY {cols}", params):
            n = row[-1]
            for name, value in zip(names, row[:-1], strict=False):
                if value is not None:
                    counts[name][value] = counts[name].get(value, 0) + n
        return {
            name: sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:size] for name, values in counts.items()
        }

    def _facet(self, name: str, base: str, params: Iterable[Any], size: int) -> list[tuple[str, int]]:
        if name in _COLUMN_FACETS:
            sql = (
                f"SELECT p.{name} AS v, count(*) AS n {base} AND p.{name} IS NOT NULL "
                f"GROUP BY v ORDER BY n DESC, v LIMIT ?"
            )
        else:
            sql = (
                f"SELECT k.value AS v, count(*) AS n {base.replace('WHERE', 'JOIN search_keyword k ON k.page_id = p.page_id AND k.name = ? WHERE', 1)} "
                f"GROUP BY v ORDER BY n DESC, v LIMIT ?"
            )
            # The keyword join's name parameter comes before the MATCH parameter.
            return [(r[0], r[1]) for r in self.db.execute(sql, (name, *params, size))]
        return [(r[0], r[1]) for r in self.db.execute(sql, (*params, size))]


def _day_after(date: str) -> str:
    """An upper bound that includes the whole day of a date-only `to` filter."""
    if len(date) == 10:
        return date + "T99"
    return date + "\uffff"
