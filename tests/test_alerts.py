"""Saved searches and alerts (archive/alerts) on real components: documents ingested through the
real Archive, a real SMTP server (aiosmtpd), a real HTTP receiver checking webhook signatures,
feeds parsed with feedparser, both search backends, and a sender killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import es_fixtures
import feedparser
import pytest
from alert_receivers import HookReceiver, SmtpSink

from archive import Archive
from archive.alerts import AlertError
from archive.alerts.delivery import sender_lock
from archive.search import QueryError

es_url = es_fixtures.es_url
es_index = es_fixtures.es_index
ROOT = Path(__file__).resolve().parents[1]

OLD = {"old-jari.txt": "An older release about the Jari project, already in the archive before the alert."}
NEW = {
    "jari-2024.txt": "Minutes of the meeting on the Jari project: the ministry withheld the costs.",
    "base-zh.txt": "南海海洋研究所在军事基地附近进行海洋调查。调查报告由国防部发布。",
    "harbour.txt": "The harbour master reported on dredging near the naval base. No budget was approved.",
}


def write(folder: Path, files: dict[str, str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(folder / name)
    return paths


def hit_docs(a: Archive, name: str) -> list[str]:
    search = a.alerts.find(name)
    assert search is not None
    return sorted(h["title"] for h in a.alerts.hits(search))


def _config(request: pytest.FixtureRequest, backend: str) -> dict[str, str]:
    if backend == "sqlite":
        return {}
    url = request.getfixturevalue("es_url")
    index = request.getfixturevalue("es_index")
    return {"search": "elasticsearch", "elasticsearch_url": url, "elasticsearch_index": index}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)]
)
def test_saved_searches_match_arriving_documents_once(request, tmp_path, backend):
    with Archive(tmp_path / "archive", _config(request, backend)) as a:
        a.ingest(write(tmp_path / "old", OLD), collection="releases")
        time.sleep(1.1)  # saved a second later: the older release is back catalogue
        a.alerts.add("jari", "Jari", cadence="instant")
        a.alerts.add("base", "军事基地")
        a.alerts.add("harbour", "harbour", filters={"collection": ["other"]})
        a.alerts.add("dredging", "dredging collection:releases -budget")
        a.ingest(write(tmp_path / "new", NEW), collection="releases")

        assert hit_docs(a, "jari") == ["jari-2024.txt"]  # not the back catalogue
        [base] = a.alerts.hits(a.alerts.find("base"))  # type: ignore[arg-type]
        assert base["title"] == "base-zh.txt" and base["terms"] == ["军事基地"] and base["page"] == 1
        assert "<mark>军事基地</mark>" in base["snippet"]
        assert hit_docs(a, "harbour") == []  # its collection filter is kept
        assert hit_docs(a, "dredging") == []  # and its negation
        [jari] = a.alerts.hits(a.alerts.find("jari"))  # type: ignore[arg-type]
        assert jari["terms"] == ["jari"] and "<mark>Jari</mark>" in jari["snippet"]

        # Re-ingesting and re-indexing never alert again for the same document.
        a.ingest(write(tmp_path / "new", NEW), collection="releases")
        a.reindex()
        harbour_doc = next(d for d in a.store.documents() if d["filename"] == "harbour.txt")
        a.index_document(harbour_doc["id"])
        a.flush_index()
        assert hit_docs(a, "jari") == ["jari-2024.txt"]

        # A document that starts matching later (a translation added) alerts once, then.
        page = a.store.pages(harbour_doc["id"])[0]
        a.store.update_page(page["id"], translation="Note: the Jari project pays for the dredging.")
        a.store.update_document(harbour_doc["id"])
        a.index_document(harbour_doc["id"])
        a.flush_index()
        assert hit_docs(a, "jari") == ["harbour.txt", "jari-2024.txt"]
        a.index_document(harbour_doc["id"])
        a.flush_index()
        assert len(a.alerts.hits(a.alerts.find("jari"))) == 2  # type: ignore[arg-type]

        # The back catalogue only on request.
        assert a.alerts.run(a.alerts.find("jari"), since=None) == 1  # type: ignore[arg-type]
        assert hit_docs(a, "jari") == ["harbour.txt", "jari-2024.txt", "old-jari.txt"]
        assert a.alerts.run(a.alerts.find("jari"), since=None) == 0  # type: ignore[arg-type]


@pytest.mark.elasticsearch
def test_switching_backends_does_not_alert_again(tmp_path, es_url, es_index):
    root = tmp_path / "archive"
    with Archive(root) as a:
        a.alerts.add("jari", "Jari")
        a.ingest(write(tmp_path / "new", NEW), collection="releases")
        assert hit_docs(a, "jari") == ["jari-2024.txt"]
    config = {"search": "elasticsearch", "elasticsearch_url": es_url, "elasticsearch_index": es_index}
    with Archive(root, config) as a:
        a.reindex()
        for doc in a.store.documents():
            a.index_document(doc["id"])
        a.flush_index()
        assert hit_docs(a, "jari") == ["jari-2024.txt"]
        a.ingest(write(tmp_path / "more", {"jari-2025.txt": "A second Jari release."}), collection="releases")
        assert hit_docs(a, "jari") == ["jari-2024.txt", "jari-2025.txt"]


def test_invalid_queries_are_refused_and_later_failures_are_kept(archive, tmp_path):
    with pytest.raises(QueryError, match="OR needs"):
        archive.alerts.add("bad", "Jari OR")
    with pytest.raises(QueryError):
        archive.alerts.add("bad", "-Jari")
    with pytest.raises(AlertError, match="unknown filter"):
        archive.alerts.add("bad", "Jari", filters={"colour": ["red"]})
    with pytest.raises(QueryError, match="not a date"):
        archive.alerts.add("bad", "Jari", filters={"from": ["2024-13-01"]})
    with pytest.raises(AlertError, match="cadence"):
        archive.alerts.add("bad", "Jari", cadence="hourly")
    search = archive.alerts.add("ok", "Jari")
    with pytest.raises(AlertError, match="already"):
        archive.alerts.add("ok", "other")
    # A query that stops running (here: made invalid behind the checks' back, as a query can
    # become on another backend) is marked failing with the reason, never deleted.
    archive.alerts.records.update_search(search.id, query="Jari OR")
    archive.ingest(write(tmp_path / "new", NEW), collection="releases")
    kept = archive.alerts.get(search.id)
    assert kept is not None and kept.failing is not None and "OR needs" in kept.failing
    archive.alerts.update(kept, query="Jari")
    archive.ingest(write(tmp_path / "more", {"j.txt": "Jari again"}), collection="releases")
    fixed = archive.alerts.get(search.id)
    assert fixed is not None and fixed.failing is None and hit_docs(archive, "ok") == ["j.txt"]


def test_matching_sees_saved_searches_changed_by_another_process(tmp_path):
    # Matching keeps the saved searches it read between batches: a change made elsewhere (the CLI
    # beside a server) is seen at the next batch, through the version the schema's triggers keep.
    root = tmp_path / "archive"
    with Archive(root) as a:
        a.alerts.add("watch", "Jari")
        a.ingest(write(tmp_path / "one", {"a.txt": "Jari pays"}), collection="releases")
        assert hit_docs(a, "watch") == ["a.txt"]
        with Archive(root) as other:
            watch = other.alerts.find("watch")
            assert watch is not None
            other.alerts.update(watch, query="dredging")
            other.alerts.add("late", "harbour")
        a.ingest(write(tmp_path / "two", {"b.txt": "Jari and the harbour dredging"}), collection="releases")
        assert hit_docs(a, "watch") == ["a.txt", "b.txt"] and hit_docs(a, "late") == ["b.txt"]
        with Archive(root) as other:
            other.alerts.remove(other.alerts.find("late"))  # type: ignore[arg-type]
            other.alerts.update(other.alerts.find("watch"), query="nothing-like-this")  # type: ignore[arg-type]
        a.ingest(write(tmp_path / "three", {"c.txt": "Jari, harbour, dredging"}), collection="releases")
        assert hit_docs(a, "watch") == ["a.txt", "b.txt"] and a.alerts.find("late") is None


def test_email_digests_through_a_real_smtp_server(tmp_path):
    hostile = {"hostile.txt": 'Jari <script>alert("x")</script> =HYPERLINK("http://evil") & more'}
    with SmtpSink() as smtp:
        config = {
            "smtp_url": smtp.url,
            "mail_from": "FOI Alerts <alerts@foi.test>",
            "base_url": "https://foi.test",
        }
        with Archive(tmp_path / "archive", config) as a:
            a.alerts.add("jari", "Jari", cadence="instant", emails=["reporter@news.test"])
            a.alerts.add("base", "军事基地", cadence="daily", emails=["reporter@news.test"])
            a.ingest(write(tmp_path / "new", {**NEW, **hostile}), collection="releases")
            report = a.alerts.send_due()
            assert (report.emails, report.hits_sent, report.failures) == (2, 3, [])
            by_subject = {m["Subject"]: m for m in smtp.messages}
            instant = next(m for s, m in by_subject.items() if "jari" in s)
            assert instant["To"] == "reporter@news.test" and instant["From"] == "FOI Alerts <alerts@foi.test>"
            assert instant["Precedence"] == "bulk"
            unsubscribe = instant["List-Unsubscribe"].strip("<>")
            assert unsubscribe.startswith("https://foi.test/alerts/unsubscribe/")
            text = instant.get_body(("plain",)).get_content()
            html = instant.get_body(("html",)).get_content()
            assert "Saved search: jari (Jari)" in text and "Matched: jari" in text
            assert "https://foi.test/documents/" in text and "minutes of the meeting" in text.lower()
            assert "<mark>Jari</mark>" in html
            assert "<script>" not in html and "&lt;script&gt;" in html  # document text is escaped
            daily = next(m for s, m in by_subject.items() if "base" in s)
            assert "军事基地" in daily.get_body(("plain",)).get_content()

            # Daily: the next digest waits for its day; instant ones go at once.
            a.ingest(
                write(tmp_path / "more", {"b2.txt": "第二份军事基地报告", "j2.txt": "Jari two"}), "releases"
            )
            report = a.alerts.send_due()
            assert (report.emails, report.hits_sent) == (1, 1)
            report = a.alerts.send_due(datetime.now(UTC) + timedelta(days=1, minutes=1))
            assert (report.emails, report.hits_sent) == (1, 1) and "base" in smtp.messages[-1]["Subject"]

            # The signed unsubscribe link stops the channel; a forged one does nothing.
            with pytest.raises(ValueError, match="not valid"):
                a.alerts.unsubscribe(urlsplit(unsubscribe).path.rsplit("/", 1)[1] + "x")
            assert a.alerts.unsubscribe(urlsplit(unsubscribe).path.rsplit("/", 1)[1]) == 1
            a.ingest(write(tmp_path / "last", {"j3.txt": "Jari three"}), "releases")
            assert a.alerts.send_due().hits_sent == 0
            assert len(smtp.messages) == 4


def test_webhooks_are_signed_batched_retried_and_disabled(tmp_path):
    with SmtpSink() as smtp, HookReceiver() as hooks:
        config = {
            "smtp_url": smtp.url,
            "webhook_max_hits": 2,
            "webhook_tries": 2,
            "webhook_backoff": 0.01,
            "alerts_max_failures": 2,
            "alerts_retry_after": 0.001,
        }
        with Archive(tmp_path / "archive", config) as a:
            search = a.alerts.add(
                "jari", "Jari", cadence="instant", webhooks=[hooks.url("/hook")], emails=["owner@news.test"]
            )
            hook = next(c for c in search.channels if c.kind == "webhook")
            assert hook.secret and len(hook.secret) >= 24
            hooks.secrets["/hook"] = hook.secret
            docs = {f"j{i}.txt": f"Jari release number {i}" for i in range(3)}
            a.ingest(write(tmp_path / "new", docs), collection="releases")
            report = a.alerts.send_due()
            assert (report.webhooks, report.hits_sent) == (2, 6)  # 3 hits per channel: 2 + 1 by webhook
            accepted = hooks.accepted()
            assert [len(r["json"]["hits"]) for r in accepted] == [2, 1]
            assert all(r["verified"] for r in hooks.requests)
            first = accepted[0]["json"]
            assert first["search"]["name"] == "jari" and first["delivery"] == accepted[0]["delivery"]
            assert (
                first["hits"][0]["terms"] == ["jari"] and "<mark>Jari</mark>" in first["hits"][0]["snippet"]
            )
            assert sorted(h["title"] for r in accepted for h in r["json"]["hits"]) == sorted(docs)

            # A failing receiver: tried again with back-off, then disabled after repeated failures,
            # its owner told by e-mail, its hits kept.
            hooks.plan = [500] * 4
            a.ingest(write(tmp_path / "more", {"j9.txt": "Jari nine"}), collection="releases")
            report = a.alerts.send_due()
            assert report.failures and "answered 500" in report.failures[0] and not report.disabled
            time.sleep(0.01)
            report = a.alerts.send_due()
            assert report.disabled and "disabled after 2 failed deliveries" in report.disabled[0]
            assert len([r for r in hooks.requests if r["status"] == 500]) == 4
            notice = smtp.messages[-1]
            assert (
                "disabled" in notice["Subject"]
                and hooks.url("/hook") in notice.get_body(("plain",)).get_content()
            )
            kept = a.alerts.get(search.id)
            assert kept is not None
            assert next(c for c in kept.channels if c.kind == "webhook").disabled
            assert a.alerts.outbox_counts(kept).get("pending") == 1  # not dropped
            assert a.alerts.send_due().webhooks == 0  # disabled: nothing tried
            a.alerts.enable_channel(kept, hook.id)
            assert a.alerts.send_due().webhooks == 1
            assert hooks.accepted()[-1]["json"]["hits"][0]["title"] == "j9.txt"


def test_atom_feeds_are_valid_private_rotatable_and_public_only_for_public_collections(tmp_path):
    with Archive(tmp_path / "archive", {"base_url": "https://foi.test"}) as a:
        a.store.ensure_collection("open", public=True)
        a.store.ensure_collection("closed", public=False)
        search = a.alerts.add("jari", "Jari")
        a.ingest(
            write(tmp_path / "o", {"open-jari.txt": "Jari <b>bold</b> & co in the open"}), collection="open"
        )
        a.ingest(
            write(tmp_path / "c", {"closed-jari.txt": "Jari in a closed collection"}), collection="closed"
        )
        feed = feedparser.parse(a.alerts.feed(search))
        assert feed.bozo == 0 and feed.version == "atom10"
        assert feed.feed.title == "FOI Archive alert: jari"
        assert sorted(e.title for e in feed.entries) == ["closed-jari.txt (page 1)", "open-jari.txt (page 1)"]
        entry = next(e for e in feed.entries if e.title.startswith("open"))
        assert entry.link.startswith("https://foi.test/documents/") and entry.link.endswith("#page-1")
        assert "<strong>Jari</strong>" in entry.content[0].value and "&lt;b&gt;bold" in entry.content[0].value
        assert entry.updated_parsed is not None

        url = a.alerts.feed_url(search)
        token = url.rsplit("/", 1)[1].removesuffix(".atom")
        assert len(token) >= 24 and a.alerts.private_feed(token) is not None
        rotated = a.alerts.rotate_feed_token(search)
        assert a.alerts.private_feed(token) is None
        assert a.alerts.private_feed(rotated.feed_token) is not None

        assert a.alerts.public_feed(search.id) is None  # not offered
        a.alerts.update(search, public_feed=True)
        public = feedparser.parse(a.alerts.public_feed(search.id))
        assert [e.title for e in public.entries] == ["open-jari.txt (page 1)"]


def test_hits_go_out_only_when_the_owner_may_read_them(tmp_path):
    with SmtpSink() as smtp, Archive(tmp_path / "archive", {"smtp_url": smtp.url}) as a:
        a.store.ensure_collection("open", public=True)
        a.store.ensure_collection("closed", public=False)
        a.alerts.add("jari", "Jari", cadence="instant", owner="alice", emails=["alice@news.test"])
        a.ingest(write(tmp_path / "o", {"open-jari.txt": "Jari in the open"}), collection="open")
        a.ingest(
            write(tmp_path / "c", {"closed-jari.txt": "Jari in a closed collection"}), collection="closed"
        )
        report = a.alerts.send_due()
        assert (report.hits_sent, report.withheld) == (1, 1)
        body = smtp.messages[0].get_body(("plain",)).get_content()
        assert "open-jari.txt" in body and "closed-jari.txt" not in body


def test_public_subscriptions_need_a_signed_confirmation(tmp_path):
    config = {"smtp_url": "", "base_url": "https://foi.test"}
    with SmtpSink() as smtp, Archive(tmp_path / "archive", config | {"smtp_url": smtp.url}) as a:
        a.store.ensure_collection("open", public=True)
        search = a.alerts.add("jari", "Jari", cadence="instant")
        with pytest.raises(AlertError, match="not open"):
            a.alerts.subscribe(search, "reader@public.test")
        search = a.alerts.update(search, public_feed=True)
        link = a.alerts.subscribe(search, "reader@public.test")
        confirm = smtp.messages[-1]
        assert confirm["To"] == "reader@public.test" and link in confirm.get_body(("plain",)).get_content()
        a.ingest(write(tmp_path / "o", {"one.txt": "Jari one"}), collection="open")
        assert a.alerts.send_due().hits_sent == 0 and len(smtp.messages) == 1  # unconfirmed
        with pytest.raises(ValueError):
            a.alerts.confirm(link.rsplit("/", 1)[1][:-2] + "xx")
        assert a.alerts.confirm(link.rsplit("/", 1)[1]).id == search.id
        a.ingest(write(tmp_path / "o2", {"two.txt": "Jari two"}), collection="open")
        assert a.alerts.send_due().hits_sent == 2  # the kept hit and the new one
        assert "two.txt" in smtp.messages[-1].get_body(("plain",)).get_content()


def test_one_sender_at_a_time(archive):
    with sender_lock(archive.root) as held:
        assert held
        assert archive.alerts.send_due().busy


DRIVER = """
import os, signal, sys
from archive import Archive
from archive.alerts import webhook
mode = sys.argv[2]
real = webhook.post
def post(*args, **kwargs):
    if mode == "before-send":
        os.kill(os.getpid(), signal.SIGKILL)
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
webhook.post = post
with Archive(sys.argv[1], {"webhook_max_hits": 2}) as a:
    a.alerts.send_due()
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["before-send", "after-send"])
def test_a_sender_killed_between_states_loses_nothing_and_sends_nothing_new_twice(tmp_path, mode):
    root = tmp_path / "archive"
    with HookReceiver() as hooks:
        with Archive(root) as a:
            search = a.alerts.add("jari", "Jari", cadence="instant", webhooks=[hooks.url("/h")])
            hooks.secrets["/h"] = search.channels[0].secret or ""
            a.ingest(write(tmp_path / "new", {f"j{i}.txt": f"Jari {i}" for i in range(3)}), "releases")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "FOI_WEBHOOK_MAX_HITS": "2"}
        (tmp_path / "driver.py").write_text(DRIVER)
        killed = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(root), mode], env=env)
        assert killed.returncode == -signal.SIGKILL
        with Archive(root) as a:
            assert a.alerts.outbox_counts() == {"sending": 2, "pending": 1}  # the first request's two hits
        assert len(hooks.requests) == (0 if mode == "before-send" else 1)
        done = subprocess.run(
            [sys.executable, "-m", "archive.cli", "--archive", str(root), "alerts", "send", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(done.stdout)["hits_sent"] == 3
        with Archive(root) as a:
            assert a.alerts.outbox_counts() == {"sent": 3}
            assert a.alerts.send_due().hits_sent == 0
        # Every hit arrived; a request cut short went again under its delivery id with the same body.
        by_delivery: dict[str, set[bytes]] = {}
        for r in hooks.requests:
            by_delivery.setdefault(r["delivery"], set()).add(r["body"])
        assert all(len(bodies) == 1 for bodies in by_delivery.values())
        titles = [
            h["title"] for bodies in by_delivery.values() for b in bodies for h in json.loads(b)["hits"]
        ]
        assert sorted(titles) == ["j0.txt", "j1.txt", "j2.txt"]
        assert len(hooks.requests) == (2 if mode == "before-send" else 3)


def test_cli(tmp_path, runner):
    from archive.cli import cli

    root = str(tmp_path / "archive")
    base = ["--archive", root, "alerts"]
    bad = runner.invoke(cli, [*base, "add", "Jari OR", "--name", "x"])
    assert bad.exit_code == 3 and "OR needs" in bad.output
    added = runner.invoke(
        cli,
        [
            *base,
            "add",
            "Jari",
            "--name",
            "jari",
            "--cadence",
            "instant",
            "--filter",
            "collection=releases",
            "--json",
        ],
    )
    assert added.exit_code == 0, added.output
    shown = json.loads(added.output)
    assert shown["search"]["filters"] == {"collection": ["releases"]} and shown["feed_url"].endswith(".atom")
    with Archive(root) as a:
        a.ingest(write(tmp_path / "new", NEW), collection="releases")
    listed = json.loads(runner.invoke(cli, [*base, "list", "--json"]).output)
    assert [s["name"] for s in listed["searches"]] == ["jari"]
    show = json.loads(runner.invoke(cli, [*base, "show", "jari", "--json"]).output)
    assert [h["title"] for h in show["hits"]] == ["jari-2024.txt"] and show["hit_count"] == 1
    run = json.loads(runner.invoke(cli, [*base, "run", "jari", "--since", "2000-01-01", "--json"]).output)
    assert run == {"search": "jari", "new_hits": 0}
    send = json.loads(runner.invoke(cli, [*base, "send", "--json"]).output)
    assert send["hits_sent"] == 0 and send["busy"] is False
    feed = runner.invoke(cli, [*base, "feed", "jari"])
    assert feedparser.parse(feed.output).entries[0].title == "jari-2024.txt (page 1)"
    paused = json.loads(runner.invoke(cli, [*base, "pause", "jari", "--json"]).output)
    assert paused["search"]["paused"] is True
    assert runner.invoke(cli, [*base, "remove", "jari"]).exit_code == 0
    assert json.loads(runner.invoke(cli, [*base, "list", "--json"]).output) == {"searches": []}
    assert runner.invoke(cli, [*base, "show", "jari"]).exit_code == 2


INGEST_DRIVER = """
import os, signal, sys
from archive import Archive
from archive.alerts import matching
def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
matching.record_matches = killed
with Archive(sys.argv[1]) as a:
    a.ingest([sys.argv[2]], collection="releases")
"""


@pytest.mark.slow
def test_documents_indexed_by_a_killed_ingest_are_matched_later(tmp_path):
    root = tmp_path / "archive"
    with Archive(root) as a:
        a.alerts.add("jari", "Jari")
    [doc] = write(tmp_path / "new", {"jari-2024.txt": "The Jari project minutes."})
    (tmp_path / "driver.py").write_text(INGEST_DRIVER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(root), str(doc)], env=env)
    assert killed.returncode == -signal.SIGKILL  # indexed, then killed while matching
    with Archive(root) as a:
        assert [d["index_pending"] for d in a.store.documents()] == [0]
        assert hit_docs(a, "jari") == []
        a.ingest(write(tmp_path / "more", {"other.txt": "Nothing to see."}), collection="releases")
        assert hit_docs(a, "jari") == ["jari-2024.txt"]
