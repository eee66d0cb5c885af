"""Gaps in saved searches and alerts a review found: every sort search offers, owners told by
e-mail when a channel is disabled, SMTP outages not held against recipients, double opt-in
expiry and rate limits, webhook replay and stalls, instant hits sent at once, the API and CLI for
channels, and pausing. Real components throughout: aiosmtpd, an HTTP receiver, both backends where
matching is involved."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import es_fixtures
import pytest

from archive import Archive
from archive.search import SORTS
from web import create_app

es_url = es_fixtures.es_url
es_index = es_fixtures.es_index


def write(folder: Path, files: dict[str, str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / n for n in files]


def soon() -> datetime:
    """A round's time a little ahead: a retry due in milliseconds is due then, whatever second
    the outbox's stamps (second resolution) fall in."""
    return datetime.now(UTC) + timedelta(seconds=2)


def titles(a: Archive, name: str) -> list[str]:
    search = a.alerts.find(name)
    assert search is not None
    return sorted(h["title"] for h in a.alerts.hits(search))


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "archive"
    with Archive(root) as a:
        a.ingest(
            write(tmp_path / "docs", {"jari.txt": "Minutes on the Jari project."}), collection="releases"
        )
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


# -- 2. the owner is told by e-mail (at the account's address) and in the UI -----------------------


def test_a_webhook_only_owner_is_told_at_the_accounts_address(tmp_path, runner, archive_dir):
    from alert_receivers import HookReceiver, SmtpSink

    from archive.cli import cli

    def foi(*args: str, ok: bool = True):
        result = runner.invoke(cli, ["--archive", str(archive_dir), *args], input="a long password\n")
        assert not ok or result.exit_code == 0, result.output
        return result

    foi("users", "add", "alice", "--role", "admin", "--email", "bad address", "--password-stdin", ok=False)
    added = foi("users", "add", "alice", "--role", "admin", "--email", "alice@news.test", "--password-stdin")
    assert "added admin alice" in added.output
    foi("users", "add", "bob", "--role", "admin", "--password-stdin")
    assert "bob: bob@news.test" in foi("users", "email", "bob", "bob@news.test").output
    assert foi("users", "email", "nobody", "x@news.test", ok=False).exit_code == 2
    with SmtpSink() as smtp, HookReceiver() as hooks:
        config = {
            "smtp_url": smtp.url,
            "webhook_tries": 1,
            "alerts_max_failures": 1,
            "alerts_retry_after": 0.001,
        }
        with Archive(archive_dir, config) as a:
            assert a.accounts.get("alice")["email"] == "alice@news.test"  # type: ignore[index]
            a.alerts.add("jari", "Jari", cadence="instant", owner="alice", webhooks=[hooks.url("/a")])
            a.alerts.add("local", "Jari", cadence="instant", webhooks=[hooks.url("/local")])
            # No secret known to the receiver: it refuses (401) both hooks.
            a.ingest(write(tmp_path / "d", {"j.txt": "Jari arrives"}), collection="releases")
            report = a.alerts.send_due()
            assert len(report.disabled) == 2
        # Alice is told at her account's address; the local user has none (the UI tells them).
        assert [m["To"] for m in smtp.messages] == ["alice@news.test"]
        body = " ".join(smtp.messages[0].get_body(("plain",)).get_content().split())
        assert hooks.url("/a") in body and "'jari' was disabled" in body and "answered 401" in body


def test_the_alert_page_and_the_list_show_a_disabled_channel(site):
    app, client, root = site
    with Archive(root) as a:
        search = a.alerts.add("jari", "Jari", webhooks=["https://hooks.test/x"])
        a.alerts.records.update_channel(search.channels[0].id, disabled="disabled after 5 failed deliveries")
    detail = client.get(f"/alerts/{search.id}").get_data(as_text=True)
    assert "disabled: disabled after 5 failed deliveries" in detail and "Enable again" in detail
    listing = client.get("/alerts").get_data(as_text=True)
    assert "webhook https://hooks.test/x: disabled after 5 failed deliveries" in listing
    assert (
        client.post(
            f"/alerts/{search.id}", data={"action": "enable", "channel": str(search.channels[0].id)}
        ).status_code
        == 303
    )
    assert "disabled after" not in client.get("/alerts").get_data(as_text=True)


# -- 3. an SMTP outage is not the recipients' fault ------------------------------------------------


def test_an_smtp_outage_disables_nobody_and_a_refused_address_counts(tmp_path):
    from alert_receivers import SmtpSink, free_port

    port = free_port()  # nothing listens there yet: the server is down
    config = {"smtp_url": f"smtp://127.0.0.1:{port}", "alerts_max_failures": 2, "alerts_retry_after": 0.001}
    root = tmp_path / "archive"
    with Archive(root, config) as a:
        search = a.alerts.add(
            "jari", "Jari", cadence="instant", emails=["reader@news.test", "gone@news.test"]
        )
        a.ingest(write(tmp_path / "d", {"j.txt": "Jari arrives"}), collection="releases")
        for _ in range(4):  # twice max_failures rounds of a server that is down
            report = a.alerts.send_due(soon())
            assert report.failures and "failed" in report.failures[0] and not report.disabled
    with Archive(root, config | {"smtp_url": ""}) as a:  # no server configured at all
        report = a.alerts.send_due(soon())
        assert "no SMTP server configured" in report.failures[0] and not report.disabled
        kept = a.alerts.get(search.id)
        assert kept is not None
        assert [(c.failures, c.disabled) for c in kept.channels] == [(0, None), (0, None)]
        assert a.alerts.outbox_counts(kept) == {"pending": 2}
    # The server is back; it refuses one address for good (550 at RCPT TO): only that one counts.
    with SmtpSink(port=port, refuse=("gone@news.test",)) as smtp, Archive(root, config) as a:
        report = a.alerts.send_due(soon())
        assert report.emails == 1 and "550" in report.failures[0] and not report.disabled
        assert [m["To"] for m in smtp.messages] == ["reader@news.test"]
        assert "j.txt" in smtp.messages[0].get_body(("plain",)).get_content()
        report = a.alerts.send_due(soon())
        assert report.disabled and "gone@news.test" in report.disabled[0]
        kept = a.alerts.get(search.id)
        assert kept is not None
        by_target = {c.target: c for c in kept.channels}
        assert by_target["reader@news.test"].disabled is None
        assert "refused the recipient" in (by_target["gone@news.test"].disabled or "")


# -- 4. double opt-in: expiry, no undoing an unsubscribe, the web form, rate limits ----------------


def test_confirmation_links_expire_after_seven_days(archive):
    import time

    from archive.alerts.links import CONFIRM_MAX_AGE, LinkSigner

    archive.store.ensure_collection("open", public=True)
    search = archive.alerts.add("jari", "Jari", public_feed=True)
    channel = archive.alerts.records.add_channel(search.id, "email", "r@news.test", confirmed=False)
    secret = archive.alerts.records.secret()
    made_at = time.time() - CONFIRM_MAX_AGE
    stale = LinkSigner(secret, clock=lambda: made_at - 60).sign("confirm", [channel.id])
    with pytest.raises(ValueError, match="expired"):
        archive.alerts.confirm(stale)
    assert archive.alerts.get(search.id).channels[0].confirmed is False  # type: ignore[union-attr]
    fresh = LinkSigner(secret, clock=lambda: made_at + 60).sign("confirm", [channel.id])  # 6 days 23:59
    assert archive.alerts.confirm(fresh).id == search.id
    assert archive.alerts.get(search.id).channels[0].confirmed is True  # type: ignore[union-attr]


def test_web_subscription_end_to_end_with_rate_limits(tmp_path):
    from alert_receivers import SmtpSink

    root = tmp_path / "archive"
    with Archive(root) as a:
        a.store.ensure_collection("open", public=True)
        search = a.alerts.add("jari", "Jari", cadence="instant", public_feed=True)
    with SmtpSink() as smtp:
        config = {"smtp_url": smtp.url, "base_url": "http://localhost"}
        app = create_app(
            {"ARCHIVE_DIR": str(root), "TESTING": True, "WTF_CSRF_ENABLED": False, "ARCHIVE_CONFIG": config}
        )
        client = app.test_client()
        form = f"/alerts/{search.id}/subscribe"
        sent = client.post(form, data={"email": "reader@public.test"})
        assert (
            sent.status_code == 200
            and "A confirmation link was sent to reader@public.test" in sent.get_data(as_text=True)
        )
        [confirmation] = smtp.messages
        assert confirmation["To"] == "reader@public.test"
        link = re.search(
            r"http://localhost(/alerts/confirm/\S+)", confirmation.get_body(("plain",)).get_content()
        )
        assert link is not None
        with Archive(root, config) as a:
            a.ingest(write(tmp_path / "d1", {"before.txt": "Jari before confirming"}), collection="open")
            assert a.alerts.send_due().hits_sent == 0  # not confirmed yet: nothing goes
        assert "Subscription confirmed" in client.get(link.group(1)).get_data(as_text=True)
        with Archive(root, config) as a:
            a.ingest(write(tmp_path / "d2", {"after.txt": "Jari after confirming"}), collection="open")
            assert a.alerts.send_due().hits_sent == 2
        digest = smtp.messages[-1]
        assert (
            digest["To"] == "reader@public.test" and "after.txt" in digest.get_body(("plain",)).get_content()
        )
        # Unsubscribed, the old confirmation link (still within its week) does not start it again.
        unsubscribe = urlsplit(digest["List-Unsubscribe"].strip("<>")).path
        assert client.post(unsubscribe).status_code == 200
        again = client.get(link.group(1))
        assert again.status_code == 400 and "unsubscribed" in again.get_data(as_text=True)
        with Archive(root, config) as a:
            a.ingest(write(tmp_path / "d3", {"later.txt": "Jari later"}), collection="open")
            assert a.alerts.send_due().hits_sent == 0
            assert a.alerts.get(search.id).channels[0].disabled == "unsubscribed"  # type: ignore[union-attr]
        # Three requests an hour per address: the fourth mails nothing.
        assert client.post(form, data={"email": "Reader@public.test"}).status_code == 200
        assert client.post(form, data={"email": "reader@public.test"}).status_code == 200
        mails = len(smtp.messages)
        refused = client.post(form, data={"email": "reader@public.test"})
        assert refused.status_code == 429 and len(smtp.messages) == mails
        # Twenty an hour per client, whatever the addresses.
        other = {"REMOTE_ADDR": "203.0.113.9"}
        codes = [
            client.post(form, data={"email": f"r{i}@public.test"}, environ_base=other).status_code
            for i in range(21)
        ]
        assert codes == [200] * 20 + [429]


# -- 5. webhooks: replay, stalls, daily digests -----------------------------------------------------


def test_the_verifier_refuses_a_stale_timestamp_and_a_replayed_request(tmp_path):
    import time
    import urllib.error
    import urllib.request

    from alert_receivers import HookReceiver

    from archive.alerts import webhook

    body = b'{"hits": []}'
    old = str(int(time.time()) - 301)
    assert not webhook.verify("s3cret", old, body, webhook.sign("s3cret", old, body))  # stale
    future = str(int(time.time()) + 301)
    assert not webhook.verify("s3cret", future, body, webhook.sign("s3cret", future, body))
    fresh = str(int(time.time()))
    assert webhook.verify("s3cret", fresh, body, webhook.sign("s3cret", fresh, body))
    assert not webhook.verify("other", fresh, body, webhook.sign("s3cret", fresh, body))

    with HookReceiver() as hooks, Archive(tmp_path / "archive") as a:
        search = a.alerts.add("jari", "Jari", cadence="instant", webhooks=[hooks.url("/h")])
        hooks.secrets["/h"] = search.channels[0].secret or ""
        a.ingest(write(tmp_path / "d", {"j.txt": "Jari arrives"}), collection="releases")
        assert a.alerts.send_due().webhooks == 1
        [first] = hooks.requests
        assert first["verified"] and first["status"] == 200
        sent = {k.lower(): v for k, v in first["headers"].items()}
        # The same request sent again, byte for byte, within its five minutes: refused.
        names = (webhook.TIMESTAMP_HEADER, webhook.SIGNATURE_HEADER, webhook.DELIVERY_HEADER, "Content-Type")
        replay = urllib.request.Request(
            hooks.url("/h"),
            data=first["body"],
            method="POST",
            headers={n: sent[n.lower()] for n in names},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(replay, timeout=5)
        assert refused.value.code == 401 and hooks.requests[-1]["verified"] is False


def test_a_stalled_receiver_gets_the_hit_later(tmp_path):
    from alert_receivers import HookReceiver

    config = {"webhook_timeout": 0.5, "webhook_tries": 1, "alerts_retry_after": 0.001}
    with HookReceiver() as hooks, Archive(tmp_path / "archive", config) as a:
        search = a.alerts.add("jari", "Jari", cadence="instant", webhooks=[hooks.url("/h")])
        hooks.secrets["/h"] = search.channels[0].secret or ""
        hooks.stalls = [2.0]  # answers after the sender stopped waiting
        a.ingest(write(tmp_path / "d", {"j.txt": "Jari arrives"}), collection="releases")
        report = a.alerts.send_due()
        assert report.webhooks == 0 and "timed out" in report.failures[0]
        assert a.alerts.outbox_counts(search) == {"pending": 1}  # kept for a later round
        report = a.alerts.send_due(soon())
        assert report.webhooks == 1 and report.failures == []
        [delivered] = hooks.accepted()
        assert [h["title"] for h in delivered["json"]["hits"]] == ["j.txt"]
        # The receiver saw the stalled request too: the retry says, by its id, that it is the same.
        assert [r["delivery"] for r in hooks.requests] == [delivered["delivery"]] * 2
        assert a.alerts.outbox_counts(search) == {"sent": 1}


def test_a_daily_webhook_digest(tmp_path):

    from alert_receivers import HookReceiver

    with HookReceiver() as hooks, Archive(tmp_path / "archive") as a:
        search = a.alerts.add("jari", "Jari", cadence="daily", webhooks=[hooks.url("/d")])
        hooks.secrets["/d"] = search.channels[0].secret or ""
        a.ingest(write(tmp_path / "d1", {"j1.txt": "Jari one"}), collection="releases")
        assert a.alerts.send_due().webhooks == 1  # the first digest goes at once
        a.ingest(
            write(tmp_path / "d2", {"j2.txt": "Jari two", "j3.txt": "Jari three"}), collection="releases"
        )
        assert a.alerts.send_due().webhooks == 0  # the next waits for its day
        assert a.alerts.send_due(datetime.now(UTC) + timedelta(hours=23)).webhooks == 0
        report = a.alerts.send_due(datetime.now(UTC) + timedelta(days=1, minutes=1))
        assert (report.webhooks, report.hits_sent) == (1, 2)
        digest = hooks.accepted()[-1]["json"]
        assert digest["search"]["cadence"] == "daily"
        assert sorted(h["title"] for h in digest["hits"]) == ["j2.txt", "j3.txt"]
        assert all(r["verified"] for r in hooks.requests)


# -- 6. instant hits go at once ----------------------------------------------------------------------


def _wait_for(check, seconds: float) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_the_serve_loop_wakes_when_matching_records_instant_hits(tmp_path):
    import subprocess
    import sys

    from alert_receivers import HookReceiver

    root = tmp_path / "archive"
    with HookReceiver() as hooks:
        with Archive(root) as a:
            search = a.alerts.add("jari", "Jari", cadence="instant", webhooks=[hooks.url("/h")])
            hooks.secrets["/h"] = search.channels[0].secret or ""
        # A minute between rounds, as FOI_ALERTS_INTERVAL's default: only a wake-up sends in time.
        app = create_app(
            {"ARCHIVE_DIR": str(root), "ALERTS_LOOP": True, "ARCHIVE_CONFIG": {"alerts_interval": 60}}
        )
        try:
            assert _wait_for(lambda: not app.extensions["foi_alerts_loop"].wake_event.is_set(), 5)
            with Archive(root) as a:  # matching in the same process as the loop
                a.ingest(write(tmp_path / "d1", {"j1.txt": "Jari one"}), collection="releases")
            assert _wait_for(lambda: len(hooks.accepted()) == 1, 5)
            # Another process (an ingest beside the server) wakes it through runs/alerts-wake.
            code = (
                "import sys; from pathlib import Path; from archive import Archive\n"
                "with Archive(Path(sys.argv[1])) as a:\n"
                "    a.ingest([Path(sys.argv[2])], collection='releases')\n"
            )
            doc = write(tmp_path / "d2", {"j2.txt": "Jari two"})[0]
            subprocess.run([sys.executable, "-c", code, str(root), str(doc)], check=True, timeout=120)
            assert _wait_for(lambda: len(hooks.accepted()) == 2, 5)
        finally:
            app.extensions["foi_alerts_loop"].stop()
        assert [r["json"]["hits"][0]["title"] for r in hooks.accepted()] == ["j1.txt", "j2.txt"]


def test_foi_ingest_sends_instant_hits_at_its_end(tmp_path, runner):
    from alert_receivers import HookReceiver

    from archive.cli import cli

    root = tmp_path / "archive"
    with HookReceiver() as hooks:
        with Archive(root) as a:
            search = a.alerts.add("jari", "Jari", cadence="instant", webhooks=[hooks.url("/h")])
            a.alerts.add("daily", "Jari", cadence="daily", webhooks=[hooks.url("/daily")])
            hooks.secrets["/h"] = search.channels[0].secret or ""
        docs = write(tmp_path / "d", {"j.txt": "Jari arrives"})
        result = runner.invoke(
            cli, ["--archive", str(root), "ingest", str(docs[0]), "--collection", "releases"]
        )
        assert result.exit_code == 0, result.output
        assert "alerts: sent" in result.output
        assert [r["json"]["hits"][0]["title"] for r in hooks.accepted() if r["path"] == "/h"] == ["j.txt"]


# -- 7. the API and the CLI manage channels and the feed token ----------------------------------------


def test_api_channels_enable_and_feed_token(site):
    app, client, root = site
    search_id = client.post("/api/alerts", json={"name": "jari", "query": "Jari"}).json["search"]["id"]
    base = f"/api/alerts/{search_id}"
    assert client.post(f"{base}/channels", json={"kind": "fax", "target": "x"}).status_code == 400
    assert client.post(f"{base}/channels", json={"kind": "email", "target": "not mail"}).status_code == 400
    assert client.post(f"{base}/channels", json={"kind": "webhook"}).status_code == 400
    added = client.post(f"{base}/channels", json={"kind": "webhook", "target": "https://hooks.test/a"})
    assert added.status_code == 200 and len(added.json["secret"]) >= 24
    hook_id = added.json["channel"]["id"]
    mail = client.post(f"{base}/channels", json={"kind": "email", "target": "me@news.test"}).json
    assert [c["target"] for c in mail["search"]["channels"]] == ["https://hooks.test/a", "me@news.test"]
    with Archive(root) as a:
        a.alerts.records.update_channel(hook_id, disabled="disabled after 5 failed deliveries", failures=5)
    assert client.patch(f"{base}/channels/{hook_id}", json={}).status_code == 400
    assert client.patch(f"{base}/channels/{hook_id}", json={"enabled": "yes"}).status_code == 400
    enabled = client.patch(f"{base}/channels/{hook_id}", json={"enabled": True}).json["search"]["channels"]
    assert [(c["disabled"], c["failures"]) for c in enabled if c["id"] == hook_id] == [(None, 0)]
    assert client.patch(f"{base}/channels/99999", json={"enabled": True}).status_code == 404
    removed = client.delete(f"{base}/channels/{hook_id}").json["search"]["channels"]
    assert [c["target"] for c in removed] == ["me@news.test"]
    assert client.delete(f"{base}/channels/{hook_id}").status_code == 404
    old_feed = urlsplit(client.get(base).json["search"]["feed_url"]).path
    new_feed = urlsplit(client.post(f"{base}/feed-token", json={}).json["search"]["feed_url"]).path
    assert new_feed != old_feed and client.get(old_feed).status_code == 404
    assert client.get(new_feed).status_code == 200
    # Someone else's saved search is not there for them.
    with Archive(root) as a:
        other = a.alerts.add("theirs", "Jari", owner="bob", emails=["bob@news.test"])
    assert client.post(f"/api/alerts/{other.id}/feed-token", json={}).status_code == 404
    assert client.delete(f"/api/alerts/{other.id}/channels/{other.channels[0].id}").status_code == 404
    spec = client.get("/api/openapi.json").json["paths"]
    assert {"post"} <= spec["/api/alerts/{search_id}/channels"].keys()
    assert {"patch", "delete"} <= spec["/api/alerts/{search_id}/channels/{channel_id}"].keys()
    assert "post" in spec["/api/alerts/{search_id}/feed-token"]


def test_cli_channels_enable_feed_json_and_remove_json(tmp_path, runner):
    import json

    import feedparser

    from archive.cli import cli

    root = str(tmp_path / "archive")

    def foi(*args: str, code: int = 0):
        result = runner.invoke(cli, ["--archive", root, "alerts", *args])
        assert result.exit_code == code, result.output
        return result

    added = json.loads(
        foi(
            "add",
            "Jari",
            "--name",
            "jari",
            "--email",
            "me@news.test",
            "--webhook",
            "https://hooks.test/a",
            "--json",
        ).output
    )
    channels = {c["kind"]: c for c in added["search"]["channels"]}
    assert (
        channels["email"]["target"] == "me@news.test"
        and channels["webhook"]["target"] == "https://hooks.test/a"
    )
    assert len(added["webhook_secrets"]["https://hooks.test/a"]) >= 24
    foi("add", "Jari", "--name", "bad", "--email", "not mail", code=2)
    more = json.loads(foi("add-channel", "jari", "--webhook", "https://hooks.test/b", "--json").output)
    assert len(more["webhook_secrets"]["https://hooks.test/b"]) >= 24 and len(more["search"]["channels"]) == 3
    foi("add-channel", "jari", code=2)
    hook = channels["webhook"]["id"]
    with Archive(root) as a:
        a.alerts.records.update_channel(hook, disabled="disabled after 5 failed deliveries")
    assert (
        f"channel {hook}: webhook https://hooks.test/a (disabled: disabled after 5"
        in foi("show", "jari").output
    )
    enabled = json.loads(foi("enable", "jari", str(hook), "--json").output)
    assert [c["disabled"] for c in enabled["search"]["channels"] if c["id"] == hook] == [None]
    foi("enable", "jari", "999", code=2)
    removed = json.loads(foi("remove-channel", "jari", str(hook), "--json").output)
    assert "https://hooks.test/a" not in [c["target"] for c in removed["search"]["channels"]]
    feed = json.loads(foi("feed", "jari", "--json").output)
    assert feedparser.parse(feed["atom"]).feed.title == "FOI Archive alert: jari"
    rotated = json.loads(foi("feed", "jari", "--rotate", "--json").output)
    assert rotated["feed_url"] != feed["feed_url"] and rotated["feed_url"].endswith(".atom")
    assert json.loads(foi("remove", "jari", "--json").output) == {"removed": "jari"}
    assert json.loads(foi("list", "--json").output) == {"searches": []}


# -- 8. pausing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)]
)
def test_a_paused_search_neither_matches_nor_sends_and_resumes_from_then(request, tmp_path, backend):
    import time

    from alert_receivers import HookReceiver

    config: dict[str, str] = {}
    if backend == "elasticsearch":
        config = {
            "search": "elasticsearch",
            "elasticsearch_url": request.getfixturevalue("es_url"),
            "elasticsearch_index": request.getfixturevalue("es_index"),
        }
    with HookReceiver() as hooks, Archive(tmp_path / "archive", config) as a:
        search = a.alerts.add("jari", "Jari", cadence="instant", webhooks=[hooks.url("/h")])
        hooks.secrets["/h"] = search.channels[0].secret or ""
        a.ingest(write(tmp_path / "d1", {"before.txt": "Jari before the pause"}), collection="releases")
        search = a.alerts.update(search, paused=True)
        assert a.alerts.send_due().webhooks == 0 and hooks.requests == []  # its hit waits
        a.ingest(write(tmp_path / "d2", {"paused.txt": "Jari while paused"}), collection="releases")
        assert titles(a, "jari") == ["before.txt"]  # nothing matched while paused
        time.sleep(1.1)  # resumed a second later
        search = a.alerts.update(search, paused=False)
        assert search.since > search.created  # it starts from the resume, like a new search
        a.reindex()  # the whole index rebuilt after the resume: still not a hit
        a.ingest(write(tmp_path / "d3", {"after.txt": "Jari after the resume"}), collection="releases")
        assert titles(a, "jari") == ["after.txt", "before.txt"]
        assert a.alerts.send_due().hits_sent == 2  # the hit from before the pause and the new one
        sent = sorted(h["title"] for r in hooks.accepted() for h in r["json"]["hits"])
        assert sent == ["after.txt", "before.txt"]
        assert a.alerts.run(search, since=None) == 1  # what arrived while paused, on request
        assert titles(a, "jari") == ["after.txt", "before.txt", "paused.txt"]


def test_an_archive_made_before_account_emails_gets_the_column(tmp_path):
    from archive.store import Store

    store = Store(tmp_path / "archive")
    store.db.execute("ALTER TABLE users DROP COLUMN email")  # as archives made before it were
    store.db.execute(
        "INSERT INTO users(name, role, password_hash, created) VALUES ('old', 'admin', 'x', 'then')"
    )
    store.close()
    with Archive(tmp_path / "archive") as a:
        assert a.accounts.get("old")["email"] is None  # type: ignore[index]
        a.accounts.set_email("old", "old@news.test")
        assert a.accounts.get("old")["email"] == "old@news.test"  # type: ignore[index]
