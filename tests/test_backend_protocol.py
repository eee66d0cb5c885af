"""What the SearchBackend protocol declares beyond index and search, on the embedded backend (the
Elasticsearch side runs in test_elasticsearch.py): batches, rebuild, the before-read callback and
the index generation. Nothing here is probed with getattr: every backend has every method."""

from __future__ import annotations

from archive.search import SearchQuery
from archive.search.base import IndexRecord
from archive.search.elastic import ElasticBackend
from archive.search.sqlite import SqliteBackend


def _page(page_id: int, doc_id: int, body: str) -> IndexRecord:
    return IndexRecord(page_id, doc_id, page_id, "c", "text", "en", f"d{doc_id}", body=body)


def _docs(backend: SqliteBackend, text: str) -> list[int]:
    return sorted({h.doc_id for h in backend.search(SearchQuery(text, limit=50)).hits})


def test_sqlite_rebuild_empties_the_index_and_fills_it_again(tmp_path):
    backend = SqliteBackend(tmp_path / "x.sqlite3")
    backend.index([_page(1, 1, "harbour"), _page(2, 1, "harbour survey")])
    before = backend.generation()
    # Per-document lists and runs of single records of one document (each replaces its document).
    pages = backend.rebuild([[_page(3, 2, "harbour")], _page(4, 3, "survey"), _page(5, 3, "harbour")], 2)
    assert pages == 3
    assert backend.count() == 3
    assert _docs(backend, "harbour") == [2, 3] and _docs(backend, "survey") == [3]
    assert backend.generation() != before


def test_sqlite_index_batch_indexes_and_deletes_whole_documents(tmp_path):
    backend = SqliteBackend(tmp_path / "x.sqlite3")
    assert backend.supports_batches is False  # the indexer sends it one document at a time
    backend.index([_page(1, 1, "harbour"), _page(2, 2, "harbour")])
    docs = {1: [], 3: [_page(3, 3, "harbour")]}
    assert backend.index_batch(docs, fresh=[3], encoded=backend.encode_batch(docs)) == {}
    assert _docs(backend, "harbour") == [2, 3]


def test_before_read_callback_runs_before_reads_and_on_close(tmp_path):
    backend = SqliteBackend(tmp_path / "x.sqlite3")
    calls: list[str] = []
    backend.set_before_read(lambda: calls.append("read"))
    backend.index([_page(1, 1, "harbour")])
    assert calls == []  # never from a write
    backend.search(SearchQuery("harbour"))
    backend.count()
    assert calls == ["read", "read"]
    backend.set_before_read(None)
    backend.count()
    backend.set_before_read(lambda: calls.append("close"))
    backend.close()
    assert calls == ["read", "read", "close"]


def test_elasticsearch_has_no_generation_so_its_results_are_not_cached():
    backend = ElasticBackend("http://127.0.0.1:9", "unused")  # construction contacts no node
    try:
        assert backend.supports_batches is True
        assert backend.generation() is None
    finally:
        backend.close()
