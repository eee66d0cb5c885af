"""Kill and resume (issue #14): a real `foi ingest` of a mixed folder (text files, a zip, mail and
PDFs from the corpus) is SIGKILLed at random points at least ten times, re-run after each kill, then
run to its end. Nothing may be lost, doubled, left `processing` or left out of the index, and the
SQLite file must pass its integrity check."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import time
import zipfile
from pathlib import Path

import pytest
from runner import run_foi, start_foi, wait_measured

from conftest import corpus_file

pytestmark = [pytest.mark.hostile, pytest.mark.slow]

KILLS = 10
CORPUS_FILES = [
    "email-eml/alaveteli_rfc822-attachment.eml",
    "email-eml/alaveteli_incoming-request-pdf-attachment.eml",
    "email-eml/demisto_chinese_gb2312_encoding.eml",
    "email-eml/alaveteli_russian.eml",
    "email-eml/alaveteli_quoted-subject-iso8859-1.eml",
    "pdf-text/alaveteli_tfl.pdf",
    "pdf-text/pdfminer_issue_566_test_2.pdf",
    "pdf-text/pdfplumber_scotus-transcript-p1.pdf",
]


def _make_folder(folder: Path) -> list[str]:
    folder.mkdir()
    names = []
    for rel in CORPUS_FILES:
        shutil.copy(corpus_file(rel), folder / Path(rel).name)
        names.append(Path(rel).name)
    for i in range(40):
        name = f"note-{i:02d}.txt"
        (folder / name).write_text(f"Release note {i} about resumeword{i} and the budget of item {i}.\n" * 20)
        names.append(name)
    with zipfile.ZipFile(folder / "bundle.zip", "w") as z:
        for i in range(6):
            z.writestr(f"member-{i}.txt", f"Zipped member {i} says zipresume{i}.\n")
    names.append("bundle.zip")
    return names


def _done(archive_dir: Path) -> int:
    """Documents finished so far (read while the ingest writes: WAL readers don't block it)."""
    try:
        con = sqlite3.connect(f"file:{archive_dir / 'foi.sqlite3'}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute(
                "SELECT count(*) FROM documents WHERE status IN ('done', 'failed')"
            ).fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0  # not created yet, or busy for a moment


def test_killed_ingest_resumes_without_loss_or_duplicates(tmp_path):
    seed = int(os.environ.get("FOI_KILL_SEED", "14"))
    rnd = random.Random(seed)
    folder = tmp_path / "in"
    names = _make_folder(folder)
    archive_dir = tmp_path / "archive"
    args = ["ingest", str(folder), "--json", "--collection", "kills"]
    kills, finished_early, points = 0, 0, []
    started = time.monotonic()
    while kills < KILLS:
        proc, out, err = start_foi(args, archive_dir)
        # Kill once this run has finished 1-4 more documents, a random moment after that (mid
        # document, mid container, mid commit), so that every kill lands in real work.
        target, extra = rnd.randint(1, 4), rnd.uniform(0.0, 0.4)
        base = _done(archive_dir)
        while proc.poll() is None and _done(archive_dir) < base + target:
            time.sleep(0.02)
        if proc.poll() is None:
            time.sleep(extra)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
            points.append(f"+{target} docs +{extra:.2f}s")
            continue
        finished_early += 1  # it got to its end before the kill: nothing left to interrupt
        assert proc.returncode in (0, 1), err.read_text()[-2000:]
        break
    final = wait_measured(*start_foi(args, archive_dir), timeout=120)
    elapsed = time.monotonic() - started
    print(
        f"seed {seed}: {kills} kills ({', '.join(points)}), {finished_early} runs ended on their own, "
        f"{elapsed:.0f} s in all"
    )
    assert kills >= KILLS, f"only {kills} kills: the ingest ended before the kill {finished_early} times"
    assert final.returncode in (0, 1) and not final.timed_out, final.stderr[-3000:]

    con = sqlite3.connect(archive_dir / "foi.sqlite3")
    con.row_factory = sqlite3.Row
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Nothing stuck.
        stuck = con.execute(
            "SELECT id, filename, status FROM documents WHERE status NOT IN ('done', 'failed')"
        )
        assert not stuck.fetchall()
        # Nothing lost: every input file has its one top-level document, done.
        top = con.execute("SELECT filename, status, sha256 FROM documents WHERE parent_id IS NULL").fetchall()
        assert sorted(r["filename"] for r in top) == sorted(names)
        assert {r["filename"]: r["status"] for r in top} == dict.fromkeys(names, "done")
        # Nothing doubled: one document per content and place.
        doubled = con.execute(
            "SELECT sha256, parent_id, path_in_parent, count(*) n FROM documents "
            "GROUP BY collection, sha256, parent_id, path_in_parent HAVING n > 1"
        ).fetchall()
        assert not [tuple(r) for r in doubled]
        members = con.execute(
            "SELECT count(*) FROM documents d JOIN documents p ON d.parent_id = p.id WHERE p.filename = 'bundle.zip'"
        ).fetchone()[0]
        assert members == 6
        pages = con.execute("SELECT count(*) FROM pages").fetchone()[0]
    finally:
        con.close()
    # The index holds every page of the store, once.
    status = json.loads(run_foi(["status", "--json"], archive_dir).stdout)
    assert status["index_pending"] == 0
    assert status["pages"] == pages and status["indexed_pages"] == pages
    from archive import Archive, SearchQuery

    with Archive(archive_dir) as a:
        for i in (0, 17, 39):
            hits = a.search(SearchQuery(text=f"resumeword{i}")).hits
            assert [h.filename for h in hits] == [f"note-{i:02d}.txt"]
        assert [h.filename for h in a.search(SearchQuery(text="zipresume5")).hits] == ["member-5.txt"]
