"""The embedded default: SQLite FTS5 in the archive's own database file.

Terms come from `archive.analysis`, so FTS5's unicode61 tokenizer only splits on the spaces we put
there (with diacritics kept: case folding and normalisation already happened in Python).
"""

from __future__ import annotations

import heapq
import math
import os
import sqlite3
from collections import Counter
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
DROP INDEX IF EXISTS search_keyword_page;
-- Covering: keyword facets read (name, value) of each matching page from the index alone.
CREATE INDEX IF NOT EXISTS search_keyword_page_value ON search_keyword (page_id, name, value);
CREATE INDEX IF NOT EXISTS search_keyword_value ON search_keyword (name, value);
CREATE TABLE IF NOT EXISTS search_generation (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT OR IGNORE INTO search_generation (id, n) VALUES (1, 0);
-- Document frequency of every indexed term (pages containing it in any column), kept by index().
CREATE TABLE IF NOT EXISTS search_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
-- "Heavy" terms (in at least HEAVY_DF pages): what a one-word query needs, kept at index time so
-- it does not have to score and count every matching page. `search_heavy_top` holds the pages
-- with the best bm25 term weight (weighted term frequency `tfw`, row length `dl`), rescored
-- exactly at query time (the first `valid` of them are the true best: each deleted candidate
-- takes one off); `search_heavy_facet` holds the facet counts of all pages with the term.
CREATE TABLE IF NOT EXISTS search_heavy (
    term TEXT PRIMARY KEY, df INTEGER NOT NULL, avgdl REAL NOT NULL, valid INTEGER NOT NULL,
    stale INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_heavy_top (
    term TEXT NOT NULL, page_id INTEGER NOT NULL, tfw REAL NOT NULL, dl INTEGER NOT NULL, proxy REAL NOT NULL,
    PRIMARY KEY (term, page_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_heavy_facet (
    term TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL COLLATE NOCASE, n INTEGER NOT NULL,
    PRIMARY KEY (term, name, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""

# Column weights for bm25: the original text counts most, then a translation, then a gloss.
_WEIGHTS = (1.0, 0.7, 0.4)
_COLUMN_FACETS = ("collection", "lang", "kind", "year")
# FTS5's bm25 constants (fts5_aux.c), reproduced for the heavy-term path.
_K1, _B = 1.2, 0.75
# A term in at least this many pages is "heavy": one-word queries for it are answered from the
# tables kept at index time instead of scoring, counting and faceting every matching page.
HEAVY_DF = int(os.environ.get("FOI_SQLITE_HEAVY_DF", "2000"))
# Candidate pages kept per heavy term (best bm25 term weight); results up to offset+limit <=
# HEAVY_TOP // 2 come from them, deeper pages take the full path.
HEAVY_TOP = 200
# The stored candidates were chosen with the average row length of their time; past this drift
# the term is rebuilt.
_AVGDL_DRIFT = 0.10
_STATE_VERSION = "1"


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


def _term_weight(tfw: float, dl: int, avgdl: float) -> float:
    """The per-page factor of FTS5's bm25 for one term (idf aside), as fts5_aux.c computes it."""
    return (tfw * (_K1 + 1.0)) / (tfw + _K1 * (1 - _B + _B * dl / avgdl))


def _varints(blob: bytes) -> list[int]:
    """SQLite/FTS5 varints (big-endian 7-bit groups, a 9th byte of 8 bits)."""
    out, i = [], 0
    while i < len(blob):
        v = 0
        for n in range(9):
            b = blob[i]
            i += 1
            if n == 8:
                v = (v << 8) | b
                break
            v = (v << 7) | (b & 0x7F)
            if not b & 0x80:
                break
        out.append(v)
    return out


def _ascii_lower(value: str) -> str:
    """SQLite's NOCASE folds ASCII letters only."""
    return value.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


class SqliteBackend:
    name = "sqlite"

    def __init__(self, db_path: Path | str):
        self.path = str(Path(db_path).resolve())
        self.db = sqlite3.connect(db_path, timeout=60, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.heavy_df = HEAVY_DF
        self._upgrade()

    def close(self) -> None:
        self.db.close()

    def _upgrade(self) -> None:
        """Fill the term statistics of an index built before they existed (once)."""
        row = self.db.execute("SELECT value FROM search_state WHERE key='version'").fetchone()
        if row and row[0] == _STATE_VERSION:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT value FROM search_state WHERE key='version'").fetchone()
            if not row or row[0] != _STATE_VERSION:
                self._rebuild_stats()
                self.db.execute(
                    "INSERT OR REPLACE INTO search_state(key, value) VALUES ('version', ?)", (_STATE_VERSION,)
                )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _rebuild_stats(self) -> None:
        db = self.db
        for table in ("search_df", "search_heavy", "search_heavy_top", "search_heavy_facet"):
            db.execute(f"DELETE FROM {table}")  # (executescript would commit the transaction)
        db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocab USING fts5vocab(main, search_fts, row)")
        db.execute("INSERT INTO search_df(term, df) SELECT term, doc FROM temp.search_vocab")
        db.execute("DROP TABLE temp.search_vocab")
        for (term,) in db.execute("SELECT term FROM search_df WHERE df >= ?", (self.heavy_df,)).fetchall():
            self._build_heavy(term)

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
            heavy = self._heavy_terms()
            stats = self._fts_stats()
            df: Counter[str] = Counter()
            upd = _HeavyUpdate(heavy, stats[1] if stats else 0.0)
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
                kws = [(name, v) for name, values in r.keywords.items() for v in set(values) if v]
                db.executemany(
                    "INSERT INTO search_keyword(page_id, name, value) VALUES (?,?,?)",
                    [(r.page_id, name, v) for name, v in kws],
                )
                tf = _term_freqs(r.body, r.translation, r.gloss)
                df.update(tf.keys())
                upd.add(r.page_id, tf, (r.collection, r.lang, r.kind, r.year), kws, +1)
            db.executemany(
                "INSERT INTO search_df(term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
                df.items(),
            )
            self._apply_heavy(upd)
            # Terms that just crossed the threshold get their tables built from the index.
            for term in [t for t in df if t not in heavy]:
                row = db.execute("SELECT df FROM search_df WHERE term=?", (term,)).fetchone()
                if row and row[0] >= self.heavy_df:
                    self._build_heavy(term)
            self._rebuild_stale()
            self._bump()
        except BaseException:
            if own_tx:
                db.execute("ROLLBACK")
            raise
        if own_tx:
            db.execute("COMMIT")

    def _heavy_terms(self) -> dict[str, float]:
        return dict(self.db.execute("SELECT term, avgdl FROM search_heavy"))

    def _fts_stats(self) -> tuple[int, float] | None:
        """(rows, average row length in tokens) as FTS5's bm25 sees them."""
        row = self.db.execute("SELECT block FROM search_fts_data WHERE id = 1").fetchone()
        if not row or not row[0]:
            return None
        values = _varints(bytes(row[0]))
        n_rows = values[0]
        if not n_rows:
            return None
        return n_rows, sum(values[1:4]) / n_rows

    def _apply_heavy(self, upd: _HeavyUpdate) -> None:
        db = self.db
        if not upd.touched:
            return
        db.executemany(
            "INSERT INTO search_heavy_facet(term, name, value, n) VALUES (?,?,?,?) "
            "ON CONFLICT(term, name, value) DO UPDATE SET n = n + excluded.n, "
            "value = min(value COLLATE BINARY, excluded.value COLLATE BINARY)",
            [(t, name, v, n) for (t, name, v), n in upd.facets.items() if n],
        )
        db.executemany("UPDATE search_heavy SET df = df + ? WHERE term = ?",
                       [(n, t) for t, n in upd.df.items() if n])
        lost: Counter[str] = Counter()
        for term, page_id in upd.removed:
            if db.execute("DELETE FROM search_heavy_top WHERE term=? AND page_id=?", (term, page_id)).rowcount:
                lost[term] += 1
        db.executemany("UPDATE search_heavy SET valid = valid - ? WHERE term = ?", [(n, t) for t, n in lost.items()])
        # Offer a new page only if it beats the weakest kept candidate of a full list.
        floor: dict[str, float | None] = {}
        added = []
        for item in upd.added:
            term = item[0]
            if term not in floor:
                n, low = db.execute(
                    "SELECT count(*), min(proxy) FROM search_heavy_top WHERE term=?", (term,)
                ).fetchone()
                floor[term] = low if n >= HEAVY_TOP else None
            low = floor[term]
            if low is None or item[4] >= low:
                added.append(item)
        db.executemany(
            "INSERT OR REPLACE INTO search_heavy_top(term, page_id, tfw, dl, proxy) VALUES (?,?,?,?,?)", added
        )
        for term in {t for t, *_ in added}:
            db.execute(
                "DELETE FROM search_heavy_top WHERE term = ? AND page_id IN (SELECT page_id FROM search_heavy_top "
                "WHERE term = ? ORDER BY proxy DESC, page_id LIMIT -1 OFFSET ?)",
                (term, term, HEAVY_TOP),
            )
        for term in lost:
            db.execute(
                "UPDATE search_heavy SET stale = 1 WHERE term = ? AND valid < ? "
                "AND df > (SELECT count(*) FROM search_heavy_top WHERE term = ?)",
                (term, HEAVY_TOP // 2, term),
            )
        db.execute("DELETE FROM search_heavy_facet WHERE n <= 0")

    def _build_heavy(self, term: str) -> None:
        """Build (or rebuild) a heavy term's tables from the index: every page with the term."""
        db = self.db
        stats = self._fts_stats()
        if stats is None:
            return
        avgdl = stats[1]
        match = _quote(term)
        facets: Counter[tuple[str, str, str]] = Counter()
        best: list[tuple[float, int, float, int]] = []
        n = 0
        for page_id, body, translation, gloss, *cols in db.execute(
            "SELECT f.rowid, f.body, f.translation, f.gloss, p.collection, p.lang, p.kind, p.year "
            "FROM search_fts f JOIN search_page p ON p.page_id = f.rowid WHERE search_fts MATCH ?",
            (match,),
        ):
            n += 1
            parts = [(body or "").split(), (translation or "").split(), (gloss or "").split()]
            tfw = sum(w * col.count(term) for w, col in zip(_WEIGHTS, parts, strict=True))
            dl = sum(len(col) for col in parts)
            proxy = _term_weight(tfw, dl, avgdl)
            item = (proxy, -page_id, tfw, dl)
            if len(best) < HEAVY_TOP:
                heapq.heappush(best, item)
            elif item > best[0]:
                heapq.heapreplace(best, item)
            for name, value in zip(_COLUMN_FACETS, cols, strict=True):
                if value is not None:
                    facets[(term, name, value)] += 1
        for name, value in db.execute(
            "SELECT k.name, k.value FROM search_fts f JOIN search_keyword k ON k.page_id = f.rowid "
            "WHERE search_fts MATCH ?",
            (match,),
        ):
            facets[(term, name, value)] += 1
        db.execute("DELETE FROM search_heavy_top WHERE term=?", (term,))
        db.execute("DELETE FROM search_heavy_facet WHERE term=?", (term,))
        db.execute(
            "INSERT OR REPLACE INTO search_heavy(term, df, avgdl, valid, stale) VALUES (?,?,?,?,0)",
            (term, n, avgdl, len(best)),
        )
        db.executemany(
            "INSERT INTO search_heavy_top(term, page_id, tfw, dl, proxy) VALUES (?,?,?,?,?)",
            [(term, -neg_id, tfw, dl, proxy) for proxy, neg_id, tfw, dl in best],
        )
        db.executemany(
            "INSERT INTO search_heavy_facet(term, name, value, n) VALUES (?,?,?,?) "
            "ON CONFLICT(term, name, value) DO UPDATE SET n = n + excluded.n, "
            "value = min(value COLLATE BINARY, excluded.value COLLATE BINARY)",
            [(t, name, v, c) for (t, name, v), c in facets.items()],
        )

    def _rebuild_stale(self) -> None:
        stats = self._fts_stats()
        if stats is None:
            return
        avgdl = stats[1]
        for term, built in self.db.execute("SELECT term, avgdl FROM search_heavy").fetchall():
            if abs(avgdl / built - 1) > _AVGDL_DRIFT:
                self.db.execute("UPDATE search_heavy SET stale = 1 WHERE term=?", (term,))
        for (term,) in self.db.execute("SELECT term FROM search_heavy WHERE stale = 1").fetchall():
            self._build_heavy(term)

    def _delete(self, doc_id: int) -> None:
        ids = [r[0] for r in self.db.execute("SELECT page_id FROM search_page WHERE doc_id=?", (doc_id,))]
        if not ids:
            return
        heavy = self._heavy_terms()
        upd = _HeavyUpdate(heavy, 0.0)
        df: Counter[str] = Counter()
        for pid in ids:
            row = self.db.execute(
                "SELECT f.body, f.translation, f.gloss, p.collection, p.lang, p.kind, p.year "
                "FROM search_fts f JOIN search_page p ON p.page_id = f.rowid WHERE f.rowid = ?",
                (pid,),
            ).fetchone()
            if row is not None:
                kws = self.db.execute("SELECT name, value FROM search_keyword WHERE page_id=?", (pid,)).fetchall()
                tf = _term_freqs(row[0], row[1], row[2])
                df.update(tf.keys())
                upd.add(pid, tf, tuple(row[3:]), kws, -1)
            self.db.execute("DELETE FROM search_fts WHERE rowid=?", (pid,))
            self.db.execute("DELETE FROM search_keyword WHERE page_id=?", (pid,))
        self.db.execute("DELETE FROM search_page WHERE doc_id=?", (doc_id,))
        self.db.executemany("UPDATE search_df SET df = df - ? WHERE term = ?", [(n, t) for t, n in df.items()])
        self.db.execute("DELETE FROM search_df WHERE df <= 0")
        self._apply_heavy(upd)

    def delete_document(self, doc_id: int) -> None:
        own_tx = not self.db.in_transaction
        if own_tx:
            self.db.execute("BEGIN IMMEDIATE")
        try:
            self._delete(doc_id)
            self._rebuild_stale()
            self._bump()
        except BaseException:
            if own_tx:
                self.db.execute("ROLLBACK")
            raise
        if own_tx:
            self.db.execute("COMMIT")

    def clear(self) -> None:
        self.db.executescript(
            "DELETE FROM search_fts; DELETE FROM search_page; DELETE FROM search_keyword; DELETE FROM search_df; "
            "DELETE FROM search_heavy; DELETE FROM search_heavy_top; DELETE FROM search_heavy_facet;"
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
            tree = parsed.tree
            if (
                isinstance(tree, Term)
                and not tree.prefix
                and not where
                and q.sort == "relevance"
                and not q.search_after
                and q.offset + q.limit <= HEAVY_TOP // 2
            ):
                fast = self._heavy_search(tree.term, q)
                if fast is not None:
                    return fast
        try:
            return self._full_search(q, match, where, params)
        except sqlite3.OperationalError as exc:
            if q.raw or "fts5" in str(exc).lower() or "syntax" in str(exc).lower():
                raise QueryError(f"query not understood: {exc}") from exc
            raise SearchError(str(exc)) from exc

    def _full_search(self, q: SearchQuery, match: str | None, where: list[str], params: list[Any]) -> BackendResults:
        """Every matching page evaluated once (materialised), then the page of hits, the total and
        every facet read from that one evaluation in a single statement."""
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
        order = {
            "relevance": "score, page_id" if match else "doc_id, number",
            "date": "date IS NULL, date, doc_id, number",
            "-date": "date IS NULL, date DESC, doc_id, number",
        }.get(q.sort, "score, page_id")
        offset = int(q.search_after[0]) if q.search_after else q.offset
        column_facets = [n for n in q.facets if n in _COLUMN_FACETS]
        keyword_facets = [n for n in q.facets if n not in _COLUMN_FACETS]
        parts = [
            f"SELECT * FROM (SELECT 0 AS part, page_id AS a, doc_id AS b, number AS c, score AS d, NULL AS e "
            f"FROM m ORDER BY {order} LIMIT ? OFFSET ?)",
            "SELECT 1, count(*), NULL, NULL, NULL, NULL FROM m",
        ]
        part_params: list[Any] = [q.limit, offset]
        if column_facets:
            cols = ", ".join(("collection", "lang", "kind", "year"))
            parts.append(f"SELECT 2, {cols}, count(*) FROM m GROUP BY {cols}")
        if keyword_facets:
            parts.append(
                # Values that differ only in case count together (NOCASE) under their first spelling
                # in binary order, as the heavy-term tables keep them. CROSS JOIN keeps the matches
                # as the outer loop (else the planner walks every keyword row of these names).
                "SELECT 3, k.name, min(k.value COLLATE BINARY), count(*), NULL, NULL FROM m CROSS JOIN search_keyword k "
                f"ON k.page_id = m.page_id AND k.name IN ({','.join('?' * len(keyword_facets))}) "
                "GROUP BY k.name, k.value"
            )
            part_params += keyword_facets
        sql = (
            "WITH m AS MATERIALIZED (SELECT p.page_id, p.doc_id, p.number, p.date, p.collection, p.lang, p.kind, "
            f"p.year, {score} AS score {base}) " + " UNION ALL ".join(parts)
        )
        rows: list[tuple[Any, ...]] = []
        total = 0
        counts: dict[str, dict[str, int]] = {n: {} for n in q.facets}
        for part, a, b, c, d, e in self.db.execute(sql, (*base_params, *params, *part_params)):
            if part == 0:
                rows.append((a, b, c, d))
            elif part == 1:
                total = int(a)
            elif part == 2:
                for name, value in zip(_COLUMN_FACETS, (a, b, c, d), strict=True):
                    if value is not None and name in counts:
                        counts[name][value] = counts[name].get(value, 0) + e
            else:
                counts[a][b] = c
        facets = {name: self._top_values(name, counts[name], q.facet_size) for name in q.facets}
        hits = [BackendHit(r[0], r[1], r[2], -float(r[3]) if match else 0.0) for r in rows]
        next_cursor = [offset + len(hits)] if offset + len(hits) < total else None
        return BackendResults(total=total, hits=hits, facets=facets, next_cursor=next_cursor)

    @staticmethod
    def _top_values(name: str, values: dict[str, int], size: int) -> list[tuple[str, int]]:
        if name in _COLUMN_FACETS:
            key = lambda kv: (-kv[1], kv[0])  # noqa: E731
        else:  # keyword values compare as SQLite's NOCASE
            key = lambda kv: (-kv[1], _ascii_lower(kv[0]))  # noqa: E731
        return sorted(values.items(), key=key)[:size]

    def _heavy_search(self, term: str, q: SearchQuery) -> BackendResults | None:
        """A one-word query for a heavy term: candidates rescored with FTS5's bm25 formula under
        the current statistics, total and facets from the tables kept at index time."""
        db = self.db
        row = db.execute("SELECT df, avgdl, valid, stale FROM search_heavy WHERE term=?", (term,)).fetchone()
        if row is None or row[3]:
            return None
        df, built_avgdl, valid = int(row[0]), float(row[1]), int(row[2])
        stats = self._fts_stats()
        if stats is None or abs(stats[1] / built_avgdl - 1) > _AVGDL_DRIFT:
            return None
        n_rows, avgdl = stats
        cands = db.execute("SELECT page_id, tfw, dl FROM search_heavy_top WHERE term=?", (term,)).fetchall()
        if len(cands) < df and valid < q.offset + q.limit:
            return None
        idf = math.log((n_rows - df + 0.5) / (df + 0.5))
        if idf <= 0.0:
            idf = 1e-6
        scored = sorted((-(idf * _term_weight(tfw, dl, avgdl)), pid) for pid, tfw, dl in cands)
        page = scored[q.offset : q.offset + q.limit]
        where = {pid: s for s, pid in page}
        info = {
            r[0]: r
            for r in db.execute(
                f"SELECT page_id, doc_id, number FROM search_page WHERE page_id IN ({','.join('?' * len(where))})",
                list(where),
            )
        } if where else {}
        hits = [BackendHit(pid, info[pid][1], info[pid][2], -s) for s, pid in page if pid in info]
        facets: dict[str, list[tuple[str, int]]] = {}
        for name in q.facets:
            if name in _COLUMN_FACETS:
                values = db.execute(
                    "SELECT value, n FROM search_heavy_facet WHERE term=? AND name=?", (term, name)
                ).fetchall()
                facets[name] = sorted(((v, int(n)) for v, n in values), key=lambda kv: (-kv[1], kv[0]))[
                    : q.facet_size
                ]
            else:
                facets[name] = [
                    (v, int(n))
                    for v, n in db.execute(
                        "SELECT value, n FROM search_heavy_facet WHERE term=? AND name=? ORDER BY n DESC, value "
                        "LIMIT ?",
                        (term, name, q.facet_size),
                    )
                ]
        end = q.offset + len(hits)
        return BackendResults(total=df, hits=hits, facets=facets, next_cursor=[end] if end < df else None)


def _term_freqs(body: str | None, translation: str | None, gloss: str | None) -> dict[str, tuple[float, int]]:
    """Per term of a page: (weighted term frequency as FTS5's bm25 sums it, row length)."""
    parts = [(body or "").split(), (translation or "").split(), (gloss or "").split()]
    dl = sum(len(p) for p in parts)
    tfw: dict[str, float] = {}
    for w, col in zip(_WEIGHTS, parts, strict=True):
        for t, n in Counter(col).items():
            tfw[t] = tfw.get(t, 0.0) + w * n
    return {t: (v, dl) for t, v in tfw.items()}


class _HeavyUpdate:
    """Changes to the heavy-term tables from a batch of inserted (+1) or deleted (-1) pages."""

    def __init__(self, heavy: dict[str, float], avgdl: float):
        self.heavy = heavy
        self.avgdl = avgdl
        self.facets: Counter[tuple[str, str, str]] = Counter()
        self.df: Counter[str] = Counter()
        self.added: list[tuple[str, int, float, int, float]] = []
        self.removed: list[tuple[str, int]] = []
        self.touched = False

    def add(
        self,
        page_id: int,
        tf: dict[str, tuple[float, int]],
        columns: tuple[Any, ...],
        keywords: Iterable[tuple[str, str]],
        sign: int,
    ) -> None:
        terms = [t for t in tf if t in self.heavy]
        if not terms:
            return
        self.touched = True
        values = [(n, v) for n, v in zip(_COLUMN_FACETS, columns, strict=True) if v is not None]
        values += list(keywords)
        for t in terms:
            self.df[t] += sign
            for name, v in values:
                self.facets[(t, name, v)] += sign
            if sign > 0:
                tfw, dl = tf[t]
                # Offered; _apply_heavy keeps the best HEAVY_TOP per term.
                self.added.append((t, page_id, tfw, dl, _term_weight(tfw, dl, self.avgdl or dl)))
            else:
                self.removed.append((t, page_id))


def _day_after(date: str) -> str:
    """An upper bound that includes the whole day of a date-only `to` filter."""
    if len(date) == 10:
        return date + "T99"
    return date + "\uffff"
