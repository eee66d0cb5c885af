"""Snippets and matched fields found fast (from the jieba cut kept at analysis, ASCII by regex) equal the recomputed ones."""

from __future__ import annotations

import random

import pytest

import archive.analysis as analysis
import archive.search.snippets as snippets
from archive.analysis import _HAN, _jieba, index_text, index_text_and_cuts, normalize
from archive.search.query import parse
from archive.search.snippets import KeptCuts, has_match, make_snippet, matched_fields, matching_tokens

ZH = [
    "南海海洋研究所在军事基地附近进行海洋调查。",
    "调查报告由国防部发布，有关部门正在审阅。",
    "关于军事基地扩建的会议纪要已经完成。",
    "中国饮料有限公司的合同已经签署。",
    "海洋环境保护计划需要更多预算。",
    "中華民國國防部表示，基地擴建計畫仍在審查中。",
]
QUERIES = [
    "海洋",
    "基地",
    "军事基地",
    "国防部",
    "國防部",
    "海*",
    "police OR 国防部",
    '"军事 基地"',
    "研究所 budget",
    "军事 基地 军事基地",  # several tokens of one word: tokenize's order
    "国防 防部 国防部 研究",
]


def _texts(corpus) -> list[str]:
    rnd = random.Random(3)
    made = ["".join(rnd.choice(ZH) for _ in range(rnd.randint(1, 40))) for _ in range(40)]
    # Mixed scripts, spaces between Chinese runs (windows start at a space), full-width forms.
    made += [
        "Minutes of the naval base meeting 海洋调查 and 军事基地 report; ＡＢＣ 基地。",
        " ".join(ZH * 8),
        "police 国防部" + "海洋" * 300,  # a window cuts this run short: jieba again for it
    ]
    made += [p.read_text(encoding="utf-8", errors="replace") for p in sorted(corpus.rglob("*.txt"))]
    return [t for t in made if _HAN.search(normalize(t))]


def test_search_tokens_are_jiebas_search_mode():
    tk = _jieba()
    for text in ZH:
        expected = [(w, s, e) for w, s, e in tk.tokenize(text.rstrip("。"), mode="search") if w.strip()]
        got = [(t.term, t.start, t.end) for t in analysis.search_tokens(tk.cut(text.rstrip("。")), 0)]
        assert got == expected


def test_index_text_and_cuts_keeps_the_index_text(corpus):
    for text in _texts(corpus):
        terms, cut = index_text_and_cuts(text)
        assert terms == index_text(text)
        assert cut is not None and len(cut) == len(normalize(text))
    assert index_text_and_cuts("no chinese here") == ("no chinese here", None)


def test_snippets_from_kept_cuts_equal_the_recomputed_ones(corpus, monkeypatch):
    texts = _texts(corpus)
    expected = {}
    for text in texts:
        for q in QUERIES:
            terms = parse(q).positive_terms()
            expected[text, q] = (str(make_snippet(text, terms)), has_match(text, terms), matching_tokens(text, terms))
    jieba_runs: list[str] = []
    real = snippets._han_tokens

    def counting(run: str, offset: int, for_index: bool):
        jieba_runs.append(run)
        return real(run, offset, for_index)

    monkeypatch.setattr(snippets, "_han_tokens", counting)
    for text in texts:
        cut = index_text_and_cuts(text)[1]
        kept = KeptCuts(normalize(text), cut or "")
        for q in QUERIES:
            terms = parse(q).positive_terms()
            want = expected[text, q]
            assert str(make_snippet(text, terms, cuts=cut)) == want[0], (text[:40], q)
            assert has_match(text, terms, kept) == want[1], (text[:40], q)
            assert matching_tokens(text, terms, kept) == want[2], (text[:40], q)
            assert matched_fields({"translation": text}, terms, {"translation": cut or ""}) == (
                ["translation"] if want[1] else []
            )
    # jieba ran only for runs a snippet window cut short (a proper prefix of a run of the text).
    runs = {h.group() for text in texts for h in _HAN.finditer(normalize(text))}
    assert all(run not in runs for run in jieba_runs)
    assert len(jieba_runs) <= len(texts) * len(QUERIES)  # at most one run per snippet


def test_a_cut_of_another_text_is_not_used():
    text = "南海海洋研究所在军事基地附近进行海洋调查。"
    other = index_text_and_cuts("调查报告由国防部发布。")[1]
    assert other is not None
    terms = parse("海洋").positive_terms()
    assert str(make_snippet(text, terms, cuts=other)) == str(make_snippet(text, terms))


@pytest.mark.parametrize("query", ["海洋", "police OR 国防部"])
def test_archive_search_uses_the_kept_cut(tmp_path, monkeypatch, query):
    from archive import Archive
    from archive.models import PageResult
    from archive.search import SearchQuery

    with Archive(tmp_path / "archive", {"search": "sqlite"}) as a:
        with a.store.transaction():
            a.store.ensure_collection("c")
            doc_id = a.store.create_document(
                collection="c", sha256="0" * 64, filename="zh.txt", mime="text/plain", size=1, status="done",
                kind="text", title="zh", lang="zh-Hans", page_count=1, index_pending=1, metadata={},
            )
            a.store.replace_pages(doc_id, [PageResult(number=1, text=ZH[0] + ZH[1] + " police", lang="zh-Hans")])
            a.store_analysis(doc_id)
        a.index_document(doc_id)
        expected = a.search(SearchQuery(query)).hits[0]
        calls: list[str] = []
        real = snippets._han_tokens
        monkeypatch.setattr(snippets, "_han_tokens", lambda run, *args: calls.append(run) or real(run, *args))
        monkeypatch.setattr("archive.core._RESULTS_CACHE_ON", False)
        hit = a.search(SearchQuery(query)).hits[0]
        assert (hit.snippet, hit.matched) == (expected.snippet, expected.matched)
        assert "<mark>" in hit.snippet
        assert not calls  # the snippet came from the kept cut


@pytest.mark.parametrize("query", ["naval", "nav*", "base naval", "b*", "2019"])
def test_ascii_matches_are_the_matching_tokens_of_tokenize(query):
    """The ASCII fast path (a run's start checked after the regex) finds what tokenize would."""
    from archive.analysis import tokenize

    text = "xnaval naval, naval2 NAVAL_base navalx 2019-base nav b2019 _naval base."
    terms = parse(query).positive_terms()
    exact = {t for term in terms for t in ([term.term] if not getattr(term, "prefix", False) else [])}
    prefixes = [term.term for term in terms if getattr(term, "prefix", False)]
    expected = [t for t in tokenize(text) if t.term in exact or any(t.term.startswith(p) for p in prefixes)]
    assert matching_tokens(text, terms) == expected
