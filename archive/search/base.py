"""The contract every search backend keeps, and the records that cross it."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .query import check_date

# Facets every backend computes; counts are of matching pages.
FACETS = ("collection", "lang", "kind", "year", "sender", "entity", "exemption", "redacted", "bad_redaction")
# Filters every backend applies, and the facet (field) each one restricts.
FILTERS = {
    "collection": "collection",
    "lang": "lang",
    "kind": "kind",
    "year": "year",
    "sender": "sender",
    "recipient": "recipient",
    "entity": "entity",
    "exemption": "exemption",
    "redacted": "redacted",  # yes | no, of the page's document (archive/redactions)
    "bad_redaction": "bad_redaction",
}
# Orders every backend gives hits in: by score, by date, by the share of the document's text
# area withheld by redactions (`withheld` ascending, `-withheld` most withheld first).
SORTS = ("relevance", "date", "-date", "withheld", "-withheld")


class SearchError(RuntimeError):
    """The backend cannot be reached or refused the request; the message is for the user."""


@dataclass
class IndexRecord:
    """One page as a backend indexes it. Text fields hold analysed, whitespace-joined terms."""

    page_id: int
    doc_id: int
    number: int
    collection: str
    kind: str
    lang: str
    title: str
    body: str
    translation: str = ""
    gloss: str = ""
    date: str | None = None  # ISO 8601
    keywords: dict[str, list[str]] = field(default_factory=dict)  # sender, recipient, entity, exemption ...
    withheld: float = 0.0  # share of the document's text area under redaction boxes

    @property
    def year(self) -> str | None:
        return self.date[:4] if self.date else None


@dataclass
class SearchQuery:
    text: str
    raw: bool = False  # pass engine syntax through unescaped (explicit opt-in)
    filters: dict[str, list[str]] = field(default_factory=dict)
    date_from: str | None = None
    date_to: str | None = None
    limit: int = 20
    offset: int = 0
    sort: str = "relevance"  # one of SORTS
    facets: tuple[str, ...] = ()
    facet_size: int = 10
    search_after: list[Any] | None = None  # deep pagination cursor from a previous result
    # What the viewer may read (archive/access.py), applied inside the engine's query so totals,
    # facets and cursors never count anything else: only these collections (None: every one), and
    # never these documents (taken down).
    collections: tuple[str, ...] | None = None
    exclude_docs: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # Dates given apart from the text (API and form parameters) are checked like `from:`/`to:`.
        if self.date_from:
            self.date_from = check_date(self.date_from, "from")
        if self.date_to:
            self.date_to = check_date(self.date_to, "to")


@dataclass
class BackendHit:
    page_id: int
    doc_id: int
    number: int
    score: float


# What `match_documents` gives per query: its hits, or why it cannot run.
MatchOutcome = list[BackendHit] | str


def match_key(q: SearchQuery) -> tuple[Any, ...]:
    """What a query's compiled form depends on, hashable: saved searches run after every indexing
    batch, so backends keep their compiled forms by this key."""
    filters = tuple(sorted((k, tuple(v)) for k, v in q.filters.items()))
    return (q.text, filters, q.date_from, q.date_to)


@dataclass
class BackendResults:
    total: int
    hits: list[BackendHit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    next_cursor: list[Any] | None = None


class SearchBackend(Protocol):
    """A full-text index of pages.

    `search` returns page ids in rank order with the total and facet counts over all matches;
    it raises `QueryError` for queries it cannot run and `SearchError` when the engine fails.
    `index` and `delete_document` raise `SearchError` when the engine is down, so the caller can
    mark documents index-pending and keep everything else.

    Every backend has every method; what differs is said by `supports_batches` (the indexer
    queues documents and sends them with `index_batch`) and by `generation` returning None (no
    result cache).
    """

    name: str
    # True when sending many documents at once is much cheaper than one at a time (a remote
    # engine): the indexer then queues documents for `index_batch` and sets `set_before_read`.
    supports_batches: bool

    def index(self, records: list[IndexRecord]) -> None:
        """Replace the indexed pages of the records' documents with these records."""

    def encode_batch(self, docs: Mapping[int, list[IndexRecord]]) -> Any:
        """What `index_batch` sends for these documents, made beforehand (the indexer does this
        in its own thread while the batch before is in flight); None when there is nothing to
        prepare."""

    def index_batch(
        self, docs: Mapping[int, list[IndexRecord]], fresh: Collection[int] = (), encoded: Any = None
    ) -> dict[int, str]:
        """Index many documents, each with all its pages (an empty list deletes its pages).
        Documents in `fresh` were never indexed; `encoded` is `encode_batch(docs)` or None.
        Returns {document id: reason} for the documents the engine refused; raises `SearchError`
        (`SearchUnavailable` when the engine cannot be reached) when nothing was indexed."""

    def rebuild(self, records: Iterable[IndexRecord | list[IndexRecord]], count: int | None = None) -> int:
        """Make the index hold exactly `records` (records, or a list of each document's records);
        `count` (documents) is only for the log. Returns the number of pages indexed. A versioned
        backend fills a new version and swaps it in (searches see the old one until then); the
        others empty the index and fill it again."""

    def set_before_read(self, callback: Callable[[], object] | None) -> None:
        """Have `callback` called before every read through the backend and on close (never
        from a write), or no callback with None: the indexer's queue is sent before anyone
        looks for what it holds."""

    def generation(self) -> int | None:
        """A number that changes whenever the index changes (in any process), which keys the
        result cache; None for a backend that cannot tell (its results are not cached)."""

    def match_documents(
        self,
        queries: Sequence[SearchQuery],
        doc_ids: Collection[int],
        pages: Collection[IndexRecord] | None = None,
    ) -> list[MatchOutcome]:
        """Run each query over the pages of these documents only (saved searches over what was just
        indexed): per query, its matching pages ordered by document and page number, or the
        reason it cannot run (a `QueryError` message: one bad query does not stop the others).
        `pages`, when the caller has them: every record of these documents as it was indexed
        (a backend may use their terms to spare the engine queries that cannot match; the hits
        are the same). Raises `SearchError` when the engine fails as a whole."""

    def delete_document(self, doc_id: int) -> None: ...

    def search(self, query: SearchQuery) -> BackendResults: ...

    def count(self) -> int: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


def merged_filters(
    q: SearchQuery, extra: Mapping[str, list[str]]
) -> tuple[dict[str, list[str]], str | None, str | None]:
    """The filters of a query (its `filters` and the `field:value` words of its text, empty values
    left out), with the date bounds split off; every backend applies them the same way."""
    filters: dict[str, list[str]] = {}
    for source in (q.filters, extra):
        for k, vs in source.items():
            filters.setdefault(k, []).extend(v for v in vs if v)
    # Both popped always (a leftover `from` would become a keyword filter); [] when `from:""`.
    text_from, text_to = (next(iter(filters.pop(k, [])), None) for k in ("from", "to"))
    return filters, q.date_from or text_from, q.date_to or text_to


def day_after(date: str) -> str:
    """The exclusive upper bound that includes the whole day of a date-only `to` (ISO strings
    compare as strings in both backends)."""
    if len(date) == 10:
        return date + "T99"
    return date + "\uffff"
