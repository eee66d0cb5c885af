"""Every HTTP parameter is validated: numbers out of range, bad cursors, huge ids and deep nesting are a
400 (JSON under /api, an HTML page that keeps the query elsewhere) or a 404, never a 500; a query the
parser rejects (archive.search.QueryError) is a 400 with its message. On a small real archive, on
SQLite and (for the search parameters) on the real Elasticsearch node."""

from __future__ import annotations

import json

import es_fixtures
import pytest
from markupsafe import escape

from archive import Archive, QueryError
from archive.search.query import MAX_DEPTH
from conftest import corpus_file
from web import create_app
from web import validation as valid

es_url = es_fixtures.es_url

HUGE = "1" + "0" * 23  # 10^23
BEYOND_INT64 = str(2**63)  # 9223372036854775808
DEEP = "(" * 500 + "harbour" + ")" * 500


def _ingest(root, config=None):  # type: ignore[no-untyped-def]
    note = root / "note.txt"
    note.write_text("The harbour survey (draft) was discussed at the board.", encoding="utf-8")
    zh = root / "zh.txt"
    zh.write_text("我们在军事基地附近讨论了海洋数据。", encoding="utf-8")
    with Archive(root / "archive", config) as a:
        a.ingest(
            [
                corpus_file("pdf-text/alaveteli_psni.pdf"),
                corpus_file("pdf-text/pdfminer_issue_566_test_2.pdf"),
            ],
            collection="letters",
        )
        a.ingest([note, zh], collection="notes")
        ids = {d["filename"]: d["id"] for d in a.store.documents()}
    return ids


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("webval")
    ids = _ingest(root)
    app = create_app({"ARCHIVE_DIR": str(root / "archive"), "TESTING": True})
    return app.test_client(), ids


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)]
)
def backend_site(request, tmp_path_factory):
    """A client per backend, for the search parameters."""
    if request.param == "sqlite":
        yield request.getfixturevalue("site")[0]
        return
    url = request.getfixturevalue("es_url")
    index = es_fixtures.new_index_name("webval")
    config = {"search": "elasticsearch", "elasticsearch_url": url, "elasticsearch_index": index}
    root = tmp_path_factory.mktemp("webval-es")
    _ingest(root, config)
    try:
        yield create_app(
            {"ARCHIVE_DIR": str(root / "archive"), "ARCHIVE_CONFIG": config, "TESTING": True}
        ).test_client()
    finally:
        es_fixtures.drop_index(url, index)


def _api_400(resp, *words):  # type: ignore[no-untyped-def]
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/json"
    error = resp.get_json()["error"]
    assert error["status"] == 400
    for word in words:
        assert word.lower() in error["message"].lower(), error["message"]
    return error["message"]


def _page_400(resp, *words, q=None):  # type: ignore[no-untyped-def]
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    for word in words:
        assert str(escape(word)).lower() in page.lower(), word
    if q is not None:  # the search box keeps the query
        assert f'name="q" value="{escape(q)}"' in page
    return page


# -- numbers out of range ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["offset", "page", "limit"])
def test_huge_numbers_in_the_api_are_400(backend_site, name):
    resp = backend_site.get("/api/search", query_string={"q": "harbour", name: HUGE})
    _api_400(resp, name, "whole number")


@pytest.mark.parametrize(
    "name,value",
    [
        ("limit", "0"),
        ("limit", "201"),
        ("limit", "-1"),
        ("limit", "ten"),
        ("offset", "-1"),
        ("offset", str(valid.MAX_OFFSET + 1)),
        ("offset", "1e3"),
        ("page", "0"),
        ("page", "-3"),
        ("page", "2.5"),
        ("page", "٣"),
    ],
)
def test_numbers_outside_their_bounds_are_400(site, name, value):
    client, _ = site
    _api_400(client.get("/api/search", query_string={"q": "harbour", name: value}), name)


def test_numbers_inside_their_bounds_work(backend_site):
    for args in (
        {"limit": "1"},
        {"limit": str(valid.MAX_LIMIT)},
        {"offset": "0"},
        {"page": "1"},
        {"page": ""},
        {"offset": "5000"},
        {"limit": "1", "page": "3"},
    ):
        resp = backend_site.get("/api/search", query_string={"q": "harbour", **args})
        assert resp.status_code == 200, (args, resp.get_json())


def test_a_page_too_deep_is_400_on_every_search_route(site):
    client, _ = site
    deep = str(valid.MAX_OFFSET // 20 + 2)  # within MAX_PAGE, but (page - 1) * 20 beyond MAX_OFFSET
    _api_400(client.get("/api/search", query_string={"q": "harbour", "page": deep}), "too deep")
    _page_400(client.get("/", query_string={"q": "harbour", "page": deep}), "too deep", q="harbour")
    _page_400(
        client.get("/", query_string={"q": "harbour", "page": HUGE}),
        "page must be a whole number",
        q="harbour",
    )
    _api_400(client.get("/api/export.csv", query_string={"q": "harbour", "page": HUGE}), "page")


def test_collection_pages_are_bounded(site):
    client, _ = site
    _page_400(client.get("/collections/letters?page=461168601842738790"), "page")
    for value in ("0", "-1", "abc", HUGE):
        _page_400(client.get(f"/collections/letters?page={value}"), "page must be a whole number")
    assert client.get("/collections/letters?page=1").status_code == 200
    assert client.get("/collections/letters?page=").status_code == 200
    assert client.get("/collections/letters?page=7").status_code == 200  # beyond the last page: empty


# -- ids in routes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/api/documents/{BEYOND_INT64}",
        f"/api/documents/{HUGE}",
        f"/api/documents/{2**63 - 1}",
        f"/api/documents/1/pages/{BEYOND_INT64}",
        f"/api/documents/{BEYOND_INT64}/pages/1",
        "/api/documents/-1",
    ],
)
def test_api_ids_beyond_sqlite_integers_are_404(site, path):
    client, _ = site
    resp = client.get(path)
    assert resp.status_code == 404 and resp.get_json()["error"]["status"] == 404


@pytest.mark.parametrize(
    "path",
    [
        "/documents/1/pages/99999999999999999999999.png",
        f"/documents/{BEYOND_INT64}",
        f"/documents/{BEYOND_INT64}/original",
        f"/documents/{BEYOND_INT64}/pages/1.png",
        f"/documents/1/pages/{2**63 - 1}.png",
        "/documents/1/pages/0.png",
    ],
)
def test_page_ids_beyond_sqlite_integers_are_404(site, path):
    client, ids = site
    resp = client.get(path.replace("/documents/1/", f"/documents/{ids['alaveteli_psni.pdf']}/"))
    assert resp.status_code == 404 and resp.mimetype == "text/html"


# -- cursors -----------------------------------------------------------------------------------------

BAD_CURSORS = [
    "[1e308]",
    "[-1e308]",
    "[Infinity]",
    "[-Infinity]",
    "[NaN]",
    "[99999999999999999999999]",
    "[-99999999999999999999999]",
    "[1e19, 1]",
    "[null]",
    "[true]",
    "[[1]]",
    "[{}]",
    "[]",
    "{}",
    "1",
    '"x"',
    "not json",
    "[" * 5000 + "]" * 5000,
    "[" + ",".join(["1"] * 9) + "]",
    '["' + "x" * 600 + '"]',
    "[1, 2, 3, 4, 5]",
]


@pytest.mark.parametrize("cursor", BAD_CURSORS, ids=lambda c: c[:30])
def test_bad_cursors_are_400(backend_site, cursor):
    resp = backend_site.get("/api/search", query_string={"q": "harbour OR information", "cursor": cursor})
    _api_400(resp, "cursor")


def test_sqlite_cursor_is_one_offset(site):
    client, _ = site
    for cursor in ("[1.5]", "[-1]", '["1"]', "[1, 2]"):
        _api_400(client.get("/api/search", query_string={"q": "information", "cursor": cursor}), "cursor")
    assert (
        client.get("/api/search", query_string={"q": "information", "cursor": str([2**63 - 1])}).status_code
        == 200
    )


@pytest.mark.parametrize("sort", ["relevance", "date", "-date"])
def test_cursors_page_through_every_hit(backend_site, sort):
    """The next_cursor a page returns is accepted back, on both backends and in every order, until the
    last page (Elasticsearch's cursor holds null for the date of an undated page)."""
    seen = []
    args = {"q": "information OR harbour OR purpose", "limit": "1", "sort": sort}
    data = backend_site.get("/api/search", query_string=args).get_json()
    total = data["total"]
    while True:
        seen += [(h["document_id"], h["page"]) for h in data["hits"]]
        if not data["next_cursor"]:
            break
        resp = backend_site.get(
            "/api/search", query_string={**args, "cursor": json.dumps(data["next_cursor"])}
        )
        assert resp.status_code == 200, resp.get_json()
        data = resp.get_json()
    assert total >= 3 and len(seen) == total == len(set(seen))


def test_a_cursor_of_the_wrong_shape_for_elasticsearch_is_400(backend_site):
    for cursor in ('["a", "b"]', "[1.5, 2.5, 3.5]", "[1, 2, 3, 4]"):
        resp = backend_site.get("/api/search", query_string={"q": "harbour", "cursor": cursor})
        assert resp.status_code in {200, 400}, (cursor, resp.get_json())
        if resp.status_code == 400:
            assert "cursor" in resp.get_json()["error"]["message"].lower()


# -- nesting and text --------------------------------------------------------------------------------


def test_deeply_nested_queries_are_a_400(site):
    client, ids = site
    doc = ids["note.txt"]
    deep = "nested too deeply"
    _api_400(client.get("/api/search", query_string={"q": DEEP}), deep)
    _api_400(client.get("/api/export.csv", query_string={"q": DEEP}), deep)
    _api_400(client.get("/api/export.json", query_string={"q": DEEP}), deep)
    _api_400(client.get(f"/api/documents/{doc}/pages/1", query_string={"q": DEEP}), deep)
    _page_400(client.get("/", query_string={"q": DEEP}), deep, q=DEEP)
    _page_400(client.get(f"/documents/{doc}", query_string={"q": DEEP}), deep)
    _api_400(client.get("/api/search", query_string={"q": "(" * 600 + "harbour"}), deep)
    # A long chain of NOTs is read in a loop: an even number of them is the word itself.
    resp = client.get("/api/search", query_string={"q": "NOT " * 400 + "harbour"})
    assert resp.status_code == 200 and resp.get_json()["total"] >= 1


def test_nesting_up_to_the_bound_is_served(backend_site):
    n = MAX_DEPTH
    for depth in (1, n // 2, n):
        nested = "(" * depth + "harbour" + ")" * depth
        resp = backend_site.get("/api/search", query_string={"q": nested})
        assert resp.status_code == 200 and resp.get_json()["total"] >= 1, depth
    over = "(" * (n + 1) + "harbour" + ")" * (n + 1)
    _api_400(backend_site.get("/api/search", query_string={"q": over}), "nested too deeply", str(n))
    # Parentheses inside a phrase are words, not nesting.
    phrase = '"' + "(" * 100 + 'harbour survey"'
    assert backend_site.get("/api/search", query_string={"q": phrase}).status_code == 200


@pytest.mark.parametrize(
    "args,words",
    [
        ({"q": "x" * (valid.MAX_QUERY_CHARS + 1)}, ["q is too long"]),
        ({"q": "harbour\x00"}, ["NUL"]),
        ({"q": "harbour", "sort": "random"}, ["sort must be one of"]),
        ({"q": "harbour", "raw": "yes"}, ["raw must be one of"]),
        ({"q": "harbour", "mode": "sql"}, ["mode must be one of"]),
        ({"q": "harbour", "from": "2020-13-01"}, ["from must be a date"]),
        ({"q": "harbour", "to": "yesterday"}, ["to must be a date"]),
        ({"q": "harbour", "from": "2020"}, ["from must be a date"]),
        ({"q": "harbour", "facet": "password"}, ["facet must be one of"]),
        ({"q": "harbour", "collection": ["c"] * (valid.MAX_FILTER_VALUES + 1)}, ["collection is given"]),
        ({"q": "harbour", "sender": "s" * (valid.MAX_VALUE_CHARS + 1)}, ["sender value is too long"]),
        ({"q": "harbour", "cursor": "[" + "1," * 600 + "1]"}, ["cursor", "too long"]),
    ],
)
def test_other_parameters_are_validated(site, args, words):
    client, _ = site
    _api_400(client.get("/api/search", query_string=args), *words)
    if "cursor" not in args and "facet" not in args and "mode" not in args:
        _page_400(client.get("/", query_string=args), *words)


def test_valid_parameters_still_work(backend_site):
    resp = backend_site.get(
        "/api/search",
        query_string={
            "q": "harbour OR information",
            "sort": "-date",
            "from": "1900-01-01",
            "to": "2100-12-31",
            "facet": ["collection", "lang", "recipient"],
            "collection": ["notes", "letters"],
            "raw": "0",
            "page": "",
        },
    )
    assert resp.status_code == 200, resp.get_json()
    assert set(resp.get_json()["facets"]) == {"collection", "lang", "recipient"}
    html_page = backend_site.get("/?q=harbour&sort=date&page=1")
    assert html_page.status_code == 200 and "matching page" in html_page.get_data(as_text=True)


# -- query errors ------------------------------------------------------------------------------------

MALFORMED = [
    "NOT harbour",
    "NOT",
    "(harbour",
    '""',
    "AND OR NOT",
    "harbour from:2020-99-99",
    "to:notadate harbour",
    "-harbour",
    "()",
    "harbour)",
]


@pytest.mark.parametrize("q", MALFORMED)
def test_malformed_queries_are_400_with_the_message_or_run(backend_site, q):
    """Whatever the parser makes of a malformed query, the web never answers 500: a QueryError is a 400
    with its message (JSON for the API, a page that keeps the query in the box for the UI)."""
    api = backend_site.get("/api/search", query_string={"q": q})
    assert api.status_code in {200, 400}, api.get_data(as_text=True)[:300]
    ui = backend_site.get("/", query_string={"q": q})
    export = backend_site.get("/api/export.csv", query_string={"q": q})
    assert ui.status_code == api.status_code and export.status_code == api.status_code
    if api.status_code == 400:
        message = _api_400(api)
        _page_400(ui, message, q=q)
        assert export.get_json()["error"]["message"] == message


@pytest.mark.parametrize("path", ["/api/search", "/api/export.csv", "/api/export.json", "/"])
def test_every_query_error_becomes_a_400_with_its_message(site, monkeypatch, path):
    client, _ = site

    def refuse(self, query, viewer=None):  # type: ignore[no-untyped-def]
        raise QueryError(f"cannot run {query.text!r}: an unclosed parenthesis")

    monkeypatch.setattr(Archive, "search", refuse)
    q = '(harbour "<b>" survey'
    resp = client.get(path, query_string={"q": q})
    if path == "/":
        page = _page_400(resp, "Query not understood", "an unclosed parenthesis", q=q)
        assert "<b>" not in page
    else:
        assert _api_400(resp, "an unclosed parenthesis") == f"cannot run {q!r}: an unclosed parenthesis"
        assert resp.get_json()["error"]["title"] == "Query not understood"


def test_document_page_ignores_a_query_it_cannot_highlight(site):
    client, ids = site
    resp = client.get(f"/documents/{ids['note.txt']}", query_string={"q": "NOT harbour"})
    assert resp.status_code == 200
    api = client.get(f"/api/documents/{ids['note.txt']}/pages/1", query_string={"q": "NOT harbour"})
    assert api.status_code == 200


# -- the OpenAPI document quotes the bounds ----------------------------------------------------------


def test_openapi_quotes_the_validation_bounds(site):
    client, _ = site
    spec = client.get("/api/openapi.json").get_json()
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert params["limit"] == {"type": "integer", "minimum": 1, "maximum": valid.MAX_LIMIT}
    assert params["offset"]["maximum"] == valid.MAX_OFFSET and params["page"]["maximum"] == valid.MAX_PAGE
    assert (
        params["q"]["maxLength"] == valid.MAX_QUERY_CHARS
        and params["cursor"]["maxLength"] == valid.MAX_CURSOR_CHARS
    )
    assert params["sort"]["enum"] == list(valid.SORTS) and params["facet"]["items"]["enum"] == list(
        valid.FACET_CHOICES
    )
    doc = spec["paths"]["/api/documents/{doc_id}"]["get"]["parameters"][0]["schema"]
    assert doc["maximum"] == 2**63 - 1
    for item in spec["paths"].values():
        for op in item.values():
            assert "200" in op["responses"]
            for code, response in op["responses"].items():
                if code not in {"200", "414"}:  # (414: the HTTP server's own answer)
                    schema = response["content"]["application/json"]["schema"]
                    assert schema["required"] == ["error"]
