"""The embedded default: SQLite FTS5 in the archive's own database file.

Terms come from `archive.analysis`, so FTS5's unicode61 tokenizer only splits on the spaces we put
there (with diacritics kept: case folding and normalisation already happened in Python).
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from ..analysis import ANALYSIS_VERSION
from .base import (
    BackendHit,
    BackendResults,
    IndexRecord,
    MatchOutcome,
    SearchError,
    SearchQuery,
    day_after,
    match_key,
    merged_filters,
)
from .query import And, Node, Not, Or, Phrase, QueryError, Term, check_runnable, parse

log = logging.getLogger(__name__)

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
    year TEXT,
    withheld REAL NOT NULL DEFAULT 0          -- share of the document withheld by redactions
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
-- takes one off); `search_heavy_facet` holds the facet counts of all pages with the term, and
-- under `name` + _BY_COLLECTION + collection the same counts per collection (a search limited to
-- the collections its viewer may read sums those).
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
-- Common grams: the words whose pairs are also indexed as one token (see _bigram_columns). A word
-- joins when its document frequency reaches HEAVY_DF and never leaves, so the set only grows.
CREATE TABLE IF NOT EXISTS search_common (term TEXT PRIMARY KEY) WITHOUT ROWID;
-- One row per search_fts row (same rowid, same columns, same number of tokens per column): at
-- each position the pair "a_b" of that word and the next when either is common, else the filler
-- "_". bm25 there sees the same row count, row lengths and averages as in search_fts, so a phrase
-- of pair tokens scores exactly as the phrase of words does. Contentless: rows are deleted with
-- the values they were made from, which _bigram_columns recomputes from search_fts.
CREATE VIRTUAL TABLE IF NOT EXISTS search_bigram USING fts5(
    body, translation, gloss, content = '', tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
);
"""

# Column weights for bm25: the original text counts most, then a translation, then a gloss.
_WEIGHTS = (1.0, 0.7, 0.4)
_COLUMNS = ("body", "translation", "gloss")
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
_STATE_VERSION = "4"  # 4: heavy facet counts per collection too (searches limited to some collections)
# Joins a facet name and a collection in the per-collection rows of search_heavy_facet.
_BY_COLLECTION = "\x1f"
# Joins the two words of a pair token and fills the positions without one; analysis never puts it
# in a term (its word pattern excludes the underscore), so a pair token can be no word's term.
_SEP = "_"
# Compiled saved searches kept per backend (see `_compiled_match`).
_MATCH_CACHE = 20_000


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


def fold_keyword(value: str) -> str:
    """A keyword filter's value as Elasticsearch's `lowercase` normalizer makes it: each code
    point to its simple lowercase, outside ASCII too (Python's `lower()` makes two code points of
    a few, as U+0130 to "i" and a combining dot, and lowers a final sigma by its context)."""
    if value.isascii():
        return value.lower()
    return "".join(low if len(low := ch.lower()) == 1 else _SIMPLE_LOWER.get(ch, ch) for ch in value)


_SIMPLE_LOWER = {"\u0130": "i"}  # the one letter whose full lowercase is longer than its simple one


def _fold_order(a: str, b: str) -> int:
    """The KEYWORD_FOLD collation: keyword values compared as `fold_keyword` makes them."""
    fa, fb = fold_keyword(a), fold_keyword(b)
    return (fa > fb) - (fa < fb)


class SqliteBackend:
    name = "sqlite"
    # Writes go to a local file: one document at a time costs no more than a batch.
    supports_batches = False

    def __init__(self, db_path: Path | str):
        self.path = str(Path(db_path).resolve())
        self.db = sqlite3.connect(db_path, timeout=60, isolation_level=None, check_same_thread=False)
        self.db.create_collation("KEYWORD_FOLD", _fold_order)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        if "withheld" not in {row[1] for row in self.db.execute("PRAGMA table_info(search_page)")}:
            # An index made before redactions were measured (`foi reindex` fills the column).
            self.db.execute("ALTER TABLE search_page ADD COLUMN withheld REAL NOT NULL DEFAULT 0")
        self.heavy_df = HEAVY_DF
        self._upgrade()
        self._analysis = self._analysis_version()
        self._before_read_hook: Callable[[], object] | None = None
        self._match_cache: dict[tuple[Any, ...], tuple[str, str | None, list[Any]] | str] = {}

    def _analysis_version(self) -> str | None:
        """The analysis the indexed terms were made by; an empty index takes this code's."""
        row = self.db.execute("SELECT value FROM search_state WHERE key='analysis'").fetchone()
        if row is None and self.db.execute("SELECT 1 FROM search_page LIMIT 1").fetchone() is None:
            self._set_analysis()
            return ANALYSIS_VERSION
        return str(row[0]) if row else None

    def _set_analysis(self) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO search_state(key, value) VALUES ('analysis', ?)", (ANALYSIS_VERSION,)
        )
        self._analysis = ANALYSIS_VERSION

    def check_version(self) -> None:
        """SearchError when the indexed terms were made by another analysis (a search would miss
        what that one did not index): the message says to run `foi reindex`."""
        if self._analysis != ANALYSIS_VERSION:
            raise SearchError(
                f"the search index was made by another version of foi's analysis ({self._analysis or 'before 3'}; "
                f"this one is {ANALYSIS_VERSION}): run `foi reindex` to rebuild it"
            )

    def set_before_read(self, callback: Callable[[], object] | None) -> None:
        """Call `callback` before every read and on close (None: no callback). Nothing is queued
        for this backend (it does not `supports_batches`), so the indexer sets none."""
        self._before_read_hook = callback

    def _before_read(self) -> None:
        if self._before_read_hook is not None:
            self._before_read_hook()

    def close(self) -> None:
        hook, self._before_read_hook = self._before_read_hook, None
        if hook is not None:
            try:
                hook()
            except Exception:  # closing must not fail (as with Elasticsearch)
                log.warning("the before-read callback failed on close", exc_info=True)
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
        db.execute("INSERT INTO search_bigram(search_bigram) VALUES ('delete-all')")
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocab USING fts5vocab(main, search_fts, row)"
        )
        db.execute("INSERT INTO search_df(term, df) SELECT term, doc FROM temp.search_vocab")
        db.execute("DROP TABLE temp.search_vocab")
        # Words already common stay so (the set only grows, short of `clear`).
        db.execute(
            "INSERT OR IGNORE INTO search_common(term) SELECT term FROM search_df WHERE df >= ?",
            (self.heavy_df,),
        )
        common = self._common()
        df: Counter[str] = Counter()
        rows: list[tuple[Any, ...]] = []
        for rowid, *cols in db.execute("SELECT rowid, body, translation, gloss FROM search_fts"):
            grams = _bigram_columns(cols, common)
            df.update({g for col in grams for g in col if _tracked(g, common)})
            rows.append((rowid, *(" ".join(col) for col in grams)))
            if len(rows) >= 2000:
                self._insert_bigrams(rows)
                rows = []
        self._insert_bigrams(rows)
        db.executemany("INSERT INTO search_df(term, df) VALUES (?, ?)", df.items())
        for (term,) in db.execute("SELECT term FROM search_df WHERE df >= ?", (self.heavy_df,)).fetchall():
            self._build_heavy(term)

    def _insert_bigrams(self, rows: list[tuple[Any, ...]]) -> None:
        self.db.executemany(
            "INSERT INTO search_bigram(rowid, body, translation, gloss) VALUES (?,?,?,?)", rows
        )

    def _delete_bigrams(self, rows: list[tuple[Any, ...]]) -> None:
        """Rows given exactly as they were inserted (a contentless table cannot look them up)."""
        self.db.executemany(
            "INSERT INTO search_bigram(search_bigram, rowid, body, translation, gloss) VALUES ('delete',?,?,?,?)",
            rows,
        )

    def _common(self) -> set[str]:
        return {t for (t,) in self.db.execute("SELECT term FROM search_common")}

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
            pending = []
            for r in records:
                db.execute(
                    "INSERT INTO search_fts(rowid, body, translation, gloss) VALUES (?,?,?,?)",
                    (r.page_id, r.body, r.translation, r.gloss),
                )
                db.execute(
                    "INSERT INTO search_page(page_id, doc_id, number, collection, kind, lang, title, date, year, withheld) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        r.page_id,
                        r.doc_id,
                        r.number,
                        r.collection,
                        r.kind,
                        r.lang,
                        r.title,
                        r.date,
                        r.year,
                        r.withheld,
                    ),
                )
                kws = [(name, v) for name, values in r.keywords.items() for v in set(values) if v]
                db.executemany(
                    "INSERT INTO search_keyword(page_id, name, value) VALUES (?,?,?)",
                    [(r.page_id, name, v) for name, v in kws],
                )
                cols = (r.body, r.translation, r.gloss)
                df.update({t for c in cols for t in (c or "").split()})
                pending.append((r, cols, kws))
            self._add_df(df)
            # Words that just became common: the pages already indexed with them get their pairs.
            common = self._common()
            new = sorted(self._reaching([t for t in df if t not in common]))
            if new:
                db.executemany("INSERT OR IGNORE INTO search_common(term) VALUES (?)", [(t,) for t in new])
                grown = common | set(new)
                gained = self._reemit(new, common, grown, {r.page_id for r, _, _ in pending})
                self._add_df(gained)
                df.update(gained)
                common = grown
            pair_df: Counter[str] = Counter()
            rows = []
            for r, cols, kws in pending:
                grams = _bigram_columns(cols, common)
                rows.append((r.page_id, *(" ".join(col) for col in grams)))
                tf, dl = _term_counts(cols, grams)
                pair_df.update(t for t in tf if _SEP in t and _tracked(t, common))
                upd.add(r.page_id, tf, dl, (r.collection, r.lang, r.kind, r.year), kws, +1)
            self._insert_bigrams(rows)
            self._add_df(pair_df)
            df.update(pair_df)
            self._apply_heavy(upd)
            # Terms that just crossed the threshold get their tables built from the index.
            for term in sorted(self._reaching([t for t in df if t not in heavy])):
                self._build_heavy(term)
            self._rebuild_stale()
            self._bump()
        except BaseException:
            if own_tx:
                db.execute("ROLLBACK")
            raise
        if own_tx:
            db.execute("COMMIT")

    def encode_batch(self, docs: Mapping[int, list[IndexRecord]]) -> None:
        """Nothing to prepare: `index_batch` writes the records as they are."""
        return None

    def index_batch(
        self, docs: Mapping[int, list[IndexRecord]], fresh: Collection[int] = (), encoded: Any = None
    ) -> dict[int, str]:
        """Index each document with all its pages (an empty list deletes its pages), one
        transaction each. Returns {} (a failure raises: the database is local)."""
        for doc_id, records in docs.items():
            if records:
                self.index(records)
            elif doc_id not in fresh:
                self._delete_document(doc_id)
        return {}

    def rebuild(self, records: Iterable[IndexRecord | list[IndexRecord]], count: int | None = None) -> int:
        """Empty the index and index `records` (records, or a list of each document's records),
        one document at a time: there is no version to swap in, searches meanwhile see the index
        fill. Returns the number of pages indexed."""
        self.clear()
        pages = 0
        for group in _by_document(records):
            self.index(group)
            pages += len(group)
        return pages

    def _add_df(self, df: Counter[str]) -> None:
        self.db.executemany(
            "INSERT INTO search_df(term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
            df.items(),
        )

    def _reaching(self, terms: list[str]) -> set[str]:
        """Those of `terms` in at least heavy_df pages."""
        out: set[str] = set()
        for i in range(0, len(terms), 500):
            chunk = terms[i : i + 500]
            out.update(
                t
                for (t,) in self.db.execute(
                    f"SELECT term FROM search_df WHERE term IN ({','.join('?' * len(chunk))}) AND df >= ?",
                    (*chunk, self.heavy_df),
                )
            )
        return out

    def _df(self, term: str) -> int:
        row = self.db.execute("SELECT df FROM search_df WHERE term=?", (term,)).fetchone()
        return int(row[0]) if row else 0

    def _reemit(self, words: list[str], old: set[str], new: set[str], skip: set[int]) -> Counter[str]:
        """Re-make the pair rows of the indexed pages with any of `words` (new common words) and
        return the document frequencies of the pairs that became tracked (both words common, one
        of them new): every page with such a pair has a new word, so it is here or in `skip`."""
        db = self.db
        ids: set[int] = set()
        for i in range(0, len(words), 200):
            expr = " OR ".join(_quote(w) for w in words[i : i + 200])
            ids.update(
                r for (r,) in db.execute("SELECT rowid FROM search_fts WHERE search_fts MATCH ?", (expr,))
            )
        ids -= skip
        gained: Counter[str] = Counter()
        todo = sorted(ids)
        for i in range(0, len(todo), 500):
            chunk = todo[i : i + 500]
            before, after = [], []
            for rowid, *cols in db.execute(
                f"SELECT rowid, body, translation, gloss FROM search_fts WHERE rowid IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                was, now = _bigram_columns(cols, old), _bigram_columns(cols, new)
                before.append((rowid, *(" ".join(c) for c in was)))
                after.append((rowid, *(" ".join(c) for c in now)))
                # Pairs of two common words of which one just became so: counted from now on.
                gained.update({g for c in now for g in c if _tracked(g, new) and not _tracked(g, old)})
            self._delete_bigrams(before)
            self._insert_bigrams(after)
        return gained

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
        db.executemany(
            "UPDATE search_heavy SET df = df + ? WHERE term = ?", [(n, t) for t, n in upd.df.items() if n]
        )
        lost: Counter[str] = Counter()
        for term, page_id in upd.removed:
            if db.execute(
                "DELETE FROM search_heavy_top WHERE term=? AND page_id=?", (term, page_id)
            ).rowcount:
                lost[term] += 1
        db.executemany(
            "UPDATE search_heavy SET valid = valid - ? WHERE term = ?", [(n, t) for t, n in lost.items()]
        )
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
        """Build (or rebuild) a heavy term's tables from the index: every page with the term (a pair
        token's pages in search_bigram). Term frequencies come from FTS5's own instance list and
        row lengths from its own docsize records, so they are what bm25 sees."""
        db = self.db
        stats = self._fts_stats()
        if stats is None:
            return
        avgdl = stats[1]
        table = "search_bigram" if _SEP in term else "search_fts"
        db.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{table}_instance USING fts5vocab(main, {table}, instance)"
        )
        match = _quote(term)
        facets: Counter[tuple[str, str, str]] = Counter()
        best: list[tuple[float, int, float, int]] = []
        counts: dict[int, dict[str, int]] = {}
        sizes: dict[int, bytes] = {}
        for doc, col, k, sz in db.execute(
            f"SELECT v.doc, v.col, count(*), d.sz FROM temp.{table}_instance v "
            "JOIN search_fts_docsize d ON d.id = v.doc WHERE v.term = ? GROUP BY v.doc, v.col",
            (term,),
        ):
            counts.setdefault(doc, {})[col] = k
            sizes[doc] = sz
        n = len(counts)
        for page_id, per_col in counts.items():
            tfw = _fts_tfw([per_col.get(c, 0) for c in _COLUMNS])
            dl = sum(_varints(bytes(sizes[page_id])))
            proxy = _term_weight(tfw, dl, avgdl)
            item = (proxy, -page_id, tfw, dl)
            if len(best) < HEAVY_TOP:
                heapq.heappush(best, item)
            elif item > best[0]:
                heapq.heapreplace(best, item)
        for *cols, c in db.execute(
            f"SELECT p.collection, p.lang, p.kind, p.year, count(*) FROM {table} f "
            f"JOIN search_page p ON p.page_id = f.rowid WHERE {table} MATCH ? GROUP BY 1, 2, 3, 4",
            (match,),
        ):
            for name, value in zip(_COLUMN_FACETS, cols, strict=True):
                if value is not None:
                    facets[(term, name, value)] += c
                    facets[(term, name + _BY_COLLECTION + cols[0], value)] += c
        for name, value, c in db.execute(
            f"SELECT k.name, min(k.value COLLATE BINARY), count(*) FROM {table} f CROSS JOIN search_keyword k "
            f"ON k.page_id = f.rowid WHERE {table} MATCH ? GROUP BY k.name, k.value",
            (match,),
        ):
            facets[(term, name, value)] += c
        for collection, name, value, c in db.execute(
            f"SELECT p.collection, k.name, min(k.value COLLATE BINARY), count(*) FROM {table} f "
            f"CROSS JOIN search_keyword k ON k.page_id = f.rowid JOIN search_page p ON p.page_id = f.rowid "
            f"WHERE {table} MATCH ? GROUP BY p.collection, k.name, k.value",
            (match,),
        ):
            facets[(term, name + _BY_COLLECTION + collection, value)] += c
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
        common = self._common()
        upd = _HeavyUpdate(heavy, 0.0)
        df: Counter[str] = Counter()
        pairs = []
        for pid in ids:
            row = self.db.execute(
                "SELECT f.body, f.translation, f.gloss, p.collection, p.lang, p.kind, p.year "
                "FROM search_fts f JOIN search_page p ON p.page_id = f.rowid WHERE f.rowid = ?",
                (pid,),
            ).fetchone()
            if row is not None:
                kws = self.db.execute(
                    "SELECT name, value FROM search_keyword WHERE page_id=?", (pid,)
                ).fetchall()
                grams = _bigram_columns(row[:3], common)
                pairs.append((pid, *(" ".join(col) for col in grams)))
                tf, dl = _term_counts(row[:3], grams)
                df.update(t for t in tf if _SEP not in t or _tracked(t, common))
                upd.add(pid, tf, dl, tuple(row[3:]), kws, -1)
            self.db.execute("DELETE FROM search_fts WHERE rowid=?", (pid,))
            self.db.execute("DELETE FROM search_keyword WHERE page_id=?", (pid,))
        self._delete_bigrams(pairs)
        self.db.execute("DELETE FROM search_page WHERE doc_id=?", (doc_id,))
        self.db.executemany(
            "UPDATE search_df SET df = df - ? WHERE term = ?", [(n, t) for t, n in df.items()]
        )
        self.db.executemany("DELETE FROM search_df WHERE term = ? AND df <= 0", [(t,) for t in df])
        self._apply_heavy(upd)

    def delete_document(self, doc_id: int) -> None:
        self._before_read()  # (what a queue held of the document would come back after)
        self._delete_document(doc_id)

    def _delete_document(self, doc_id: int) -> None:
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
            "DELETE FROM search_heavy; DELETE FROM search_heavy_top; DELETE FROM search_heavy_facet; "
            "DELETE FROM search_common; INSERT INTO search_bigram(search_bigram) VALUES ('delete-all');"
        )
        self._set_analysis()
        self._bump()

    def generation(self) -> int:
        """A number that changes whenever the index changes (in any process); Archive.search keys
        its result cache on it."""
        return int(self.db.execute("SELECT n FROM search_generation WHERE id = 1").fetchone()[0])

    def _bump(self) -> None:
        """Every change to the index moves the generation, which keys the result cache."""
        self.db.execute("UPDATE search_generation SET n = n + 1 WHERE id = 1")

    def count(self) -> int:
        self._before_read()
        return int(self.db.execute("SELECT count(*) FROM search_page").fetchone()[0])

    # -- reading ----------------------------------------------------------------------------

    def _filters(self, q: SearchQuery, extra: dict[str, list[str]]) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        filters, date_from, date_to = merged_filters(q, extra)
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
                    # A filter matches a value or an alias of it (watchlist entities have aliases),
                    # case folded outside ASCII too, as Elasticsearch's normalizer does.
                    where.append(
                        "EXISTS (SELECT 1 FROM search_keyword k WHERE k.page_id = p.page_id "
                        "AND k.name IN (?, ?) AND k.value = ? COLLATE KEYWORD_FOLD)"
                    )
                    params += [name, f"{name}_alias", v]
        if q.collections is not None:
            where.append(f"p.collection IN ({','.join('?' * len(q.collections))})" if q.collections else "0")
            params += q.collections
        if q.exclude_docs:
            where.append(f"p.doc_id NOT IN ({','.join('?' * len(q.exclude_docs))})")
            params += q.exclude_docs
        if date_from:
            where.append("p.date >= ?")
            params.append(date_from)
        if date_to:
            where.append("p.date < ?")
            params.append(day_after(date_to))
        return where, params

    def search(self, q: SearchQuery) -> BackendResults:
        self._before_read()
        self.check_version()
        parsed = parse(q.text) if not q.raw else None
        extra = parsed.filters if parsed else {}
        where, params = self._filters(q, extra)
        match: str | None
        table = "search_fts"
        if q.raw:
            match = q.text.strip() or None
        else:
            assert parsed is not None
            check_runnable(parsed.tree)
            match = compile_fts(parsed.tree) if parsed.tree is not None else None
            tree = parsed.tree
            single: str | None = tree.term if isinstance(tree, Term) and not tree.prefix else None
            if isinstance(tree, Phrase):
                pairs = self._phrase_pairs(tree.terms)
                if pairs is not None:
                    # The same phrase, spelled in pair tokens: the same pages, instances and bm25.
                    table, match = "search_bigram", _quote(" ".join(pairs))
                    single = pairs[0] if len(pairs) == 1 else None
            if (
                single is not None
                and len(where) == (q.collections is not None)  # no filter but the readable collections
                and not q.exclude_docs
                and q.sort == "relevance"
                and not q.search_after
                and q.offset + q.limit <= HEAVY_TOP // 2
            ):
                fast = self._heavy_search(single, q)
                if fast is not None:
                    return fast
        try:
            return self._full_search(q, match, where, params, table)
        except sqlite3.OperationalError as exc:
            if q.raw or "fts5" in str(exc).lower() or "syntax" in str(exc).lower():
                raise QueryError(f"query not understood: {exc}") from exc
            raise SearchError(str(exc)) from exc

    def match_documents(
        self,
        queries: Sequence[SearchQuery],
        doc_ids: Collection[int],
        pages: Collection[IndexRecord] | None = None,
    ) -> list[MatchOutcome]:
        """Each query over the pages of `doc_ids` only: FTS5 is given the pages' rowid range (it
        seeks there in each term's list instead of reading it whole) and the documents as a
        JSON list, so a thousand saved searches cost a thousand small look-ups. `pages` is not
        used: unicode61 splits the analysed terms again (archive.search.prefilter's terms are not
        exactly FTS5's), and these look-ups already cost little."""
        self._before_read()
        self.check_version()
        ids = json.dumps(sorted({int(d) for d in doc_ids}))
        lo, hi = self.db.execute(
            "SELECT min(page_id), max(page_id) FROM search_page WHERE doc_id IN (SELECT value FROM json_each(?))",
            (ids,),
        ).fetchone()
        if lo is None:
            return [[] for _ in queries]
        out: list[MatchOutcome] = []
        for q in queries:
            compiled = self._compiled_match(q)
            if isinstance(compiled, str):
                out.append(compiled)
                continue
            sql, match, params = compiled
            head: list[Any] = [match, lo, hi] if match is not None else [lo, hi]
            try:
                rows = self.db.execute(sql, (*head, *params, ids)).fetchall()
            except sqlite3.OperationalError as exc:
                out.append(f"query not understood: {exc}")
                continue
            out.append([BackendHit(r[0], r[1], r[2], 0.0) for r in rows])
        return out

    def _compiled_match(self, q: SearchQuery) -> tuple[str, str | None, list[Any]] | str:
        """A saved search as (SQL, MATCH expression or None, filter parameters), or why it cannot
        run; kept by `match_key` (saved searches run after every indexing batch)."""
        key = match_key(q)
        found = self._match_cache.get(key)
        if found is not None:
            return found
        compiled: tuple[str, str | None, list[Any]] | str
        try:
            parsed = parse(q.text)
            check_runnable(parsed.tree)
            where, params = self._filters(q, parsed.filters)
        except QueryError as exc:
            compiled = str(exc)
        else:
            where.append("p.doc_id IN (SELECT value FROM json_each(?))")
            if parsed.tree is not None:
                sql = (
                    "SELECT p.page_id, p.doc_id, p.number FROM search_fts f JOIN search_page p "
                    "ON p.page_id = f.rowid WHERE search_fts MATCH ? AND f.rowid BETWEEN ? AND ?"
                )
                match: str | None = compile_fts(parsed.tree)
            else:
                sql = (
                    "SELECT p.page_id, p.doc_id, p.number FROM search_page p WHERE p.page_id BETWEEN ? AND ?"
                )
                match = None
            compiled = (sql + " AND " + " AND ".join(where) + " ORDER BY p.doc_id, p.number", match, params)
        if len(self._match_cache) >= _MATCH_CACHE:
            self._match_cache.clear()
        self._match_cache[key] = compiled
        return compiled

    def _phrase_pairs(self, terms: tuple[str, ...]) -> list[str] | None:
        """A phrase as pair tokens when each pair of neighbours has a common word, else None."""
        if len(terms) < 2 or any(_SEP in t for t in terms):
            return None
        words = set(terms)
        common = {
            t
            for (t,) in self.db.execute(
                f"SELECT term FROM search_common WHERE term IN ({','.join('?' * len(words))})", list(words)
            )
        }
        if not all(a in common or b in common for a, b in pairwise(terms)):
            return None
        return [a + _SEP + b for a, b in pairwise(terms)]

    def _full_search(
        self,
        q: SearchQuery,
        match: str | None,
        where: list[str],
        params: list[Any],
        table: str = "search_fts",
    ) -> BackendResults:
        """Every matching page evaluated once (materialised), then the page of hits, the total and
        every facet read from that one evaluation in a single statement. `table` is search_fts or,
        for a phrase in pair tokens, search_bigram."""
        if match:
            base = f"FROM {table} f JOIN search_page p ON p.page_id = f.rowid WHERE {table} MATCH ?"
            base_params: list[Any] = [match]
            score = "bm25({}, {}, {}, {})".format(table, *_WEIGHTS)
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
            "withheld": "withheld, doc_id, number",
            "-withheld": "withheld DESC, doc_id, number",
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
                # as the outer loop (else the planner walks every keyword row of these names), and
                # `+k.name` reads each page's keywords in one index range instead of one per name.
                "SELECT 3, k.name, min(k.value COLLATE BINARY), count(*), NULL, NULL FROM m CROSS JOIN search_keyword k "
                f"ON k.page_id = m.page_id AND +k.name IN ({','.join('?' * len(keyword_facets))}) "
                "GROUP BY k.name, k.value"
            )
            part_params += keyword_facets
        sql = (
            "WITH m AS MATERIALIZED (SELECT p.page_id, p.doc_id, p.number, p.date, p.collection, p.lang, p.kind, "
            f"p.year, p.withheld, {score} AS score {base}) " + " UNION ALL ".join(parts)
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
        if q.collections is not None:
            return self._heavy_search_in(term, q, q.collections, row)
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
        info = (
            {
                r[0]: r
                for r in db.execute(
                    f"SELECT page_id, doc_id, number FROM search_page WHERE page_id IN ({','.join('?' * len(where))})",
                    list(where),
                )
            }
            if where
            else {}
        )
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

    def _heavy_search_in(
        self, term: str, q: SearchQuery, collections: tuple[str, ...], row: Any
    ) -> BackendResults | None:
        """`_heavy_search` limited to some collections: the total and facets summed from the
        per-collection counts, the hits from the candidates of those collections among the first
        `valid` (the true best of all pages, so the true best of theirs too)."""
        db = self.db
        df, built_avgdl, valid = int(row[0]), float(row[1]), int(row[2])
        stats = self._fts_stats()
        if stats is None or abs(stats[1] / built_avgdl - 1) > _AVGDL_DRIFT:
            return None
        if not collections:
            return BackendResults(total=0, hits=[], facets={name: [] for name in q.facets})
        names = _heavy_facet_names("collection", collections)
        total = int(
            db.execute(
                f"SELECT coalesce(sum(n), 0) FROM search_heavy_facet WHERE term=? AND name IN ({','.join('?' * len(names))})",
                (term, *names),
            ).fetchone()[0]
        )
        n_rows, avgdl = stats
        cands = db.execute(
            "SELECT t.page_id, t.tfw, t.dl, p.doc_id, p.number, p.collection FROM search_heavy_top t "
            "JOIN search_page p ON p.page_id = t.page_id WHERE t.term=?",
            (term,),
        ).fetchall()
        idf = math.log((n_rows - df + 0.5) / (df + 0.5))
        if idf <= 0.0:
            idf = 1e-6
        scored = sorted(
            (-(idf * _term_weight(tfw, dl, avgdl)), pid, d, num, c) for pid, tfw, dl, d, num, c in cands
        )
        complete = len(cands) >= df
        wanted = set(collections)
        mine = [s for s in (scored if complete else scored[:valid]) if s[4] in wanted]
        if not complete and len(mine) < min(total, q.offset + q.limit):
            return None
        hits = [BackendHit(pid, d, num, -s) for s, pid, d, num, _ in mine[q.offset : q.offset + q.limit]]
        facets: dict[str, list[tuple[str, int]]] = {}
        for name in q.facets:
            per = _heavy_facet_names(name, collections)
            if len(per) == 1 and name not in _COLUMN_FACETS:
                # One collection (a public site's usual case): its rows as the whole index's are read.
                facets[name] = [
                    (str(v), int(n))
                    for v, n in db.execute(
                        "SELECT value, n FROM search_heavy_facet WHERE term=? AND name=? ORDER BY n DESC, value "
                        "LIMIT ?",
                        (term, per[0], q.facet_size),
                    )
                ]
                continue
            counts = {
                str(v): int(n)
                for v, n in db.execute(
                    "SELECT min(value COLLATE BINARY), sum(n) FROM search_heavy_facet "
                    f"WHERE term=? AND name IN ({','.join('?' * len(per))}) GROUP BY value HAVING sum(n) > 0",
                    (term, *per),
                )
            }
            facets[name] = self._top_values(name, counts, q.facet_size)
        end = q.offset + len(hits)
        return BackendResults(
            total=total, hits=hits, facets=facets, next_cursor=[end] if end < total else None
        )


def _heavy_facet_names(name: str, collections: tuple[str, ...]) -> list[str]:
    return [name + _BY_COLLECTION + c for c in collections]


def _by_document(items: Iterable[IndexRecord | list[IndexRecord]]) -> Iterator[list[IndexRecord]]:
    """Each list as it is, and runs of single records of one document together (indexing a
    document replaces all its pages)."""
    run: list[IndexRecord] = []
    for item in items:
        if isinstance(item, list):
            if run:
                yield run
                run = []
            if item:
                yield item
        else:
            if run and run[-1].doc_id != item.doc_id:
                yield run
                run = []
            run.append(item)
    if run:
        yield run


def _bigram_columns(cols: Iterable[str | None], common: set[str]) -> list[list[str]]:
    """The pair row of a search_fts row: per column, one token per word (so the same lengths),
    "a_b" where word a is followed by b and either is common, else the filler "_"."""
    out = []
    for text in cols:
        words = (text or "").split()
        grams = [a + _SEP + b if a in common or b in common else _SEP for a, b in pairwise(words)]
        if words:
            grams.append(_SEP)
        out.append(grams)
    return out


def _tracked(pair: str, common: set[str]) -> bool:
    """Whether search_df counts a pair token: only when both words are common. Any other pair has
    a word in fewer than heavy_df pages (it was never common), so it cannot be heavy itself; when
    that word becomes common, the pages with it (all the pair's pages) are re-made and counted."""
    a, sep, b = pair.partition(_SEP)
    return bool(sep) and a in common and b in common


def _fts_tfw(per_column: list[int]) -> float:
    """A term's weighted frequency in a row summed as FTS5's bm25 sums it: the column's weight
    added once per instance, columns in order (so the float is the same to the last bit)."""
    v = 0.0
    for w, n in zip(_WEIGHTS, per_column, strict=True):
        for _ in range(n):
            v += w
    return v


def _term_counts(cols: Iterable[str | None], grams: list[list[str]]) -> tuple[dict[str, list[int]], int]:
    """Per term and pair token of a page its count in each column, and the row length."""
    parts = [(c or "").split() for c in cols]
    per: dict[str, list[int]] = {}
    for i, (col, pairs) in enumerate(zip(parts, grams, strict=True)):
        for t, n in (*Counter(col).items(), *Counter(pairs).items()):
            if t != _SEP:
                per.setdefault(t, [0, 0, 0])[i] = n
    return per, sum(len(p) for p in parts)


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
        tf: dict[str, list[int]],
        dl: int,
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
        collection = columns[0]
        for t in terms:
            self.df[t] += sign
            for name, v in values:
                self.facets[(t, name, v)] += sign
                self.facets[(t, name + _BY_COLLECTION + collection, v)] += sign
            if sign > 0:
                tfw = _fts_tfw(tf[t])
                # Offered; _apply_heavy keeps the best HEAVY_TOP per term.
                self.added.append((t, page_id, tfw, dl, _term_weight(tfw, dl, self.avgdl or dl)))
            else:
                self.removed.append((t, page_id))
