"""Saved searches matched with the batch's terms at hand (archive/search/prefilter.py) find exactly
what they find without them: random documents and random queries, on a real Elasticsearch node
(with and without the terms) and on SQLite (which must agree on documents of real words)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import es_fixtures
import pytest
from es_fixtures import new_index_name
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.analysis import index_text
from archive.search.base import IndexRecord, MatchOutcome, SearchQuery
from archive.search.elastic import ElasticBackend
from archive.search.prefilter import PageTerms
from archive.search.query import QueryError, parse
from archive.search.sqlite import SqliteBackend

es_url = es_fixtures.es_url  # fixture

# Words that overlap on purpose: prefixes of one another, a phrase's parts, Chinese words and
# their characters (Traditional and Simplified), accents and a capital, a word over 255 characters.
WORDS = [
    "naval",
    "nav",
    "navy",
    "base",
    "bases",
    "budget",
    "ref12",
    "ref123",
    "ref1234",
    "海洋",
    "海",
    "洋",
    "军事基地",
    "軍事",
    "基地",
    "測試",
    "测试",
    "王明",
    "甲东",
    "Straße",
    "café",
    "CAFE",
    "x" * 300,
    "𠀀" * 200,
    "s.43(2)",
]
_QUERY_PIECES = st.sampled_from(
    [
        *WORDS,
        "nav*",
        "ref1*",
        "海*",
        "AND",
        "OR",
        "NOT",
        "-naval",
        '"naval base"',
        '"海洋 军事基地"',
        "(",
        ")",
    ]
    + [
        "lang:zh",
        "lang:en",
        "lang:ZH",
        "collection:c1",
        "year:2019",
        "from:2020",
        "to:2019-05-01",
        "kind:email",
    ]
    + ["sender:alice@example.org", "sender:ALICE@EXAMPLE.ORG", "sender:álvaro@example.es", "sender:bob"]
)
_QUERIES = st.lists(st.one_of(_QUERY_PIECES, st.text(max_size=5)), min_size=1, max_size=6).map(" ".join)
_REAL_TEXT = st.lists(st.sampled_from(WORDS), max_size=10).map(" ".join)
_ANY_TEXT = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), max_size=10).map(" ".join)


def _documents(text: st.SearchStrategy[str]) -> st.SearchStrategy[list[dict[str, Any]]]:
    page = st.tuples(text, st.one_of(st.just(""), text))  # original, translation
    doc = st.fixed_dictionaries(
        {
            "pages": st.lists(page, min_size=1, max_size=3),
            "lang": st.sampled_from(["en", "zh-Hans"]),
            "collection": st.sampled_from(["c1", "c2"]),
            "year": st.sampled_from([2019, 2020]),
            # Senders in any case, one outside ASCII, and an alias (a watchlist's other spelling).
            "sender": st.lists(
                st.sampled_from(["alice@example.org", "Alice@Example.org", "ÁLVARO@example.es", "bob"]),
                max_size=2,
            ),
            "alias": st.sampled_from([[], ["alice@example.org"], ["Bob"]]),
        }
    )
    return st.lists(doc, min_size=1, max_size=4)


_ids = itertools.count(1)


def _records(docs: list[dict[str, Any]]) -> tuple[list[int], list[IndexRecord]]:
    """The documents as the indexer makes them, under ids no earlier example used."""
    doc_ids, records = [], []
    for doc in docs:
        doc_id = next(_ids)
        doc_ids.append(doc_id)
        for number, (text, translation) in enumerate(doc["pages"], 1):
            records.append(
                IndexRecord(
                    page_id=doc_id * 10 + number,
                    doc_id=doc_id,
                    number=number,
                    collection=doc["collection"],
                    kind="email",
                    lang=doc["lang"],
                    title=f"document {doc_id}",
                    body=index_text(text),
                    translation=index_text(translation),
                    date=f"{doc['year']}-05-01T00:00:00Z",
                    keywords={"sender": doc.get("sender", []), "sender_alias": doc.get("alias", [])},
                )
            )
    return doc_ids, records


@pytest.fixture(scope="module")
def backends(
    tmp_path_factory: pytest.TempPathFactory, es_url: str
) -> Iterator[tuple[ElasticBackend, SqliteBackend]]:
    es = ElasticBackend(es_url, new_index_name("prefilter"))
    lite = SqliteBackend(Path(tmp_path_factory.mktemp("prefilter")) / "search.db")
    yield es, lite
    es.drop()
    es.close()
    lite.close()


def _index(
    backends: tuple[ElasticBackend, SqliteBackend], docs: list[dict[str, Any]]
) -> tuple[list[int], list[IndexRecord]]:
    es, lite = backends
    doc_ids, records = _records(docs)
    by_doc = {d: [r for r in records if r.doc_id == d] for d in doc_ids}
    assert es.index_batch(by_doc, fresh=doc_ids) == {}
    for recs in by_doc.values():
        lite.index(recs)
    return doc_ids, records


def _pages(outcomes: Sequence[MatchOutcome]) -> list[Any]:
    """Per query its (document, page) hits, or that it could not run (the reasons differ by engine)."""
    return ["error" if isinstance(o, str) else [(h.doc_id, h.number) for h in o] for o in outcomes]


@pytest.mark.elasticsearch
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=_documents(_ANY_TEXT), queries=st.lists(_QUERIES, min_size=1, max_size=8))
def test_the_batch_terms_never_change_what_matches(backends, docs, queries):
    es, _ = backends
    doc_ids, records = _index(backends, docs)
    asked = [SearchQuery(q) for q in queries]
    with_terms = es.match_documents(asked, doc_ids, records)
    assert _pages(with_terms) == _pages(es.match_documents(asked, doc_ids))
    # And what the node found is within what the terms allowed.
    trees = {}
    for q in queries:
        with contextlib.suppress(QueryError):
            trees[q] = parse(q).tree
    terms = PageTerms(records, trees.values())
    for q, outcome in zip(queries, with_terms, strict=True):
        if not isinstance(outcome, str):
            assert {h.page_id for h in outcome} <= terms.candidates(trees[q])


@pytest.mark.elasticsearch
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=_documents(_REAL_TEXT), queries=st.lists(_QUERIES, min_size=1, max_size=8))
def test_both_backends_match_the_same_pages(backends, docs, queries):
    es, lite = backends
    doc_ids, records = _index(backends, docs)
    asked = [SearchQuery(q) for q in queries]
    assert _pages(es.match_documents(asked, doc_ids, records)) == _pages(
        lite.match_documents(asked, doc_ids, records)
    )


def test_terms_rule_out_only_what_cannot_match():
    _, records = _records(
        [
            {
                "pages": [("naval base ref1234", ""), ("海洋 budget", "ocean")],
                "lang": "en",
                "collection": "c1",
                "year": 2019,
            },
            {"pages": [("navy", "")], "lang": "en", "collection": "c2", "year": 2020},
        ]
    )
    queries = ["naval", "nav*", '"base naval"', "naval OR ocean", "naval budget", "navy -naval", "洋", "jari"]
    queries += ["NOT jari naval OR (ref1234 -x)", "collection:c1"]
    terms = PageTerms(records, [parse(q).tree for q in queries])
    pages = {r.body.split()[0]: r.page_id for r in records}
    naval, ocean, navy = pages["naval"], pages["海洋"], pages["navy"]

    everything = {r.page_id for r in records}

    def cand(q: str) -> set[int]:
        return set(terms.candidates(parse(q).tree))

    assert cand("naval") == {naval}
    assert cand("nav*") == everything  # a prefix: no condition
    assert cand('"base naval"') == {naval}  # the order is the engine's to check
    assert cand("naval OR ocean") == {naval, ocean}
    assert cand("naval budget") in ({naval}, {ocean})  # the rarest side decides: the node does the rest
    assert cand("navy -naval") == {navy}
    assert cand("洋") == {ocean}  # a character of a word, from the character stream
    assert cand("jari") == set()
    assert cand("NOT jari naval OR (ref1234 -x)") == {naval}
    assert cand("collection:c1") == everything  # a filter alone: any page
    assert cand("海洋") == everything  # a term not asked at construction: no condition


def test_filters_rule_out_pages_the_engine_would_not_pass():
    docs = [
        {"pages": [("naval", "")], "lang": "zh-Hans", "collection": "c1", "year": 2019},
        {
            "pages": [("naval", "")],
            "lang": "en",
            "collection": "c2",
            "year": 2020,
            "sender": ["Alice@Example.org"],
        },
        {
            "pages": [("naval", "")],
            "lang": "en",
            "collection": "c2",
            "year": 2020,
            "sender": ["ÁLVARO@example.es"],
        },
        {"pages": [("naval", "")], "lang": "en", "collection": "c1", "year": 2021, "alias": ["bob"]},
    ]
    _, records = _records(docs)
    zh, alice, alvaro, bob = (r.page_id for r in records)
    terms = PageTerms(records, [])

    def passing(
        filters: dict[str, list[str]], date_from: str | None = None, date_to: str | None = None
    ) -> set[int]:
        return set(terms.filter_pages(filters, date_from, date_to))

    assert passing({"collection": ["c1"]}) == {zh, bob}
    assert passing({"lang": ["zh"]}) == {zh}  # zh-Hans: a prefix before "-"
    assert passing({"lang": ["ZH"]}) == {zh}  # case-insensitively, as the engine's prefix
    assert passing({"year": ["2020", "2021"]}) == {alice, alvaro, bob}
    assert passing({"sender": ["alice@example.org"]}) == {alice, alvaro}  # any case; outside ASCII: unsure
    assert passing({"sender": ["BOB"]}) == {bob, alvaro}  # the alias counts
    assert passing({"sender": ["alice@example.org"], "collection": ["c1"]}) == set()
    assert passing({}, "2020-01-01", "2020-12-31") == {alice, alvaro}
    assert passing({}, None, "2019-05-01") == {zh}  # the whole day of `to`


@pytest.mark.elasticsearch
def test_matching_is_scoped_to_the_batch_even_with_gaps_in_its_ids(backends):
    es, _ = backends
    doc_ids, records = _index(
        backends, [{"pages": [("naval base", "")], "lang": "en", "collection": "c1", "year": 2019}] * 40
    )
    # Runs of consecutive ids (ranges), then more runs than ranges are used for (a list of ids).
    for batch in (doc_ids[:2] + doc_ids[3:5], doc_ids[::2]):
        assert sorted({d for d, _ in _pages(es.match_documents([SearchQuery("naval")], batch))[0]}) == batch
    assert len(ElasticBackend._match_scope(doc_ids[:2] + doc_ids[3:5])[0]["bool"]["should"]) == 2
    assert ElasticBackend._match_scope(doc_ids[:10]) == [
        {"range": {"doc_id": {"gte": doc_ids[0], "lte": doc_ids[9]}}}
    ]
    assert "terms" in ElasticBackend._match_scope(doc_ids[::2])[1]


@pytest.mark.elasticsearch
@pytest.mark.parametrize("prefilter", ["0", "1"])
def test_an_archive_hands_the_batch_terms_only_when_asked(tmp_path, es_url, monkeypatch, prefilter):
    from archive import Archive
    from archive.search import prefilter as module

    built: list[int] = []
    real = module.PageTerms.__init__

    def counting(self, records, trees=()):
        built.append(1)
        real(self, records, trees)

    monkeypatch.setattr(module.PageTerms, "__init__", counting)
    index = new_index_name("prefilter-archive")
    config = {
        "search": "elasticsearch",
        "elasticsearch_url": es_url,
        "elasticsearch_index": index,
        "match_prefilter": prefilter,
    }
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "a.txt").write_text("The Jari contract for the naval base.", encoding="utf-8")
    (folder / "b.txt").write_text("Minutes of the budget meeting.", encoding="utf-8")
    with Archive(tmp_path / "archive", config) as a:
        try:
            a.alerts.add("jari", "Jari")
            a.alerts.add("absent", "dredging")
            a.ingest([folder / "a.txt", folder / "b.txt"], collection="releases")
            hits = {
                name: [h["title"] for h in a.alerts.hits(a.alerts.find(name))] for name in ("jari", "absent")
            }  # type: ignore[arg-type]
            assert hits == {"jari": ["a.txt"], "absent": []}
            assert bool(built) == (prefilter == "1")
        finally:
            a.backend.drop()  # type: ignore[attr-defined]


@pytest.mark.elasticsearch
def test_a_group_matching_more_pages_than_a_window_is_read_to_its_end(backends, monkeypatch):
    es, _ = backends
    doc_ids, records = _index(
        backends, [{"pages": [("naval base", "")] * 3, "lang": "en", "collection": "c1", "year": 2019}] * 5
    )
    from archive.search import elastic

    monkeypatch.setattr(elastic, "MAX_WINDOW", 4)  # 15 pages match: four windows of pages
    [found] = _pages(es.match_documents([SearchQuery("naval")], doc_ids))
    assert found == [(d, n) for d in doc_ids for n in (1, 2, 3)]
