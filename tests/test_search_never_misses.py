"""Search never silently misses (issue #13), on both backends.

- Elasticsearch never guesses a field's type: documents are searchable whatever order they
  arrive in, and every field of a real index is declared (or made a keyword by our one template).
- Any run of Chinese characters is found (single characters, substrings across jieba's words,
  OCR-spaced text), whole words rank first, and Traditional and Simplified find each other.
- Malformed queries raise QueryError saying what is wrong, on both backends and in the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import es_fixtures
import pytest
from es_fixtures import drop_index, new_index_name
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive import Archive
from archive.analysis import index_words
from archive.search import QueryError, SearchError, SearchQuery
from archive.search.base import IndexRecord
from archive.search.elastic import _KEYWORD, MAPPING, SETTINGS, ElasticBackend
from archive.search.sqlite import SqliteBackend
from conftest import corpus_file

es_url = es_fixtures.es_url  # fixture

LONG_WORD = "".join("eyJzIjoiS0V5ZTRvLVpfcEdKRGFp"[i % 28] + str(i % 10) for i in range(152))
TEXTS = {
    "simplified.txt": "南海海洋研究所在军事基地附近进行海洋调查。",
    "traditional.txt": "這是格式測試的郵件，王明先生寄出。國防部已經回覆。",
    "across-words.txt": "上海洋山港的集装箱码头扩建计划已经公开。",  # 上海 / 洋山港: 海洋 only as characters
    "whole-word.txt": "这份关于海洋的集装箱码头扩建计划已经公开。",  # 海洋 as a word, the same length
    "ocr-spaced.txt": "海 洋 调 查 报 告 第 三 页",
    "english.txt": "The naval base survey at Portsmouth was withheld under section 43(2).",
    # A 304-character word (base64 in a mail): Elasticsearch's analyzer alone would cut it at 255.
    "long-token.txt": "Tracking token " + LONG_WORD + " end.",
}
# Real files: a text PDF full of dates, a Simplified e-mail, a Traditional Outlook message.
REAL = (
    "pdf-text/alaveteli_psni.pdf",
    "email-eml/demisto_chinese_email_test.eml",
    "email-msg/tika_testMSG_chinese.msg",
)

CASES: dict[str, tuple[str, set[str]]] = {
    "single-character": ("海", {"simplified.txt", "across-words.txt", "whole-word.txt", "ocr-spaced.txt"}),
    "surname": ("王", {"traditional.txt"}),
    "simplified-query-traditional-page": ("测试", {"traditional.txt", "tika_testMSG_chinese.msg"}),
    "traditional-query": ("測試", {"traditional.txt", "tika_testMSG_chinese.msg"}),
    "compound-across-scripts": ("格式测试", {"traditional.txt", "tika_testMSG_chinese.msg"}),
    "traditional-word-simplified-page": ("軍事基地", {"simplified.txt"}),
    "substring-across-words": ("洋山", {"across-words.txt"}),
    "substring-of-two-words": ("事基", {"simplified.txt"}),
    "word-everywhere": ("海洋", {"simplified.txt", "across-words.txt", "whole-word.txt", "ocr-spaced.txt"}),
    "quoted-chinese-phrase": ('"王明 先生"', {"traditional.txt"}),
    "chinese-and-filter": (
        "海洋 lang:zh",
        {"simplified.txt", "across-words.txt", "whole-word.txt", "ocr-spaced.txt"},
    ),
    "mail-body": ("示例邮件", {"demisto_chinese_email_test.eml"}),
    "english-still-words": ("naval", {"english.txt"}),
    "word-longer-than-255": (LONG_WORD, {"long-token.txt"}),
    "quoted-word-longer-than-255": (f'"{LONG_WORD.upper()}"', {"long-token.txt"}),
}

MALFORMED = [
    "NOT",
    "due NOT",
    "(((",
    "AND OR",
    "AND",
    "OR",
    "*",
    "-",
    '"',
    '""',
    "()",
    ")",
    "a (b",
    "x OR",
    "from:2018-13-45 naval",
    "to:abc naval",
    "year:19x naval",
    "(" * 30 + "a" + ")" * 30,
]


def _write_texts(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in TEXTS.items():
        (folder / name).write_text(text, encoding="utf-8")
        out.append(folder / name)
    return out


def _found(a: Archive, query: str) -> set[str]:
    res = a.search(SearchQuery(query, limit=50))
    return {h.filename for h in res.hits}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    texts = _write_texts(tmp_path_factory.mktemp("texts"))
    return [corpus_file(REAL[0]), *texts, corpus_file(REAL[1]), corpus_file(REAL[2])]


@pytest.fixture(scope="module")
def sqlite_archive(tmp_path_factory, files):
    with Archive(tmp_path_factory.mktemp("sq") / "archive") as a:
        report = a.ingest(files)
        assert not report.failures, report.failures
        yield a


@pytest.fixture(scope="module")
def es_archive(tmp_path_factory, files, es_url):
    """The same files ingested straight into Elasticsearch, e-mails first, the dated PDF last."""
    index = new_index_name("never-misses")
    config = {"search": "elasticsearch", "elasticsearch_url": es_url, "elasticsearch_index": index}
    try:
        with Archive(tmp_path_factory.mktemp("es") / "archive", config) as a:
            report = a.ingest(list(reversed(files)))
            a.flush_index()
            assert not report.failures and a.status()["index_pending"] == 0, (report, a.last_index_error())
            yield a
    finally:
        drop_index(es_url, index)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("es", marks=pytest.mark.elasticsearch)])
def archive_for(request):
    return request.getfixturevalue(f"{request.param}_archive")


@pytest.mark.parametrize("case", sorted(CASES))
def test_query_finds_exactly(archive_for, case):
    query, expected = CASES[case]
    assert _found(archive_for, query) == expected


def test_whole_words_rank_before_characters(archive_for):
    # The two pages have the same length and one 海洋 each; only one has it as a word.
    assert "海洋" in index_words(TEXTS["whole-word.txt"])
    assert "海洋" not in index_words(TEXTS["across-words.txt"])
    order = [h.filename for h in archive_for.search(SearchQuery("海洋 集装箱")).hits]
    assert order == ["whole-word.txt", "across-words.txt"]


def test_snippets_mark_the_pages_own_script(archive_for):
    (hit,) = archive_for.search(SearchQuery("测试 王明")).hits
    assert hit.filename == "traditional.txt"
    assert "<mark>測試</mark>" in hit.snippet and "<mark>王明</mark>" in hit.snippet
    (hit,) = [h for h in archive_for.search(SearchQuery("海洋")).hits if h.filename == "ocr-spaced.txt"]
    assert "<mark>海 洋</mark>" in hit.snippet


@pytest.mark.elasticsearch
def test_backends_agree(sqlite_archive, es_archive):
    for query, _ in CASES.values():
        for sort in ("relevance", "date"):
            a = sqlite_archive.search(
                SearchQuery(query, sort=sort, limit=50, facets=("lang", "kind", "sender"))
            )
            b = es_archive.search(SearchQuery(query, sort=sort, limit=50, facets=("lang", "kind", "sender")))
            pages = sorted((h.filename, h.page, h.snippet) for h in a.hits)
            assert pages == sorted((h.filename, h.page, h.snippet) for h in b.hits), query
            assert (a.total, a.facets) == (b.total, b.facets), query


@pytest.mark.parametrize("query", MALFORMED)
def test_malformed_queries_say_what_is_wrong(archive_for, query):
    with pytest.raises(QueryError) as err:
        archive_for.search(SearchQuery(query))
    assert str(err.value) and "Traceback" not in str(err.value)


def test_dates_given_apart_are_checked():
    for bad in ("2018-13-45", "abc", "2019-02-30", "20190"):
        with pytest.raises(QueryError):
            SearchQuery("x", date_from=bad)
    for good in ("2019", "2019-02", "2019-02-28", "2019-02-28T10:00:00"):
        assert SearchQuery("x", date_to=good).date_to == good


@pytest.mark.parametrize("query", ["NOT", "due NOT", "(((", "from:2018-13-45 x"])
def test_cli_exit_code_3_for_malformed_queries(foi, query):
    result = foi("search", query, ok=False)
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output


# -- Elasticsearch mappings -------------------------------------------------------------------


def _record(page_id: int, **keywords: list[str]) -> IndexRecord:
    return IndexRecord(
        page_id, page_id, 1, "c", "email", "en", f"t{page_id}", f"word{page_id}", keywords=keywords
    )


# Keyword values that Elasticsearch's dynamic mapping would guess as a date, a number, a boolean.
LOOK_ALIKES = {
    "date": _record(1, entity=["2019-03-05"], exemption=["2019/03/05"]),
    "number": _record(2, entity=["12345"], recipient=["3.5"], sender=["42"]),
    "boolean": _record(3, entity=["true"], entity_alias=["false"]),
    "mail": _record(4, entity=["sender@example.com"], sender=["sender@example.com"], exemption=["s.43(2)"]),
    "new-keyword": _record(5, redaction=["2020-01-01"], entity=["王明"]),
}


@pytest.mark.elasticsearch
@pytest.mark.parametrize("first", sorted(LOOK_ALIKES))
def test_any_arrival_order_indexes_everything(es_url, tmp_path, first):
    order = [LOOK_ALIKES[first], *(r for k, r in LOOK_ALIKES.items() if k != first)]
    index = new_index_name("order")
    es = ElasticBackend(es_url, index)
    sq = SqliteBackend(tmp_path / "s.sqlite3")
    try:
        for r in order:  # one at a time: the first document alone fixes any guessed type
            assert es.index_batch({r.doc_id: [r]}) == {}
            sq.index([r])
        for name, value in [
            ("entity", "sender@example.com"),
            ("entity", "2019-03-05"),
            ("sender", "42"),
            ("entity", "true"),
            ("redaction", "2020-01-01"),
            ("exemption", "s.43(2)"),
        ]:
            q = SearchQuery("", filters={name: [value]})
            got = [h.page_id for h in es.search(q).hits]
            assert got and got == [h.page_id for h in sq.search(q).hits], (name, value)
        _assert_nothing_guessed(es)
    finally:
        es.close()
        sq.close()
        drop_index(es_url, index)


def _leaves(props: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, spec in props.items():
        if "properties" in spec:
            out.update(_leaves(spec["properties"], f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = spec
    return out


def _assert_nothing_guessed(es: ElasticBackend) -> None:
    """Every leaf field of the real index is one MAPPING declares, or a keyword list mapped exactly
    as our dynamic template says (never a type Elasticsearch chose)."""
    declared = _leaves(MAPPING["properties"])
    mapping = next(iter(es.es.indices.get_mapping(index=es.alias).body.values()))["mappings"]
    assert mapping["dynamic"] == "strict" and mapping["date_detection"] is False
    for path, spec in _leaves(mapping["properties"]).items():
        if path in declared:
            assert spec == {k: v for k, v in declared[path].items()}, path
        else:
            assert path.startswith("kw.") and spec == _KEYWORD, (path, spec)


@pytest.mark.elasticsearch
def test_real_index_has_no_guessed_field(es_archive):
    _assert_nothing_guessed(es_archive.backend)


@pytest.mark.elasticsearch
def test_an_index_of_another_version_asks_for_reindex(es_url, tmp_path, files):
    index = new_index_name("version")
    config = {"search": "elasticsearch", "elasticsearch_url": es_url, "elasticsearch_index": index}
    es = ElasticBackend(es_url, index)
    try:
        old = dict(MAPPING, _meta={"foi_mapping_version": 1})
        es.es.indices.create(
            index=f"{index}-v1", settings=SETTINGS, mappings=old, aliases={index: {"is_write_index": True}}
        )
        with Archive(tmp_path / "archive", config) as a:
            a.ingest([files[1]])
            with pytest.raises(SearchError, match="foi reindex"):
                a.search(SearchQuery("海洋"))
            a.reindex()
            assert _found(a, "海洋") == {"simplified.txt"}
    finally:
        es.close()
        drop_index(es_url, index)


def test_sqlite_index_of_another_analysis_asks_for_reindex(tmp_path, files):
    with Archive(tmp_path / "archive") as a:
        a.ingest([files[1]])
        a.backend.db.execute("UPDATE search_state SET value = '2' WHERE key = 'analysis'")
    with Archive(tmp_path / "archive") as a:
        with pytest.raises(SearchError, match="foi reindex"):
            a.search(SearchQuery("海洋"))
        a.reindex()
        assert _found(a, "海洋") == {"simplified.txt"}


# -- property: any string is a result or a QueryError, the same on both backends ------------------

_PIECES = st.sampled_from(
    [
        "naval",
        "base",
        "海洋",
        "海",
        "測試",
        "王明",
        "section",
        "43(2)",
        "AND",
        "OR",
        "NOT",
        "-",
        "-naval",
        "*",
        "海*",
        '"',
        '"naval base"',
        '""',
        "(",
        ")",
        "lang:zh",
        "lang:en",
        "from:2019",
        "from:2019-13-45",
        "to:abc",
        "year:2019",
        'sender:"a b"',
        "kind:email",
        "collection:default",
        "body:x",
        "NEAR(a b)",
        "naval^2",
        "\\",
        ":",
    ]
)
_QUERIES = st.lists(st.one_of(_PIECES, st.text(max_size=6)), max_size=8).map(" ".join)


def _outcome(a: Archive, query: str) -> tuple[str, Any]:
    try:
        res = a.search(SearchQuery(query, limit=50))
    except QueryError as exc:
        return "error", str(exc)
    return "hits", (res.total, sorted((h.filename, h.page) for h in res.hits))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=_QUERIES)
def test_any_query_is_results_or_a_query_error(sqlite_archive, query):
    _outcome(sqlite_archive, query)  # anything else than QueryError fails the test


@pytest.mark.elasticsearch
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=_QUERIES)
def test_results_never_depend_on_the_backend(sqlite_archive, es_archive, query):
    assert _outcome(sqlite_archive, query) == _outcome(es_archive, query)
