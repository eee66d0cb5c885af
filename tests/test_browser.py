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
    (root / "xss.txt").write_text('payload <script>alert("x")</script> <img src=x onerror=alert(1)> inert', "utf-8")
    (root / "note.txt").write_text("我们在军事基地附近讨论了海洋数据。", "utf-8")
    with Archive(root / "archive") as a:
        a.ingest([corpus_file("pdf-scanned/kreuzberg_non_searchable.pdf")], collection="scans")
        a.ingest([root / "xss.txt", root / "note.txt"], collection="notes")
        note = a.store.documents("filename='note.txt'")[0]["id"]
        page = a.store.page(note, 1)
        a.store.update_page(page["id"], translation="We discussed ocean data near the military base.",
                            segments=[["我们在军事基地附近讨论了海洋数据。", "We discussed ocean data near the military base."]],
                            translation_status="done")
    app = create_app({"ARCHIVE_DIR": str(root / "archive")})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (Debian: apt-get install chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
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
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)

    page.click(".hit h3 a")
    page.wait_for_selector(".pageimg img")
    img = page.locator(".pageimg img")
    for _ in range(100):  # wait_for_function would need eval, which our CSP forbids
        if img.evaluate("el => el.complete && el.naturalWidth"):
            break
        page.wait_for_timeout(100)
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

    page.goto(f"{server}/?q=%22military+base%22")
    page.click(".hit h3 a")
    table = page.locator("table.aligned")
    assert table.is_visible() and "military base" in table.inner_text()
    page.click("button[data-toggle]")
    assert not table.is_visible()
    page.click("button[data-toggle]")
    assert table.is_visible()
    page.screenshot(path=str(ARTIFACTS / "translation.png"), full_page=True)

    page.goto(f"{server}/?q=inert")
    page.click(".hit h3 a")
    page.wait_for_selector("pre.text")
    assert '<script>alert("x")</script>' in page.inner_text("pre.text")
    page.wait_for_timeout(300)
    assert dialogs == []
    page.screenshot(path=str(ARTIFACTS / "xss-inert.png"), full_page=True)
