"""Alerts on the web (web/alerts.py): the results page's "Alert me" keeps what is on screen, the
pages and /api/alerts create, edit, pause and delete saved searches, feeds are served by token,
e-mail links are signed, and `foi serve`'s delivery loop sends each hit once however many
workers run it (one sender lock per archive)."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import feedparser
import pytest
from alert_receivers import HookReceiver

from archive import Archive
from web import create_app

DOCS = {
    "jari.txt": "Minutes on the Jari project, page one.",
    "harbour.txt": "The harbour master reported on the Jari dredging.",
}


def _ingest(root: Path, folder: Path, docs: dict[str, str], collection: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    with Archive(root) as a:
        a.ingest([folder / n for n in docs], collection=collection)


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "archive"
    _ingest(root, tmp_path / "docs", DOCS, "releases")
    # CSRF is tested in test_accounts.py; here the forms only have to carry the token.
    app = create_app({"ARCHIVE_DIR": str(root), "TESTING": True, "WTF_CSRF_ENABLED": False})
    return app, app.test_client(), root


def test_alert_me_keeps_the_search_on_screen(site, tmp_path):
    app, client, root = site
    page = client.get("/?q=Jari&collection=releases&sort=-date&lang=en").get_data(as_text=True)
    link = html.unescape(re.search(r'href="([^"]+)">Alert me', page).group(1))  # type: ignore[union-attr]
    assert dict(parse_qsl(urlsplit(link).query)) == {
        "q": "Jari",
        "collection": "releases",
        "sort": "-date",
        "lang": "en",
    }
    form = client.get(link).get_data(as_text=True)
    assert 'name="q" maxlength="2000" value="Jari"' in form and 'name="collection" value="releases"' in form
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    assert fields.pop("csrf_token")
    assert fields == {"collection": "releases", "lang": "en", "sort": "-date"}
    created = client.post("/alerts", data={**fields, "name": "jari", "q": "Jari", "cadence": "instant"})
    assert created.status_code == 201
    with Archive(root) as a:
        [search] = a.alerts.saved()
        assert (search.query, search.filters, search.sort) == (
            "Jari",
            {"collection": ["releases"], "lang": ["en"]},
            "-date",
        )
    # A query that cannot run is refused with the parser's reason, nothing saved.
    refused = client.post("/alerts", data={"name": "bad", "q": "Jari OR"})
    assert refused.status_code == 400 and "OR needs a search term" in refused.get_data(as_text=True)
    # Hits show on the saved search's page; pause, edit, delete.
    _ingest(root, tmp_path / "more", {"jari-2.txt": "A later <b>Jari</b> release"}, "releases")
    detail = client.get(f"/alerts/{search.id}").get_data(as_text=True)
    assert "jari-2.txt" in detail and "<mark>Jari</mark>" in detail and "&lt;b&gt;" in detail
    assert client.post(f"/alerts/{search.id}", data={"action": "pause"}).status_code == 303
    assert "paused" in client.get("/alerts").get_data(as_text=True)
    edited = client.post(
        f"/alerts/{search.id}", data={"action": "save", "name": "jari", "q": "dredging", "cadence": "weekly"}
    )
    assert edited.status_code == 303
    with Archive(root) as a:
        kept = a.alerts.get(search.id)
        assert kept is not None and (kept.query, kept.cadence, kept.paused) == ("dredging", "weekly", True)
    assert client.post(f"/alerts/{search.id}", data={"action": "delete"}).status_code == 303
    assert client.get(f"/alerts/{search.id}").status_code == 404


def test_api_crud_and_feeds(site, tmp_path):
    app, client, root = site
    bad = client.post("/api/alerts", json={"name": "x", "query": "-Jari"})
    assert bad.status_code == 400 and "not negated" in bad.json["error"]["message"]
    assert (
        client.post(
            "/api/alerts", json={"name": "x", "query": "Jari", "filters": {"colour": ["red"]}}
        ).status_code
        == 400
    )
    assert client.post("/api/alerts", data="not json").status_code == 400
    made = client.post(
        "/api/alerts",
        json={"name": "jari", "query": "Jari", "cadence": "instant", "webhooks": ["https://hooks.test/a"]},
    )
    assert made.status_code == 200
    body = made.json
    search_id = body["search"]["id"]
    assert len(body["webhook_secrets"]["https://hooks.test/a"]) >= 24
    assert [s["name"] for s in client.get("/api/alerts").json["searches"]] == ["jari"]
    patched = client.patch(f"/api/alerts/{search_id}", json={"paused": True, "cadence": "daily"})
    assert patched.json["search"]["paused"] is True and patched.json["search"]["cadence"] == "daily"
    assert client.patch(f"/api/alerts/{search_id}", json={"query": "Jari OR"}).status_code == 400
    client.patch(f"/api/alerts/{search_id}", json={"paused": False})
    _ingest(root, tmp_path / "more", {"jari-3.txt": "Jari three"}, "releases")
    hits = client.get(f"/api/alerts/{search_id}/hits").json
    assert hits["total"] == 1 and hits["hits"][0]["title"] == "jari-3.txt"

    feed_path = urlsplit(client.get(f"/api/alerts/{search_id}").json["search"]["feed_url"]).path
    feed = client.get(feed_path)
    assert feed.status_code == 200 and feed.headers["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(feed.data)
    assert parsed.bozo == 0 and [e.title for e in parsed.entries] == ["jari-3.txt (page 1)"]
    assert client.get("/alerts/feeds/not-a-token.atom").status_code == 404
    assert client.get(f"/alerts/{search_id}/feed.atom").status_code == 404  # no public feed
    client.post(f"/alerts/{search_id}", data={"action": "rotate"})
    assert client.get(feed_path).status_code == 404

    assert client.delete(f"/api/alerts/{search_id}").json == {"deleted": search_id}
    assert client.get(f"/api/alerts/{search_id}").status_code == 404


def test_signed_unsubscribe_links(site):
    app, client, root = site
    with Archive(root) as a:
        search = a.alerts.add("jari", "Jari", emails=["reader@news.test"])
        token = a.alerts.signer().sign("unsubscribe", [search.channels[0].id])
    assert "Stop these alerts" in client.get(f"/alerts/unsubscribe/{token}").get_data(as_text=True)
    with Archive(root) as a:
        assert a.alerts.get(search.id).channels[0].disabled is None  # type: ignore[union-attr]
    assert client.post(f"/alerts/unsubscribe/{token}x").status_code == 400
    assert client.post(f"/alerts/unsubscribe/{token}").status_code == 200
    with Archive(root) as a:
        assert a.alerts.get(search.id).channels[0].disabled == "unsubscribed"  # type: ignore[union-attr]
    assert client.get("/alerts/confirm/forged").status_code == 400


def test_the_serve_loop_sends_each_hit_once_from_several_workers(tmp_path):
    root = tmp_path / "archive"
    with HookReceiver() as hooks:
        with Archive(root) as a:
            search = a.alerts.add("jari", "Jari", cadence="instant", webhooks=[hooks.url("/h")])
            hooks.secrets["/h"] = search.channels[0].secret or ""
        config = {"ARCHIVE_DIR": str(root), "ALERTS_LOOP": True, "ARCHIVE_CONFIG": {"alerts_interval": 0.2}}
        apps = [create_app(config) for _ in range(3)]  # as three gunicorn workers would
        try:
            _ingest(root, tmp_path / "docs", {f"j{i}.txt": f"Jari {i}" for i in range(4)}, "releases")
            deadline = time.monotonic() + 20
            while len(hooks.accepted()) < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # every loop has had several rounds
        finally:
            for app in apps:
                app.extensions["foi_alerts_loop"].stop()
        titles = sorted(h["title"] for r in hooks.accepted() for h in r["json"]["hits"])
        assert titles == ["j0.txt", "j1.txt", "j2.txt", "j3.txt"]
