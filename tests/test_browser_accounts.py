"""A team server in Chromium: an editor logs in, uploads, publishes, logs out and, anonymous, sees
only the public side."""

from __future__ import annotations

import threading

import pytest
from test_browser import browser  # noqa: F401
from werkzeug.serving import make_server

from archive import Archive
from web import create_app

pytestmark = pytest.mark.browser
PASSWORD = "a long enough password"


@pytest.fixture
def team_server(tmp_path):
    (tmp_path / "osprey.txt").write_text("The osprey memo stays internal.", encoding="utf-8")
    with Archive(tmp_path / "archive") as a:
        a.ingest([tmp_path / "osprey.txt"], collection="internal")
        a.set_collection("release", title="Heron release", licence="OGL-3.0")
        a.accounts.add("eddie", "editor", PASSWORD)
        a.accounts.grant("release", "eddie", write=True)
    app = create_app({"ARCHIVE_DIR": str(tmp_path / "archive"), "UPLOAD_POLL": 0.2})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    app.extensions["foi_upload_worker"][1].set()


def test_login_upload_publish_logout_public_side(team_server, browser, tmp_path):  # noqa: F811
    upload = tmp_path / "heron-survey.txt"
    upload.write_text("The heron survey counted forty nests along the estuary.", encoding="utf-8")
    page = browser.new_page()
    page.goto(f"{team_server}/collections/release/manage")
    assert "/login" in page.url  # a team server: login first
    page.fill("input[name=name]", "eddie")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:text('Log in')")
    page.wait_for_url("**/collections/release/manage")
    assert "Private" in page.inner_text("#visibility")
    page.set_input_files("input[type=file]", str(upload))
    page.click("#upload")
    page.wait_for_selector("tr[data-status=done]", timeout=60_000)  # the page refreshes itself
    assert "heron-survey.txt" in page.inner_text("table.uploads")
    page.click("#publish")
    page.wait_for_selector("#visibility:text('Public')")
    page.click("header .logout button")
    page.goto(f"{team_server}/?q=heron")
    page.wait_for_selector(".hit")
    assert "forty nests" in page.inner_text("main")
    page.goto(f"{team_server}/?q=osprey")
    assert page.locator(".hit").count() == 0 and "osprey memo" not in page.content()
    page.goto(f"{team_server}/collections")
    listing = page.inner_text("main")
    assert "release" in listing and "internal" not in listing
    page.goto(f"{team_server}/collections/release/manage")
    assert "/login" in page.url
