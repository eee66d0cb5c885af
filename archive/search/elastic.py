"""Elasticsearch backend: the same contract as the SQLite one, for archives that outgrow a file.

Terms come from `archive.analysis` (already NFKC-normalised, case-folded and jieba-segmented), so
the index only splits on whitespace (the built-in `whitespace` analyzer): the mapping needs
nothing beyond a core node (no analysis-common, ICU, percolator or painless), and both backends
see the same tokens.

Layout: pages are documents (`_id` = page id) in a versioned index `<name>-v<ns>` behind the alias
`<name>`. `rebuild` fills a new version and swaps the alias atomically, so `foi reindex` never
leaves searchers without an index. Every engine failure surfaces as `SearchError` (so ingest marks
documents index-pending and carries on), `SearchUnavailable` when the node cannot be reached at
all (so a batch stops trying); queries the engine rejects in raw mode as `QueryError`.

Writes: `index_batch` sends many documents in one bulk stream and reports which ones the node
refused; the indexer queues documents and flushes through it. The callback given to
`set_before_read` (by the indexer) runs before every read and on close, so queued documents are
sent before anyone looks for them.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple

from elastic_transport import Transport
from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError
from elasticsearch.helpers import streaming_bulk

from ..analysis import ANALYSIS_VERSION
from . import SearchUnavailable
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
from .prefilter import PageTerms
from .query import And, Node, Not, Or, Phrase, QueryError, Term, check_runnable, parse

log = logging.getLogger(__name__)

# Field boosts mirror the SQLite bm25 column weights: original, then translation, then gloss.
FIELD_BOOSTS = {"body": 1.0, "translation": 0.7, "gloss": 0.4}
COLUMN_FIELDS = ("collection", "lang", "kind", "year")
TEXT_ANALYZER = "whitespace"
KEYWORDS = "kw"  # object holding every keyword list (sender, recipient, entity, exemption, ...)
MAX_WINDOW = 10_000  # index.max_result_window: deeper pages need the search_after cursor
_ID_PAGE = 1_000
_LABEL_CANDIDATES = 20  # page ids fetched per request when looking for a document's pages
# Saved searches per search of a matching `_msearch` (named clauses; their clauses stay far below
# the node's bool clause limit), and how long the node may take over the whole `_msearch`.
_MATCH_GROUP = 100
_MATCH_RUNS = 16  # a batch in at most this many runs of consecutive ids is scoped by their ranges
_MATCH_TIMEOUT = 120.0

# Bumped whenever MAPPING or the analysed token stream changes: an index made by another version
# is refused with a message to run `foi reindex` (which builds a new version and swaps it in).
MAPPING_VERSION = 3  # 3: redaction keywords and `withheld` (issue #18)
# The keyword lists every page may carry (`IndexRecord.keywords`), each declared below.
KEYWORD_FIELDS = (
    "sender",
    "recipient",
    "entity",
    "entity_alias",
    "exemption",
    "exemption_alias",
    "redacted",
    "bad_redaction",
)
# Filters match case-insensitively (SQLite: COLLATE NOCASE); `.raw` keeps the spelling for facet labels.
_KEYWORD: dict[str, Any] = {
    "type": "keyword",
    "normalizer": "foi_lower",
    "fields": {"raw": {"type": "keyword"}},
}

# Every field is declared: Elasticsearch never guesses a type (with date detection on, a keyword
# list whose first value looked like a date became `date` and refused every later e-mail address).
# A field outside the mapping is refused (`strict`); a keyword list not in KEYWORD_FIELDS is still
# a keyword, by the one dynamic template, whatever its first value looks like.
MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "date_detection": False,
    "numeric_detection": False,
    "_meta": {"foi_mapping_version": MAPPING_VERSION, "foi_analysis_version": ANALYSIS_VERSION},
    "properties": {
        "page_id": {"type": "long"},
        "doc_id": {"type": "long"},
        "number": {"type": "integer"},
        "collection": {"type": "keyword"},
        "kind": {"type": "keyword"},
        "lang": {"type": "keyword"},
        "year": {"type": "keyword"},
        # ISO 8601 strings compared as strings, exactly as SQLite compares them.
        "date": {"type": "keyword"},
        "title": {"type": "keyword", "index": False, "doc_values": False},
        "body": {"type": "text", "analyzer": TEXT_ANALYZER},
        "translation": {"type": "text", "analyzer": TEXT_ANALYZER},
        "gloss": {"type": "text", "analyzer": TEXT_ANALYZER},
        # Share of the document's text area withheld by redactions (sort `withheld`).
        "withheld": {"type": "float"},
        KEYWORDS: {
            "type": "object",
            "dynamic": True,
            "properties": {name: _KEYWORD for name in KEYWORD_FIELDS},
        },
    },
    "dynamic_templates": [
        {
            "keywords": {
                "path_match": f"{KEYWORDS}.*",
                "match_mapping_type": "string",
                "mapping": _KEYWORD,
            }
        }
    ],
}

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "analysis": {
        # A core node has no `whitespace` tokenizer for custom analyzers (that lives in
        # analysis-common), but it has the built-in `whitespace` analyzer (Lucene's
        # WhitespaceAnalyzer: that tokenizer, no filters) and the pre-built `lowercase` filter.
        "normalizer": {"foi_lower": {"type": "custom", "filter": ["lowercase"]}},
    },
}

_COMPAT_MIME = re.compile(r"application/vnd\.elasticsearch\+([\w.-]+);\s*compatible-with=\d+")


class _PlainJsonTransport(Transport):
    """Sends plain `application/json` instead of the client's `compatible-with=<client major>` types.

    A 9.x client would otherwise be refused by an 8.x node ("Accept version must be either version
    8 or 7"); plain JSON means "the node's own version" to both 8.x and 9.x nodes.
    """

    def perform_request(self, method: str, target: str, *, headers: Any = None, **kwargs: Any) -> Any:
        if isinstance(headers, Mapping):
            plain = {
                k: _COMPAT_MIME.sub(r"application/\1", v) if isinstance(v, str) else v
                for k, v in headers.items()
            }
            return super().perform_request(method, target, headers=plain, **kwargs)
        return super().perform_request(method, target, **kwargs)


def _text_clause(field: str, node: Term | Phrase) -> dict[str, Any]:
    boost = FIELD_BOOSTS[field]
    if isinstance(node, Phrase):
        return {
            "match_phrase": {
                field: {"query": " ".join(node.terms), "analyzer": TEXT_ANALYZER, "boost": boost}
            }
        }
    if node.prefix:
        return {"prefix": {field: {"value": node.term, "boost": boost}}}
    return {"term": {field: {"value": node.term, "boost": boost}}}


def compile_query(node: Node) -> dict[str, Any]:
    """The Query DSL for a parsed query; mirrors `sqlite.compile_fts`.

    A term or phrase matches a page when it occurs in any text field (a phrase within one field);
    AND/OR/NOT combine per page, so `a b` matches with `a` in the original and `b` in the
    translation, as FTS5 does. No user text is ever parsed as engine syntax.
    """
    if isinstance(node, Term | Phrase):
        return {"bool": {"should": [_text_clause(f, node) for f in FIELD_BOOSTS], "minimum_should_match": 1}}
    if isinstance(node, Or):
        return {"bool": {"should": [compile_query(i) for i in node.items], "minimum_should_match": 1}}
    if isinstance(node, And):
        must = [compile_query(i) for i in node.items if not isinstance(i, Not)]
        must_not = [compile_query(i.item) for i in node.items if isinstance(i, Not)]
        if not must:
            raise QueryError("a query needs at least one term that is not negated")
        clause: dict[str, Any] = {"must": must}
        if must_not:
            clause["must_not"] = must_not
        return {"bool": clause}
    raise QueryError("a query needs at least one term that is not negated")


def filter_clauses(
    filters: Mapping[str, list[str]], date_from: str | None, date_to: str | None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, values in filters.items():
        if not values:
            continue
        if name == "lang":
            # `zh` matches zh-Hans and zh-Hant.
            should: list[dict[str, Any]] = []
            for v in values:
                should.append({"term": {"lang": v}})
                should.append({"prefix": {"lang": {"value": v + "-", "case_insensitive": True}}})
            out.append({"bool": {"should": should, "minimum_should_match": 1}})
        elif name in COLUMN_FIELDS:
            out.append({"terms": {name: list(values)}})
        else:
            # Every value must be present (a page from Alice AND to Bob), case-insensitively.
            # A filter matches a value or an alias of it (watchlist entities have aliases).
            out.extend(
                {
                    "bool": {
                        "should": [
                            {"term": {f"{KEYWORDS}.{name}": v}},
                            {"term": {f"{KEYWORDS}.{name}_alias": v}},
                        ],
                        "minimum_should_match": 1,
                    }
                }
                for v in values
            )
    if date_from or date_to:
        bounds: dict[str, str] = {}
        if date_from:
            bounds["gte"] = date_from
        if date_to:
            bounds["lt"] = day_after(date_to)
        out.append({"range": {"date": bounds}})
    return out


def _source(r: IndexRecord) -> dict[str, Any]:
    keywords: dict[str, list[str]] = {}
    for name, values in r.keywords.items():
        kept = [v for v in dict.fromkeys(values) if v]  # distinct, in order
        if kept:
            keywords[name] = kept
    return {
        "page_id": r.page_id,
        "doc_id": r.doc_id,
        "number": r.number,
        "collection": r.collection,
        "kind": r.kind,
        "lang": r.lang,
        "year": r.year,
        "date": r.date,
        "title": r.title,
        "body": r.body,
        "translation": r.translation,
        "gloss": r.gloss,
        "withheld": r.withheld,
        KEYWORDS: keywords,
    }


# A bulk action as the helper sends it: its action line and source line, already serialised.
Encoded = tuple[bytes, bytes | None]

# The client's JSON (compact, not ASCII-escaped), made once instead of once per call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
# Only what `_bulk_items` reads of a bulk response: a smaller body to send and to parse.
_BULK_FILTER = "items.*._id,items.*.status,items.*.error"


def encode_pages(records: Iterable[IndexRecord]) -> list[Encoded]:
    """Bulk index actions for pages, serialised (what the client's serializer would make of
    `{"index": {"_id": ...}}` and `_source(r)`)."""
    return [
        (b'{"index":{"_id":"%d"}}' % r.page_id, _JSON.encode(_source(r)).encode("utf-8", "surrogatepass"))
        for r in records
    ]


def _encoded_delete(page_id: str) -> Encoded:
    return _JSON.encode({"delete": {"_id": page_id}}).encode("utf-8", "surrogatepass"), None


def _as_encoded(action: Encoded) -> Encoded:
    """`expand_action_callback` for actions that are already serialised."""
    return action


def _flatten(items: Iterable[IndexRecord | list[IndexRecord]]) -> Iterator[IndexRecord]:
    for item in items:
        if isinstance(item, IndexRecord):
            yield item
        else:
            yield from item


class ElasticBackend:
    """Pages in Elasticsearch. Construction does not contact the node (a dead node must not stop
    an archive from opening); the index and alias are created on first write."""

    name = "elasticsearch"
    supports_batches = True

    def __init__(
        self,
        url: str,
        index: str = "foi",
        *,
        request_timeout: float = 10.0,
        max_retries: int = 2,
        chunk_size: int = 500,
        bulk_retries: int = 6,
        initial_backoff: float = 0.5,
        max_backoff: float = 8.0,
        client: Elasticsearch | None = None,
    ):
        self.url = url
        self.alias = index
        self.chunk_size = chunk_size
        self.bulk_retries = bulk_retries
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        # Short timeouts and few retries: a dead node must not hang an ingest. 429s are left to
        # the bulk helper, which backs off exponentially instead of hammering a busy node.
        self.es = client or Elasticsearch(
            url,
            request_timeout=request_timeout,
            max_retries=max_retries,
            retry_on_timeout=False,
            retry_on_status=(502, 503, 504),
            transport_class=_PlainJsonTransport,
        )
        self._ready = False
        self._version_checked = False
        # Written since the last refresh: refresh before reading, so a process reads its own
        # writes as it does with SQLite (bulk writes themselves never wait for a refresh).
        self._dirty = False
        # Documents written since the refresh that saw them -> the write's number. Writes (the
        # indexer's sending thread) and refreshes (the saved-search matching thread) may overlap:
        # a refresh forgets only what was acknowledged before it started (archive/index_matching.py).
        self._unrefreshed_docs: dict[int, int] = {}
        self._writes = 0
        self._writes_lock = threading.Lock()
        # Called before every read and on close; never from a write (no re-entry from a flush).
        self._before_read_hook: Callable[[], object] | None = None
        self._match_cache: dict[tuple[Any, ...], _Compiled | str] = {}

    def set_before_read(self, callback: Callable[[], object] | None) -> None:
        """Call `callback` before every read and on close (None: no callback)."""
        self._before_read_hook = callback

    def generation(self) -> int | None:
        """None: another process's writes cannot be told apart cheaply, so results are not cached."""
        return None

    def close(self) -> None:
        hook, self._before_read_hook = self._before_read_hook, None
        if hook is not None:
            try:
                hook()
            except Exception:  # closing must not fail; queued documents stay index-pending
                log.warning("could not send queued documents before closing", exc_info=True)
        # What this process wrote is searchable by the next one at once (a `foi ingest` then a
        # `foi serve`), not after the node's next periodic refresh.
        try:
            self._refresh_if_dirty()
        except Exception:  # closing must not fail; the node refreshes by itself later
            log.warning("could not refresh the index before closing", exc_info=True)
        self.es.close()

    def _before_read(self) -> None:
        if self._before_read_hook is not None:
            self._before_read_hook()

    # -- plumbing ---------------------------------------------------------------------------

    def _fail(self, action: str, exc: Exception) -> SearchError:
        if isinstance(exc, ApiError):
            reason = _api_reason(exc)
            # 5xx: the node is there but cannot serve (starting, no master, overloaded).
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            cls = SearchUnavailable if status >= 500 else SearchError
            return cls(f"Elasticsearch at {self.url} refused to {action}: {reason}")
        return SearchUnavailable(f"Elasticsearch at {self.url} is unreachable ({action}): {exc}")

    def _new_index_name(self) -> str:
        return f"{self.alias}-v{time.time_ns()}"

    def _create_index(self, name: str, bulk_load: bool = False, with_alias: bool = False) -> None:
        settings = dict(SETTINGS)
        if bulk_load:
            settings["refresh_interval"] = "-1"
        # Created with its alias in one step, as the alias's only write index: when two processes
        # race to create the first version, the second create fails instead of leaving the alias
        # on two indices (where writes would have no target).
        aliases = {self.alias: {"is_write_index": True}} if with_alias else None
        self.es.indices.create(index=name, settings=settings, mappings=MAPPING, aliases=aliases)

    def _alias_targets(self) -> list[str]:
        """Concrete indices behind the alias; [] when there is none yet."""
        try:
            resp = self.es.indices.get_alias(name=self.alias)
        except NotFoundError:
            return []
        return sorted(resp.body.keys())

    def ensure_index(self) -> None:
        """Create a first versioned index behind the alias unless the alias (or an index) exists."""
        if self._ready:
            return
        try:
            if not self.es.indices.exists(index=self.alias):
                try:
                    self._create_index(self._new_index_name(), with_alias=True)
                except ApiError:
                    if not self.es.indices.exists(index=self.alias):
                        raise  # not a lost race: a real refusal
            # Another process may have just created it: wait until its shard can serve.
            self.es.cluster.health(index=self.alias, wait_for_active_shards="1", timeout="10s")
        except (ApiError, TransportError) as exc:
            raise self._fail("create the index", exc) from exc
        self.check_version()
        self._ready = True

    def check_version(self) -> None:
        """SearchError when the index behind the alias was made by another mapping or analysis
        version (its terms or field types would not be what this code searches for): the message
        says to run `foi reindex`. Checked once per backend; no index yet is fine."""
        if self._version_checked:
            return
        try:
            resp = self.es.indices.get_mapping(index=self.alias)
        except NotFoundError:
            return
        except (ApiError, TransportError) as exc:
            raise self._fail("read the index mapping", exc) from exc
        for name, body in sorted(resp.body.items()):
            meta = (body.get("mappings") or {}).get("_meta") or {}
            found = (meta.get("foi_mapping_version"), meta.get("foi_analysis_version"))
            if found != (MAPPING_VERSION, ANALYSIS_VERSION):
                raise SearchError(
                    f"the Elasticsearch index {name} was made by another version of foi (mapping "
                    f"{found[0]}, analysis {found[1]}; this one needs mapping {MAPPING_VERSION}, analysis "
                    f"{ANALYSIS_VERSION}): run `foi reindex` to rebuild it"
                )
        self._version_checked = True

    def refresh(self) -> None:
        """Make every write so far visible to searches."""
        # Cleared before the request: a write acknowledged while it runs sets it again.
        self._dirty = False
        with self._writes_lock:
            seen = self._writes
        try:
            self.es.indices.refresh(index=self.alias, ignore_unavailable=True)
        except NotFoundError:
            pass
        except (ApiError, TransportError) as exc:
            self._dirty = True
            raise self._fail("refresh", exc) from exc
        with self._writes_lock:
            self._unrefreshed_docs = {d: n for d, n in self._unrefreshed_docs.items() if n > seen}

    def _note_written(self, docs: Iterable[int]) -> None:
        """Documents sent (before the request) or acknowledged (after it): not seen by a search
        until a refresh that starts after this."""
        with self._writes_lock:
            self._writes += 1
            self._unrefreshed_docs.update(dict.fromkeys(docs, self._writes))

    def _refresh_if_dirty(self) -> None:
        if self._dirty:
            self.refresh()

    def _bulk_items(
        self, actions: Iterable[Encoded], index: str, chunk_size: int | None = None
    ) -> tuple[int, list[tuple[str, str]]]:
        """Send serialised actions in chunks; items rejected with 429 are retried with exponential
        back-off.

        Returns how many actions succeeded and (id, reason) of each item the node refused in the
        end. Raises SearchUnavailable/SearchError when a whole request fails (node down, ...).
        """
        done = 0
        failed: list[tuple[str, str]] = []
        try:
            # raise_on_error=False: with True the helper raises on the first 429 instead of retrying.
            for ok, info in streaming_bulk(
                self.es,
                actions,  # type: ignore[arg-type]  # (action, source) lines, see _as_encoded
                index=index,
                chunk_size=chunk_size or self.chunk_size,
                max_retries=self.bulk_retries,
                initial_backoff=self.initial_backoff,
                max_backoff=self.max_backoff,
                raise_on_error=False,
                expand_action_callback=_as_encoded,  # type: ignore[arg-type]
                filter_path=_BULK_FILTER,
                # Writes through the alias never auto-create a concrete index with guessed mappings
                # if someone deleted ours; they fail, and the next write re-creates it properly.
                require_alias=index == self.alias,
            ):
                op, item = next(iter(info.items()))
                if ok or (op == "delete" and item.get("status") == 404):
                    done += 1
                else:
                    failed.append((str(item.get("_id")), _item_reason(item)))
        except (ApiError, TransportError) as exc:
            self._ready = False
            raise self._fail("index pages", exc) from exc
        finally:
            self._dirty = True
        if failed:
            self._ready = False  # a lost index shows as rejected items: check it on the next write
        return done, failed

    def _bulk(self, actions: Iterable[Encoded], index: str) -> int:
        """`_bulk_items`, raising SearchError naming the first rejected item."""
        done, failed = self._bulk_items(actions, index)
        if failed:
            raise SearchError(
                f"Elasticsearch at {self.url} rejected {len(failed)} page(s) of a bulk request: {failed[0][1]}"
            )
        return done

    def _bulk_pipelined(self, records: Iterable[IndexRecord], index: str) -> int:
        """`_bulk` of the records' index actions, one request in flight on a sending thread while
        this one takes the next chunk from `records` (store reads, for a rebuild) and serialises it."""
        done = 0
        inflight: Future[int] | None = None
        pages = iter(records)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="foi-rebuild") as sender:
            while chunk := list(itertools.islice(pages, self.chunk_size)):
                encoded = encode_pages(chunk)
                if inflight is not None:
                    done += inflight.result()
                inflight = sender.submit(self._bulk, encoded, index)
            if inflight is not None:
                done += inflight.result()
        return done

    def _page_ids(self, query: dict[str, Any]) -> list[str]:
        """Ids of every indexed page matching `query`, paged with search_after."""
        return [pid for pid, _doc in self._pages(query)]

    def _pages(self, query: dict[str, Any]) -> list[tuple[str, int]]:
        """(page id, document id) of every indexed page matching `query`, paged with search_after."""
        ids: list[tuple[str, int]] = []
        after: list[Any] | None = None
        while True:
            size = min(_ID_PAGE, MAX_WINDOW)
            body: dict[str, Any] = {
                "query": query,
                "size": size,
                "sort": [{"page_id": "asc"}],
                "_source": ["doc_id"],
            }
            if after is not None:
                body["search_after"] = after
            resp = self.es.search(index=self.alias, **body)
            hits = resp["hits"]["hits"]
            ids += [(h["_id"], int(h["_source"]["doc_id"])) for h in hits]
            if len(hits) < size:
                return ids
            after = hits[-1]["sort"]

    # -- writing ----------------------------------------------------------------------------

    def index(self, records: list[IndexRecord]) -> None:
        """Replace the indexed pages of the records' documents with these records.

        A call carries every page of each document it names: pages of those documents that are
        not in `records` are deleted (as SQLite does). Raises SearchError when the node is down or
        rejects pages after the 429 back-off; the caller keeps the document index-pending."""
        if not records:
            return
        docs: dict[int, list[IndexRecord]] = {}
        for r in records:
            docs.setdefault(r.doc_id, []).append(r)
        failed = self.index_batch(docs)
        if failed:
            first = next(iter(failed.values()))
            raise SearchError(f"{first} ({len(failed)} of {len(docs)} document(s) not indexed)")

    def encode_batch(self, docs: Mapping[int, list[IndexRecord]]) -> list[Encoded]:
        """The serialised index actions `index_batch` sends for these documents' pages (made
        beforehand by a caller that sends from another thread)."""
        return encode_pages(r for recs in docs.values() for r in recs)

    def index_batch(
        self,
        docs: Mapping[int, list[IndexRecord]],
        fresh: Collection[int] = (),
        encoded: list[Encoded] | None = None,
    ) -> dict[int, str]:
        """Index many documents in one bulk stream (chunks of `chunk_size` actions).

        `docs` maps each document to all its pages (an empty list deletes its indexed pages):
        pages of a document that its list does not hold are deleted, after one look-up for the
        whole batch. Documents in `fresh` were never indexed, so they need no look-up.
        `encoded`: `encode_batch(docs)`, when the caller made it already (the queue does, in its
        own thread, while the previous batch is in flight).

        Returns {document id: reason} for documents with a page the node refused (after the 429
        back-off); every other document is indexed. Raises SearchUnavailable when the node cannot
        be reached and SearchError when it refuses a whole request: then nothing counts as indexed.
        """
        if not docs:
            return {}
        self.ensure_index()
        fresh_set = set(fresh)
        owner: dict[str, int] = {}  # page id -> document, to pin a refused item on its document
        for doc_id, recs in docs.items():
            for r in recs:
                owner[str(r.page_id)] = doc_id
        check = sorted(d for d in docs if d not in fresh_set)
        stale: list[tuple[str, int]] = []
        if check:
            keep = [str(r.page_id) for d in check for r in docs[d]]
            try:
                if any(d in self._unrefreshed_docs for d in check):
                    self.refresh()  # the look-up must see this process's recent writes
                # Pages of these documents that the new records do not overwrite (a re-extraction
                # with fewer pages or new page ids) go, as SQLite deletes them.
                query: dict[str, Any] = {"bool": {"filter": [{"terms": {"doc_id": check}}]}}
                if keep:
                    query["bool"]["must_not"] = [{"ids": {"values": keep}}]
                stale = self._pages(query)
            except (ApiError, TransportError) as exc:
                self._ready = False  # check (and re-create) the index on the next write
                raise self._fail("look up indexed pages", exc) from exc
        for pid, doc_id in stale:
            owner[pid] = doc_id
        if encoded is None:
            encoded = self.encode_batch(docs)
        actions = itertools.chain((_encoded_delete(pid) for pid, _ in stale), encoded)
        self._note_written(docs)
        # A batch of whole documents slightly over `chunk_size` goes as one request, not as a
        # full one and a tiny one (up to twice the size; max_chunk_bytes still caps the body).
        chunk = max(self.chunk_size, min(len(owner), 2 * self.chunk_size))  # owner: every action's id
        try:
            _done, refused = self._bulk_items(actions, self.alias, chunk)
        finally:
            self._note_written(docs)  # again: a refresh that started meanwhile may not have seen it
        per_doc: dict[int, list[str]] = {}
        for pid, reason in refused:
            per_doc.setdefault(owner.get(pid, -1), []).append(reason)
        if -1 in per_doc:  # cannot happen (every id is ours), but never report success for it
            lost = per_doc.pop(-1)
            for doc_id in docs:
                per_doc.setdefault(doc_id, lost)
        return {
            doc_id: f"Elasticsearch at {self.url} rejected {len(reasons)} page(s) of a bulk request: {reasons[0]}"
            for doc_id, reasons in per_doc.items()
        }

    def delete_document(self, doc_id: int) -> None:
        self._before_read()
        try:
            if not self.es.indices.exists(index=self.alias):
                return
            self._refresh_if_dirty()
            ids = self._page_ids({"term": {"doc_id": doc_id}})
        except (ApiError, TransportError) as exc:
            raise self._fail("look up indexed pages", exc) from exc
        self._bulk((_encoded_delete(pid) for pid in ids), self.alias)

    def clear(self) -> None:
        """Empty the index (a fresh version behind the alias)."""
        self.rebuild([], 0)

    def rebuild(self, records: Iterable[IndexRecord | list[IndexRecord]], count: int | None = None) -> int:
        """Index everything into a new version, then swap the alias atomically and drop the old.

        `records` yields records or per-document lists of them; `count` (documents) is only for the
        log. Searches keep using the old version until the swap; on failure the new version is
        deleted and the old one stays in service. Returns the number of pages indexed.
        """
        new = self._new_index_name()
        old: list[str] = []
        try:
            self._create_index(new, bulk_load=True)
        except (ApiError, TransportError) as exc:
            raise self._fail("create a new index version", exc) from exc
        started = time.monotonic()
        try:
            pages = self._bulk_pipelined(_flatten(records), new)
            self.es.indices.put_settings(index=new, settings={"index": {"refresh_interval": None}})
            self.es.indices.refresh(index=new)
            old = self._alias_targets()
            actions: list[dict[str, Any]] = [
                {"add": {"index": new, "alias": self.alias, "is_write_index": True}}
            ]
            if not old and self.es.indices.exists(index=self.alias):
                # A plain index squats on the alias name (made by hand or an older version): replace it.
                actions.append({"remove_index": {"index": self.alias}})
            actions += [{"remove": {"index": o, "alias": self.alias}} for o in old]
            self.es.indices.update_aliases(actions=actions)
        except BaseException as exc:
            try:
                self.es.indices.delete(index=new, ignore_unavailable=True)
            except (ApiError, TransportError):
                log.warning("could not delete the unfinished index %s", new)
            if isinstance(exc, (ApiError, TransportError)):
                raise self._fail("rebuild the index", exc) from exc
            raise
        for o in sorted(set(old) | set(self._orphans(older_than=new))):
            try:
                self.es.indices.delete(index=o, ignore_unavailable=True)
            except (ApiError, TransportError):
                log.warning("could not delete the old index %s", o)
        self._ready = True
        self._version_checked = True
        self._dirty = False
        with self._writes_lock:
            self._unrefreshed_docs.clear()
        log.info(
            "rebuilt %s as %s: %d pages of %s documents in %.1fs",
            self.alias,
            new,
            pages,
            count if count is not None else "?",
            time.monotonic() - started,
        )
        return pages

    def _orphans(self, older_than: str) -> list[str]:
        """Versions of this alias left behind by rebuilds that failed while the node was away.

        Only versions older than `older_than` are listed (two rebuilds at once are not supported,
        but a newer one in progress is never touched)."""
        pattern = re.compile(re.escape(self.alias) + r"-v(\d+)")
        own = pattern.fullmatch(older_than)
        try:
            names = self.es.indices.get(index=f"{self.alias}-v*", allow_no_indices=True).body.keys()
        except (ApiError, TransportError):
            return []
        found = []
        for name in names:
            m = pattern.fullmatch(name)
            if m and own and int(m.group(1)) < int(own.group(1)):
                found.append(name)
        return found

    def drop(self) -> None:
        """Delete the alias and every index behind it (tests, `foi` teardown)."""
        try:
            targets = self._alias_targets()
            if not targets and self.es.indices.exists(index=self.alias):
                targets = [self.alias]
            for t in targets:
                self.es.indices.delete(index=t, ignore_unavailable=True)
        except (ApiError, TransportError) as exc:
            raise self._fail("delete the index", exc) from exc
        self._ready = False

    def count(self) -> int:
        self._before_read()
        try:
            self._refresh_if_dirty()
            return int(self.es.count(index=self.alias)["count"])
        except NotFoundError:
            return 0
        except (ApiError, TransportError) as exc:
            raise self._fail("count pages", exc) from exc

    # -- reading ----------------------------------------------------------------------------

    def build_request(self, q: SearchQuery) -> dict[str, Any]:
        """The search request body for a query (public so the benchmark can send it raw)."""
        parsed = parse(q.text) if not q.raw else None
        filters, date_from, date_to = merged_filters(q, parsed.filters if parsed else {})
        match: dict[str, Any] | None
        if q.raw:
            text = _fold_raw(q.text.strip())
            match = (
                {
                    "query_string": {
                        "query": text,
                        "fields": [f"{f}^{b}" for f, b in FIELD_BOOSTS.items()],
                        "default_operator": "AND",
                    }
                }
                if text
                else None
            )
        else:
            assert parsed is not None
            check_runnable(parsed.tree)
            match = compile_query(parsed.tree) if parsed.tree is not None else None
        query: dict[str, Any] = {"bool": {"filter": filter_clauses(filters, date_from, date_to)}}
        if q.collections is not None:  # what the viewer may read, inside the query (archive/access.py)
            query["bool"]["filter"].append({"terms": {"collection": list(q.collections)}})
        if q.exclude_docs:
            query["bool"]["must_not"] = [{"terms": {"doc_id": list(q.exclude_docs)}}]
        if match is not None:
            query["bool"]["must"] = [match]
        tail = [{"doc_id": "asc"}, {"number": "asc"}, {"page_id": "asc"}]
        sort: list[Any]
        if q.sort == "date":
            sort = [{"date": {"order": "asc", "missing": "_last"}}, *tail]
        elif q.sort == "-date":
            sort = [{"date": {"order": "desc", "missing": "_last"}}, *tail]
        elif q.sort in ("withheld", "-withheld"):
            direction = "desc" if q.sort == "-withheld" else "asc"
            sort = [{"withheld": {"order": direction, "missing": "_last"}}, *tail]
        elif match is not None:
            sort = [{"_score": "desc"}, {"page_id": "asc"}]
        else:
            sort = tail
        body: dict[str, Any] = {
            "query": query,
            "size": q.limit + 1,  # one more tells whether a next page exists
            "sort": sort,
            "_source": ["doc_id", "number"],
            "track_total_hits": True,
            "track_scores": match is not None,
        }
        if q.search_after:
            body["search_after"] = list(q.search_after)
        elif q.offset:
            body["from"] = q.offset
        aggs: dict[str, Any] = {}
        for name in q.facets:
            order = [{"_count": "desc"}, {"_key": "asc"}]
            if name in COLUMN_FIELDS:
                aggs[name] = {"terms": {"field": name, "size": q.facet_size, "order": order}}
            else:
                field = f"{KEYWORDS}.{name}"
                aggs[name] = {
                    "terms": {"field": field, "size": q.facet_size, "order": order},
                    # The original spelling for the label: the most frequent raw value of the
                    # bucket's pages that folds to the key (pages carry other values too).
                    "aggs": {"label": {"terms": {"field": field + ".raw", "size": _LABEL_CANDIDATES}}},
                }
        if aggs:
            body["aggs"] = aggs
        return body

    def search(self, q: SearchQuery) -> BackendResults:
        body = self.build_request(q)
        if not q.search_after and q.offset + q.limit + 1 > MAX_WINDOW:
            raise QueryError(f"results beyond {MAX_WINDOW} need the next_cursor of the previous page")
        self._before_read()
        try:
            self.check_version()
            self._refresh_if_dirty()
            resp = self.es.search(index=self.alias, **body)
        except NotFoundError as exc:
            if _api_type(exc) == "index_not_found_exception":
                return BackendResults(total=0, hits=[], facets={name: [] for name in q.facets})
            raise self._fail("search", exc) from exc
        except ApiError as exc:
            if exc.status_code == 400 and q.raw:
                raise QueryError(f"query not understood: {_api_reason(exc)}") from exc
            if exc.status_code == 400 and q.search_after:
                raise QueryError(f"the cursor does not fit this search: {_api_reason(exc)}") from exc
            raise self._fail("search", exc) from exc
        except TransportError as exc:
            raise self._fail("search", exc) from exc
        hits_json = resp["hits"]["hits"]
        more = len(hits_json) > q.limit
        hits_json = hits_json[: q.limit]
        total = int(resp["hits"]["total"]["value"])
        hits = [
            BackendHit(
                int(h["_id"]),
                int(h["_source"]["doc_id"]),
                int(h["_source"]["number"]),
                float(h.get("_score") or 0.0),
            )
            for h in hits_json
        ]
        facets: dict[str, list[tuple[str, int]]] = {}
        for name in q.facets:
            buckets = resp.get("aggregations", {}).get(name, {}).get("buckets", [])
            facets[name] = [(_label(b), int(b["doc_count"])) for b in buckets]
        next_cursor = list(hits_json[-1]["sort"]) if hits_json and more else None
        return BackendResults(total=total, hits=hits, facets=facets, next_cursor=next_cursor)

    def match_documents(
        self,
        queries: Sequence[SearchQuery],
        doc_ids: Collection[int],
        pages: Collection[IndexRecord] | None = None,
    ) -> list[MatchOutcome]:
        """Each query over the pages of `doc_ids` only, in one `_msearch` (no percolator needed).

        Queries go `_MATCH_GROUP` to a search, each as a named clause of one `should` under a
        filter on the batch: the node evaluates the group over the batch's pages once and says per
        page which queries matched (`matched_queries`), instead of running a search per query.
        The filter comes first as a `must` (a doc-id range, then the ids), so that the node skips
        the older segments before it looks up any query's terms there.

        With `pages` (these documents' records as they were just indexed) a query none of whose
        pages can match (archive.search.prefilter: its terms are not there, or no page passes its
        filters) is not sent, and the
        queries are grouped by how many pages they can match (the broad ones together): the node
        decides the same hits on less. A group the node refuses is run query by query, so one bad
        query marks only itself."""
        ids = sorted({int(d) for d in doc_ids})
        out: list[MatchOutcome | None] = [None] * len(queries)
        compiled = [self._compiled_match(q) for q in queries]
        terms = None
        if pages is not None and ids:
            terms = PageTerms(pages, (c.tree for c in compiled if not isinstance(c, str)))
        clauses: dict[int, dict[str, Any]] = {}
        restrict: dict[int, frozenset[int]] = {}
        for i, c in enumerate(compiled):
            if isinstance(c, str):
                out[i] = c
                continue
            if terms is not None:
                restrict[i] = terms.candidates(c.tree)
                if restrict[i] and (c.filters or c.date_from or c.date_to):
                    restrict[i] = frozenset(
                        restrict[i] & terms.filter_pages(c.filters, c.date_from, c.date_to)
                    )
                if not restrict[i]:
                    out[i] = []  # none of its terms is on these pages
                    continue
            clauses[i] = {"bool": {**c.clause, "_name": str(i)}}
        if ids and clauses:
            order = sorted(clauses, key=lambda i: -len(restrict[i])) if terms is not None else list(clauses)
            groups = [order[k : k + _MATCH_GROUP] for k in range(0, len(order), _MATCH_GROUP)]
            scope = self._match_scope(ids)
            for group, resp in zip(groups, self._msearch_groups(scope, groups, clauses), strict=True):
                if "error" not in resp:
                    found: dict[int, list[BackendHit]] = {i: [] for i in group}
                    for h in resp["hits"]["hits"]:
                        hit = _match_hit(h)
                        for name in h.get("matched_queries") or ():
                            found[int(name)].append(hit)
                    for i, hits in found.items():
                        out[i] = hits
                    continue
                err = resp["error"] if isinstance(resp["error"], dict) else {"reason": resp["error"]}
                if err.get("type") == "index_not_found_exception":
                    continue  # nothing indexed yet: no hits
                if len(group) == 1:
                    out[group[0]] = (
                        f"Elasticsearch refused the query: {err.get('type', '')}: {err.get('reason', '')}"
                    )
                    continue
                # One query spoils its group: run the group's queries one by one to find it.
                singles = [[i] for i in group]
                for (i,), single in zip(singles, self._msearch_groups(scope, singles, clauses), strict=True):
                    if "error" in single:
                        e = (
                            single["error"]
                            if isinstance(single["error"], dict)
                            else {"reason": single["error"]}
                        )
                        out[i] = (
                            f"Elasticsearch refused the query: {e.get('type', '')}: {e.get('reason', '')}"
                        )
                    else:
                        out[i] = [_match_hit(h) for h in single["hits"]["hits"]]
        return [[] if o is None else o for o in out]

    def _compiled_match(self, q: SearchQuery) -> _Compiled | str:
        """A saved search's bool clauses (filter, must) and parsed tree, or why it cannot run;
        kept by `match_key`."""
        key = match_key(q)
        found = self._match_cache.get(key)
        if found is not None:
            return found
        compiled: _Compiled | str
        try:
            parsed = parse(q.text)
            check_runnable(parsed.tree)
            filters, date_from, date_to = merged_filters(q, parsed.filters)
            clause: dict[str, Any] = {"filter": filter_clauses(filters, date_from, date_to)}
            if parsed.tree is not None:
                clause["must"] = [compile_query(parsed.tree)]
            compiled = _Compiled(clause, parsed.tree, filters, date_from, date_to)
        except QueryError as exc:
            compiled = str(exc)
        if len(self._match_cache) >= 20_000:
            self._match_cache.clear()
        self._match_cache[key] = compiled
        return compiled

    @staticmethod
    def _match_scope(doc_ids: list[int]) -> list[dict[str, Any]]:
        """What a matching search is restricted to: the batch's documents (sorted, distinct), as
        a range (cheap to rule a segment out) then the ids themselves; when they are a few runs
        of consecutive ids (an ingest's new documents are), the ranges of those runs alone, which
        the node checks faster than a list of ids."""
        runs: list[tuple[int, int]] = []
        for d in doc_ids:
            if runs and d == runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], d)
            else:
                runs.append((d, d))
                if len(runs) > _MATCH_RUNS:
                    return [
                        {"range": {"doc_id": {"gte": doc_ids[0], "lte": doc_ids[-1]}}},
                        {"terms": {"doc_id": doc_ids}},
                    ]
        ranges = [{"range": {"doc_id": {"gte": a, "lte": b}}} for a, b in runs]
        return ranges if len(ranges) == 1 else [{"bool": {"should": ranges, "minimum_should_match": 1}}]

    def _msearch_groups(
        self,
        scope: list[dict[str, Any]],
        groups: list[list[int]],
        clauses: dict[int, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        bodies: list[dict[str, Any]] = []
        for group in groups:
            lines.append({"index": self.alias})
            bodies.append(
                {
                    "query": {
                        "bool": {
                            "must": scope,
                            "should": [clauses[i] for i in group],
                            "minimum_should_match": 1,
                        }
                    },
                    "size": MAX_WINDOW,
                    "sort": [{"doc_id": "asc"}, {"number": "asc"}],
                    # From doc values: no stored field (not even _id) to load and parse per hit;
                    # the document and page come with the sort values.
                    "_source": False,
                    "stored_fields": "_none_",
                    "docvalue_fields": ["page_id"],
                    "track_total_hits": False,
                }
            )
            lines.append(bodies[-1])
        try:
            # Always: the documents may have been indexed by another process (one killed before
            # matching them, or a concurrent ingest), whose writes this one's flag does not see.
            self.refresh()
            es = self.es.options(request_timeout=_MATCH_TIMEOUT)
            responses = list(es.msearch(searches=lines)["responses"])
            # A group that matched a full window of pages goes on from its last page (a batch
            # without its records, one a killed process left, has no cap on its pages).
            for body, resp in zip(bodies, responses, strict=True):
                hits = resp.get("hits", {}).get("hits", []) if "error" not in resp else []
                page = hits
                while len(page) >= MAX_WINDOW:
                    page = es.search(index=self.alias, **body, search_after=page[-1]["sort"])["hits"]["hits"]
                    hits.extend(page)
        except NotFoundError:
            return [{"hits": {"hits": []}} for _ in groups]
        except (ApiError, TransportError) as exc:
            raise self._fail("match saved searches", exc) from exc
        return responses


class _Compiled(NamedTuple):
    """A saved search as the matching `_msearch` runs it, with the tree `PageTerms` reads."""

    clause: dict[str, Any]
    tree: Node | None
    filters: dict[str, list[str]]
    date_from: str | None
    date_to: str | None


def _match_hit(h: dict[str, Any]) -> BackendHit:
    doc_id, number = h["sort"]  # the matching searches sort by document and page
    return BackendHit(int(h["fields"]["page_id"][0]), int(doc_id), int(number), 0.0)


_RAW_WORD = re.compile(r"[^\W_]+")
_RAW_OPERATORS = {"AND", "OR", "NOT", "TO"}


def _fold_raw(text: str) -> str:
    """Case-fold the words of a raw query (operators excepted): the index holds case-folded terms
    and a core node has no lowercase analyzer for `query_string` to apply (FTS5 folds by itself)."""
    text = unicodedata.normalize("NFKC", text)
    return _RAW_WORD.sub(lambda m: m.group() if m.group() in _RAW_OPERATORS else m.group().casefold(), text)


def _label(bucket: dict[str, Any]) -> str:
    key = str(bucket["key"])
    for candidate in bucket.get("label", {}).get("buckets", []):
        if str(candidate["key"]).lower() == key:
            return str(candidate["key"])
    return key


def _item_reason(item: dict[str, Any]) -> str:
    """`429 es_rejected_execution_exception: ...` for a bulk response item."""
    reason = item.get("error", item)
    if isinstance(reason, dict):
        return f"{item.get('status')} {reason.get('type', '')}: {reason.get('reason', '')}"
    return f"{item.get('status')} {reason}"


def _api_type(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error")
    return err.get("type", "") if isinstance(err, dict) else ""


def _api_reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error")
    if isinstance(err, dict):
        root = (err.get("root_cause") or [err])[0]
        return f"{exc.status_code} {root.get('type', '')}: {root.get('reason', '')}".strip()
    return f"{exc.status_code} {exc.message}"
