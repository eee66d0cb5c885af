"""The embedded backend's fast paths give what a full evaluation gives, and gloss-only hits are marked."""

from __future__ import annotations

import random

from archive import Archive, SearchQuery
from archive.search.base import FACETS, IndexRecord
from archive.search.sqlite import SqliteBackend


def _records(n: int, rng: random.Random, start: int = 1) -> list[IndexRecord]:
    vocab = ["the", "of", "naval", "base", "report"] + [f"w{i}" for i in range(300)]
    weights = [1 / (r + 1) for r in range(len(vocab))]
    out = []
    for i in range(start, start + n):
        body = " ".join(rng.choices(vocab, weights, k=rng.randint(5, 60)))
        gloss = " ".join(rng.choices(vocab, weights, k=rng.randint(0, 6)))
        kw = {"entity": rng.sample(["Org A", "Org B", "org a", "Org C"], rng.randint(0, 2))}
        if i % 3 == 0:
            kw["sender"] = [rng.choice(["Alice", "Bob"])]
        out.append(IndexRecord(i, i, 1, rng.choice(["c1", "c2"]), rng.choice(["text", "mail"]),
                               rng.choice(["en", "zh-Hans"]), f"d{i}", body=body, gloss=gloss,
                               date=f"{2015 + i % 5}-01-01", keywords=kw))
    return out


def _same(backend: SqliteBackend, term: str, offset: int = 0) -> None:
    q = SearchQuery(term, facets=FACETS, facet_size=50, offset=offset)
    fast = backend._heavy_search(term, q)
    assert fast is not None, term
    full = backend._full_search(q, f'"{term}"', [], [])
    assert [h.page_id for h in fast.hits] == [h.page_id for h in full.hits], term
    assert [round(h.score, 9) for h in fast.hits] == [round(h.score, 9) for h in full.hits], term
    assert (fast.total, fast.facets, fast.next_cursor) == (full.total, full.facets, full.next_cursor), term


def test_heavy_terms_match_a_full_evaluation_through_inserts_and_deletes(tmp_path, monkeypatch):
    import archive.search.sqlite as sq

    monkeypatch.setattr(sq, "HEAVY_TOP", 50)
    monkeypatch.setattr(sq, "HEAVY_DF", 40)
    rng = random.Random(5)
    backend = SqliteBackend(tmp_path / "x.sqlite3")
    for batch in range(6):
        backend.index(_records(80, rng, start=1 + batch * 80))
    heavy = [t for (t,) in backend.db.execute("SELECT term FROM search_heavy")]
    assert {"the", "of", "naval"} <= set(heavy)
    for term in heavy:
        _same(backend, term)
        _same(backend, term, offset=5)
    # Deletes and re-indexing move candidates, counts and facets; a term that lost too many
    # candidates is rebuilt.
    for doc_id in rng.sample(range(1, 481), 120):
        backend.delete_document(doc_id)
    backend.index(_records(40, rng, start=1000))
    backend.index(_records(1, rng, start=7))  # re-index of a deleted-or-not page
    for term in heavy:
        _same(backend, term)
    # A fresh open of an index built without the tables builds them.
    backend.db.execute("DELETE FROM search_state")
    backend.close()
    again = SqliteBackend(tmp_path / "x.sqlite3")
    rebuilt = [t for (t,) in again.db.execute("SELECT term FROM search_heavy")]
    assert {"the", "of", "naval"} <= set(rebuilt)
    for term in rebuilt:
        _same(again, term)
    again.close()


def test_gloss_only_hit_marks_the_chinese_words(tmp_path):
    text = "我们在军事基地附近讨论了海洋数据。"
    (tmp_path / "note.txt").write_text(text, encoding="utf-8")
    with Archive(tmp_path / "archive") as archive:
        archive.ingest([tmp_path / "note.txt"])
        (hit,) = archive.search(SearchQuery('"military base"')).hits
        assert hit.matched == ["gloss"]
        assert "<mark>军事基地</mark>" in hit.snippet
        (hit,) = archive.search(SearchQuery("ocean")).hits
        assert "<mark>海洋</mark>" in hit.snippet and hit.snippet.count("<mark>") == 1
