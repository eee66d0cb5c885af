"""Issue 19: e-mail from real Outlook stores (apache/tika's test stores, tests/fixtures/pst/
SOURCE.md) through the real ingest: every message a child named by its folder, a body phrase
found by search, an attached message and the .docx inside it stored and searchable as its
children, and replies and forwards threaded with their original."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archive.search.base import SearchQuery

FIXTURES = Path(__file__).parent / "fixtures" / "pst"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    from archive import Archive

    folder = tmp_path_factory.mktemp("pst") / "release"
    folder.mkdir()
    shutil.copyfile(FIXTURES / "tika-testPST.pst", folder / "nguyen.pst")
    shutil.copyfile(FIXTURES / "tika-testPST_variousBodyTypes.pst", folder / "allison.pst")
    with Archive(tmp_path_factory.mktemp("pst-archive")) as archive:
        archive.ingest([folder], collection="mailboxes")
        yield archive


def _top(archive, filename):
    docs = archive.store.documents("filename=? AND parent_id IS NULL", (filename,))
    assert len(docs) == 1, filename
    return archive.document(docs[0]["id"])


def _message(archive, store, subject):
    found = [
        doc
        for doc in (archive.document(c["id"]) for c in store["children"])
        if doc["metadata"]["mail"]["subject"] == subject
    ]
    assert len(found) == 1, subject
    return found[0]


def _hit_ids(archive, text):
    return [h.doc_id for h in archive.search(SearchQuery(text=text, limit=50)).hits]


def test_every_message_of_the_store_is_a_mail_child(stores):
    store = _top(stores, "nguyen.pst")
    assert store["status"] == "done" and store["kind"] == "mailbox"
    # readpst's parallel jobs used to drop one of these at random under load.
    assert sorted(c["filename"] for c in store["children"]) == [
        f"hong-thai.nguyen/{n}.eml" for n in range(2, 9)
    ]
    assert store["metadata"]["archive"]["messages"] == 7
    assert store["pages"][0]["text"].startswith("Outlook store (.pst): 7 messages")
    original = _message(stores, store, "Feature Generators")
    assert original["kind"] == "email"
    assert original["metadata"]["mail"]["from"] == {"name": "Kenig Ma", "address": "kenigma1122@gmail.com"}
    assert original["metadata"]["mail"]["date_utc"] == "2014-02-25T10:17:08Z"
    assert original["metadata"]["pst"]["folder"] == "hong-thai.nguyen"
    assert original["id"] in _hit_ids(stores, "PreviousMapFeatureGenerator")
    assert original["id"] in _hit_ids(stores, "kenigma1122@gmail.com")


def test_reply_in_the_thread_of_its_original(stores):
    store = _top(stores, "nguyen.pst")
    original = _message(stores, store, "Feature Generators")
    reply = _message(stores, store, "Re: Feature Generators")
    assert reply["metadata"]["mail"]["from"]["name"] == "Jörn Kottmann"
    assert reply["metadata"]["mail"]["in_reply_to"] == original["metadata"]["mail"]["message_id"]
    # The thread's id is its smallest message id; the reply comes second in date order.
    thread = {"id": min(original["id"], reply["id"]), "size": 2}
    assert original["metadata"]["mail"]["thread"] == {**thread, "position": 1}
    assert reply["metadata"]["mail"]["thread"] == {**thread, "position": 2}
    assert [m["id"] for m in stores.thread(reply)] == [original["id"], reply["id"]]
    other = _message(stores, store, '[WEBINAR] - "Introducing Couchbase Server 2.5"')
    assert other["metadata"]["mail"]["thread"]["size"] == 1


def test_attached_message_and_its_docx_are_children(stores):
    store = _top(stores, "nguyen.pst")
    forward = _message(stores, store, "FW: First email")
    assert [c["filename"] for c in forward["children"]] == ["First email.eml"]
    attached = stores.document(forward["children"][0]["id"])
    # readpst starts an attached message with a ">From " line; its headers must still be read.
    assert attached["metadata"]["mail"]["subject"] == "First email"
    assert attached["metadata"]["mail"]["date_utc"] == "2020-11-26T22:18:00Z"
    assert [c["filename"] for c in attached["children"]] == ["attachment.docx"]
    docx = stores.document(attached["children"][0]["id"])
    assert docx["status"] == "done" and docx["pages"][0]["text"].startswith("This is a docx attachment.")
    assert _hit_ids(stores, '"docx attachment"') == [docx["id"]]


def test_folder_path_and_forwards_threaded(stores):
    store = _top(stores, "allison.pst")
    assert store["metadata"]["archive"]["folders"] == ["Outlook Data File/Inbox/tmp"]
    messages = [stores.document(c["id"]) for c in store["children"]]
    assert len(messages) == 4
    assert {m["metadata"]["pst"]["folder"] for m in messages} == {"Outlook Data File/Inbox/tmp"}
    assert sorted(m["metadata"]["mail"]["subject"] for m in messages) == ["FW: original email"] * 3 + [
        "original email"
    ]
    original = _message(stores, store, "original email")
    assert original["metadata"]["mail"]["from"] == {
        "name": "Allison, Timothy B.",
        "address": "tallison@mitre.org",
    }
    # Two forwards name the original in In-Reply-To, the third only shares its subject and sender.
    assert {m["metadata"]["mail"]["thread"]["id"] for m in messages} == {original["id"]}
    assert [m["id"] for m in stores.thread(original)] == sorted(m["id"] for m in messages)
    hits = _hit_ids(stores, '"Forwarded plain text"')
    assert len(hits) == 1 and stores.document(hits[0])["parent_id"] == store["id"]
    assert str(FIXTURES) not in store["pages"][0]["text"] and "/tmp" not in store["pages"][0]["text"].replace(
        "Inbox/tmp", ""
    )
