"""One contract for every search backend: the same documents and queries give the same hits.

The documents go through the real `Archive`: text, HTML and mail-like files written here plus two
real text PDFs from the corpus, ingested once with the default SQLite backend (the reference);
the Elasticsearch archive opens the same folder and indexes every document through
`Archive.index_document` (the path ingest takes). Each query below states the pages it must find,
and every backend must find exactly those.

Ranking legitimately differs: FTS5's bm25 scores a page's columns together, Lucene's BM25 scores
each field and sums, so relevance-sorted queries are compared as sets. Date-sorted and
filter-only queries have a defined order (date, then document and page) and are compared as lists.
Facet counts count matching pages and must agree exactly, labels included.
"""

from __future__ import annotations

import re
from pathlib import Path

import es_fixtures
import pytest
from es_fixtures import drop_index, new_index_name

from archive.extractors import ExtractContext, register, registered
from archive.models import Extraction, PageResult, Source
from archive.search import QueryError, SearchQuery
from conftest import corpus_file

es_url = es_fixtures.es_url  # fixture

# -- documents ------------------------------------------------------------------------------

LETTERS = {
    "naval-base.txt": (
        "Freedom of Information request about the naval base at Portsmouth.\n"
        "Please reply to foi@example.gov.uk. Some details are withheld under section 40(2) of the "
        "Freedom of Information Act 2000.\n"
    ),
    "survey-zh.txt": "南海海洋研究所在军事基地附近进行海洋调查。调查报告由国防部发布。",
    "plan-zh-hant.txt": "海洋基地的建設計劃已經公開，國防部說明了細節。",
    "harbour-minutes.html": (
        "<html><head><title>Harbour board minutes</title></head><body><h1>Harbour board minutes</h1>"
        "<p>The harbour master reported on dredging near the base. No budget was approved.</p>"
        "<script>naval()</script></body></html>"
    ),
}
CORPUS_LETTERS = ("pdf-text/alaveteli_psni.pdf", "pdf-text/pdfminer_issue_566_test_2.pdf")

# Mail-like memos: a header block, a blank line, the body. Read by MemoExtractor below into the
# same metadata shape the mail extractor produces (metadata["mail"], metadata["date"]).
MEMOS = {
    "budget.foimemo": (
        "From: Alice Smith <alice@example.org>\nTo: Bob Jones <bob@example.org>\n"
        "Date: 2019-03-05T10:00:00Z\nSubject: Naval base budget\n\n"
        "Bob, the naval base budget for next year is attached. The 海洋 survey is costed separately."
    ),
    "harbour.foimemo": (
        "From: Bob Jones <bob@example.org>\n"
        "To: Alice Smith <alice@example.org>, Carol White <carol@example.org>\n"
        "Date: 2020-07-14T16:45:00Z\nSubject: Re: naval base\n\n"
        "Alice, the harbour survey next to the naval base starts in August."
    ),
    "meeting-zh.foimemo": (
        "From: carol@example.org\nTo: alice@example.org, Ólafur Þórsson <olafur@example.is>\n"
        "Date: 2021-01-01T08:30:00Z\nSubject: 会议纪要\n\n"
        "关于军事基地扩建的会议纪要已经完成，请各部门审阅。"
    ),
    "lunch.foimemo": (
        "From: Alice Smith <alice@example.org>\nTo: Bob Jones <bob@example.org>\nSubject: Lunch\n\n"
        "Lunch on Friday? The canteen by the harbour is fine."
    ),
}

_ADDRESS = re.compile(r"\s*(?:(?P<name>[^<,]+?)\s*<(?P<addr>[^>]+)>|(?P<bare>[^\s,<>]+@[^\s,<>]+))\s*")


def _people(value: str) -> list[dict[str, str]]:
    out = []
    for m in _ADDRESS.finditer(value):
        if m.group("bare"):
            out.append({"name": "", "address": m.group("bare")})
        elif m.group("addr"):
            out.append({"name": m.group("name").strip(), "address": m.group("addr")})
    return out


class MemoExtractor:
    """A test-only extractor for `.foimemo` files, giving documents senders, recipients and dates."""

    name = "test-memo"

    def score(self, source: Source) -> int | None:
        return 100 if source.extension == "foimemo" else None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        head, _, body = source.path.read_text(encoding="utf-8").partition("\n\n")
        headers = dict(line.split(": ", 1) for line in head.splitlines())
        mail = {
            "from": _people(headers["From"])[0],
            "to": _people(headers.get("To", "")),
            "cc": [],
            "bcc": [],
        }
        metadata = {"mail": mail}
        if "Date" in headers:
            metadata["date"] = headers["Date"]
        return Extraction(
            kind="email",
            title=headers.get("Subject", source.filename),
            pages=[PageResult(1, body)],
            metadata=metadata,
        )


def _register_memo_extractor() -> None:
    if not any(getattr(e, "name", None) == MemoExtractor.name for e in registered()):
        register(MemoExtractor())


def build_archive(root: Path, files_dir: Path) -> None:
    """Ingest the contract documents into a new archive at `root` (SQLite backend)."""
    from archive import Archive

    _register_memo_extractor()
    files_dir.mkdir(parents=True, exist_ok=True)
    for name, text in {**LETTERS, **MEMOS}.items():
        (files_dir / name).write_text(text, encoding="utf-8")
    with Archive(root) as a:
        letters = [files_dir / n for n in LETTERS] + [corpus_file(rel) for rel in CORPUS_LETTERS]
        report = a.ingest(letters, collection="letters")
        report2 = a.ingest([files_dir / n for n in MEMOS], collection="mail")
        assert report.ingested == len(letters) and report2.ingested == len(MEMOS), (report, report2)


@pytest.fixture(scope="module")
def contract_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("contract") / "archive"
    build_archive(root, root.parent / "files")
    return root


@pytest.fixture(scope="module")
def elasticsearch_contract_archive(contract_root, es_url):
    """The contract archive with an Elasticsearch backend, indexed document by document."""
    from archive import Archive

    index = new_index_name("contract")
    config = {"search": "elasticsearch", "elasticsearch_url": es_url, "elasticsearch_index": index}
    try:
        with Archive(contract_root, config) as a:
            assert a.backend.name == "elasticsearch"
            ids = [d["id"] for d in a.store.documents("page_count > 0")]
            assert all(a.index_document(i) for i in ids)
            yield a
    finally:
        drop_index(es_url, index)


@pytest.fixture(scope="module")
def sqlite_contract_archive(contract_root):
    from archive import Archive

    with Archive(contract_root) as a:
        assert a.backend.name == "sqlite"
        yield a


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)]
)
def archive_for(request):
    """The contract archive searched through one backend."""
    return request.getfixturevalue(f"{request.param}_contract_archive")


# -- queries and the pages each must find ---------------------------------------------------

PSNI = "alaveteli_psni.pdf"
BEVERAGE = "pdfminer_issue_566_test_2.pdf"
ALL_PAGES = {
    ("naval-base.txt", 1),
    ("survey-zh.txt", 1),
    ("plan-zh-hant.txt", 1),
    ("harbour-minutes.html", 1),
    (PSNI, 1),
    (PSNI, 2),
    (BEVERAGE, 1),
    ("budget.foimemo", 1),
    ("harbour.foimemo", 1),
    ("meeting-zh.foimemo", 1),
    ("lunch.foimemo", 1),
}


def p(*names: str) -> set[tuple[str, int]]:
    return {(n, 1) for n in names}


CASES: dict[str, tuple[str | SearchQuery, set[tuple[str, int]]]] = {
    # terms, phrases, Chinese words inside longer text
    "two-char-zh-word-haiyang": ("海洋", p("survey-zh.txt", "plan-zh-hant.txt", "budget.foimemo")),
    "two-char-zh-word-jidi": ("基地", p("survey-zh.txt", "plan-zh-hant.txt", "meeting-zh.foimemo")),
    "zh-compound": ("军事基地", p("survey-zh.txt", "meeting-zh.foimemo")),
    # Simplified and Traditional fold to one form: each finds the other.
    "zh-simplified-finds-traditional": ("国防部", p("survey-zh.txt", "plan-zh-hant.txt")),
    "zh-traditional-finds-simplified": ("國防部", p("survey-zh.txt", "plan-zh-hant.txt")),
    "zh-company-name": ("中国饮料有限公司", p(BEVERAGE)),
    "phrase": ('"naval base"', p("naval-base.txt", "budget.foimemo", "harbour.foimemo")),
    "phrase-needs-order": ('"base naval"', set()),
    "long-phrase": ('"freedom of information request"', {("naval-base.txt", 1), (PSNI, 1)}),
    "reference-number": ("F-2010-00325", {(PSNI, 1)}),
    "case-folded": ("PORTSMOUTH", p("naval-base.txt")),
    "no-match": ("submarine", set()),
    # boolean
    "implicit-and": ("naval budget", p("budget.foimemo")),
    "and": ("naval AND august", p("harbour.foimemo")),
    "or": (
        "naval OR harbour",
        p("naval-base.txt", "budget.foimemo", "harbour.foimemo", "harbour-minutes.html", "lunch.foimemo"),
    ),
    "not-minus": ("naval -budget", p("naval-base.txt", "harbour.foimemo")),
    "not-word": ("harbour NOT (naval OR lunch)", p("harbour-minutes.html")),
    "grouping": ("naval AND (budget OR august)", p("budget.foimemo", "harbour.foimemo")),
    "or-across-scripts": ("国防部 OR canteen", p("survey-zh.txt", "plan-zh-hant.txt", "lunch.foimemo")),
    # prefix
    "prefix": ("harb*", p("harbour-minutes.html", "harbour.foimemo", "lunch.foimemo")),
    "prefix-chinese": ("海*", p("survey-zh.txt", "plan-zh-hant.txt", "budget.foimemo")),
    "full-width-letters": ("ＮＡＶＡＬ ＢＡＳＥ", p("naval-base.txt", "budget.foimemo", "harbour.foimemo")),
    "prefix-and-term": ("harb* survey", p("harbour.foimemo")),
    # filters in the query text
    "collection": ("naval collection:mail", p("budget.foimemo", "harbour.foimemo")),
    "kind": ("kind:email", p("budget.foimemo", "harbour.foimemo", "meeting-zh.foimemo", "lunch.foimemo")),
    "kind-html": ("kind:html", p("harbour-minutes.html")),
    "lang-zh-both-scripts": (
        "lang:zh",
        p("survey-zh.txt", "plan-zh-hant.txt", "meeting-zh.foimemo", BEVERAGE),
    ),
    "lang-zh-hant": ("lang:zh-Hant", p("plan-zh-hant.txt")),
    "lang-en-and-term": ("海洋 lang:en", p("budget.foimemo")),
    "sender-name-any-case": ('sender:"alice smith"', p("budget.foimemo", "lunch.foimemo")),
    "sender-address-any-case": ("sender:ALICE@EXAMPLE.ORG", p("budget.foimemo", "lunch.foimemo")),
    "recipient": ('recipient:"Carol White"', p("harbour.foimemo")),
    # Case folded outside ASCII as well, on both backends (Elasticsearch's lowercase normalizer).
    "recipient-name-any-case-outside-ascii": ('recipient:"ÓLAFUR þórsson"', p("meeting-zh.foimemo")),
    "sender-and-recipient": ("sender:bob@example.org recipient:alice@example.org", p("harbour.foimemo")),
    "two-senders-both-required": ("sender:alice@example.org sender:bob@example.org", set()),
    "date-range-to-is-inclusive": ("from:2019-01-01 to:2020-07-14", p("budget.foimemo", "harbour.foimemo")),
    "date-to-day-before": ("to:2020-07-13", p("budget.foimemo")),
    "year": ("year:2021", p("meeting-zh.foimemo")),
    "entity-email": ("entity:foi@example.gov.uk", p("naval-base.txt")),
    "term-and-entity": ("information entity:foi@example.gov.uk", p("naval-base.txt")),
    # filters on the query object
    "object-collection": (
        SearchQuery("base", filters={"collection": ["letters"]}),
        # The Chinese pages say 基地, whose dictionary gloss is "base": found across languages.
        p("naval-base.txt", "harbour-minutes.html", "survey-zh.txt", "plan-zh-hant.txt"),
    ),
    "object-dates": (
        SearchQuery("", date_from="2020-01-01", date_to="2021-12-31"),
        p("harbour.foimemo", "meeting-zh.foimemo"),
    ),
    "object-lang-list": (
        SearchQuery("", filters={"lang": ["zh-Hant", "en"], "collection": ["letters"]}),
        p("naval-base.txt", "plan-zh-hant.txt", "harbour-minutes.html") | {(PSNI, 1), (PSNI, 2)},
    ),
    "object-dates-win-over-text-dates": (
        SearchQuery("naval from:2020-01-01", date_from="2019-01-01"),
        p("budget.foimemo", "harbour.foimemo"),
    ),
    "empty-filter-values-ignored": (
        'naval from:"" sender:""',
        p("naval-base.txt", "budget.foimemo", "harbour.foimemo"),
    ),
    "everything": ("", ALL_PAGES),
}


def _query(q: str | SearchQuery, **kw) -> SearchQuery:
    if isinstance(q, SearchQuery):
        return SearchQuery(**{**q.__dict__, "limit": 50, **kw})
    return SearchQuery(q, limit=50, **kw)


def found(archive, q: str | SearchQuery, **kw) -> set[tuple[str, int]]:
    res = archive.search(_query(q, **kw))
    pages = {(h.filename, h.page) for h in res.hits}
    assert res.total == len(res.hits) == len(pages), (res.total, len(res.hits))
    return pages


@pytest.mark.parametrize("case", list(CASES))
def test_query_finds_exactly(archive_for, case):
    query, expected = CASES[case]
    assert found(archive_for, query) == expected


def test_exemption_filter_and_facet(archive_for):
    """Exemption citations come from the entity step; filter on the value its facet reports."""
    res = archive_for.search(SearchQuery("", facets=("exemption",)))
    codes = [code for code, _ in res.facets["exemption"] if "40" in code]
    assert codes, res.facets
    assert ("naval-base.txt", 1) in found(archive_for, SearchQuery("", filters={"exemption": codes[:1]}))


def test_filter_only_query_is_ordered_by_document_and_page(archive_for):
    res = archive_for.search(SearchQuery("collection:letters", limit=50))
    order = [(h.doc_id, h.page) for h in res.hits]
    assert order == sorted(order) and len(order) == 7


def test_date_sort_orders_dated_first(archive_for):
    newest = archive_for.search(SearchQuery("collection:mail", sort="-date"))
    assert [h.filename for h in newest.hits] == [
        "meeting-zh.foimemo",
        "harbour.foimemo",
        "budget.foimemo",
        "lunch.foimemo",
    ]
    oldest = archive_for.search(SearchQuery("collection:mail", sort="date"))
    assert [h.filename for h in oldest.hits] == [
        "budget.foimemo",
        "harbour.foimemo",
        "meeting-zh.foimemo",
        "lunch.foimemo",
    ]
    assert newest.hits[0].date == "2021-01-01T08:30:00Z"


RANKED = "naval OR harbour OR 海洋 OR 基地"


@pytest.mark.parametrize(
    ("text", "sort"), [(RANKED, "relevance"), ("", "relevance"), ("", "date"), ("", "-date")]
)
def test_cursor_pagination_visits_every_page_once(archive_for, text, sort):
    seen: list[tuple[str, int]] = []
    cursor = None
    for _ in range(20):
        res = archive_for.search(SearchQuery(text, limit=2, sort=sort, search_after=cursor))
        seen += [(h.filename, h.page) for h in res.hits]
        cursor = res.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) == (found(archive_for, RANKED) if text else ALL_PAGES)
    if sort in {"date", "-date"}:
        # Dated pages (the mail) in date order, then the undated ones.
        dated = ["budget.foimemo", "harbour.foimemo", "meeting-zh.foimemo"]
        assert [n for n, _ in seen[:3]] == (dated if sort == "date" else dated[::-1])


def test_offset_pages_agree_with_one_long_page(archive_for):
    whole = archive_for.search(SearchQuery("", sort="date", limit=50))
    parts = []
    for offset in range(0, 11, 4):
        parts += archive_for.search(SearchQuery("", sort="date", limit=4, offset=offset)).hits
    assert [(h.doc_id, h.page) for h in parts] == [(h.doc_id, h.page) for h in whole.hits]
    assert whole.total == 11


def test_relevance_total_and_page_sets_with_paging(archive_for):
    # Ranking may differ between engines; the pages found and their count may not.
    res = archive_for.search(SearchQuery("naval OR harbour OR 海洋", limit=3))
    assert res.total == 7 and len(res.hits) == 3 and res.next_cursor is not None


def test_facets(archive_for):
    res = archive_for.search(
        SearchQuery("", facets=("collection", "kind", "year", "sender", "lang"), facet_size=10, limit=1)
    )
    f = res.facets
    assert f["collection"] == [("letters", 7), ("mail", 4)]
    assert f["kind"] == [("email", 4), ("pdf", 3), ("text", 3), ("html", 1)]
    assert f["year"] == [("2019", 1), ("2020", 1), ("2021", 1)]
    # Case-insensitive values, counted per page, most frequent first then by value.
    assert f["sender"] == [
        ("Alice Smith", 2),
        ("alice@example.org", 2),
        ("Bob Jones", 1),
        ("bob@example.org", 1),
        ("carol@example.org", 1),
    ]
    assert dict(f["lang"]) == {"en": 7, "zh-Hans": 3, "zh-Hant": 1}


def test_facets_follow_the_query_and_respect_size(archive_for):
    res = archive_for.search(SearchQuery("naval", facets=("collection", "sender", "entity"), facet_size=2))
    assert res.facets["collection"] == [("mail", 2), ("letters", 1)]
    assert res.facets["sender"] == [("Alice Smith", 1), ("alice@example.org", 1)]
    assert len(res.facets["entity"]) <= 2


def test_snippets_mark_terms_in_the_stored_text(archive_for):
    res = archive_for.search(SearchQuery("基地 lang:zh-Hans"))
    snippets = {h.filename: h.snippet for h in res.hits}
    assert set(snippets) == {"survey-zh.txt", "meeting-zh.foimemo"}
    assert (
        "军事<mark>基地</mark>" in snippets["survey-zh.txt"]
        or "<mark>军事基地</mark>" in snippets["survey-zh.txt"]
    )
    res = archive_for.search(SearchQuery('"naval base" collection:letters'))
    (hit,) = res.hits
    assert "<mark>naval</mark> <mark>base</mark>" in hit.snippet
    assert hit.matched == ["original"]
    assert hit.title == "naval-base.txt" and hit.collection == "letters" and hit.lang == "en"


def test_markup_in_documents_is_escaped(archive_for):
    (hit,) = archive_for.search(SearchQuery("dredging")).hits
    assert hit.filename == "harbour-minutes.html"
    assert "<script>" not in hit.snippet and "naval()" not in hit.snippet


@pytest.mark.parametrize("text", ["-naval", "NOT naval", "NOT naval AND NOT base"])
def test_only_negative_queries_are_refused(archive_for, text):
    with pytest.raises(QueryError):
        archive_for.search(SearchQuery(text))


def test_user_text_is_never_engine_syntax(archive_for):
    # FTS5 and Lucene operators in a plain query are words: nothing breaks, nothing is injected.
    for text in ['"naval OR" x', "body:naval", "naval^5", "naval~2", "NEAR(naval base)", "naval:base"]:
        res = archive_for.search(SearchQuery(text))
        assert res.total >= 0
    # Malformed queries say what is wrong instead of matching something (or everything).
    for text in ['naval "OR x', "(naval", "naval AND", "*"]:
        with pytest.raises(QueryError):
            archive_for.search(SearchQuery(text))
    assert found(archive_for, "body:naval") == found(archive_for, "body naval") == set()


FACET_NAMES = ("collection", "lang", "kind", "year", "sender", "entity", "exemption")


@pytest.mark.elasticsearch
def test_backends_agree_on_every_case(sqlite_contract_archive, elasticsearch_contract_archive):
    """Every case through both backends side by side: identical pages, totals, facets, snippets;
    identical order wherever the order is defined (date sorts and filter-only queries)."""
    for case, (query, _) in CASES.items():
        for sort in ("relevance", "date", "-date"):
            q = _query(query, sort=sort, facets=FACET_NAMES, facet_size=50)
            a = sqlite_contract_archive.search(q)
            b = elasticsearch_contract_archive.search(q)
            assert (a.backend, b.backend) == ("sqlite", "elasticsearch")
            assert a.total == b.total, case
            pages_a = [(h.filename, h.page) for h in a.hits]
            pages_b = [(h.filename, h.page) for h in b.hits]
            if sort != "relevance" or not _has_text(query):
                assert pages_a == pages_b, (case, sort)
            else:
                assert sorted(pages_a) == sorted(pages_b), (case, sort)
            assert a.facets == b.facets, (case, sort)
            snippets_a = {(h.filename, h.page): (h.snippet, h.translation_snippet, h.matched) for h in a.hits}
            snippets_b = {(h.filename, h.page): (h.snippet, h.translation_snippet, h.matched) for h in b.hits}
            assert snippets_a == snippets_b, case


def _has_text(query: str | SearchQuery) -> bool:
    from archive.search.query import parse

    text = query.text if isinstance(query, SearchQuery) else query
    return parse(text).tree is not None
