"""Documents left `processing` by an ingest that was killed are finished later (issue #14), and
never taken from an ingest that is still running in another process."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

# An ingest that stops for good inside the extract step of its file named `*hang*` (after the
# document is created `processing`): killed, it is an ingest killed mid-document; left running,
# it is a live ingest holding a document.
_HANGING_INGEST = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from archive import Archive
    from archive.extractors import text

    original = text.TextExtractor.extract

    def extract(self, source, ctx):
        if "hang" in source.filename:
            Path(sys.argv[3]).write_text("in extract")
            time.sleep(600)
        return original(self, source, ctx)

    text.TextExtractor.extract = extract
    with Archive(sys.argv[1]) as a:
        a.ingest([sys.argv[2]])
    """
)


def _rows(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _start_hanging(tmp_path: Path, archive_dir: Path, release: Path) -> subprocess.Popen:
    flag = tmp_path / "in-extract"
    proc = subprocess.Popen(
        [sys.executable, "-c", _HANGING_INGEST, str(archive_dir), str(release), str(flag)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not flag.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the ingest never reached the extract step")
        time.sleep(0.05)
    return proc


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _release(tmp_path: Path) -> Path:
    release = tmp_path / "release"
    release.mkdir()
    (release / "a_hang.txt").write_text("minutes of the hanging meeting")
    (release / "b_later.txt").write_text("a memo the killed ingest never reached")
    return release


def _status(foi) -> dict:
    return json.loads(foi("status", "--json").stdout)


def test_recover_finishes_a_killed_runs_documents(tmp_path, foi, archive_dir):
    release = _release(tmp_path)
    db = archive_dir / "foi.sqlite3"
    _kill(_start_hanging(tmp_path, archive_dir, release))
    assert _rows(db, "SELECT filename, status FROM documents ORDER BY id") == [("a_hang.txt", "processing")]
    status = _status(foi)
    assert status["stuck"] == 1 and status["by_status"]["processing"] == 1
    assert "stuck: 1" in foi("status").stdout
    # Rebuilding the index does not finish it (it is not the index's business) ...
    foi("reindex")
    assert _status(foi)["stuck"] == 1
    # ... `foi recover` does, from the stored original: the file need not be there any more.
    (release / "a_hang.txt").unlink()
    report = json.loads(foi("recover", "--json").stdout)
    assert report["recovered"] == 1 and report["resumed"] == 1 and report["failed"] == 0
    assert _rows(db, "SELECT filename, status, source_path FROM documents WHERE filename='a_hang.txt'") == [
        ("a_hang.txt", "done", str(release / "a_hang.txt"))
    ]
    status = _status(foi)
    assert status["stuck"] == 0 and "processing" not in status["by_status"]
    hits = json.loads(foi("search", "hanging", "--json").stdout)["hits"]
    assert [h["filename"] for h in hits] == ["a_hang.txt"]
    assert json.loads(foi("recover", "--json").stdout)["recovered"] == 0


def test_next_ingest_of_any_path_recovers(tmp_path, foi, archive_dir):
    release = _release(tmp_path)
    db = archive_dir / "foi.sqlite3"
    _kill(_start_hanging(tmp_path, archive_dir, release))
    other = tmp_path / "other.txt"
    other.write_text("an unrelated later file")
    report = json.loads(foi("ingest", str(other), "--json").stdout)
    assert report["ingested"] == 2 and report["recovered"] == 1  # the new file and the one recovered
    assert _rows(db, "SELECT filename, status FROM documents ORDER BY id") == [
        ("a_hang.txt", "done"),
        ("other.txt", "done"),
    ]
    assert _status(foi)["stuck"] == 0


def test_rows_of_a_live_ingest_are_never_taken(tmp_path, foi, archive_dir):
    release = _release(tmp_path)
    db = archive_dir / "foi.sqlite3"
    proc = _start_hanging(tmp_path, archive_dir, release)
    try:
        [(run,)] = _rows(db, "SELECT run FROM documents WHERE filename='a_hang.txt'")
        assert run
        assert _status(foi)["stuck"] == 0  # processing, but its ingest is alive
        assert json.loads(foi("recover", "--json").stdout)["recovered"] == 0
        # Given the same folder, a second ingest leaves the live one's document to it.
        report = json.loads(foi("ingest", str(release), "--json").stdout)
        assert report["ingested"] == 1 and report["resumed"] == 0 and report["recovered"] == 0
        assert [(s["path"], s["stage"]) for s in report["skipped"]] == [
            (str(release / "a_hang.txt"), "select")
        ]
        assert "another run" in report["skipped"][0]["reason"]
        assert _rows(db, "SELECT status, run FROM documents WHERE filename='a_hang.txt'") == [
            ("processing", run)
        ]
    finally:
        _kill(proc)
    # Once it is gone, its document is stuck and taken over.
    assert _status(foi)["stuck"] == 1
    assert json.loads(foi("recover", "--json").stdout)["recovered"] == 1
    [(status, new_run)] = _rows(db, "SELECT status, run FROM documents WHERE filename='a_hang.txt'")
    assert status == "done" and new_run != run


def test_killed_inside_a_zip_member_recovers_the_whole_tree(tmp_path, foi, archive_dir):
    import zipfile

    release = tmp_path / "release"
    release.mkdir()
    with zipfile.ZipFile(release / "dump.zip", "w") as zf:
        zf.writestr("1_note.txt", "a note before")
        zf.writestr("2_hang.txt", "the member being read when killed")
        zf.writestr("3_after.txt", "a member never reached")
    db = archive_dir / "foi.sqlite3"
    _kill(_start_hanging(tmp_path, archive_dir, release))
    assert dict(_rows(db, "SELECT filename, status FROM documents")) == {
        "dump.zip": "processing",
        "1_note.txt": "done",
        "2_hang.txt": "processing",
    }
    report = json.loads(foi("recover", "--json").stdout)
    assert report["recovered"] == 1  # the tree, once, from its top-level zip
    assert dict(_rows(db, "SELECT filename, status FROM documents")) == {
        "dump.zip": "done",
        "1_note.txt": "done",
        "2_hang.txt": "done",
        "3_after.txt": "done",
    }
    assert _rows(db, "SELECT count(*) FROM documents") == [(4,)]


def test_rows_of_an_older_version_without_a_run_are_recovered(tmp_path, foi, archive_dir):
    note = tmp_path / "note.txt"
    note.write_text("left behind by an old version")
    foi("ingest", str(note))
    db = archive_dir / "foi.sqlite3"
    con = sqlite3.connect(db)
    con.execute("UPDATE documents SET status='processing', run=NULL")
    con.commit()
    con.close()
    assert _status(foi)["stuck"] == 1
    assert json.loads(foi("recover", "--json").stdout)["recovered"] == 1
    assert _rows(db, "SELECT status FROM documents") == [("done",)]
