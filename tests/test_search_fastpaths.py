"""The embedded backend's fast paths give what a full evaluation gives, and gloss-only hits are marked."""

from __future__ import annotations

import random

from archive import Archive, SearchQuery
from archive.search.base import FACETS, IndexRecord
from archive.search.query import parse
from archive.search.sqlite import SqliteBackend, compile_fts


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
        out.append(
            IndexRecord(
                i,
                i,
                1,
                rng.choice(["c1", "c2"]),
                rng.choice(["text", "mail"]),
                rng.choice(["en", "zh-Hans"]),
                f"d{i}",
                body=body,
                gloss=gloss,
                date=f"{2015 + i % 5}-01-01",
                keywords=kw,
            )
        )
    return out


def _same(backend: SqliteBackend, term: str, offset: int = 0) -> None:
    q = SearchQuery(term, facets=FACETS, facet_size=50, offset=offset)
    fast = backend._heavy_search(term, q)
    assert fast is not None, term
    full = backend._full_search(q, f'"{term}"', [], [])
    assert [h.page_id for h in fast.hits] == [h.page_id for h in full.hits], term
    assert [h.score for h in fast.hits] == [h.score for h in full.hits], term  # bit for bit
    assert (fast.total, fast.facets, fast.next_cursor) == (full.total, full.facets, full.next_cursor), term


def _same_in(backend: SqliteBackend, term: str, collections: tuple[str, ...], offset: int = 0) -> bool:
    """The heavy path limited to some collections (what a viewer may read) against a full
    evaluation; False when the heavy path declined (too few of the collections' pages among its
    candidates) and search() took the full path."""
    q = SearchQuery(term, facets=FACETS, facet_size=50, offset=offset, collections=collections)
    where, params = backend._filters(q, {})
    full = backend._full_search(q, f'"{term}"', where, params)
    fast = backend._heavy_search(term, q)
    if fast is None:
        fast = backend.search(q)
    assert [h.page_id for h in fast.hits] == [h.page_id for h in full.hits], term
    assert [h.score for h in fast.hits] == [h.score for h in full.hits], term
    assert (fast.total, fast.facets, fast.next_cursor) == (full.total, full.facets, full.next_cursor), term
    return backend._heavy_search(term, q) is not None


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
    took = []
    for term in heavy:
        _same(backend, term)
        took += [_same_in(backend, term, ("c1",)), _same_in(backend, term, ("c2", "c1"), offset=3)]
        assert _same_in(backend, term, ())
    assert sum(took) >= len(took) * 0.6, took  # the limited heavy path answers most of them
    # A fresh open of an index built without the tables builds them.
    backend.db.execute("DELETE FROM search_state WHERE key = 'version'")
    backend.close()
    again = SqliteBackend(tmp_path / "x.sqlite3")
    rebuilt = [t for (t,) in again.db.execute("SELECT term FROM search_heavy")]
    assert {"the", "of", "naval"} <= set(rebuilt)
    for term in rebuilt:
        _same(again, term)
        _same_in(again, term, ("c2",))
    again.close()


def _same_phrase(backend: SqliteBackend, text: str, **kw) -> bool:
    """A phrase through search() (pair tokens when it can) against the words' phrase in search_fts.
    Returns whether it took the pair path."""
    q = SearchQuery(text, facets=FACETS, facet_size=50, **kw)
    tree = parse(text).tree
    where, params = backend._filters(q, parse(text).filters)
    fast = backend.search(q)
    full = backend._full_search(q, compile_fts(tree), where, params)
    assert [h.page_id for h in fast.hits] == [h.page_id for h in full.hits], text
    # The same statistics go into the same formula: the scores are identical, not just close.
    assert [h.score for h in fast.hits] == [h.score for h in full.hits], text
    assert (fast.total, fast.facets, fast.next_cursor) == (full.total, full.facets, full.next_cursor), text
    return backend._phrase_pairs(tree.terms) is not None


def test_phrases_of_common_words_match_a_full_evaluation(tmp_path, monkeypatch):
    import archive.search.sqlite as sq

    monkeypatch.setattr(sq, "HEAVY_TOP", 50)
    monkeypatch.setattr(sq, "HEAVY_DF", 40)
    rng = random.Random(9)
    backend = SqliteBackend(tmp_path / "x.sqlite3")
    pages: dict[int, list[str]] = {}

    def index(records: list[IndexRecord]) -> None:
        backend.index(records)
        for r in records:
            pages[r.page_id] = r.body.split()

    # Words become common batch by batch: the pages indexed before get their pairs then.
    index(_records(30, rng))
    assert not backend._common()
    for batch in range(5):
        index(_records(80, rng, start=31 + batch * 80))
    common = backend._common()
    assert {"the", "of", "naval"} <= common

    def phrases(n: int) -> list[str]:
        out = ['"the of"', '"of the"', '"the the"', '"naval base report"', '"w3 the w5"', '"w250 w251"']
        for _ in range(n):
            words = pages[rng.choice(list(pages))]
            k = rng.randrange(max(1, len(words) - 3))
            out.append('"' + " ".join(words[k : k + rng.choice([2, 2, 3, 4])]) + '"')
        return out

    def check_all() -> None:
        # The kept document frequencies are the index's own, for words and pair tokens alike.
        db = backend.db
        db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.v1 USING fts5vocab(main, search_fts, row)")
        db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.v2 USING fts5vocab(main, search_bigram, row)")
        words = dict(db.execute("SELECT term, doc FROM temp.v1"))
        pairs = dict(db.execute("SELECT term, doc FROM temp.v2 WHERE term != '_'"))
        common = backend._common()
        # Pairs are counted when both words are common; no other pair can be heavy.
        tracked = {t: n for t, n in pairs.items() if set(t.split("_")) <= common}
        assert all(n < sq.HEAVY_DF for t, n in pairs.items() if t not in tracked)
        assert dict(db.execute("SELECT term, df FROM search_df")) == words | tracked
        paired = 0
        for text in phrases(60):
            paired += _same_phrase(backend, text)
        assert paired > 30
        for text in ('"the of"', '"of the"'):
            _same_phrase(backend, text, offset=5)
            _same_phrase(backend, text, filters={"collection": ["c1"]})
            _same_phrase(backend, text, sort="date")
        heavy_pairs = [
            t for (t,) in backend.db.execute("SELECT term FROM search_heavy WHERE instr(term, '_')")
        ]
        assert heavy_pairs, "some pairs are heavy"
        for term in heavy_pairs:
            _same(backend, term)
            assert backend.search(SearchQuery(f'"{term.replace("_", " ")}"')).total == backend._df(term)

    check_all()
    for doc_id in rng.sample(sorted(pages), 100):
        backend.delete_document(doc_id)
        del pages[doc_id]
    index(_records(40, rng, start=1000))
    index(_records(1, rng, start=7))
    check_all()
    # An index from before the pair table gets it on open.
    backend.db.execute("DELETE FROM search_state WHERE key = 'version'")
    backend.close()
    backend = SqliteBackend(tmp_path / "x.sqlite3")
    assert backend._common() == common
    check_all()
    backend.close()


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


def test_snippet_tokens_are_the_tokenizers():
    from archive.analysis import tokenize
    from archive.script import HAN
    from archive.search.query import Phrase, Term
    from archive.search.snippets import matching_tokens

    rng = random.Random(3)
    words = [
        "Naval",
        "base",
        "BASES",
        "军事基地",
        "海洋数据",
        "基地",
        "Straße",
        "strasse",
        "x2",
        "ﬁle",
        "file",
        "a海a",
        "研究所A",
        "b研究",
        "_",
        "-",
        "。",
        "\n",
        "Ⅻ",
        "İstanbul",
    ]
    queries = [
        [Term("base")],
        [Term("bas", prefix=True)],
        [Term("基地")],
        [Term("海", prefix=True)],
        [Phrase(("军事", "基地"))],
        [Term("strasse"), Term("file")],
        [Term("研究")],
        [Term("a")],
        [Term("xii")],
        [Term("i̇stanbul")],
        [Term("b"), Term("bas", prefix=True)],
        [Term("x2")],
        [Phrase(("naval", "base"))],
        [Term("a1b"), Term("a", prefix=True)],
        [Term("a"), Term("海")],
        [Term("基地"), Term("base"), Term("军", prefix=True)],
    ]
    ascii_words = [
        "Naval",
        "base",
        "BASES",
        "bas",
        "b",
        "x2",
        "2x",
        "_",
        "-",
        ".",
        "\n",
        "a",
        "A1b",
        "basement",
    ]
    for i in range(600):
        text = " ".join(rng.choices(words if i % 2 else ascii_words, k=rng.randint(1, 30))).replace(
            " _ ", "_"
        )
        for terms in queries:
            if any(HAN.search(t) for q in terms for t in ((q.term,) if isinstance(q, Term) else q.terms)):
                continue  # Chinese terms match as characters in a row: tests/test_chinese_matching.py
            exact = {
                t
                for q in terms
                for t in (
                    (q.term,)
                    if isinstance(q, Term) and not q.prefix
                    else ()
                    if isinstance(q, Term)
                    else q.terms
                )
            }
            prefixes = [q.term for q in terms if isinstance(q, Term) and q.prefix]
            want = [
                tok
                for tok in tokenize(text)
                if tok.term in exact or any(tok.term.startswith(p) for p in prefixes)
            ]
            assert matching_tokens(text, terms) == want, (text, terms)


def test_has_match_agrees_with_matching_tokens_and_marks_escape():
    from archive.search.query import Phrase, Term
    from archive.search.snippets import has_match, mark, matching_tokens

    texts = [
        "我们在军事基地附近讨论了海洋数据。The naval base survey.",
        "海洋调查报告由国防部发布。",
        "The harbour report <b>draft</b> & 'notes'",
        "基地",
        "",
    ]
    queries = [
        [Term("基地")],
        [Term("海洋"), Term("naval")],
        [Term("harb", prefix=True)],
        [Phrase(("naval", "base"))],
        [Phrase(("海洋", "数据")), Term("draft")],
        [Term("国防", prefix=True)],
        [Term("missing")],
    ]
    for text in texts:
        for terms in queries:
            assert has_match(text, terms) == bool(matching_tokens(text, terms)), (text, terms)
    assert (
        str(mark("a <b> & 'c' \"d\"", [(3, 4)]))
        == "a &lt;<mark>b</mark>&gt; &amp; &#x27;c&#x27; &quot;d&quot;"
    )
