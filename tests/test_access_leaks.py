"""The leak test: nothing of a private collection (or of a taken-down document) reaches anyone who
may not read it, through any route of the app, on both backends.

Every route comes from `app.url_map`, so a route added later is requested too without anyone
remembering to add it here; its parameters are filled from the private documents' ids, pages and
collection name. Each URL is requested as an anonymous visitor of a team server, as a reader
without a grant, with a bad token, and as a visitor of the public site, and no private word, id,
filename, collection name, count or facet value may appear in the answer (bodies of any type,
zips included, and headers).
"""

from __future__ import annotations

import email.message
import email.utils
import json
import re
from pathlib import Path
from typing import Any

import pytest
from es_fixtures import es_index, es_url  # noqa: F401

from archive import Archive
from web import create_app

PRIVATE = "internal-dossier"
PUBLIC = "released"
# Words only the private side holds (checked in every answer), and words used to look for them
# (sent in queries, so echoed back in search boxes: never checked).
SECRETS = ["zanzibarite", "marmalisk", "xylophant", "hushcorp", "quokkabudget", "pangolium", "embargoled"]
QUERY_WORDS = ["quokkasearch", "pangosearch"]
# The private message's Message-ID. The public reply names it in its own In-Reply-To and
# References: no view may show it (only the reply's original file, released as it is, holds it).
PRIVATE_MESSAGE_ID = "<m1-wombatine@mail.example>"
PASSWORD = "a long enough password"


def _mail(
    subject: str,
    sender: str,
    body: str,
    msgid: str,
    reply_to: str | None = None,
    attach: str = "",
    references: str | None = None,
) -> bytes:
    msg = email.message.EmailMessage()
    msg["From"] = sender
    msg["To"] = "Records Office <records@council.example>"
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(
        email.utils.parsedate_to_datetime("Mon, 02 Mar 2020 10:00:00 +0000")
    )
    msg["Message-ID"] = msgid
    if reply_to:
        msg["In-Reply-To"] = reply_to
        msg["References"] = references or reply_to
    msg.set_content(body)
    if attach:
        msg.add_attachment(
            attach.encode(), maintype="text", subtype="plain", filename="quokkabudget-annex.txt"
        )
    return msg.as_bytes()


def build(root: Path, config: dict[str, Any]) -> dict[str, Any]:
    src = root / "src"
    (src / "private").mkdir(parents=True)
    (src / "public").mkdir(parents=True)
    (src / "private" / "zanzibarite-memo.txt").write_text(
        "Memo quokkasearch: the zanzibarite contract with Xylophant Hushcorp Ltd was withheld under "
        "section 43(2) of the Freedom of Information Act 2000. Contact xylophant@hushcorp.example.",
        encoding="utf-8",
    )
    (src / "private" / "first.eml").write_bytes(
        _mail(
            "Marmalisk plans quokkasearch",
            "Xylophant Secretperson <xylophant@hushcorp.example>",
            "The marmalisk figures are attached. quokkasearch",
            PRIVATE_MESSAGE_ID,
            attach="quokkabudget line items marmalisk 4,000,000",
        )
    )
    (src / "public" / "harbour-report.txt").write_text(
        "The harbour lighthouse report is published in full. Freedom of Information request answered.",
        encoding="utf-8",
    )
    # A public reply in the private message's thread: the thread must not show the private one.
    (src / "public" / "reply.eml").write_bytes(
        _mail(
            "Re: the plans",
            "Records Office <records@council.example>",
            "We reply about the lighthouse.",
            "<m2@mail.example>",
            reply_to=PRIVATE_MESSAGE_ID,
        )
    )
    # A public answer to the public reply: its reference to the reply is kept, the private one not.
    (src / "public" / "reply2.eml").write_bytes(
        _mail(
            "Re: Re: the plans",
            "Records Office <records@council.example>",
            "Thank you for the lighthouse reply.",
            "<m3@mail.example>",
            reply_to="<m2@mail.example>",
            references=f"{PRIVATE_MESSAGE_ID} <m2@mail.example>",
        )
    )
    (src / "public" / "takedown.txt").write_text(
        "The pangolium complaint pangosearch named a private person.", encoding="utf-8"
    )
    with Archive(root / "archive", config) as a:
        a.ingest([src / "private"], collection=PRIVATE)
        a.ingest([src / "public"], collection=PUBLIC)
        docs = a.store.documents()
        private_ids = [d["id"] for d in docs if d["collection"] == PRIVATE]
        public_ids = [d["id"] for d in docs if d["collection"] == PUBLIC]
        hidden = next(d["id"] for d in docs if d["filename"] == "takedown.txt")
        a.hide_document(hidden, "names a private person")
        a.set_collection(PUBLIC, title="Harbour release", licence="CC-BY-4.0")
        a.publish(PUBLIC)
        a.accounts.add("root", "admin", PASSWORD)
        a.accounts.add("rita", "reader", PASSWORD)
        # Saved searches over the private side, with hits, owned by an admin and by nobody named:
        # their pages, feeds and API must show nothing to anyone else.
        watches = [
            a.alerts.add("marmalisk watch", "quokkasearch", owner="root", emails=["desk@newsroom.test"]),
            a.alerts.add(
                "harbour watch",
                "quokkasearch OR lighthouse",
                owner="root",
                public_feed=True,
                webhooks=["https://hooks.newsroom.test/in"],
            ),
            a.alerts.add("zanzibarite watch", "quokkasearch OR pangosearch", emails=["local@newsroom.test"]),
        ]
        for watch in watches:
            assert a.alerts.run(watch, since="2000-01-01") >= 1
        thread_ok = any((d["metadata"].get("mail") or {}).get("thread", {}).get("size") == 3 for d in docs)
        assert thread_ok, "the fixture needs a thread across the collections"
    return {
        "root": root / "archive",
        "private_ids": private_ids,
        "public_ids": public_ids,
        "hidden": hidden,
        "mail_ids": {
            d["metadata"]["mail"]["message_id"]: d["id"] for d in docs if (d["metadata"].get("mail") or {})
        },
        "search_ids": [w.id for w in watches],
        "channel_ids": [c.id for w in watches for c in w.channels],
        "config": config,
    }


@pytest.fixture(scope="module")
def sqlite_site(tmp_path_factory):
    return build(tmp_path_factory.mktemp("leaks"), {})


def _app(site: dict[str, Any], **config: Any):
    return create_app(
        {
            "ARCHIVE_DIR": str(site["root"]),
            "ARCHIVE_CONFIG": site["config"],
            "TESTING": True,
            **config,
        }
    )


def login(client, name: str, password: str = PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, page
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token.group(1)})


def _values(rule, site: dict[str, Any]) -> list[dict[str, Any]]:
    """Every way to fill a rule's parameters from the private side (and from the public
    documents, whose links, threads and trees may point at private ones)."""
    doc_ids = [*site["private_ids"], *site["public_ids"]]
    choices: dict[str, list[Any]] = {
        "doc_id": doc_ids,
        "number": [1],
        "name": [PRIVATE],
        "fmt": ["csv", "json"],
        "filename": ["app.css"],
        "search_id": site["search_ids"],
        "channel_id": site["channel_ids"],
        "token": ["a-guessed-token", "x" * 43],
    }
    combos: list[dict[str, Any]] = [{}]
    for arg in sorted(rule.arguments):
        assert arg in choices, f"no private value for <{arg}> of {rule.rule}: add it to the leak test"
        combos = [c | {arg: v} for c in combos for v in choices[arg]]
    return combos


QUERY_STRINGS = [
    "",
    "?q=pangosearch&sort=date&limit=100",
    f"?q=quokkasearch&collection={PRIVATE}&facet=collection&facet=sender&facet=entity&facet=exemption",
    "?q=lighthouse&facet=collection&facet=sender&facet=entity&facet=exemption&facet=kind&facet=year",
]


def _urls(app, site: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        for values in _values(rule, site):
            path = rule.build(values, append_unknown=False)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for qs in QUERY_STRINGS if method == "GET" else [""]:
                    out.append((method, path + qs))
    return out


def _leaks(resp, site: dict[str, Any], url: str = "") -> list[str]:
    """What of the private side an answer shows (the collection's name only when the URL did not
    carry it: a filter the visitor typed is echoed back, which tells nothing)."""
    body = resp.get_data()
    text = body.decode("utf-8", "replace") + "\n" + "\n".join(f"{k}: {v}" for k, v in resp.headers.items())
    lowered = text.lower()
    found = [w for w in [*SECRETS, *([] if PRIVATE in url else [PRIVATE])] if w in lowered]
    released = any(url.startswith(f"/documents/{i}/original") for i in site["public_ids"])
    if PRIVATE_MESSAGE_ID.lower().strip("<>") in lowered and not released:
        found.append("the private Message-ID")
    for doc_id in [*site["private_ids"], site["hidden"]]:
        patterns = [rf"/documents/{doc_id}\b", rf'"(?:document_)?id": ?{doc_id}\b']
        if resp.mimetype == "application/zip":
            patterns.append(rf"\b{doc_id}-\w")  # an entry of the release zip
        for pattern in patterns:
            if re.search(pattern, text):
                found.append(f"id {doc_id} ({pattern})")
    return found


def _check_every_route(app, site: dict[str, Any], clients: dict[str, Any]) -> int:
    urls = _urls(app, site)
    assert len({u for _, u in urls}) > 40
    problems = []
    for who, (client, headers) in clients.items():
        for method, url in urls:
            resp = client.open(url, method=method, headers=headers, data={} if method == "POST" else None)
            if resp.status_code >= 500:
                problems.append(f"{who} {method} {url}: {resp.status_code}")
            leaks = _leaks(resp, site, url)
            if url.startswith("/api/search") and resp.status_code == 200 and PRIVATE in url:
                assert resp.get_json()["total"] == 0, url
            if leaks:
                problems.append(f"{who} {method} {url}: {resp.status_code} shows {leaks}")
    assert problems == [], "\n".join(problems[:40])
    return len(urls)


def _clients(app, site) -> dict[str, Any]:
    reader = app.test_client()
    assert login(reader, "rita").status_code == 302
    return {
        "anonymous": (app.test_client(), {}),
        "reader without a grant": (reader, {}),
        "bad token": (app.test_client(), {"Authorization": "Bearer foi_not-a-real-token"}),
    }


def _controls(app, site) -> None:
    """The same routes do show the private side to an admin, and the public side to everyone:
    the leak check would see a leak."""
    admin = app.test_client()
    assert login(admin, "root").status_code == 302
    found = admin.get("/api/search?q=quokkasearch&facet=collection").get_json()
    assert found["total"] >= 2 and any(h["collection"] == PRIVATE for h in found["hits"])
    assert _leaks(admin.get(f"/documents/{site['private_ids'][0]}"), site)
    assert _leaks(admin.get(f"/api/documents/{site['hidden']}"), site)
    anon = app.test_client()
    landing = anon.get(f"/collections/{PUBLIC}").get_data(as_text=True)
    assert "Harbour release" in landing and "CC-BY-4.0" in landing and "harbour-report.txt" in landing
    public_hits = anon.get("/api/search?q=lighthouse").get_json()
    assert public_hits["total"] >= 1 and {h["collection"] for h in public_hits["hits"]} == {PUBLIC}
    # E-mail headers: the admin sees them as stored, a reader only the references they may follow.
    reply, answer = (site["mail_ids"][m] for m in ("<m2@mail.example>", "<m3@mail.example>"))
    stored = admin.get(f"/api/documents/{reply}").get_json()["metadata"]["mail"]
    assert stored["in_reply_to"] == PRIVATE_MESSAGE_ID and stored["references"] == [PRIVATE_MESSAGE_ID]
    seen = anon.get(f"/api/documents/{answer}").get_json()["metadata"]["mail"]
    assert seen["in_reply_to"] == "<m2@mail.example>" and seen["references"] == ["<m2@mail.example>"]
    assert seen["references_withheld"] is True and seen["thread"]["size"] == 2
    page = anon.get(f"/documents/{answer}").get_data(as_text=True)
    assert f'href="/documents/{reply}"' in page and "Thread (2 messages)" in page
    seen = anon.get(f"/api/documents/{reply}").get_json()["metadata"]["mail"]
    assert (
        seen["in_reply_to"] is None and seen["references"] == [] and seen["message_id"] == "<m2@mail.example>"
    )


def test_no_route_shows_the_private_side_sqlite(sqlite_site):
    app = _app(sqlite_site)
    _controls(app, sqlite_site)
    n = _check_every_route(app, sqlite_site, _clients(app, sqlite_site))
    public_app = _app(sqlite_site, FOI_PUBLIC=True)
    _check_every_route(public_app, sqlite_site, {"public site": (public_app.test_client(), {})})
    assert n > 100


@pytest.mark.elasticsearch
def test_no_route_shows_the_private_side_elasticsearch(tmp_path, es_url, es_index):  # noqa: F811
    site = build(
        tmp_path, {"search": "elasticsearch", "elasticsearch_url": es_url, "elasticsearch_index": es_index}
    )
    app = _app(site)
    _controls(app, site)
    _check_every_route(app, site, _clients(app, site))


def test_records_of_listings_and_threads_carry_no_private_message_id(sqlite_site):
    """What the facade hands the web for listings and threads, not only what a route shows."""
    from archive import LOCAL
    from archive import PUBLIC as ANONYMOUS

    reply = sqlite_site["mail_ids"]["<m2@mail.example>"]
    with Archive(sqlite_site["root"], sqlite_site["config"]) as a:
        doc = a.document_record(reply, ANONYMOUS)
        assert doc is not None
        thread = a.thread(doc, ANONYMOUS)
        assert [m["id"] for m in thread] == [reply, sqlite_site["mail_ids"]["<m3@mail.example>"]]
        listed = a.collection_documents(PUBLIC, 50, 0, ANONYMOUS)
        assert reply in {d["id"] for d in listed}
        seen = json.dumps([doc, thread, listed])
        assert PRIVATE_MESSAGE_ID not in seen and "internal-dossier" not in seen
        # The control: the local investigator sees the headers as stored.
        stored = a.thread(a.document_record(reply, LOCAL), LOCAL)
        assert PRIVATE_MESSAGE_ID in json.dumps(stored)
