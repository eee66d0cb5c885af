"""The UI in a real browser: Debian's chromium driven by Playwright against a live server."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from archive import Archive
from conftest import corpus_file
from web import create_app

pytestmark = [pytest.mark.browser, pytest.mark.tesseract]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    (root / "xss.txt").write_text(
        'payload <script>alert("x")</script> <img src=x onerror=alert(1)> inert', "utf-8"
    )
    (root / "note.txt").write_text("我们在军事基地附近讨论了海洋数据。", "utf-8")
    with Archive(root / "archive") as a:
        a.ingest([corpus_file("pdf-scanned/kreuzberg_non_searchable.pdf")], collection="scans")
        a.ingest([corpus_file("pdf-text/alaveteli_psni.pdf")], collection="letters")
        a.ingest([root / "xss.txt", root / "note.txt"], collection="notes")
        note = a.store.documents("filename='note.txt'")[0]["id"]
        page = a.store.page(note, 1)
        a.store.update_page(
            page["id"],
            translation="We discussed ocean data near the military base.",
            segments=[
                ["我们在军事基地附近讨论了海洋数据。", "We discussed ocean data near the military base."]
            ],
            translation_status="done",
        )
    app = create_app({"ARCHIVE_DIR": str(root / "archive")})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def _required() -> bool:
    return any(
        os.environ.get(v, "").lower() not in {"", "0", "false", "no"} for v in ("FOI_REQUIRE_BROWSER", "CI")
    )


def chromium_path() -> str | None:
    for candidate in (os.environ.get("FOI_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium. Skipped only on a machine without it and without FOI_REQUIRE_BROWSER or
    CI set; where chromium is installed, anything wrong with the browser setup is a failure."""
    executable = chromium_path()
    if executable is None:
        if _required():
            pytest.fail("chromium is not installed (Debian: apt-get install chromium)")
        pytest.skip("chromium is not installed (set FOI_REQUIRE_BROWSER=1 to make this a failure)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"chromium is installed but Playwright is not importable: {exc}")

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=executable,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


def test_search_facet_document_highlight_translation_download(server, browser, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{server}/")
    page.fill("input[name=q]", "example OR military")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector(".hit")
    assert page.locator(".hit").count() == 2
    page.click('[data-facet="collection"] a:text("scans")')
    page.wait_for_selector(".hit")
    assert page.locator(".hit").count() == 1 and "collection=scans" in page.url
    # The other collection stays selectable; choosing it too widens the search again.
    assert page.locator('[data-facet="collection"] a.on').inner_text() == "✓ scans"
    page.click('[data-facet="collection"] a:text("notes")')
    page.wait_for_selector(".hit")
    assert page.locator(".hit").count() == 2 and "collection=notes" in page.url
    page.click('[data-facet="collection"] a:text("notes")')
    page.wait_for_selector(".hit")
    assert page.locator(".hit").count() == 1
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)

    page.click(".hit h2 a")
    page.wait_for_selector(".pageimg img")
    img = page.locator(".pageimg img")
    wait_for_image(page, img)
    assert img.evaluate("el => el.naturalWidth") > 500
    box = page.locator(".box.hit").first
    assert box.is_visible() and box.bounding_box()["width"] > 5
    page.screenshot(path=str(ARTIFACTS / "document.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.name == "kreuzberg_non_searchable.pdf" and saved.read_bytes().startswith(b"%PDF")

    # A text-layer PDF: hit boxes come from pdfminer's word boxes.
    page.goto(f"{server}/?q=%22common+purpose%22")
    page.click(".hit h2 a")
    page.wait_for_selector(".pageimg img")
    wait_for_image(page, page.locator(".pageimg img").first)
    assert page.locator(".box.hit").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "text-layer-hits.png"))

    page.goto(f"{server}/?q=%22military+base%22")
    page.click(".hit h2 a")
    table = page.locator("table.aligned")
    original = table.locator("td.original").first
    english = table.locator("td.translation").first
    assert table.is_visible() and original.is_visible() and "military base" in english.inner_text()
    assert "<mark>military</mark>" in english.inner_html()
    # The gloss is on the original text, on hover.
    glossed = original.locator(".gl", has_text="军事基地")
    assert "military base" in (glossed.get_attribute("title") or "")
    glossed.hover()
    button = page.locator("button.tr-toggle")
    assert button.is_visible()
    button.click()
    assert not english.is_visible() and original.is_visible()
    assert "military base" not in table.inner_text() and "军事基地" in table.inner_text()
    page.screenshot(path=str(ARTIFACTS / "translation-hidden.png"), full_page=True)
    button.click()
    assert english.is_visible() and original.is_visible()
    page.screenshot(path=str(ARTIFACTS / "translation.png"), full_page=True)

    # Hostile text: shown as text on the results page and the document page, never as elements.
    page.goto(f"{server}/?q=inert")
    page.wait_for_selector(".hit .snippet")
    assert 'alert("x")' in page.inner_text(".hit .snippet")
    assert_inert(page)
    page.screenshot(path=str(ARTIFACTS / "xss-results.png"), full_page=True)
    page.click(".hit h2 a")
    page.wait_for_selector("pre.text")
    assert '<script>alert("x")</script>' in page.inner_text("pre.text")
    assert "<img src=x onerror=alert(1)>" in page.inner_text("pre.text")
    assert_inert(page)
    page.wait_for_timeout(300)
    assert dialogs == []
    page.screenshot(path=str(ARTIFACTS / "xss-inert.png"), full_page=True)


def wait_for_image(page, img) -> None:
    for _ in range(100):  # wait_for_function would need eval, which our CSP forbids
        if img.evaluate("el => el.complete && el.naturalWidth"):
            return
        page.wait_for_timeout(100)


def assert_inert(page) -> None:
    """No element made from document text: no script, no element with an event handler."""
    main = page.locator("main")
    assert main.locator("script").count() == 0
    assert main.locator("img[onerror]").count() == 0
    assert main.locator("img").count() == main.locator(".pageimg img").count()
    assert main.locator("[onerror], [onload], [onclick], [onmouseover]").count() == 0
