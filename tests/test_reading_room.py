"""The reading room in Chromium, as an investigator uses it on a desk (1366x900) and a phone
(390x844): long strings, filter chips, result pages, the year histogram, the home page and last
searches, the document viewer (landing on a hit, next/previous, thumbnails, zoom, copy link,
glosses by keyboard and touch), threads, printed e-mails, failures with retry, error pages, and
axe-core on each kind of page. One archive and one browser for the module."""

from __future__ import annotations

import re
import threading

import pytest
from reading_room_data import LEDGERS, ledger_year, make_files
from test_browser import browser, wait_for_image  # noqa: F401 (the module's browser fixture)
from werkzeug.serving import make_server

from archive import Archive
from web import create_app

pytestmark = [pytest.mark.browser]
DESK = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("reading-room")
    files = make_files(root / "files")
    retry_me = root / "files" / "retry-me.txt"
    retry_me.write_text("A kestrel sighting near the harbour wall.", "utf-8")
    with Archive(root / "archive") as a:
        for collection, paths in files.items():
            a.ingest(paths, collection=collection)
        a.ingest([retry_me], collection="reports")
        ids = {d["filename"]: d["id"] for d in a.store.documents()}
        for name, doc_id in ids.items():
            if name.startswith("ledger-"):
                a.store.update_document(doc_id, date=f"{ledger_year(int(name[7:9]))}-06-01T00:00:00+00:00")
        note = a.store.page(ids["note.txt"], 1)
        sentence = "我们在军事基地附近讨论了海洋数据。"
        english = "We discussed ocean data near the military base."
        a.store.update_page(
            note["id"],
            translation=" ".join([english] * 3),
            segments=[[sentence, english]] * 3,
            translation_status="done",
        )
        # A failure that reading the file again cures (as a full disk or a killed worker would).
        a.store.update_document(
            ids["retry-me.txt"], status="failed", error_stage="extract", error_reason="disk full (simulated)"
        )
        a.reindex()
    app = create_app({"ARCHIVE_DIR": str(root / "archive")})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}", ids
    srv.shutdown()


@pytest.fixture(scope="module")
def desk(browser):  # noqa: F811
    context = browser.new_context(viewport=DESK)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    yield context
    context.close()


@pytest.fixture(scope="module")
def phone(browser):  # noqa: F811
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    yield context
    context.close()


def page_width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def visible(page, locator) -> bool:
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


@pytest.mark.parametrize("viewport", ["desk", "phone"])
def test_long_unbroken_strings_never_widen_a_page(site, request, viewport):
    base, ids = site
    context = request.getfixturevalue(viewport)
    width = (DESK if viewport == "desk" else PHONE)["width"]
    page = context.new_page()
    page.goto(f"{base}/?q=overflowword")
    assert page.locator(".hit").count() >= 1 and "overflowword" in page.inner_text(".hit .snippet")
    assert page_width(page) == width
    # The snippet's own text is on screen, not cut off past the right edge.
    for snippet in page.locator(".hit .snippet").all():
        box = snippet.bounding_box()
        assert box["x"] + box["width"] <= width
    if viewport == "desk":  # the facet column stays beside the results, never over them
        aside, results = page.locator("aside").bounding_box(), page.locator("section.results").bounding_box()
        assert aside["x"] + aside["width"] <= results["x"]
    page.goto(f"{base}/documents/{ids['long-strings.txt']}?q=overflowword")
    assert "x" * 200 in page.inner_text("pre.text")
    assert page_width(page) == width
    page.close()


def test_filter_chips_show_every_filter_survive_new_queries_and_come_off(site, desk):
    base, _ = site
    page = desk.new_page()
    page.goto(f"{base}/?q=ledger&collection=ledgers&from=2002-01-01&to=2003-12-31")
    chips = page.locator(".chip")
    assert chips.count() == 3
    assert [re.sub(r"\s+", " ", c.inner_text()).strip() for c in chips.all()] == [
        "collection: ledgers ×",
        "from: 2002-01-01 ×",
        "to: 2003-12-31 ×",
    ]
    assert "of 10 matching pages" in page.inner_text(".count")
    # A new query from the header keeps the filters.
    page.fill("header input[name=q]", "harbour")
    page.press("header input[name=q]", "Enter")
    page.wait_for_selector(".chip")
    assert "q=harbour" in page.url and "collection=ledgers" in page.url and "from=2002-01-01" in page.url
    assert page.locator(".chip").count() == 3 and "of 10 matching pages" in page.inner_text(".count")
    # One chip off.
    page.click('.chip a[aria-label="Remove filter from: 2002-01-01"]')
    page.wait_for_load_state()
    assert "from=" not in page.url and page.locator(".chip").count() == 2
    assert "of 15 matching pages" in page.inner_text(".count")
    # An entity filter from a link shows as a chip too, even with no result.
    page.goto(f"{base}/?q=kestrel&entity=nobody+at+all")
    assert "No pages match" in page.inner_text("main")
    assert page.locator(".chip").inner_text().startswith("entity: nobody at all")
    page.click("a.clear")
    page.wait_for_load_state()
    assert page.locator(".chip").count() == 0 and "entity=" not in page.url and "q=kestrel" in page.url
    # A filter written in the query is a chip too; removing it edits the query.
    page.goto(f"{base}/?q=ledger+from:2005-01-01")
    chip = page.locator(".chip")
    assert re.sub(r"\s+", " ", chip.inner_text()).strip() == "from (in the query): 2005-01-01 ×"
    assert "of 5 matching pages" in page.inner_text(".count")
    chip.locator("a").click()
    page.wait_for_load_state()
    assert page.locator("header input[name=q]").input_value() == "ledger"
    assert f"of {LEDGERS} matching pages" in page.inner_text(".count")
    page.close()


def test_numbered_result_pages_grouping_and_histogram(site, desk):
    base, _ = site
    page = desk.new_page()
    page.goto(f"{base}/?q=ledger")
    assert f"Results 1–20 of {LEDGERS} matching pages" in page.inner_text(".count")
    page.click('.pager a:text-is("2")')
    page.wait_for_load_state()
    assert f"Results 21–{LEDGERS} of {LEDGERS} matching pages" in page.inner_text(".count")
    assert page.locator(".hit").count() == LEDGERS - 20
    assert page.locator('.pager [aria-current="page"]').inner_text() == "2"
    # The year histogram: one bar a year, a click filters by that year.
    bars = page.locator(".histogram .bar")
    assert [b.get_attribute("data-year") for b in bars.all()] == [str(y) for y in range(2001, 2006)]
    page.click('.histogram .bar[data-year="2003"]')
    page.wait_for_load_state()
    assert "from=2003-01-01" in page.url and "to=2003-12-31" in page.url
    assert "of 5 matching pages" in page.inner_text(".count")
    # Dragging across bars filters by the span of years.
    page.goto(f"{base}/?q=ledger")
    first = page.locator('.histogram .bar[data-year="2002"]').bounding_box()
    last = page.locator('.histogram .bar[data-year="2004"]').bounding_box()
    page.mouse.move(first["x"] + 2, first["y"] + first["height"] - 2)
    page.mouse.down()
    page.mouse.move(last["x"] + 2, last["y"] + last["height"] - 2, steps=5)
    with page.expect_navigation():
        page.mouse.up()
    assert "from=2002-01-01" in page.url and "to=2004-12-31" in page.url
    assert "of 15 matching pages" in page.inner_text(".count")
    # Grouped by document: the report's two pages under one heading, its best page first.
    page.goto(f"{base}/?q=%22due+diligence%22&group=doc")
    groups = page.locator(".hit.group")
    assert groups.count() == 1 and groups.locator(".grouped").count() == 2
    assert "harbour-report.pdf" in groups.locator("h2").inner_text() or "2 pages" in groups.inner_text()
    page.close()


def test_home_page_collections_latest_examples_and_last_searches(site, desk):
    base, _ = site
    page = desk.new_page()
    page.goto(f"{base}/")
    page.evaluate("() => localStorage.clear()")  # the searches of the tests before
    page.reload()
    assert page.locator("#recent-searches").is_hidden()
    home = page.inner_text(".home")
    assert "ledgers" in home and f"{LEDGERS} documents" in home and '"due diligence"' in home
    assert "harbour-report.pdf" in home or "Latest documents" in home
    page.goto(f"{base}/?q=pelican")
    page.goto(f"{base}/?q=zebra&collection=mail")
    page.goto(f"{base}/")
    recent = page.locator("#recent-searches li a")
    assert [a.inner_text() for a in recent.all()][:2] == ["zebra [collection: mail]", "pelican"]
    recent.first.click()
    page.wait_for_load_state()
    assert "q=zebra" in page.url and page.locator(".chip").count() == 1
    page.close()


def test_viewer_lands_on_the_hit_and_steps_through_hits(site, desk):
    base, ids = site
    page = desk.new_page()
    page.goto(f"{base}/?q=%22due+diligence%22")
    page.click('.hit h2 a[href$="#page-3"]')
    page.wait_for_load_state("load")
    assert page.url.endswith("#page-3")
    # Page images are sized before they load (no layout shift) at one resolution.
    imgs = page.locator(".pageimg img")
    assert imgs.count() == 4 and all(
        i.get_attribute("width") and i.get_attribute("height") for i in imgs.all()
    )
    box = page.locator("#page-3 .box.hit").first
    wait_for_image(page, page.locator("#page-3 .pageimg img"))
    assert visible(page, box), "the hit box is not in view after landing"
    assert page.inner_text("#hit-pos") == "hit 1 of 2"
    assert "p. 3 (1)" in page.inner_text(".perpage") and "p. 4 (1)" in page.inner_text(".perpage")
    page.click("#next-hit")
    page.wait_for_timeout(600)
    assert page.inner_text("#hit-pos") == "hit 2 of 2"
    assert visible(page, page.locator("#page-4 .box.hit").first)
    page.click("#prev-hit")
    page.wait_for_timeout(600)
    assert page.inner_text("#hit-pos") == "hit 1 of 2" and visible(page, box)
    # Thumbnails jump to their page; the pages with hits are marked.
    thumbs = page.locator(".pagestrip a")
    assert thumbs.count() == 4 and page.locator(".pagestrip a.has-hits").count() == 2
    thumbs.nth(1).scroll_into_view_if_needed()
    wait_for_image(page, thumbs.nth(1).locator("img"))
    assert thumbs.nth(1).locator("img").evaluate("el => el.naturalWidth") == 160
    # Zoom doubles and more the image; boxes stay on their words (percent of the image).
    img = page.locator("#page-3 .pageimg img")
    before = img.bounding_box()["width"]
    page.click("#page-3 button.zoom[data-zoom=in]")
    assert img.bounding_box()["width"] > 1.4 * before
    hit = page.locator("#page-3 .box.hit").first.bounding_box()
    frame = img.bounding_box()
    assert frame["x"] <= hit["x"] and hit["x"] + hit["width"] <= frame["x"] + frame["width"]
    # Copy a link to this page (and its hits).
    page.click("#page-3 a.copylink")
    page.wait_for_timeout(200)
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.endswith(f"/documents/{ids['harbour-report.pdf']}?q=%22due+diligence%22#page-3")
    # Searching inside the document.
    page.fill("#inside", "harbour")
    page.press("#inside", "Enter")
    page.wait_for_load_state("load")
    assert re.search(r"\d+ hits on 4 pages", page.inner_text(".docsearch"))
    page.close()


def test_glosses_by_keyboard_and_touch_and_the_bilingual_table_on_a_phone(site, desk, phone):
    base, ids = site
    for context in (desk, phone):
        page = context.new_page()
        page.goto(f"{base}/documents/{ids['note.txt']}")
        gloss = page.locator(".gl", has_text="军事基地").first
        if context is desk:
            page.locator("#inside").focus()
            for _ in range(20):  # Tab from the search box to the first gloss
                page.keyboard.press("Tab")
                if gloss.evaluate("el => el === document.activeElement"):
                    break
        else:
            gloss.tap()
        assert gloss.evaluate("el => el === document.activeElement")
        shown = gloss.evaluate("el => getComputedStyle(el, '::after').content")
        assert "military base" in shown
        if context is phone:
            table = page.locator("table.aligned").first.bounding_box()
            assert table["width"] <= PHONE["width"] and page_width(page) == PHONE["width"]
        page.close()


def test_phone_results_first_and_tap_targets(site, phone):
    base, _ = site
    page = phone.new_page()
    page.goto(f"{base}/?q=harbour&collection=ledgers&collection=reports")
    first = page.locator(".hit").first.bounding_box()
    assert first["y"] < PHONE["height"], "the first result is below the first screen"
    for selector in (".facet li a", ".chip a", ".pager a", "header nav a"):
        for el in page.locator(selector).all():
            box = el.bounding_box()
            assert box["height"] >= 24 and box["width"] >= 24, (selector, box)
    page.close()


def test_printed_emails_are_listed_once_and_link_to_their_page(site, desk):
    base, ids = site
    page = desk.new_page()
    page.goto(f"{base}/?q=zebra")
    hits = page.locator(".hit")
    assert hits.count() == 1 and "printout.pdf" in hits.locator("h2").inner_text()
    printed = hits.locator(".printed a")
    assert printed.inner_text() == "Zebra crossing survey"
    printed.click()
    page.wait_for_load_state()
    link = page.locator("a.parent-page")
    assert "page 2 of printout.pdf" in link.inner_text()
    assert page.locator("#download").inner_text() == "download the printout"
    wait_for_image(page, page.locator(".printed-in img"))
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith("#page-2") and f"/documents/{ids['printout.pdf']}" in page.url
    page.close()


def test_thread_view_with_quoted_text_folded(site, desk):
    base, ids = site
    page = desk.new_page()
    page.goto(f"{base}/documents/{ids['m2.eml']}")
    # A participant without an address is shown by name alone (it was "Harbour Board <>").
    cc = page.locator("table.mail tr", has_text="Cc").inner_text()
    assert "Harbour Board" in cc and "<" not in cc
    rows = page.locator("table.thread-list tbody tr")
    assert rows.count() == 2
    assert "Alice Example <alice@example.org>" in rows.nth(0).inner_text()
    assert "2015-03-03 10:00" in rows.nth(0).inner_text() and "Harbour tender" in rows.nth(0).inner_text()
    assert rows.nth(0).locator("a", has_text="tender-terms.txt").count() == 1
    assert "(this message)" in rows.nth(1).inner_text()
    quoted = page.locator("details.quoted")
    assert quoted.count() == 1 and not quoted.locator("pre").is_visible()
    assert "pelican figures" in page.inner_text(".message")
    quoted.locator("summary").click()
    assert "tender closes on Friday" in quoted.locator("pre").inner_text()
    page.close()


def test_status_lists_failed_documents_and_retry_cures_one(site, desk):
    base, ids = site
    page = desk.new_page()
    page.goto(f"{base}/status")
    assert "No translation model is installed" in page.inner_text("main")
    assert "foi models install" in page.inner_text("main")
    row = page.locator("table.failures tbody tr", has_text="retry-me.txt")
    # The failed document's own page names it and says where it failed (it said "None · None").
    page.click('table.failures a:text("retry-me.txt")')
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "retry-me.txt" and "None" not in page.inner_text("main")
    assert "Failed at extract: disk full (simulated)" in page.inner_text(".failure")
    page.go_back()
    assert "extract" in row.inner_text() and "disk full (simulated)" in row.inner_text()
    row.locator("button").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/documents/{ids['retry-me.txt']}")
    # Queued: the server's background worker reads it again and the page reloads until it is done.
    page.locator("pre.text", has_text="kestrel sighting").wait_for(timeout=30_000)
    assert "Failed" not in page.inner_text("main") and "Queued" not in page.inner_text("main")
    page.goto(f"{base}/?q=kestrel")
    assert page.locator(".hit").count() == 1
    page.close()


def test_error_pages_keep_the_query_and_every_page_has_a_title_and_h1(site, desk):
    base, ids = site
    page = desk.new_page()
    page.goto(f"{base}/?q=%22unclosed")
    assert page.locator("header input[name=q]").input_value() == '"unclosed'
    assert page.title().startswith("400") and page.locator("h1").count() == 1
    titles = set()
    for path in ("/", "/?q=harbour", f"/documents/{ids['m1.eml']}", "/status", "/collections", "/nowhere"):
        page.goto(base + path)
        assert page.locator("h1").count() == 1, path
        titles.add(page.title())
    assert len(titles) == 6
    # Counts in words, languages by name.
    page.goto(f"{base}/collections")
    assert re.search(r"reports\s+4 documents", page.inner_text("main"))
    page.goto(f"{base}/documents/{ids['note.txt']}")
    assert "Chinese" in page.inner_text("main .meta") and "1 page ·" in page.inner_text("main .meta")
    assert page.request.get(f"{base}/favicon.ico").status == 200
    page.close()


def test_axe_finds_no_serious_violations(site, browser):  # noqa: F811
    from axe_playwright_python.sync_playwright import Axe

    base, ids = site
    axe = Axe()
    context = browser.new_context(viewport=DESK, bypass_csp=True)  # axe is injected as a script
    page = context.new_page()
    failures = {}
    for path in (
        "/?q=harbour",
        "/?q=nothing+matches+this&collection=reports",
        "/",
        f"/documents/{ids['harbour-report.pdf']}?q=due+diligence",
        f"/documents/{ids['note.txt']}?q=military",
        f"/documents/{ids['m2.eml']}",
        "/status",
        "/?q=%22unclosed",
    ):
        page.goto(base + path)
        results = axe.run(page)
        assert results.response["testEngine"]["name"] == "axe-core" and results.response["passes"]
        bad = [
            (v["id"], v["impact"], len(v["nodes"]))
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if bad:
            failures[path] = bad
    context.close()
    assert failures == {}
