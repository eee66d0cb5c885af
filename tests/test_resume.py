"""An ingest killed with SIGKILL and run again ends with every document present exactly once."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
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

    proc = subprocess.Popen(_foi(archive, "ingest", str(release)), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if db.exists():
            try:
                rows = _rows(db, "SELECT filename, status FROM documents")
            except sqlite3.OperationalError:
                rows = []
            # The ingester starts the next file's OCR before finishing the current one.
            if ("a_letter.pdf", "done") in rows and ("b_scan.pdf", "processing") in rows:
                break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the ingest never reached the scanned PDF")
    time.sleep(0.5)  # let it get into OCR
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = dict(_rows(db, "SELECT filename, status FROM documents"))
    assert before["a_letter.pdf"] == "done" and before["b_scan.pdf"] == "processing"
    assert "d_appeal.pdf" not in before

    done = subprocess.run(_foi(archive, "ingest", str(release), "--json"), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["duplicates"] == 1 and report["ingested"] == 3
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
