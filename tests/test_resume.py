"""An ingest killed with SIGKILL and run again ends with every document present exactly once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conftest import corpus_file

pytestmark = [pytest.mark.tesseract, pytest.mark.slow]


def _foi(archive: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "archive.cli", "--archive", str(archive), *args]


def _rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _start(archive: Path, release: Path) -> subprocess.Popen:
    # A session of its own, so that SIGKILL reaches the OCR workers too, as it would for a
    # killed terminal or container; nothing is left running after the test.
    return subprocess.Popen(
        _foi(archive, "ingest", str(release)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _kill_when(archive: Path, release: Path, statuses: dict[str, str], settle: float = 0.0) -> None:
    """Start an ingest and SIGKILL it once the documents have the given statuses."""
    db = archive / "foi.sqlite3"
    proc = _start(archive, release)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if db.exists():
            try:
                rows = dict(_rows(db, "SELECT filename, status FROM documents"))
            except sqlite3.OperationalError:
                rows = {}
            if all(rows.get(name) == status for name, status in statuses.items()):
                break
        time.sleep(0.05)
    else:
        _kill(proc)
        pytest.fail(f"the ingest never reached {statuses}")
    time.sleep(settle)
    _kill(proc)


def test_kill_and_resume(tmp_path: Path) -> None:
    release = tmp_path / "release"
    release.mkdir()
    # Sorted order: a text PDF, then an 8-page scan that is killed mid-OCR, then two more files.
    shutil.copy(corpus_file("pdf-text/alaveteli_psni.pdf"), release / "a_letter.pdf")
    shutil.copy(corpus_file("pdf-scanned/mineru_small_ocr.pdf"), release / "b_scan.pdf")
    shutil.copy(corpus_file("other/ingest-file_non_utf.txt"), release / "c_news.txt")
    shutil.copy(corpus_file("pdf-text/alaveteli_tfl.pdf"), release / "d_appeal.pdf")
    archive = tmp_path / "archive"
    db = archive / "foi.sqlite3"

    # The ingester starts the next file's OCR before finishing the current one.
    _kill_when(archive, release, {"a_letter.pdf": "done", "b_scan.pdf": "processing"}, settle=0.5)
    before = dict(_rows(db, "SELECT filename, status FROM documents"))
    # Killed mid-OCR of the scan. The files after it may be stored already: documents are
    # finished as their OCR ends, not in the order they were begun.
    assert before["a_letter.pdf"] == "done" and before["b_scan.pdf"] == "processing"
    stored = sum(1 for status in before.values() if status == "done")

    done = subprocess.run(
        _foi(archive, "ingest", str(release), "--json"), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["duplicates"] == stored and report["ingested"] == 4 - stored
    assert report["resumed"] == sum(1 for status in before.values() if status == "processing")

    docs = _rows(db, "SELECT filename, status, page_count FROM documents ORDER BY filename")
    assert docs == [
        ("a_letter.pdf", "done", 2),
        ("b_scan.pdf", "done", 8),
        ("c_news.txt", "done", 1),
        ("d_appeal.pdf", "done", 1),
    ]
    # No duplicated pages or index rows, and nothing half-written is left in the originals store.
    assert _rows(db, "SELECT count(*), count(DISTINCT document_id || '-' || number) FROM pages") == [(12, 12)]
    assert _rows(db, "SELECT count(*) FROM search_page") == [(12,)]
    assert not list((archive / "originals").rglob(".incoming-*"))
    assert len([p for p in (archive / "originals").rglob("*") if p.is_file()]) == 4
    hits = subprocess.run(_foi(archive, "search", "使用价值", "--json"), capture_output=True, text=True)
    assert [h["filename"] for h in json.loads(hits.stdout)["hits"]][:1] == ["b_scan.pdf"]


def test_kill_between_members_of_a_zip(tmp_path: Path) -> None:
    """The container stays `processing` until its last member is in, so a rerun finishes it."""
    release = tmp_path / "release"
    release.mkdir()
    members = {
        "1_letter.pdf": corpus_file("pdf-text/alaveteli_psni.pdf"),
        "2_scan.pdf": corpus_file("pdf-scanned/mineru_small_ocr.pdf"),
        "3_news.txt": corpus_file("other/ingest-file_non_utf.txt"),
        "4_appeal.pdf": corpus_file("pdf-text/alaveteli_tfl.pdf"),
    }
    with zipfile.ZipFile(release / "dump.zip", "w") as zf:
        for name, path in members.items():
            zf.write(path, name)
    archive = tmp_path / "archive"
    db = archive / "foi.sqlite3"

    _kill_when(archive, release, {"1_letter.pdf": "done", "2_scan.pdf": "processing"})
    before = dict(_rows(db, "SELECT filename, status FROM documents"))
    assert before["dump.zip"] == "processing" and "4_appeal.pdf" not in before

    done = subprocess.run(
        _foi(archive, "ingest", str(release), "--json"), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    docs = _rows(db, "SELECT filename, status, parent_id IS NOT NULL FROM documents ORDER BY filename")
    assert docs == [
        ("1_letter.pdf", "done", 1),
        ("2_scan.pdf", "done", 1),
        ("3_news.txt", "done", 1),
        ("4_appeal.pdf", "done", 1),
        ("dump.zip", "done", 0),
    ]
    # Once complete, the zip and all its members are duplicates of what is stored.
    again = json.loads(
        subprocess.run(_foi(archive, "ingest", str(release), "--json"), capture_output=True, text=True).stdout
    )
    assert again["ingested"] == 0 and again["duplicates"] == 1
    hits = subprocess.run(_foi(archive, "search", "使用价值", "--json"), capture_output=True, text=True)
    assert [h["filename"] for h in json.loads(hits.stdout)["hits"]][:1] == ["2_scan.pdf"]
