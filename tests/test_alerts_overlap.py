"""Saved searches matched beside indexing (archive/index_matching.py): on Elasticsearch the match
of one batch runs on its own thread while the next batch is indexed; a failed or killed match
leaves its documents unmatched, and the next run records their hits exactly once. Real node, real
ingest of real files, a real SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import es_fixtures
import pytest

from archive import Archive, index_matching
from archive.index_matching import Matcher
from archive.store import Store

es_url = es_fixtures.es_url
es_index = es_fixtures.es_index
ROOT = Path(__file__).resolve().parents[1]

FILES = {
    "jari-2024.txt": "Minutes of the meeting on the Jari project: the ministry withheld the costs.",
    "harbour.txt": "The harbour master reported on dredging near the naval base.",
    "jari-zh.txt": "关于Jari项目的会议纪要：部委没有公开费用。",
    "budget.txt": "No budget was approved for the dredging this year.",
    "jari-later.txt": "A later letter about the Jari project and its costs.",
    "weather.txt": "Rain is expected over the harbour on Tuesday.",
}
JARI = ["jari-2024.txt", "jari-later.txt", "jari-zh.txt"]


def write(folder: Path, files: dict[str, str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / name for name in files]


def es_config(url: str, index: str, batch_pages: int = 500) -> dict[str, str]:
    return {
        "search": "elasticsearch",
        "elasticsearch_url": url,
        "elasticsearch_index": index,
        "index_batch_pages": str(batch_pages),
    }


def hit_rows(a: Archive, name: str) -> list[str]:
    """Every hit recorded for the search, by document title (duplicates would show twice)."""
    search = a.alerts.find(name)
    assert search is not None
    rows = a.store.db.execute(
        "SELECT d.filename FROM alert_hits h JOIN documents d ON d.id = h.document_id "
        "WHERE h.search_id = ? ORDER BY d.filename",
        (search.id,),
    )
    return [r[0] for r in rows]


@pytest.mark.elasticsearch
def test_the_next_batch_is_indexed_while_a_match_runs(tmp_path, es_url, es_index, monkeypatch):
    monkeypatch.setattr(index_matching, "LINGER", 0.0)  # each batch matched as it comes
    # One page per batch: each document is a batch, matched on the matcher's thread.
    with Archive(tmp_path / "archive", es_config(es_url, es_index, batch_pages=1)) as a:
        a.alerts.add("jari", "Jari")
        real = a.indexer.after_index
        assert real is not None
        first: dict[str, object] = {}

        def slow(ids, pages, store):
            if not first:
                # The first match waits (up to 30 s) until more documents than its own are
                # indexed: that happens only if indexing goes on while it runs.
                first["thread"] = threading.current_thread().name
                deadline = time.monotonic() + 30
                indexed = 0
                while time.monotonic() < deadline:
                    indexed = store.db.execute(
                        "SELECT count(*) FROM documents WHERE index_pending=0"
                    ).fetchone()[0]
                    if indexed > len(ids):
                        break
                    time.sleep(0.02)
                first["ids"], first["indexed meanwhile"] = list(ids), indexed - len(ids)
            return real(ids, pages, store)

        a.indexer.after_index = slow
        report = a.ingest(write(tmp_path / "new", FILES), collection="releases")
        assert report.ingested == len(FILES) and report.index_pending == 0
        assert str(first["thread"]).startswith("foi-match")
        assert first["indexed meanwhile"] >= 1  # type: ignore[operator]
        # The ingest returned with every hit recorded (catch-up waits for the matcher), once each.
        assert hit_rows(a, "jari") == JARI
        assert a.store.indexed_unmatched() == []


@pytest.mark.elasticsearch
def test_a_failed_match_leaves_its_documents_for_the_next_run(tmp_path, es_url, es_index):
    root, config = tmp_path / "archive", es_config(es_url, es_index)
    failed_on: list[str] = []
    with Archive(root, config) as a:
        a.alerts.add("jari", "Jari")

        def broken(ids, pages, store):
            failed_on.append(threading.current_thread().name)
            raise RuntimeError("the matcher broke")

        a.indexer.after_index = broken
        report = a.ingest(write(tmp_path / "new", FILES), collection="releases")
        assert report.ingested == len(FILES) and report.index_pending == 0
        assert failed_on and all(n.startswith("foi-match") for n in failed_on)
        assert hit_rows(a, "jari") == []
        # Indexed, not matched: kept for next time, not lost.
        assert len(a.store.indexed_unmatched()) == len(FILES)
    with Archive(root, config) as a:
        a.catch_up_index()
        assert hit_rows(a, "jari") == JARI
        assert a.store.indexed_unmatched() == []
        a.ingest(
            write(tmp_path / "more", {"other.txt": "Jari again, in a new release."}), collection="releases"
        )
        assert hit_rows(a, "jari") == sorted([*JARI, "other.txt"])


KILL_DRIVER = """
import json, os, signal, sys
from archive import Archive
from archive.alerts import matching
def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
matching.record_matches = killed
with Archive(sys.argv[1], json.loads(sys.argv[3])) as a:
    a.ingest(sys.argv[4:], collection="releases")
"""


@pytest.mark.elasticsearch
@pytest.mark.slow
def test_an_ingest_killed_while_matching_is_matched_exactly_once_later(tmp_path, es_url, es_index):
    root, config = tmp_path / "archive", es_config(es_url, es_index)
    with Archive(root, config) as a:
        a.alerts.add("jari", "Jari")
    paths = write(tmp_path / "new", FILES)
    (tmp_path / "driver.py").write_text(KILL_DRIVER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, str(tmp_path / "driver.py"), str(root), "-", json.dumps(config), *map(str, paths)]
    killed = subprocess.run(argv, env=env, timeout=120)
    assert killed.returncode == -signal.SIGKILL  # indexed, then killed on the matcher's thread
    with Archive(root, config) as a:
        assert [d["index_pending"] for d in a.store.documents()] == [0] * len(FILES)
        assert hit_rows(a, "jari") == []
        a.catch_up_index()
        assert hit_rows(a, "jari") == JARI
        a.catch_up_index()
        assert hit_rows(a, "jari") == JARI


@pytest.mark.parametrize("merge_docs", [1, 2000])
def test_at_most_one_batch_waits_behind_the_one_being_matched(tmp_path, monkeypatch, merge_docs):
    monkeypatch.setattr(index_matching, "MERGE_DOCS", merge_docs)
    monkeypatch.setattr(index_matching, "LINGER", 0.0)
    store = Store(tmp_path / "archive")
    matcher = Matcher(store, threaded=True)
    release, started = threading.Event(), threading.Event()
    matched: list[list[int]] = []

    def blocked(ids, pages, own):
        assert own is not store  # the thread's own connection
        started.set()
        release.wait(30)
        matched.append(list(ids))

    handed: list[int] = []

    def hand_over_three():
        for batch in ([1], [2], [3]):
            matcher.hand_over(blocked, batch, None)
            handed.append(batch[0])
            started.wait(10)  # batch 1 is being matched before the others come

    caller = threading.Thread(target=hand_over_three)
    caller.start()
    caller.join(1.0)
    if merge_docs == 1:
        # Batch 1 is being matched, batch 2 waits and is full, batch 3 waits for room: the caller is held.
        assert handed == [1, 2] and caller.is_alive()
        assert matcher.claimed() == {1, 2}
    else:
        # Batch 3 joined batch 2, which waits: one match for both.
        assert handed == [1, 2, 3] and not caller.is_alive()
        assert matcher.claimed() == {1, 2, 3}
    release.set()
    caller.join(30)
    matcher.close()
    assert handed == [1, 2, 3]
    assert matched == ([[1], [2], [3]] if merge_docs == 1 else [[1], [2, 3]])
    assert matcher.claimed() == set()
    store.close()


def test_batches_handed_over_within_the_linger_are_matched_once(tmp_path, monkeypatch):
    monkeypatch.setattr(index_matching, "LINGER", 30.0)
    store = Store(tmp_path / "archive")
    matcher = Matcher(store, threaded=True)
    matched: list[list[int]] = []

    def record(ids, pages, own):
        matched.append(list(ids))

    for batch in ([1], [2], [3]):
        matcher.hand_over(record, batch, None)
    time.sleep(0.5)
    assert matched == []  # waiting for more
    started = time.monotonic()
    matcher.drain()  # catch-up does not wait out the linger
    assert time.monotonic() - started < 10
    assert matched == [[1, 2, 3]] and matcher.claimed() == set()
    # Nobody waiting: a batch is matched once its linger is over.
    monkeypatch.setattr(index_matching, "LINGER", 0.3)
    matcher.hand_over(record, [4], None)
    deadline = time.monotonic() + 10
    while len(matched) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert matched == [[1, 2, 3], [4]]
    matcher.close()
    store.close()
