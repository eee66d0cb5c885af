"""The reliability harness of issue #14: hostile files (make_hostile.py) ingested by the real
`foi ingest` in a subprocess under a 2 GB address-space cap and a timeout. Every good file is stored
and searchable, every bad one recorded with its stage and reason, special files and symlinks are
skipped with a reason, nothing outside the folder is read, and the archive is consistent after."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from make_hostile import BYTES_NAME_WORD, CASES, SPECIAL, make_all
from runner import MEMORY_CAP, run_foi

from archive import Archive, SearchQuery

pytestmark = pytest.mark.hostile

TIMEOUT = 150  # seconds for the whole hostile folder


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    folder = root / "in"
    cases = make_all(folder)
    archive_dir = root / "archive"
    run = run_foi(["ingest", str(folder), "--json", "--collection", "hostile"], archive_dir, timeout=TIMEOUT)
    print(f"hostile folder: {len(cases)} files in {run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB")
    with Archive(archive_dir) as archive:
        yield {
            "root": root,
            "folder": folder,
            "cases": cases,
            "run": run,
            "dir": archive_dir,
            "archive": archive,
        }


def _top(archive, name: str) -> dict:
    docs = archive.store.documents("filename=? AND parent_id IS NULL", (name,))
    assert len(docs) == 1, f"{name!r}: {len(docs)} top-level documents"
    doc = archive.document(docs[0]["id"])
    assert doc is not None
    return doc


def _found(archive, word: str) -> set[str]:
    return {h.filename for h in archive.search(SearchQuery(text=word)).hits}


def _root_of(archive, doc_id: int) -> int:
    while True:
        row = archive.store.documents("id=?", (doc_id,))[0]
        if row["parent_id"] is None:
            return doc_id
        doc_id = row["parent_id"]


def _found_under(archive, word: str, top_id: int) -> list[dict]:
    """The documents of `top_id`'s tree (itself included) that a search for `word` finds."""
    hits = archive.search(SearchQuery(text=word)).hits
    return [archive.document(h.doc_id) for h in hits if _root_of(archive, h.doc_id) == top_id]


def _tree(archive, doc: dict) -> list[dict]:
    out, todo = [], [doc]
    while todo:
        d = todo.pop()
        out.append(d)
        todo += [archive.document(c["id"]) for c in d.get("children") or []]
    return out


def _tree_reasons(archive, doc: dict) -> list[str]:
    """Every reason recorded in a document's tree: error reasons, limits and warnings."""
    reasons = []
    for d in _tree(archive, doc):
        meta = d.get("metadata") or {}
        reasons += [d.get("error_reason") or "", str(meta.get("limits") or "")]
        reasons += [str(w) for w in meta.get("warnings") or []]
    return [r for r in reasons if r]


def test_exit_code_and_resources_are_sane(hostile):
    run = hostile["run"]
    assert not run.timed_out, f"ingest took over {TIMEOUT} s"
    assert run.returncode == 1, run.stderr[-3000:]  # some documents failed (recorded), none crashed it
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    report = run.json()
    assert report["failed"] >= 1 and report["ingested"] >= 1
    assert run.peak_rss_mb * (1 << 20) < MEMORY_CAP


def _ids(cases, expect):
    """The cases of the default folder (the 10 MB floods are tested in tests/test_mail_hostile.py)."""
    return [
        pytest.param(c, id=c.name.encode("unicode_escape").decode()[:40])
        for c in cases
        if c.expect in expect and not c.large
    ]


@pytest.mark.parametrize("case", _ids(CASES, {"done"}))
def test_good_file_is_stored_and_searchable(hostile, case):
    archive = hostile["archive"]
    doc = _top(archive, case.name)
    assert doc["status"] == "done", (doc["error_stage"], doc["error_reason"])
    if case.word:
        assert _found_under(archive, case.word, doc["id"]), f"{case.word} not found in {case.name}"


# The tree-budget work (issue #14: 5) marks containers a limit cut as failed and points the
# top-level document at them; members refused by their compression ratio and archives refused for
# their depth are not counted as cuts yet.
# Cases whose expected outcome waits on a fix that has not landed (xfail, strict): none now.
_PENDING_TREE_RECORDING: dict[str, str] = {}


def _bad_params():
    out = []
    for p in _ids(CASES, {"failed", "limited"}):
        case = p.values[0]
        pending = _PENDING_TREE_RECORDING.get(case.name)
        marks = [pytest.mark.xfail(strict=True, reason=pending)] if pending else []
        out.append(pytest.param(case, id=p.id, marks=marks))
    return out


@pytest.mark.parametrize("case", _bad_params())
def test_bad_file_is_recorded_with_stage_and_reason(hostile, case):
    """ "failed": the file itself is failed at extract with its reason. "limited": the limit that
    cut its content is on the top-level document (metadata.limits) and a document of its tree is
    failed at extract with the reason; what came before the limit is kept and searchable."""
    archive = hostile["archive"]
    doc = _top(archive, case.name)
    failures = hostile["run"].json()["failures"]
    tree = _tree(archive, doc) if case.expect == "limited" else [doc]
    recorded = [
        d
        for d in tree
        if d["status"] == "failed"
        and d["error_stage"]
        and re.search(case.reason or ".", d["error_reason"] or "")
    ]
    assert recorded, f"{case.name}: {doc['status']}; its tree says {_tree_reasons(archive, doc)[:3]}"
    assert recorded[0]["error_stage"] == "extract"
    assert any(f["document"] == recorded[0]["id"] and f["stage"] and f["reason"] for f in failures)
    if case.expect == "limited":
        assert doc["metadata"].get("limits"), "the limit that cut the content is on the top-level document"
        if case.word:
            assert _found_under(archive, case.word, doc["id"])


@pytest.mark.parametrize("case", _ids(CASES, {"any"}))
def test_other_hostile_file_ends_done_or_recorded(hostile, case):
    doc = _top(hostile["archive"], case.name)
    assert doc["status"] in {"done", "failed"}
    if doc["status"] == "failed":
        assert doc["error_stage"] and doc["error_reason"]


def test_links_and_fifos_in_a_tar_are_not_followed(hostile):
    archive = hostile["archive"]
    doc = _top(archive, "links.tar")
    reasons = _tree_reasons(archive, doc)
    assert "passwd-link: link to /etc/passwd not followed" in " ".join(reasons), reasons
    assert "hard-link: link to ../../../etc/passwd not followed" in " ".join(reasons), reasons
    assert "fifo: device or FIFO not followed" in " ".join(reasons), reasons
    # Nothing was made of them: no member of the tree is a link, the target or the FIFO.
    names = {d["filename"] for d in _tree(archive, doc)} - {doc["filename"]}
    assert not names & {"passwd-link", "hard-link", "fifo", "passwd"}, names


def test_file_name_that_is_not_utf8(hostile):
    archive = hostile["archive"]
    hits = archive.search(SearchQuery(text=BYTES_NAME_WORD)).hits
    assert len(hits) == 1 and hits[0].filename.startswith("latin1-")
    doc = archive.document(hits[0].doc_id)
    assert doc is not None and doc["status"] == "done"


def test_symlinks_and_special_files_are_skipped_with_a_reason(hostile):
    archive, report = hostile["archive"], hostile["run"].json()
    skipped = {Path(s["path"]).name: s for s in report.get("skipped", [])}
    for name, kind, _ in SPECIAL:
        assert not archive.store.documents("filename=?", (name,)), f"{name} ({kind}) was ingested"
        assert name in skipped, f"{name} ({kind}) not reported as skipped"
        assert skipped[name]["stage"] and skipped[name]["reason"]


def test_nothing_outside_the_folder_is_read_or_written(hostile):
    archive = hostile["archive"]
    passwd = Path("/etc/passwd").read_text(errors="replace")
    assert "root:x:0:0" in passwd
    for word in ("nologin", "daemon"):
        if word in passwd:
            assert not _found(archive, word), f"/etc/passwd content ({word}) is searchable"
    con = sqlite3.connect(hostile["dir"] / "foi.sqlite3")
    try:
        assert con.execute("SELECT count(*) FROM pages WHERE text LIKE '%root:x:0:0%'").fetchone()[0] == 0
    finally:
        con.close()
    # Zip members named /etc/passwd, ../../escape.txt, folder/../../../up.txt: names made safe,
    # and nothing was written outside the archive.
    zipped = _top(archive, "odd-member-names.zip")
    for child in zipped["children"]:
        name = child["filename"]
        assert not name.startswith("/") and ".." not in name.split("/") and "\n" not in name, name
    root = hostile["root"]
    for up in (root, root.parent, root.parent.parent):
        assert not (up / "escape.txt").exists() and not (up / "up.txt").exists()


def test_archive_is_consistent(hostile):
    archive_dir = hostile["dir"]
    con = sqlite3.connect(archive_dir / "foi.sqlite3")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stuck = con.execute(
            "SELECT id, filename FROM documents WHERE status NOT IN ('done', 'failed')"
        ).fetchall()
        assert not stuck, stuck
    finally:
        con.close()
    status = hostile["archive"].status()  # what `foi status --json` prints
    assert status["index_pending"] == 0
    assert status["indexed_pages"] == status["pages"]


def test_reingest_adds_nothing(hostile):
    archive_dir, folder = hostile["dir"], hostile["folder"]
    before = hostile["archive"].status()
    run = run_foi(["ingest", str(folder), "--json", "--collection", "hostile"], archive_dir, timeout=TIMEOUT)
    assert not run.timed_out and run.returncode in (0, 1), run.stderr[-2000:]
    assert run.json()["ingested"] == 0
    after = hostile["archive"].status()
    assert after["documents"] == before["documents"] and after["pages"] == before["pages"]
