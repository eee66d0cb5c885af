"""Retry from the status page: the request only queues the failed document; the web server's
background worker (the one that ingests uploads) reads it again from its stored original."""

from __future__ import annotations

import threading
import time

import pytest

from archive import PUBLIC, Archive, SearchQuery
from web import create_app
from web.manage import start_upload_worker

TEXT = "A kestrel sighting near the harbour wall was logged by the warden."


@pytest.fixture
def failed_doc(tmp_path):
    """An archive with one document that failed at extract (as a full disk would make it)."""
    (tmp_path / "files").mkdir()
    path = tmp_path / "files" / "kestrel.txt"
    path.write_text(TEXT, encoding="utf-8")
    with Archive(tmp_path / "archive") as a:
        a.ingest([path], collection="reports")
        doc_id = a.store.documents()[0]["id"]
        a.store.update_document(
            doc_id, status="failed", error_stage="extract", error_reason="disk full (simulated)"
        )
    return tmp_path / "archive", doc_id


def test_queued_retry_is_read_by_run_queued_retries(failed_doc):
    root, doc_id = failed_doc
    with Archive(root) as a:
        assert a.run_queued_retries() is None  # nothing queued
        assert a.queue_retry(doc_id, PUBLIC) is False  # the public writes nothing
        assert a.store.document(doc_id)["status"] == "failed"
        assert a.queue_retry(doc_id) is True
        assert a.queue_retry(doc_id) is False  # no longer failed
        queued = a.store.document(doc_id)
        assert queued["status"] == "pending" and queued["error_stage"] == "extract"
        report = a.run_queued_retries()
        assert report is not None and report.recovered == 1
        done = a.store.document(doc_id)
        assert done["status"] == "done" and done["error_stage"] is None and done["error_reason"] is None
        assert a.run_queued_retries() is None
        hits = a.search(SearchQuery(text="kestrel")).hits
        assert [h.doc_id for h in hits] == [doc_id] and "warden" in hits[0].snippet


def test_web_retry_queues_and_the_background_worker_reads_it(failed_doc):
    root, doc_id = failed_doc
    app = create_app(
        {"ARCHIVE_DIR": str(root), "TESTING": True, "WTF_CSRF_ENABLED": False, "UPLOAD_POLL": 0.1}
    )
    # A worker that reads nothing yet: what the request itself did can be seen.
    idle = (threading.Thread(target=lambda: None), threading.Event())
    app.extensions["foi_upload_worker"] = idle
    client = app.test_client()
    resp = client.post(f"/documents/{doc_id}/retry")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/documents/{doc_id}")
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Queued to be read again (it failed at extract: disk full (simulated))" in page
    assert '<meta http-equiv="refresh" content="3">' in page
    assert client.post(f"/documents/{doc_id}/retry").status_code == 409  # queued, not failed
    del app.extensions["foi_upload_worker"]
    start_upload_worker(app)  # what the route starts when no worker runs
    worker, stop = app.extensions["foi_upload_worker"]
    try:
        deadline = time.monotonic() + 30
        while client.get(f"/api/documents/{doc_id}").get_json()["status"] != "done":
            assert time.monotonic() < deadline, "the background worker did not read the queued document"
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join(timeout=10)
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "warden" in page and "Queued" not in page and "refresh" not in page
    assert client.get("/api/search?q=kestrel").get_json()["total"] == 1
