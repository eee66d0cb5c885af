"""The Flask app: pages, API, OpenAPI kept true, exports, safety."""

from __future__ import annotations

import csv
import io
import json

import pytest

from archive import Archive
from conftest import corpus_file
from web import create_app

pytestmark = pytest.mark.tesseract

XSS = '<script>alert(1)</script> secret memo <img src=x onerror=alert(2)>'


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    memo = root / "memo.txt"
    memo.write_text(XSS, encoding="utf-8")
    note = root / "note.txt"
    note.write_text("我们在军事基地附近讨论了海洋数据。", encoding="utf-8")
    with Archive(root / "archive") as a:
        a.ingest([corpus_file("pdf-scanned/kreuzberg_non_searchable.pdf"), corpus_file("pdf-text/alaveteli_psni.pdf")],
                 collection="letters")
        a.ingest([memo, note], collection="notes")
        ids = {d["filename"]: d["id"] for d in a.store.documents()}
    app = create_app({"ARCHIVE_DIR": str(root / "archive"), "TESTING": True})
    return app.test_client(), ids


def test_search_page_with_facets_snippets_and_matched_field(site):
    client, _ = site
    html = client.get("/?q=military+base").get_data(as_text=True)
    assert 'class="matched">gloss' in html
    page = client.get('/?q="common+purpose"').get_data(as_text=True)
    assert "The Charity Common Purpose and the PSNI" in page and "<mark>Common</mark>" in page
    assert 'data-facet="collection"' in page and "letters" in page
    filtered = client.get("/?q=information&collection=notes").get_data(as_text=True)
    assert "0 matching pages" in filtered


def test_document_view_page_image_with_hit_boxes_and_download(site):
    client, ids = site
    doc_id = ids["kreuzberg_non_searchable.pdf"]
    html = client.get(f"/documents/{doc_id}?q=searchable").get_data(as_text=True)
    assert html.count('class="box hit"') >= 2
    img = client.get(f"/documents/{doc_id}/pages/1.png")
    assert img.status_code == 200 and img.data.startswith(b"\x89PNG")
    dl = client.get(f"/documents/{doc_id}/original")
    assert dl.status_code == 200 and dl.data.startswith(b"%PDF")
    assert "attachment" in dl.headers["Content-Disposition"] and "kreuzberg_non_searchable.pdf" in dl.headers[
        "Content-Disposition"]


def test_untrusted_text_is_escaped_and_headers_are_set(site):
    client, ids = site
    resp = client.get(f"/documents/{ids['memo.txt']}")
    html = resp.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    results = client.get("/?q=secret").get_data(as_text=True)
    assert "<script>alert" not in results and "<mark>secret</mark>" in results
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_api_and_errors(site):
    client, ids = site
    data = client.get("/api/search?q=information&facet=collection&facet=lang").get_json()
    assert data["total"] >= 1 and data["facets"]["collection"][0]["value"] == "letters"
    page = client.get(f"/api/documents/{ids['kreuzberg_non_searchable.pdf']}/pages/1?q=searchable").get_json()
    assert page["ocr"] and page["words"] and page["highlights"]["hits"]
    assert client.get("/api/collections").get_json()["collections"][0]["name"] == "letters"
    missing = client.get("/api/documents/9999")
    assert missing.status_code == 404 and missing.get_json()["error"]["status"] == 404
    bad = client.get("/api/search?q=NOT+x")
    assert bad.status_code == 400 and "negated" in bad.get_json()["error"]["message"]
    assert client.get("/documents/9999").mimetype == "text/html"


def test_openapi_describes_every_api_route(site):
    client, _ = site
    spec = client.get("/api/openapi.json").get_json()
    app = client.application
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            routes.add(rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}"))
    assert routes == set(spec["paths"])
    for path in spec["paths"]:
        for op in spec["paths"][path].values():
            assert op["responses"] and op["summary"]


def test_exports_stream_every_hit_not_one_page(site, tmp_path):
    client, _ = site
    # More hits than one backend page (200): a collection of many small files.
    root = tmp_path / "many"
    root.mkdir()
    for i in range(230):
        (root / f"n{i:03d}.txt").write_text(f"harbour inspection report number {i}")
    with Archive(tmp_path / "a2") as a:
        a.ingest([root], collection="bulk")
    other = create_app({"ARCHIVE_DIR": str(tmp_path / "a2"), "TESTING": True}).test_client()
    rows = list(csv.DictReader(io.StringIO(other.get("/api/export.csv?q=harbour").get_data(as_text=True))))
    assert len(rows) == 230 and rows[0]["collection"] == "bulk"
    items = json.loads(other.get("/api/export.json?q=harbour&collection=bulk").get_data(as_text=True))
    assert len(items) == 230
    assert other.get("/api/export.csv").status_code == 400
