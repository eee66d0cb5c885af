"""Gaps in saved searches and alerts a review found: every sort search offers, owners told by
e-mail when a channel is disabled, SMTP outages not held against recipients, double opt-in
expiry and rate limits, webhook replay and stalls, instant hits sent at once, the API and CLI for
channels, and pausing. Real components throughout: aiosmtpd, an HTTP receiver, both backends where
matching is involved."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from archive import Archive
from archive.search import SORTS
from web import create_app


def write(folder: Path, files: dict[str, str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / n for n in files]


def titles(a: Archive, name: str) -> list[str]:
    search = a.alerts.find(name)
    assert search is not None
    return sorted(h["title"] for h in a.alerts.hits(search))


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "archive"
    with Archive(root) as a:
        a.ingest(write(tmp_path / "docs", {"jari.txt": "Minutes on the Jari project."}), collection="releases")
    app = create_app({"ARCHIVE_DIR": str(root), "TESTING": True, "WTF_CSRF_ENABLED": False})
    return app, app.test_client(), root


# -- 1. every sort search accepts ------------------------------------------------------------------


def test_alert_me_on_results_sorted_by_share_withheld(site):
    app, client, root = site
    page = client.get("/?q=Jari&sort=-withheld").get_data(as_text=True)
    link = html.unescape(re.search(r'href="([^"]+)">Alert me', page).group(1))  # type: ignore[union-attr]
    assert dict(parse_qsl(urlsplit(link).query))["sort"] == "-withheld"
    form = client.get(link).get_data(as_text=True)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    assert fields["sort"] == "-withheld"
    created = client.post("/alerts", data={**fields, "name": "jari", "q": "Jari", "cadence": "instant"})
    assert created.status_code == 201, created.get_data(as_text=True)
    api = client.post("/api/alerts", json={"name": "w", "query": "Jari", "sort": "withheld"})
    assert api.status_code == 200 and api.json["search"]["sort"] == "withheld"
    with Archive(root) as a:
        assert sorted(s.sort for s in a.alerts.saved()) == ["-withheld", "withheld"]
        for sort in SORTS:  # the one list search uses
            assert a.alerts.add(f"s{sort}", "Jari", sort=sort).sort == sort
