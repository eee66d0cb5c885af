"""Redactions and publishing over HTTP and at go-live (issue #18, items 2 and 5): the text under
a bad box is shown only to an account that may write to the collection, and only on request;
the web publish is refused (409) with the findings listed unless forced; names are reported;
a scheduled publication is checked again when its time comes and held back on findings."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from test_access_leaks import PASSWORD, login
from test_redactions import redacted_pdf

from archive import PUBLIC, Archive, SearchQuery, publishing
from web import create_app

LETTER = (
    "Dear Sir,\nThe survey was prepared by Margaret Thornbury of the harbour board. Write to "
    "alice.jones@example.org or to foi@example.gov.uk.\nYours, the FOI team\n"
)


@pytest.fixture(scope="module")
def team_archive(tmp_path_factory):
    """A `release` collection (the redacted PDF and a letter naming a person) with a reader
    (rita) and an editor (eddie) granted on it."""
    root = tmp_path_factory.mktemp("redaction-accounts")
    redacted_pdf(root / "release.pdf")
    (root / "letter.txt").write_text(LETTER, encoding="utf-8")
    with Archive(root / "archive") as a:
        a.ingest([root / "release.pdf", root / "letter.txt"], collection="release")
        a.accounts.add("rita", "reader", PASSWORD)
        a.accounts.add("eddie", "editor", PASSWORD)
        a.accounts.grant("release", "rita", write=False)
        a.accounts.grant("release", "eddie", write=True)
    return root / "archive"


def _client(root, name):
    client = create_app({"ARCHIVE_DIR": str(root), "TESTING": True}).test_client()
    assert login(client, name).status_code == 302
    return client


def test_text_under_a_box_over_http_only_for_a_writer_and_only_on_request(team_archive):
    reader = _client(team_archive, "rita")
    for url in ("/documents/1", "/documents/1?hidden_text=1", "/api/documents/1?hidden_text=1"):
        resp = reader.get(url)
        assert resp.status_code == 200 and "Quaggle" not in resp.get_data(as_text=True), url
    assert "show text under boxes" not in reader.get("/documents/1").get_data(as_text=True)
    assert "Marchbanks" not in reader.get("/api/documents/1/pages/2?hidden_text=1").get_data(as_text=True)
    writer = _client(team_archive, "eddie")
    plain = writer.get("/documents/1").get_data(as_text=True)
    assert "Quaggle" not in plain and "show text under boxes" in plain
    shown = writer.get("/documents/1?hidden_text=1").get_data(as_text=True)
    assert '<span class="recovered">Quaggle</span>' in shown
    assert "Quaggle" not in writer.get("/api/documents/1").get_data(as_text=True)  # the API never does


def test_personal_names_are_reported_by_the_check(team_archive, runner):
    from archive.cli import cli

    result = runner.invoke(cli, ["--archive", str(team_archive), "collections", "check", "release", "--json"])
    assert result.exit_code == 1
    names = [f for f in json.loads(result.output)["findings"] if f["kind"] == "personal_name"]
    assert [f["value"] for f in names] == ["Margaret Thornbury"], names
    assert names[0]["filename"] == "letter.txt" and names[0]["pages"] == [1]
    allowed = runner.invoke(
        cli,
        [
            "--archive",
            str(team_archive),
            "collections",
            "check",
            "release",
            "--json",
            "--allow",
            "margaret thornbury",
        ],
    )
    assert "personal_name" not in allowed.output


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_web_publish_is_refused_with_the_findings_unless_forced(team_archive, tmp_path):
    root = tmp_path / "archive"
    shutil.copytree(team_archive, root)
    writer = _client(root, "eddie")
    token = _csrf(writer.get("/collections/release/manage").get_data(as_text=True))
    refused = writer.post("/collections/release/publish", data={"csrf_token": token})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "Not published: the pre-publication checks found" in html
    assert html.count("bad_redaction: release.pdf page") == 3
    assert "personal_email: letter.txt page 1: e-mail address &#39;alice.jones@example.org&#39;" in html
    assert "personal_name: letter.txt page 1: name &#39;Margaret Thornbury&#39;" in html
    assert "Quaggle" not in html  # the findings name the box, never the text under it
    with Archive(root) as a:
        assert not a.collection("release")["published"]
        assert a.search(SearchQuery("approved"), PUBLIC).total == 0
    forced = writer.post("/collections/release/publish", data={"csrf_token": token, "force": "y"})
    assert forced.status_code == 303
    with Archive(root) as a:
        assert a.collection("release")["published"]
        assert a.search(SearchQuery("approved"), PUBLIC).total == 1
        assert a.search(SearchQuery("Quaggle"), PUBLIC).total == 0


def test_a_scheduled_publication_is_checked_again_when_its_time_comes(tmp_path, runner, monkeypatch):
    """Clean when scheduled; a letter with an address is added before the date; at go-live the
    check finds it: the collection stays private, its owner sees why, and the check is not run
    again until the content (here the allow-list) changes; then it goes public."""
    from archive.cli import cli

    root = tmp_path / "archive"
    (tmp_path / "minutes.txt").write_text("The walrus ledger names the ferry contract.", encoding="utf-8")
    (tmp_path / "late.txt").write_text("Ask alice.jones@example.org about the walrus.", encoding="utf-8")
    runs = []
    real = list(publishing.PUBLICATION_CHECKS)

    def counted(archive, name):
        runs.append(name)
        return []

    monkeypatch.setattr(publishing, "PUBLICATION_CHECKS", [*real, counted])
    with Archive(root) as a:
        a.ingest([tmp_path / "minutes.txt"], collection="team")
        a.publish("team", at="2999-01-01T09:00")  # clean now
        a.ingest([tmp_path / "late.txt"], collection="team")
        a.store.set_collection("team", publish_at="2001-01-01T00:00:00Z")  # the time has come
        assert a.search(SearchQuery("walrus"), PUBLIC).total == 0
        team = a.collection("team")
        assert not team["published"] and team["publish_held"]["count"] == 1
        assert team["publish_held"]["findings"][0]["value"] == "alice.jones@example.org"
        assert a.collection("team", PUBLIC) is None
        assert "publish_held" not in json.dumps(a.collections(PUBLIC))
    assert len(runs) == 2  # at scheduling and at go-live
    listing = runner.invoke(cli, ["--archive", str(root), "collections", "list"]).output
    assert "team\theld: 1 finding(s) at go-live" in listing
    page = (
        create_app({"ARCHIVE_DIR": str(root), "TESTING": True}).test_client().get("/collections/team/manage")
    )
    html = page.get_data(as_text=True)
    assert "Scheduled publication held back (still private)" in html and "alice.jones@example.org" in html
    with Archive(root) as a:  # a new process: same content, the kept verdict, no new check
        assert a.search(SearchQuery("walrus"), PUBLIC).total == 0
    assert len(runs) == 2
    (root / "allow-list.txt").write_text("alice.jones@example.org\n", encoding="utf-8")
    with Archive(root) as a:  # the allow-list changed: checked again, clean, public
        assert a.search(SearchQuery("walrus"), PUBLIC).total == 2
        assert a.collection("team", PUBLIC)["published"]
    assert len(runs) == 3


def test_a_scheduled_publication_forced_past_its_findings_goes_live_unchecked(tmp_path):
    (tmp_path / "late.txt").write_text("Ask alice.jones@example.org about the walrus.", encoding="utf-8")
    with Archive(tmp_path / "archive") as a:
        a.ingest([tmp_path / "late.txt"], collection="team")
        with pytest.raises(publishing.PublishRefused):
            a.publish("team", at="2999-01-01")
        assert a.publish("team", at="2999-01-01", force=True)[0]["kind"] == "personal_email"
        assert a.search(SearchQuery("walrus"), PUBLIC).total == 0  # not yet
        a.store.set_collection("team", publish_at="2001-01-01T00:00:00Z")
        assert a.search(SearchQuery("walrus"), PUBLIC).total == 1
