"""Ingest on a real Dask cluster: a `dask scheduler` and two `foi worker` processes on 127.0.0.1.

The cluster gives exactly what the local pool gives; workers and the scheduler can be killed;
the coordinator can be killed and the next `foi ingest` resumes with nothing lost or doubled."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cluster_fixtures import Cluster, make_scan
from test_redactions import redacted_pdf

from conftest import corpus_file

pytestmark = [pytest.mark.tesseract, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
# Corpus files for the comparison with the local pool (bench/bench_cluster.py compares all the
# corpus scans); the fault tests use small generated scans (cluster_fixtures.make_scan).
SCANS = {
    "non_searchable.pdf": "pdf-scanned/kreuzberg_non_searchable.pdf",  # 1 page
    "mail.eml": "email-eml/alaveteli_quoted-subject-iso8859-1.eml",  # an image attachment
    "chinese.eml": "email-eml/demisto_chinese_email_test.eml",  # glosses, Chinese names, translation
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    with Cluster(tmp_path_factory.mktemp("cluster"), workers=2) as running:
        yield running


def _release(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rel in files.items():
        shutil.copy(corpus_file(rel), folder / name)
    return folder


def _foi(archive: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "archive.cli", "--archive", str(archive), *args]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _stored(archive_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Every document's pages as stored (text, word boxes, language, OCR details), by path."""
    from archive.core import Archive

    out: dict[str, list[dict[str, Any]]] = {}
    with Archive(archive_dir) as archive:
        for doc in archive.store.documents():
            name = (doc["path_in_parent"] or "") + "@" + doc["filename"]
            assert doc["status"] == "done", (name, doc["error_stage"], doc["error_reason"])
            out[name] = [
                {
                    k: p[k]
                    for k in (
                        "number",
                        "text",
                        "words",
                        "lang",
                        "ocr",
                        "confidence",
                        "width",
                        "height",
                        "dpi",
                        "meta",
                        "gloss",
                        "translation",
                    )
                }
                for p in archive.store.pages(doc["id"], with_words=True)
            ]
            # The search analysis kept on each page (made on a worker, on a cluster), in page order.
            rows = sorted(archive.store.page_texts(doc["id"]), key=lambda r: r["id"])
            for page, row in zip(out[name], rows, strict=True):
                page["analysed"] = json.loads(row["analysed"])
            # What the document's analysis made of it (entities summed up, redactions), and how
            # each stage went (language, glosses, translation and entities on a cluster worker).
            out[name].append({"metadata": doc["metadata"], "lang": doc["lang"]})
            stages = archive.store.stages(doc["id"])
            out[name].append({k: (v["status"], v["reason"]) for k, v in stages.items()})
    return out


def test_cluster_equals_local_pool_and_shares_the_ocr_cache(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archive import indexing
    from archive.cluster import pages_rendered
    from archive.core import Archive
    from archive.extractors.pdf import PdfExtractor

    release = _release(tmp_path / "release", SCANS)
    redacted_pdf(release / "redacted.pdf")  # a text PDF with drawn boxes: read on a worker too
    local_dir, remote_dir = tmp_path / "local", tmp_path / "remote"
    with Archive(local_dir, {"ocr_workers": 2}) as local:
        assert local.ingest([release]).failed == {}
    # PDFs are read on the workers: the coordinator's own PDF extractor is never called.
    read_here: list[str] = []
    extract = PdfExtractor.extract
    monkeypatch.setattr(
        PdfExtractor,
        "extract",
        lambda self, src, ctx: read_here.append(src.filename) or extract(self, src, ctx),
    )
    # Nor does it make the pages' search analysis (Chinese segmented for the index): the workers do.
    analysed_here: list[tuple[str, str, str]] = []
    analyse = indexing._analysis_record
    monkeypatch.setattr(
        indexing,
        "_analysis_record",
        lambda texts, digest: analysed_here.append(texts) or analyse(texts, digest),
    )
    with Archive(remote_dir, {"cluster": cluster.address}) as remote:
        engine = remote.ocr_engine()
        assert type(engine).__name__ == "ClusterOcrEngine"
        rendered = sum(engine.client.run(pages_rendered).values())
        report = remote.ingest([release])
        assert report.failed == {} and report.ingested >= 2
        runs = engine.runs
        assert runs >= 2  # the pages really went to the cluster (no cache shared with `local`)
        # Each page's redaction boxes came back with its OCR: none was asked for afterwards.
        assert engine.pages_asked == 0
        # The same page in another file (a byte appended after %%EOF): read from the cache the
        # coordinator keeps, whichever worker read it first; its boxes are asked of the worker
        # holding its image.
        copy = tmp_path / "again" / "copy.pdf"
        copy.parent.mkdir()
        copy.write_bytes(corpus_file(SCANS["non_searchable.pdf"]).read_bytes() + b"\n")
        assert remote.ingest([copy]).ingested == 1
        assert engine.runs == runs
        assert engine.pages_asked == 1
        # Each scanned page was rendered once, on the worker that then read it (and, for the copy,
        # found its boxes): the image stayed there, never rendered again for a later task.
        assert sum(engine.client.run(pages_rendered).values()) - rendered == 2
    assert read_here == [] and analysed_here == []
    here, there = _stored(local_dir), _stored(remote_dir)
    again = there.pop("@copy.pdf")
    assert here == there  # byte for byte: texts, word boxes, languages, rotations, dpi
    assert again == there["@non_searchable.pdf"]
    redacted = there["@redacted.pdf"]
    assert "Zebulon" not in redacted[0]["text"] and redacted[-2]["metadata"]["redactions"]["bad"] >= 1
    page = there["@non_searchable.pdf"][0]
    assert "Non-text-searchable PDF" in page["text"] and page["ocr"] and page["words"]
    assert page["dpi"] and page["meta"]["ocr"]["languages"] and page["lang"] == "en"
    # The Chinese mail's language, glosses and entities (the same on both sides, as compared
    # above), made on the cluster's workers: each built the steps it ran, once.
    chinese = next(pages for name, pages in there.items() if name.endswith("@chinese.eml"))
    assert chinese[0]["lang"].startswith("zh") and chinese[0]["gloss"]
    assert chinese[0]["analysed"]["body"].split()[0] in chinese[0]["text"].casefold()
    assert "\ue000" in chinese[0]["analysed"]["body"]  # its Han character stream, made on a worker
    assert chinese[0]["meta"]["gloss_words"] and chinese[-1]["translate"][0] in {"ok", "skipped"}
    stages = chinese[-1]
    assert stages["language"][0] == stages["gloss"][0] == stages["entities"][0] == "ok"
    assert any(m["type"] for m in chinese[0]["meta"]["entities"])
    from distributed import Client

    from archive.portable import steps_built

    with Client(cluster.address, timeout=30, set_as_default=False) as client:  # type: ignore[no-untyped-call]
        built = client.run(steps_built)
    assert sum(built.values()) >= 3  # language, glosses, entities, on one worker or both
    attachment = [pages for name, pages in there.items() if name.startswith("image001.png@")]
    assert attachment and attachment[0][0]["ocr"]  # the mail's image attachment, read on the cluster


def test_a_pdf_read_on_a_worker_fails_and_opens_as_it_does_locally(cluster: Cluster, tmp_path: Path) -> None:
    from archive.core import Archive

    release = _release(tmp_path / "release", {"secret.pdf": "pdf-text/pdfminer_rc4-40.pdf"})
    failures = []
    for name, config in (("local", {}), ("remote", {"cluster": cluster.address})):
        with Archive(tmp_path / name, config) as archive:
            report = archive.ingest([release])
            assert report.failed == {"extract": 1}
            failures.append([(f["stage"], f["reason"]) for f in report.failures])
            assert "password required" in failures[-1][0][1]
        with Archive(tmp_path / f"{name}-open", config) as archive:
            opened = archive.ingest([release], passwords=("foo",))
            assert opened.failed == {} and opened.ingested == 1, opened.failures
            (doc,) = archive.store.documents()
            assert "Secret!" in archive.store.pages(doc["id"])[0]["text"]
    assert failures[0] == failures[1]


def _ingest_process(archive: Path, release: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _foi(archive, "ingest", str(release), "--json", *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        start_new_session=True,
    )


def _wait_for_ocr_on(address: str, worker_name: str | None = None, timeout: float = 120) -> str:
    """Until a page task runs on the cluster (on the named worker, when one is named); the name
    of the worker running it."""
    from distributed import Client

    deadline = time.monotonic() + timeout
    with Client(address, timeout=30, set_as_default=False) as client:
        names = {a: w["name"] for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}
        while time.monotonic() < deadline:
            for addr, keys in client.processing().items():
                if any("read_page" in str(k) for k in keys) and worker_name in (None, names.get(addr)):
                    return str(names.get(addr))
            time.sleep(0.02)
    raise AssertionError("no OCR task ever ran on the cluster")


def _texts(db: Path) -> dict[tuple[str, int], str]:
    sql = "SELECT d.filename, p.number, p.text FROM pages p JOIN documents d ON d.id = p.document_id"
    return {(name, number): text.strip() for name, number, text in _rows(db, sql)}


def test_a_worker_killed_mid_page_has_its_pages_read_elsewhere(cluster: Cluster, tmp_path: Path) -> None:
    release = tmp_path / "release"
    release.mkdir()
    lines = make_scan(release / "ledger.pdf", 6)
    archive = tmp_path / "archive"
    cluster.add_worker()  # a third worker, so that two are left when one is killed
    cluster.wait_for_workers(3)
    proc = _ingest_process(archive, release, "--cluster", cluster.address)
    # Whichever worker reads a page first (Dask decides where) is killed while it reads it.
    name = _wait_for_ocr_on(cluster.address)
    victim = cluster.workers[int(name.lstrip("w")) - 1]
    Cluster.kill(victim)  # SIGKILL, mid-page: the worker and its nanny
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    assert json.loads(out)["ingested"] == 1
    assert _texts(archive / "foi.sqlite3") == {("ledger.pdf", n): line for n, line in enumerate(lines, 1)}


def test_the_coordinator_killed_mid_ingest_resumes_with_nothing_lost_or_doubled(
    cluster: Cluster, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    release.mkdir()
    make_scan(release / "a.pdf", 3, "A ")
    make_scan(release / "b.pdf", 3, "B ")
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = _ingest_process(killed, release, "--cluster", cluster.address)
    _wait_for_ocr_on(cluster.address)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    left = dict(_rows(killed / "foi.sqlite3", "SELECT filename, status FROM documents"))
    assert "processing" in left.values()
    # The rerun and a clean run side by side, both coordinators on the same cluster.
    runs: dict[Path, subprocess.CompletedProcess[str]] = {}

    def run(archive: Path) -> None:
        runs[archive] = subprocess.run(
            _foi(archive, "ingest", str(release), "--json", "--cluster", cluster.address),
            capture_output=True,
            text=True,
            env=_env(),
            timeout=300,
        )

    threads = [threading.Thread(target=run, args=(a,)) for a in (killed, clean)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert runs[killed].returncode == 0, runs[killed].stderr
    assert runs[clean].returncode == 0, runs[clean].stderr
    assert json.loads(runs[killed].stdout)["resumed"] >= 1
    texts = _texts(killed / "foi.sqlite3")
    assert texts == _texts(clean / "foi.sqlite3")
    assert len(texts) == 6 and texts["b.pdf", 3] == "Cluster ledger B page 3 invoice 4403"
    sql = "SELECT filename, status, page_count FROM documents ORDER BY filename"
    assert _rows(killed / "foi.sqlite3", sql) == [("a.pdf", "done", 3), ("b.pdf", "done", 3)]
    assert _rows(killed / "foi.sqlite3", "SELECT count(*) FROM search_page") == [(6,)]


def test_a_lost_scheduler_stops_the_ingest_and_the_next_one_resumes(tmp_path: Path) -> None:
    release = tmp_path / "release"
    release.mkdir()
    make_scan(release / "a.pdf", 3, "A ")
    make_scan(release / "b.pdf", 3, "B ")
    archive = tmp_path / "archive"
    db = archive / "foi.sqlite3"
    with Cluster(tmp_path / "cluster", workers=1) as lost:
        proc = _ingest_process(archive, release, "--cluster", lost.address)
        _wait_for_ocr_on(lost.address)
        Cluster.kill(lost.scheduler)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 5, out + err
    assert "error: cluster: the Dask scheduler was lost" in err
    assert "run the same `foi ingest` again to resume" in err
    assert "Traceback" not in err
    left = dict(_rows(db, "SELECT filename, status FROM documents"))
    assert "processing" in left.values()
    # Resumed later, here by the local pool (a new cluster would do the same).
    again = subprocess.run(
        _foi(archive, "ingest", str(release), "--json"),
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["resumed"] == sum(1 for s in left.values() if s == "processing")
    docs = _rows(db, "SELECT filename, status, page_count FROM documents ORDER BY filename")
    assert docs == [("a.pdf", "done", 3), ("b.pdf", "done", 3)]
    texts = _texts(db)
    assert len(texts) == 6 and texts["a.pdf", 2] == "Cluster ledger A page 2 invoice 4402"
    assert _rows(db, "SELECT count(*) FROM search_page") == [(6,)]


def test_an_unreachable_scheduler_is_said_at_once(tmp_path: Path) -> None:
    release = _release(tmp_path / "release", {"non_searchable.pdf": SCANS["non_searchable.pdf"]})
    done = subprocess.run(
        _foi(tmp_path / "archive", "ingest", str(release), "--cluster", "tcp://127.0.0.1:9"),
        capture_output=True,
        text=True,
        env=dict(_env(), FOI_CLUSTER_TIMEOUT="1"),
        timeout=120,
    )
    assert done.returncode == 5
    assert "error: cluster: cannot reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr
    assert not (tmp_path / "archive" / "foi.sqlite3").exists() or not _rows(
        tmp_path / "archive" / "foi.sqlite3", "SELECT id FROM documents"
    )


def test_pages_in_flight_are_bounded_across_and_within_documents(cluster: Cluster, tmp_path: Path) -> None:
    from archive.core import Archive

    release = tmp_path / "release"
    release.mkdir()
    long_lines = make_scan(release / "long.pdf", 9, "L ")
    short_lines = make_scan(release / "short.pdf", 3, "S ")
    with Archive(tmp_path / "archive", {"cluster": cluster.address, "cluster_pages_in_flight": 2}) as archive:
        engine = archive.ocr_engine()
        assert engine.pages_in_flight == 2
        report = archive.ingest([release])
        assert report.failed == {} and report.ingested == 2
        # Never more than two pages on the cluster, though 12 were there to read; and the window was used.
        assert engine.most_in_flight == 2 and engine.in_flight == 0
        texts = _texts(tmp_path / "archive" / "foi.sqlite3")
    # Results in page order, whatever order the pages were read in.
    assert [texts["long.pdf", n] for n in range(1, 10)] == long_lines
    assert [texts["short.pdf", n] for n in range(1, 4)] == short_lines
    with Archive(tmp_path / "default", {"cluster": cluster.address}) as archive:
        # By default three pages per worker thread (two workers of one thread here).
        assert archive.ocr_engine().pages_in_flight == 6


CRASH_MARK = "%foi-test: kill the worker that renders me"  # read by tests/cluster_crash_preload.py


def test_a_page_that_kills_its_worker_every_time_fails_its_document_and_the_batch_goes_on(
    tmp_path: Path,
) -> None:
    from archive.core import Archive
    from archive.search import SearchQuery

    release = tmp_path / "release"
    release.mkdir()
    make_scan(release / "a-good.pdf", 2, "A ")
    make_scan(release / "b-deadly.pdf", 2, "B ")
    with (release / "b-deadly.pdf").open("ab") as fh:
        fh.write(b"\n" + CRASH_MARK.encode() + b"\n")  # after %%EOF: the PDF reads the same
    make_scan(release / "c-good.pdf", 2, "C ")
    # Dask gives up on a task after its second worker dies running it (allowed-failures 1).
    settings = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1", "FOI_TEST_CRASH_MARK": CRASH_MARK}
    preload = (str(Path(__file__).with_name("cluster_crash_preload.py")),)
    with Cluster(tmp_path / "cluster", workers=2, env=settings, preload=preload) as crashing:
        # One page on the cluster at a time: a worker that dies takes no other document's page with it.
        config = {"cluster": crashing.address, "cluster_pages_in_flight": 1}
        with Archive(tmp_path / "archive", config) as archive:
            report = archive.ingest([release])
            assert report.ingested == 2 and report.failed == {"ocr": 1}, report.failures
            (failure,) = report.failures
            assert failure["path"] == "b-deadly.pdf" and failure["stage"] == "ocr"
            assert "KilledWorker" in failure["reason"]
            docs = {d["filename"]: d for d in archive.store.documents()}
            assert docs["b-deadly.pdf"]["status"] == "failed"
            assert docs["b-deadly.pdf"]["error_stage"] == "ocr"
            assert "KilledWorker" in docs["b-deadly.pdf"]["error_reason"]
            assert docs["a-good.pdf"]["status"] == docs["c-good.pdf"]["status"] == "done"
            hits = archive.search(SearchQuery('"invoice 4402"')).hits
            found = {h.doc_id for h in hits}
            assert found == {docs["a-good.pdf"]["id"], docs["c-good.pdf"]["id"]}


def test_the_servers_upload_worker_waits_for_a_lost_cluster_and_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`foi serve` ingests uploads in a background thread (web/manage.py). With the cluster gone,
    the upload waits, queued, saying why, and the thread lives on; once a scheduler answers at
    that address again, the upload is read and found (before, a lost cluster killed the thread
    and every later upload stayed queued until a restart)."""
    import socket

    from archive.core import Archive
    from archive.search import SearchQuery
    from web.manage import run_uploads

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("FOI_CLUSTER_TIMEOUT", "1")
    config = {"cluster": f"tcp://127.0.0.1:{port}"}
    scan = tmp_path / "heron.pdf"
    lines = make_scan(scan, 1, "Heron ")
    root = tmp_path / "archive"
    with Archive(root, config) as archive, scan.open("rb") as stream:
        upload_id = archive.uploads.add("birds", "heron.pdf", stream, None)

    def upload() -> dict[str, Any]:
        with Archive(root, config) as archive:
            return next(u for u in archive.uploads.recent("birds") if u["id"] == upload_id)

    stop = threading.Event()
    worker = threading.Thread(target=run_uploads, args=(root, config, stop, 0.2), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not (upload()["error"] or "").startswith("waiting for the cluster"):
            assert time.monotonic() < deadline, upload()
            time.sleep(0.3)
        assert upload()["status"] in ("queued", "processing") and worker.is_alive()
        with Cluster(tmp_path / "cluster", workers=1, port=port):
            deadline = time.monotonic() + 180
            while upload()["status"] != "done":
                assert time.monotonic() < deadline and worker.is_alive(), upload()
                time.sleep(0.5)
    finally:
        stop.set()
        worker.join(timeout=60)
    with Archive(root) as archive:
        word = lines[0].split()[2]  # "Heron"
        assert archive.search(SearchQuery(word)).total == 1, (word, lines)


def test_every_worker_loads_its_models_when_asked_before_any_document(tmp_path: Path) -> None:
    from distributed import Client

    from archive.core import Archive

    def _models_loaded() -> dict[str, int]:
        """On a worker: the portable steps it holds, and whether the index's Chinese analysis
        (jieba, the traditional-to-simplified table) is loaded."""
        from archive import analysis, hanfold, portable

        return {
            "steps": portable.steps_built(),
            "jieba": analysis._jieba.cache_info().currsize,
            "hanfold": hanfold.traditional_to_simplified.cache_info().currsize,
        }

    with (
        Cluster(tmp_path / "fresh", workers=2) as fresh,
        Archive(tmp_path / "a", {"cluster": fresh.address}) as archive,
    ):
        engine = archive.ocr_engine()
        recipes = tuple(r for s in archive.steps() if (r := getattr(s, "recipe", lambda: None)()))
        assert len(recipes) >= 3  # language, glosses, entities (and translation, without a model)
        with Client(fresh.address, timeout=30, set_as_default=False) as client:  # type: ignore[no-untyped-call]
            assert all(m["steps"] == 0 and m["jieba"] == 0 for m in client.run(_models_loaded).values())
            held = engine.warm_workers(recipes)
            loaded = client.run(_models_loaded)
    assert len(held) == 2 and set(held) == set(loaded)
    assert all(m == {"steps": len(recipes), "jieba": 1, "hanfold": 1} for m in loaded.values()), loaded


PROFILER = "distributed.worker.profile.enabled"


def test_foi_workers_run_without_dasks_profiler_unless_the_environment_asks(cluster: Cluster) -> None:
    """`foi worker` turns off Dask's stack sampler (CPU taken from the pages); a setting in the
    environment still wins."""
    import dask
    from distributed import Client

    with Client(cluster.address, set_as_default=False) as client:
        assert set(client.run(dask.config.get, PROFILER).values()) == {False}
    with (
        Cluster(
            cluster.folder / "profiled", workers=1, env={"DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "True"}
        ) as asked,
        Client(asked.address, set_as_default=False) as client,
    ):
        assert list(client.run(dask.config.get, PROFILER).values()) == [True]
