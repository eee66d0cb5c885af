"""The Flask app: pages, API, OpenAPI kept true, exports, safety."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

import pytest

from archive import Archive
from conftest import corpus_file
from web import create_app

pytestmark = pytest.mark.tesseract

XSS = "<script>alert(1)</script> secret memo <img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    memo = root / "memo.txt"
    memo.write_text(XSS, encoding="utf-8")
    note = root / "note.txt"
    note.write_text("我们在军事基地附近讨论了海洋数据。", encoding="utf-8")
    formula = root / "formula.txt"
    formula.write_text('=HYPERLINK("http://evil.example/","click") spreadsheet trap', encoding="utf-8")
    with Archive(root / "archive") as a:
        a.ingest(
            [
                corpus_file("pdf-scanned/kreuzberg_non_searchable.pdf"),
                corpus_file("pdf-text/alaveteli_psni.pdf"),
                corpus_file("pdf-text/pdfminer_issue_566_test_2.pdf"),
            ],
            collection="letters",
        )
        a.ingest([memo, note, formula], collection="notes")
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
    assert "No pages match" in filtered and "Remove filter collection: notes" in filtered


def test_document_view_page_image_with_hit_boxes_and_download(site):
    client, ids = site
    doc_id = ids["kreuzberg_non_searchable.pdf"]
    html = client.get(f"/documents/{doc_id}?q=searchable").get_data(as_text=True)
    assert html.count('class="box hit"') >= 2
    img = client.get(f"/documents/{doc_id}/pages/1.png")
    assert img.status_code == 200 and img.data.startswith(b"\x89PNG")
    dl = client.get(f"/documents/{doc_id}/original")
    assert dl.status_code == 200 and dl.data.startswith(b"%PDF")
    assert (
        "attachment" in dl.headers["Content-Disposition"]
        and "kreuzberg_non_searchable.pdf" in dl.headers["Content-Disposition"]
    )


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


# Query parameters each API route reads (kept in step with web/api.py and query_from_args).
SEARCH_FILTERS = {
    "q",
    "mode",
    "raw",
    "collection",
    "lang",
    "kind",
    "year",
    "sender",
    "recipient",
    "entity",
    "exemption",
    "redacted",
    "bad_redaction",
    "from",
    "to",
    "sort",
}
READS = {
    "/api/search": SEARCH_FILTERS | {"limit", "page", "offset", "cursor", "facet"},
    "/api/export.{fmt}": SEARCH_FILTERS,
    "/api/documents/{doc_id}/pages/{number}": {"q"},
}


def _check_schema(schema):
    assert isinstance(schema, dict) and schema.get("type") in {
        "string",
        "integer",
        "number",
        "boolean",
        "array",
        "object",
    }
    if schema["type"] == "array":
        _check_schema(schema["items"])


def test_openapi_describes_every_api_route_and_parameter(site):
    client, _ = site
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.0.") and spec["info"]["title"] and spec["info"]["version"]
    app = client.application
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            routes[path] = rule
    assert set(routes) == set(spec["paths"])
    for path, item in spec["paths"].items():
        rule = routes[path]
        assert set(item) == {m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}}
        for op in item.values():
            assert op["summary"] and op["responses"]
            for code, response in op["responses"].items():
                assert code.isdigit() and response["description"]
                for media, body in (response.get("content") or {}).items():
                    assert "/" in media
                    _check_schema(body["schema"])
            params = op.get("parameters", [])
            seen = [(p["name"], p["in"]) for p in params]
            assert len(seen) == len(set(seen)), f"duplicate parameters in {path}"
            for p in params:
                assert p["in"] in {"query", "path"} and p["description"]
                assert p["required"] is (p["in"] == "path")
                _check_schema(p["schema"])
            # Path parameters are exactly the rule's variables, typed like the converters.
            path_params = {p["name"]: p for p in params if p["in"] == "path"}
            assert set(path_params) == set(rule.arguments)
            for name, conv in rule._converters.items():
                expected = "integer" if type(conv).__name__ == "IntegerConverter" else "string"
                assert path_params[name]["schema"]["type"] == expected
            query_params = {p["name"] for p in params if p["in"] == "query"}
            assert READS.get(path, set()) <= query_params, (
                f"{path} misses {READS.get(path, set()) - query_params}"
            )


def _client_of_memos(tmp_path: Path, n: int, text: str, collection: str):  # type: ignore[no-untyped-def]
    """A test client of a fresh archive holding `n` one-line text files (`text` with {i})."""
    root = tmp_path / f"memos-{collection}"
    root.mkdir()
    for i in range(n):
        (root / f"m{i:03d}.txt").write_text(text.format(i=i))
    with Archive(tmp_path / f"archive-{collection}") as a:
        a.ingest([root], collection=collection)
    return create_app({"ARCHIVE_DIR": str(tmp_path / f"archive-{collection}"), "TESTING": True}).test_client()


def test_exports_stream_every_hit_not_one_page(site, tmp_path):
    client, _ = site
    # More hits than one backend page (200): a collection of many small files.
    other = _client_of_memos(tmp_path, 230, "harbour inspection report number {i}", "bulk")
    rows = list(csv.DictReader(io.StringIO(other.get("/api/export.csv?q=harbour").get_data(as_text=True))))
    assert len(rows) == 230 and rows[0]["collection"] == "bulk"
    # Plain text snippets (no <mark>, no entities) and a link to the page of each hit.
    assert all(r["snippet"].startswith("harbour inspection report number") for r in rows)
    assert not any("<" in r["snippet"] or "&" in r["snippet"] for r in rows)
    assert rows[0]["url"].startswith("http://localhost/documents/") and rows[0]["url"].endswith(
        "?q=harbour#page-1"
    )
    items = json.loads(other.get("/api/export.json?q=harbour&collection=bulk").get_data(as_text=True))
    assert len(items) == 230
    assert other.get("/api/export.csv").status_code == 400


def test_download_works_from_a_relative_archive_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "letter.txt").write_text("a short letter about harbour dues", encoding="utf-8")
    with Archive("rel-archive") as a:
        assert a.root.is_absolute()
        a.ingest([tmp_path / "letter.txt"], collection="rel")
        doc_id = a.store.documents()[0]["id"]
    client = create_app({"ARCHIVE_DIR": "rel-archive", "TESTING": True}).test_client()
    dl = client.get(f"/documents/{doc_id}/original")
    assert dl.status_code == 200 and b"harbour dues" in dl.data
    assert "letter.txt" in dl.headers["Content-Disposition"]


def test_text_layer_pdf_pages_have_word_boxes_and_hit_boxes(site):
    client, ids = site
    doc_id = ids["alaveteli_psni.pdf"]
    page = client.get(f"/api/documents/{doc_id}/pages/1?q=%22common+purpose%22").get_json()
    assert not page["ocr"] and page["words"] and page["width"] > 500 and page["height"] > page["width"]
    hits = page["highlights"]["hits"]
    assert hits and all(0 <= b["left"] < 100 and 0 <= b["top"] < 100 and 0 < b["width"] < 50 for b in hits)
    # The two words of the phrase make one box per occurrence.
    assert any(b["text"].lower() == "common purpose" for b in hits)
    html = client.get(f"/documents/{doc_id}?q=%22common+purpose%22").get_data(as_text=True)
    assert 'class="box hit"' in html and "<mark>Common</mark>" in html
    # Word boxes sit where the words are: boxes are in percent of the page, and the image shown
    # (at the one display resolution, whatever the page was read at) has the page's proportions.
    img = client.get(f"/documents/{doc_id}/pages/1.png")
    from io import BytesIO

    from PIL import Image

    scale = 150 / page["dpi"]
    with Image.open(BytesIO(img.data)) as im:
        assert abs(im.width - page["width"] * scale) <= 2 and abs(im.height - page["height"] * scale) <= 2


def test_chinese_hits_span_several_characters(site):
    client, ids = site
    doc_id = ids["pdfminer_issue_566_test_2.pdf"]
    hits = client.get(f"/api/documents/{doc_id}/pages/1?q=%E6%9C%89%E9%99%90%E5%85%AC%E5%8F%B8").get_json()[
        "highlights"
    ]["hits"]
    assert len(hits) == 1 and hits[0]["text"] == "有限公司"  # four character boxes, one hit box


def test_ocr_word_boxes_of_a_chinese_word_merge_into_one_hit(tmp_path):
    (tmp_path / "zh.txt").write_text("我们在军事基地附近", encoding="utf-8")
    with Archive(tmp_path / "a") as a:
        a.ingest([tmp_path / "zh.txt"], collection="zh")
        doc_id = a.store.documents()[0]["id"]
        page = a.store.page(doc_id, 1)
        # One box per character, as Tesseract gives for chi_sim, on one line of a 1000x500 image.
        words = [[ch, 100 + 20 * i, 50, 18, 20, 90.0] for i, ch in enumerate("我们在军事基地附近")]
        a.store.update_page(page["id"], words=json.dumps(words, ensure_ascii=False), width=1000, height=500)
        hl = a.page_highlights(doc_id, 1, "军事基地")
    assert hl is not None and len(hl["hits"]) == 1
    box = hl["hits"][0]
    assert box["text"] == "军事基地" and box["left"] == 16.0 and box["width"] == 7.8


def test_document_view_side_by_side_gloss_entities_and_hits(site):
    client, ids = site
    note = ids["note.txt"]
    a = Archive(client.application.config["ARCHIVE_DIR"])
    try:
        page = a.store.page(note, 1)
        meta = dict(page["meta"])
        meta["entities"] = [
            *(meta.get("entities") or []),
            {
                "type": "org",
                "text": "军事基地",
                "norm": "Military Base <x>",
                "entity_id": "org:mb",
                "start": 3,
                "end": 7,
                "field": "original",
                "source": "watchlist",
            },
            {
                "type": "place",
                "text": "ocean",
                "norm": "ocean",
                "entity_id": "place:ocean",
                "start": 13,
                "end": 18,
                "field": "translation",
                "source": "ner_en",
            },
        ]
        a.store.update_page(
            page["id"],
            translation="We discussed ocean data near the military base.",
            segments=[
                ["我们在军事基地附近讨论了海洋数据。", "We discussed ocean data near the military base."]
            ],
            translation_status="done",
            meta=meta,
        )
    finally:
        a.close()
    html = client.get(f"/documents/{note}?q=%E5%9F%BA%E5%9C%B0+military").get_data(as_text=True)
    # Original and English side by side in one aligned table; the toggle only names the English column.
    assert '<td lang="zh-Hans" class="original">' in html and '<td lang="en" class="translation">' in html
    assert 'data-target="tr-1"' in html
    # Gloss on hover over the original, the hit marked inside it, the entity wrapped round both.
    assert (
        '<span class="gl" title="jun1 shi4 ji1 di4: military base" tabindex="0" '
        'data-gloss="jun1 shi4 ji1 di4: military base">军事<mark>基地</mark></span>'
    ) in html
    assert 'class="ent ent-org watch" title="org: Military Base &lt;x&gt; (watchlist)"' in html
    assert '<span class="ent ent-place" title="place: ocean">ocean</span>' in html
    assert "<mark>military</mark>" in html
    # The legend covers every type the entity step produces.
    from archive.entities import TYPES

    for t in TYPES:
        assert f'class="ent ent-{t}' in html


def test_entity_types_have_distinct_colours():
    from archive.entities import TYPES

    css = (Path(__file__).resolve().parents[1] / "web" / "static" / "app.css").read_text()
    colours = {}
    for t in TYPES:
        m = re.search(r"\.ent-" + t + r"\{--c:(#[0-9a-f]{3,6});background:(#[0-9a-f]{3,6})", css)
        assert m, f"no colour for entity type {t}"
        colours[t] = m.groups()
    assert len({c for c, _ in colours.values()}) == len(TYPES)
    assert len({b for _, b in colours.values()}) == len(TYPES)
    assert "var(--c" in re.search(r"\.box\.ent\{[^}]*\}", css).group()
    # An exemption is a citation, not a redaction: a pale fill, never a black box.
    pale = colours["exemption"][1]
    assert all(int(pale[i : i + 2], 16) > 0xD0 for i in (1, 3, 5))


def test_markup_is_built_safely():
    from markupsafe import Markup

    from archive.search.query import parse
    from web.markup import Span, annotate, render_text

    text = '<b onmouseover="x">军事基地</b> & "quotes"'
    out = render_text(
        text,
        parse("基地").positive_terms(),
        [{"type": 'org" onclick="x', "norm": '"><script>', "start": 19, "end": 23, "field": "original"}],
        gloss=[["军事", 19, 21, "jun1 shi4", '"><img src=x onerror=alert(1)>']],
    )
    assert isinstance(out, Markup)
    assert "<b" not in out and "<script>" not in out and "<img" not in out and 'onclick="' not in out
    assert "&lt;b onmouseover=&#34;x&#34;&gt;" in out and "<mark>基地</mark>" in out
    # Overlapping spans still nest.
    nested = annotate("abcdef", [Span(0, 4, "entity", "ent"), Span(2, 6, "hit")])
    assert nested == '<span class="ent">ab<mark>cd</mark></span><mark>ef</mark>'


def test_api_rejects_bad_cursors_with_400(site):
    client, _ = site
    for cursor in ("not-json", "{}", "[]", '{"a": 1}', '[["nested"]]', '["abc"]'):
        resp = client.get("/api/search", query_string={"q": "information", "cursor": cursor})
        assert resp.status_code == 400, cursor
        assert "cursor" in resp.get_json()["error"]["message"].lower()
    first = client.get("/api/search?q=information&limit=1").get_json()
    if first["next_cursor"]:
        nxt = client.get(
            "/api/search",
            query_string={"q": "information", "limit": 1, "cursor": json.dumps(first["next_cursor"])},
        )
        assert nxt.status_code == 200


def test_export_accepts_every_search_filter_and_defuses_formulas(site):
    client, _ = site
    for name, value in [
        ("year", "2010"),
        ("exemption", "s40"),
        ("recipient", "a@b.org"),
        ("from", "1900-01-01"),
        ("to", "2100-01-01"),
        ("sender", "a@b.org"),
        ("entity", "PSNI"),
        ("lang", "en"),
        ("kind", "text"),
        ("collection", "notes"),
    ]:
        resp = client.get("/api/export.json", query_string={name: value})
        assert resp.status_code == 200, name
        json.loads(resp.get_data(as_text=True))
    rows = list(
        csv.DictReader(io.StringIO(client.get("/api/export.csv?q=spreadsheet").get_data(as_text=True)))
    )
    assert rows and rows[0]["snippet"].startswith("'=")
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@"))


def test_search_with_only_dates_runs_the_search(site):
    client, _ = site
    html = client.get("/?from=1900-01-01").get_data(as_text=True)
    assert ("matching page" in html or "No pages match" in html) and "Search the archive" not in html
    assert "Remove filter from: 1900-01-01" in html


def test_facets_keep_other_values_of_a_chosen_facet(site):
    client, _ = site
    html = client.get("/?q=information+OR+secret&collection=notes").get_data(as_text=True)
    facet = html[html.index('data-facet="collection"') :]
    facet = facet[: facet.index("</div>")]
    assert 'class="on"' in facet and "letters" in facet and "notes" in facet
    both = client.get("/?q=information+OR+secret&collection=notes&collection=letters").get_data(as_text=True)
    only = client.get("/?q=information+OR+secret&collection=notes").get_data(as_text=True)
    count = lambda h: int(re.search(r"of ([\d,]+) matching page", h).group(1).replace(",", ""))  # noqa: E731
    assert count(both) > count(only)


def test_thread_navigation_and_collection_pages(site, tmp_path):
    client, ids = site
    html = client.get("/collections/letters").get_data(as_text=True)
    assert "alaveteli_psni.pdf" in html or "Common Purpose" in html
    assert "page 1 of" not in html  # one page only
    other = _client_of_memos(tmp_path, 105, "memo {i}", "big")
    first = other.get("/collections/big").get_data(as_text=True)
    second = other.get("/collections/big?page=2").get_data(as_text=True)
    assert "page 1 of 2" in first and 'rel="next"' in first and first.count("<li>") == 100
    assert "page 2 of 2" in second and second.count("<li>") == 5


def test_page_image_cache_is_written_atomically(site):
    client, ids = site
    doc_id = ids["pdfminer_issue_566_test_2.pdf"]
    first = client.get(f"/documents/{doc_id}/pages/1.png")
    assert first.status_code == 200
    cache = Path(client.application.config["ARCHIVE_DIR"]) / "cache" / "pages"
    assert list(cache.glob("*.png")) and not list(cache.glob(".tmp-*"))
    # A browser revalidating its copy gets a 304, and thumbnails are cached beside the pages.
    again = client.get(f"/documents/{doc_id}/pages/1.png", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    thumb = client.get(f"/documents/{doc_id}/pages/1/thumbnail.png")
    assert (
        thumb.status_code == 200 and thumb.data.startswith(b"\x89PNG") and list(cache.glob("*-thumb160.png"))
    )


def test_thread_navigation_lists_only_the_thread(tmp_path):
    for name in ("m1", "m2", "m3", "other"):
        (tmp_path / f"{name}.txt").write_text(f"message {name}", encoding="utf-8")
    with Archive(tmp_path / "a") as a:
        a.ingest([tmp_path / f"{n}.txt" for n in ("m1", "m2", "m3", "other")], collection="mail")
        ids = {d["filename"]: d["id"] for d in a.store.documents()}
        tid = ids["m1.txt"]
        # Thread positions out of id order, and another thread's message.
        for name, pos in (("m1.txt", 3), ("m2.txt", 1), ("m3.txt", 2)):
            a.store.update_document(
                ids[name],
                kind="email",
                metadata={"mail": {"subject": name, "thread": {"id": tid, "position": pos, "size": 3}}},
            )
        a.store.update_document(
            ids["other.txt"],
            kind="email",
            metadata={
                "mail": {"subject": "other", "thread": {"id": ids["other.txt"], "position": 1, "size": 1}}
            },
        )
    client = create_app({"ARCHIVE_DIR": str(tmp_path / "a"), "TESTING": True}).test_client()
    html = client.get(f"/documents/{ids['m3.txt']}").get_data(as_text=True)
    assert "Thread (3 messages)" in html
    nav = html[html.index("Thread (3 messages)") :]
    nav = nav[: nav.index("</table>")]
    # One row per message in thread order, with its subject; the current one is not a link.
    rows = re.findall(r"<tr[^>]*><td>(\d)</td>.*?</tr>", nav, re.S)
    assert rows == ["1", "2", "3"]
    assert nav.index(f'/documents/{ids["m2.txt"]}">m2.txt<') < nav.index("<strong>m3.txt</strong>")
    assert nav.index("<strong>m3.txt</strong>") < nav.index(f'/documents/{ids["m1.txt"]}">m1.txt<')
    assert f'/documents/{ids["other.txt"]}"' not in nav


def test_foi_serve_with_gunicorn_workers(tmp_path):
    """The production form (`foi serve --workers N`, as docker-compose runs it) answers for real."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from archive import Archive

    note = tmp_path / "memo.txt"
    note.write_text("The harbour survey <script>alert(1)</script> was discussed.", encoding="utf-8")
    with Archive(tmp_path / "archive") as a:
        a.ingest([note], collection="memos")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "archive.cli",
        "--archive",
        str(tmp_path / "archive"),
        "serve",
        "--port",
        str(port),
        "--workers",
        "2",
        "--threads",
        "2",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/search?q=harbour", timeout=5
                ) as resp:
                    data = json.loads(resp.read())
                    headers = resp.headers
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(
                        proc.stderr.read().decode() if proc.stderr else "no server"
                    ) from None
                time.sleep(0.2)
        assert [h["filename"] for h in data["hits"]] == ["memo.txt"]
        assert (
            "<mark>harbour</mark>" in data["hits"][0]["snippet"]
            and "<script>" not in data["hits"][0]["snippet"]
        )
        assert headers["X-Content-Type-Options"] == "nosniff" and "gunicorn" in headers.get("Server", "")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
