"""Accounts, tokens, login, publishing, takedowns, uploads and the security headers."""

from __future__ import annotations

import io
import re
import time
import zipfile

import pytest
from test_access_leaks import PASSWORD, login

from archive import PUBLIC, Archive, PublishRefused, SearchQuery, Viewer, may_read_collection, publishing
from web import create_app


@pytest.fixture
def two_collections(tmp_path):
    root = tmp_path / "archive"
    (tmp_path / "a.txt").write_text("The walrus ledger names the ferry contract.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("The ferry timetable for the harbour.", encoding="utf-8")
    with Archive(root) as a:
        a.ingest([tmp_path / "a.txt"], collection="team")
        a.ingest([tmp_path / "b.txt"], collection="open")
        a.publish("open")
    return root


def _total(a, text, viewer=PUBLIC):
    return a.search(SearchQuery(text, facets=("collection",)), viewer).total


def _app(root, **config):
    return create_app({"ARCHIVE_DIR": str(root), "TESTING": True, **config})


def test_users_and_tokens_from_the_cli_never_show_a_secret(runner, archive_dir):
    from archive.cli import cli

    def foi(*args, ok=True, input=None):
        result = runner.invoke(
            cli, ["--archive", str(archive_dir), *args], input=input, catch_exceptions=False
        )
        assert result.exit_code == 0 or not ok, result.output
        return result

    out = foi("users", "add", "ada", "--role", "editor", "--password-stdin", input="correct horse battery\n")
    assert "added editor ada" in out.output
    short = foi("users", "add", "bob", "--password-stdin", input="short\n", ok=False)
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    token = foi("tokens", "create", "ada", "--label", "scraper").output.strip()
    assert token.startswith("foi_") and len(token) > 40
    listing = foi("users", "list").output + foi("tokens", "list").output + foi("status").output
    assert "ada\teditor" in listing and "scraper" in listing
    assert "correct horse" not in listing and token not in listing and "argon2" not in listing
    with Archive(archive_dir) as a:
        assert a.viewer_for_token(token) == Viewer("ada", "editor")
        assert a.viewer_for_token(token + "x") is None
        assert a.accounts.authenticate("ada", "correct horse battery") is not None
        assert a.accounts.authenticate("ada", "wrong password!") is None
    foi("users", "passwd", "ada", "--password-stdin", input="another long password\n")
    foi("users", "remove", "ada")
    with Archive(archive_dir) as a:
        assert a.viewer_for_token(token) is None and not a.accounts.any()


def test_serve_refuses_a_public_address_without_accounts(foi):
    refused = foi("serve", "--host", "0.0.0.0", ok=False)
    assert refused.exit_code == 2
    assert "foi users add" in refused.output and "--public" in refused.output


def test_login_sessions_csrf_and_rate_limit(two_collections):
    with Archive(two_collections) as a:
        a.accounts.add("rita", "reader", PASSWORD)
        a.accounts.add("vic", "reader", PASSWORD)
        a.accounts.grant("team", "rita", write=False)
    app = _app(two_collections)
    anon = app.test_client()
    assert anon.get("/status").status_code == 302  # a team server: login first
    assert anon.get("/api/status").status_code == 401
    assert (
        anon.post("/login", data={"name": "rita", "password": PASSWORD}).status_code == 400
    )  # no CSRF token
    assert "ledger" not in anon.get("/?q=walrus").get_data(as_text=True)
    https = app.test_client()
    page = https.get("/login", base_url="https://archive.example").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    ok = https.post(
        "/login?next=//evil.example/",
        data={"name": "rita", "password": PASSWORD, "csrf_token": csrf},
        base_url="https://archive.example",
        headers={"Referer": "https://archive.example/login"},  # checked over HTTPS
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/"  # no open redirect
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "ledger names the ferry" in https.get("/?q=walrus", base_url="https://archive.example").get_data(
        as_text=True
    )
    plain = app.test_client()
    assert login(plain, "rita").headers["Set-Cookie"].count("Secure") == 0
    # Ten tries a minute per address and per account, whoever is right.
    attacker = app.test_client()
    page = attacker.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    codes = [
        attacker.post(
            "/login",
            data={"name": "vic", "password": f"guess {i}", "csrf_token": csrf},
            environ_base={"REMOTE_ADDR": "10.0.0.5"},
        ).status_code
        for i in range(11)
    ]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    assert (
        attacker.post(
            "/login",
            data={"name": "vic", "password": "guess", "csrf_token": csrf},
            environ_base={"REMOTE_ADDR": "10.0.0.9"},
        ).status_code
        == 429  # the account's own limit
    )


def test_public_site_has_no_login_and_writes_nothing(two_collections):
    app = _app(two_collections, FOI_PUBLIC=True, FOI_NOINDEX=True)
    client = app.test_client()
    assert client.get("/login").status_code == 404
    assert client.post("/collections/team/upload").status_code in (404, 405)
    home = client.get("/?q=ferry")
    text = home.get_data(as_text=True)
    assert "harbour" in text and "walrus" not in text
    assert home.headers["X-Robots-Tag"] == "noindex, nofollow" and 'name="robots"' in text
    assert client.get("/robots.txt").get_data(as_text=True).endswith("Disallow: /\n")
    assert [c["name"] for c in client.get("/api/collections").get_json()["collections"]] == ["open"]


def test_security_headers_on_every_kind_of_response(two_collections):
    client = _app(two_collections).test_client()
    for url in (
        "/",
        "/api/search?q=ferry",
        "/documents/99999",
        "/static/app.css",
        "/collections/open/release.zip",
    ):
        resp = client.get(url)
        csp = resp.headers["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]+)", csp).group(1)
        assert "unsafe-inline" not in script_src and "frame-ancestors 'none'" in csp, url
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"


def test_scheduled_publishing_needs_nobody_and_the_check_hook_can_refuse(two_collections, monkeypatch):
    with Archive(two_collections) as a:
        a.publish("team", at="2999-01-01T09:00")
        team = a.store.collection("team")
        assert not may_read_collection(PUBLIC, team)
        assert a.collection("team")["embargoed_until"] == "2999-01-01T09:00:00Z"
        assert _total(a, "walrus") == 0
        a.store.set_collection("team", publish_at="2001-01-01T00:00:00Z")  # the time has come
        assert not may_read_collection(PUBLIC, a.store.collection("team"))  # not before its check
        assert _total(a, "walrus") == 1  # a read runs the go-live check: clean, it is public
        assert may_read_collection(PUBLIC, a.store.collection("team"))
        a.unpublish("team")
        assert _total(a, "walrus") == 0

        def names_people(archive, name):
            return [{"kind": "personal_data", "message": f"{name}: a name in document 1"}]

        monkeypatch.setattr(publishing, "PUBLICATION_CHECKS", [names_people])
        with pytest.raises(PublishRefused) as refused:
            a.publish("team")
        assert refused.value.findings[0]["kind"] == "personal_data"
        assert _total(a, "walrus") == 0
        assert a.publish("team", force=True)[0]["kind"] == "personal_data"
        assert _total(a, "walrus") == 1


def test_takedown_hides_a_document_from_all_but_admins(two_collections):
    with Archive(two_collections) as a:
        doc_id = a.search(SearchQuery("ferry timetable")).hits[0].doc_id
        a.hide_document(doc_id, "a court order of 3 March")
        reader = Viewer("rita", "reader")
        assert a.document(doc_id, viewer=PUBLIC) is None and a.document(doc_id, viewer=reader) is None
        assert _total(a, "timetable") == 0
        assert a.collection("open", PUBLIC)["documents"] == 0
        admin = a.document(doc_id, viewer=Viewer("root", "admin"))
        assert admin["takedown"]["reason"] == "a court order of 3 March"
    client = _app(two_collections, FOI_PUBLIC=True).test_client()
    assert client.get(f"/documents/{doc_id}").status_code == 404
    assert client.get(f"/documents/{doc_id}/original").status_code == 404


def test_release_zip_holds_the_originals(two_collections):
    client = _app(two_collections, FOI_PUBLIC=True).test_client()
    resp = client.get("/collections/open/release.zip")
    with zipfile.ZipFile(io.BytesIO(resp.get_data())) as zf:
        names = zf.namelist()
        assert len(names) == 1 and names[0].endswith("-b.txt")
        assert b"ferry timetable" in zf.read(names[0])
    assert client.get("/collections/team/release.zip").status_code == 404


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_upload_runs_in_the_background_and_survives_a_restart(two_collections, tmp_path):
    with Archive(two_collections) as a:
        a.accounts.add("eddie", "editor", PASSWORD)
        a.accounts.grant("team", "eddie", write=True)
    app = _app(two_collections, UPLOAD_POLL=0.1)
    client = app.test_client()
    assert login(client, "eddie").status_code == 302
    page = client.get("/collections/team/manage").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("minutes.txt", "Minutes of the otter committee.")
        zf.writestr("letter.txt", "A letter about otters and ferries.")
    files = [
        (io.BytesIO(b"The heron survey for the council."), "heron.txt"),
        (io.BytesIO(bundle.getvalue()), "bundle.zip"),
        (io.BytesIO(b"%PDF-1.4 broken"), "broken.pdf"),
    ]
    resp = client.post("/collections/team/upload", data={"csrf_token": csrf, "files": files})
    assert resp.status_code == 303
    done = lambda: all(  # noqa: E731
        u["status"] in ("done", "failed")
        for u in client.get("/collections/team/uploads.json").get_json()["uploads"]
    )
    assert _wait_for(done)
    uploads = {u["filename"]: u for u in client.get("/collections/team/uploads.json").get_json()["uploads"]}
    assert uploads["heron.txt"]["status"] == "done" and uploads["bundle.zip"]["documents"] >= 2
    assert uploads["broken.pdf"]["failed"] == 1 and uploads["broken.pdf"]["error"]
    assert "survey for the council" in client.get("/?q=heron").get_data(as_text=True)
    # A server stopped in the middle of an upload: the next one takes it up again, once.
    with Archive(two_collections) as a:
        upload_id = a.uploads.add("team", "kestrel.txt", io.BytesIO(b"The kestrel nesting report."), "eddie")
        assert a.uploads.claim()["id"] == upload_id
        a.store.db.execute("UPDATE uploads SET worker=999999999 WHERE id=?", (upload_id,))
        before = len(a.store.documents())
    restarted = _app(two_collections, UPLOAD_POLL=0.1)
    with Archive(two_collections) as a:
        assert _wait_for(lambda: a.uploads.recent("team")[0]["status"] == "done")
        assert len(a.store.documents()) == before + 1
    restarted.extensions["foi_upload_worker"][1].set()
    app.extensions["foi_upload_worker"][1].set()
