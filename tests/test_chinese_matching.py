"""How Chinese text is matched: Traditional folds to Simplified, any run of characters is found
(the index's character stream), and snippets mark exactly what was found in the page's own script;
ASCII matches found by regex equal the tokenizer's."""

from __future__ import annotations

import re

import pytest

import archive.analysis as analysis
from archive.analysis import BREAK, CHARS, _jieba, han_chars, index_text, index_words, normalize
from archive.hanfold import fold_han, traditional_to_simplified
from archive.search.query import Or, Phrase, Term, parse
from archive.search.snippets import has_match, make_snippet, matching_tokens

ZH = [
    "南海海洋研究所在军事基地附近进行海洋调查。",
    "调查报告由国防部发布，有关部门正在审阅。",
    "关于军事基地扩建的会议纪要已经完成。",
    "中国饮料有限公司的合同已经签署。",
    "海洋环境保护计划需要更多预算。",
    "中華民國國防部表示，基地擴建計畫仍在審查中。",
]


def test_traditional_folds_to_simplified_one_character_for_one():
    assert fold_han("中華民國國防部 測試 格式測試") == "中华民国国防部 测试 格式测试"
    # Characters that are also Simplified forms are never changed (后, 干, 著, 乾 in 乾隆).
    assert fold_han("后来 干部 著名 乾隆 发") == "后来 干部 著名 乾隆 发"
    table = traditional_to_simplified()
    assert len(table) > 2500 and all(len(k) == len(v) == 1 for k, v in table.items())
    for text in ZH:
        assert len(fold_han(text)) == len(text)


def test_index_holds_words_then_every_han_character():
    text = "海洋调查 and 王明: 國防部"
    stream = index_text(text).split()
    words = index_words(text)
    assert stream[: len(words)] == words
    # Traditional characters are indexed in their Simplified form, in both parts.
    assert "国防部" in words and "國防部" not in stream
    assert stream[len(words)] == CHARS
    assert stream[len(words) + 1 :] == ["海", "洋", "调", "查", BREAK, "王", "明", "国", "防", "部"]
    # Punctuation and spaces between Han characters don't break the row; other letters do.
    assert han_chars("海 洋，研究") == ["海", "洋", "研", "究"]
    assert han_chars("海x洋") == ["海", BREAK, "洋"]
    assert "\ue000" not in " ".join(analysis.query_terms("\ue000 \ue001 x"))
    # English text has no character stream.
    assert index_text("naval base") == "naval base"


def test_chinese_query_text_is_a_word_or_its_characters():
    assert parse("海洋").tree == Or((Term("海洋"), Phrase(("海", "洋"), chars=True)))
    assert parse("王").tree == Term("王")
    assert parse("測試").tree == Or((Term("测试"), Phrase(("测", "试"), chars=True)))
    assert parse('"王明 先生"').tree == Or(
        (Phrase(("王明", "先生")), Phrase(("王", "明", "先", "生"), chars=True))
    )
    # Mixed scripts stay words.
    assert parse("F35战斗机").tree == Phrase(("f35", "战斗", "战斗机"))


@pytest.mark.parametrize(
    ("text", "query", "marked"),
    [
        ("中華民國國防部表示", "国防部", ["國防部"]),  # found in Traditional, marked in the page's own script
        ("调查报告由国防部发布", "國防部", ["国防部"]),
        ("上海洋山港的调查", "海洋", ["海洋"]),  # across jieba's words 上海 / 洋山港
        ("海 洋 调 查", "海洋", ["海 洋"]),  # OCR spacing
        ("王明先生和王红", "王", ["王", "王"]),
        ("海x洋 海洋", "海洋", ["海洋"]),  # another script's letters break the row
        ("会议纪要 meeting 会议", "会议 meeting", ["会议", "meeting", "会议"]),
    ],
)
def test_marks_are_the_occurrences_of_the_characters(text, query, marked):
    terms = parse(query).positive_terms()
    snippet = str(make_snippet(text, terms))
    assert re.findall(r"<mark>(.*?)</mark>", snippet) == marked
    assert has_match(text, terms)
    assert [normalize(text)[t.start : t.end] for t in matching_tokens(text, terms)] == marked


def test_search_tokens_are_jiebas_search_mode():
    tk = _jieba()
    for text in ZH:
        expected = [(w, s, e) for w, s, e in tk.tokenize(text.rstrip("。"), mode="search") if w.strip()]
        got = [(t.term, t.start, t.end) for t in analysis.search_tokens(tk.cut(text.rstrip("。")), 0)]
        assert got == expected


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
