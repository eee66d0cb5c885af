"""Hostile folders given to `foi ingest` (issue #14): names that are not UTF-8, dangling and
looping links, links out of the dump, FIFOs. Real files, the real CLI, stored content checked."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file names and special files")


def _ingest(foi, *args: str, ok: bool = True) -> dict:
    result = foi("ingest", *args, "--json", ok=ok)
    return json.loads(result.stdout)


def _docs(archive_dir: Path) -> dict[str, dict]:
    from archive import Archive

    with Archive(archive_dir) as a:
        return {d["filename"]: a.document(d["id"]) for d in a.store.documents()}


def _text(doc: dict) -> str:
    return "\n".join(p["text"] for p in doc["pages"])


def test_file_name_that_is_not_utf8_is_stored_and_ingested(tmp_path, foi, archive_dir):
    release = tmp_path / "release"
    release.mkdir()
    (release / "a_good.txt").write_text("alpha report")
    bad = os.path.join(os.fsencode(release), b"b_bad\xff.txt")
    with open(bad, "wb") as fh:
        fh.write(b"bravo minutes")
    (release / "c_good.txt").write_text("charlie letter")

    report = _ingest(foi, str(release))
    assert report["ingested"] == 3 and report["failed"] == 0

    docs = _docs(archive_dir)
    assert sorted(docs) == ["a_good.txt", "b_bad\\xff.txt", "c_good.txt"]
    for doc in docs.values():
        assert doc["status"] == "done"
    odd = docs["b_bad\\xff.txt"]
    assert _text(odd) == "bravo minutes"
    # The exact bytes of the name and path are recoverable.
    assert bytes.fromhex(odd["metadata"]["raw_name"]) == b"b_bad\xff.txt"
    assert bytes.fromhex(odd["metadata"]["raw_source_path"]) == bad
    assert odd["source_path"] == str(release) + "/b_bad\\xff.txt"
    assert "raw_name" not in docs["c_good.txt"]["metadata"]
    assert _text(docs["c_good.txt"]) == "charlie letter"
    # Searchable, and the text output can print it.
    hits = json.loads(foi("search", "bravo", "--json").stdout)["hits"]
    assert [h["filename"] for h in hits] == ["b_bad\\xff.txt"]
    assert "ingested 0, duplicates 3" in foi("ingest", str(release)).stdout


def test_dangling_and_looping_links_are_skipped_not_fatal(tmp_path, foi, archive_dir):
    release = tmp_path / "release"
    release.mkdir()
    (release / "a.txt").write_text("first file")
    (release / "b_dangling.txt").symlink_to(tmp_path / "gone.txt")
    (release / "c_loop1").symlink_to(release / "c_loop2")
    (release / "c_loop2").symlink_to(release / "c_loop1")
    (release / "d.txt").write_text("last file")

    for follow in ((), ("--follow-symlinks",)):
        report = _ingest(foi, str(release), *follow)
        assert report["failed"] == 0
        skipped = {Path(s["path"]).name: s for s in report["skipped"]}
        assert sorted(skipped) == ["b_dangling.txt", "c_loop1", "c_loop2"]
        assert all(s["stage"] == "select" for s in skipped.values())
        if follow:
            assert "cannot be followed" in skipped["b_dangling.txt"]["reason"]
        else:
            assert "not followed" in skipped["c_loop1"]["reason"]
    assert sorted(_docs(archive_dir)) == ["a.txt", "d.txt"]


def test_links_out_of_the_dump_are_never_read(tmp_path, foi, archive_dir):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside secret do not ingest")
    release = tmp_path / "release"
    (release / "sub").mkdir(parents=True)
    (release / "letter.txt").write_text("the letter itself")
    (release / "sub" / "inside.txt").write_text("inside target text")
    (release / "passwd").symlink_to("/etc/passwd")
    (release / "secret.txt").symlink_to(outside / "secret.txt")
    (release / "outside_dir").symlink_to(outside)
    (release / "to_inside.txt").symlink_to(release / "sub" / "inside.txt")
    (release / "sub" / "up").symlink_to(release)  # a loop through a folder link

    report = _ingest(foi, str(release))
    assert sorted(Path(s["path"]).name for s in report["skipped"]) == [
        "outside_dir",
        "passwd",
        "secret.txt",
        "to_inside.txt",
        "up",
    ]
    assert {s["reason"] for s in report["skipped"]} == {"symbolic link: not followed (use --follow-symlinks)"}
    assert sorted(_docs(archive_dir)) == ["inside.txt", "letter.txt"]

    # Followed, a link is read only when its target is inside the given paths.
    report = _ingest(foi, str(release), "--follow-symlinks")
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert set(reasons) == {"outside_dir", "passwd", "secret.txt", "up"}
    assert (
        "outside the given paths" in reasons["passwd"] and "outside the given paths" in reasons["secret.txt"]
    )
    assert "loop" in reasons["up"]
    docs = _docs(archive_dir)
    assert sorted(docs) == ["inside.txt", "letter.txt"]  # to_inside.txt: the same content, a duplicate
    assert report["duplicates"] == 3
    everything = " ".join(_text(d) for d in docs.values())
    assert "root:" not in everything and "outside secret" not in everything
    assert json.loads(foi("search", "root", "--json").stdout)["total"] == 0


def test_followed_link_inside_the_dump_is_stored_under_its_own_name(tmp_path, foi, archive_dir):
    release = tmp_path / "release"
    (release / "data").mkdir(parents=True)
    (release / "data" / "real.txt").write_text("shared minutes of the board")
    (release / "alias.txt").symlink_to("data/real.txt")
    (release / "linked").symlink_to("data")
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("a note from the second folder")
    (release / "note_link.txt").symlink_to(other / "note.txt")
    # Two paths given: a link may point into either.
    report = _ingest(foi, str(release), str(other), "--follow-symlinks", "--collection", "c1")
    assert report["skipped"] == [] and report["failed"] == 0
    assert report["ingested"] == 2 and report["duplicates"] == 3
    docs = _docs(archive_dir)
    assert docs["alias.txt"]["source_path"] == str(release / "alias.txt")
    assert _text(docs["alias.txt"]) == "shared minutes of the board"


def test_special_files_are_skipped_with_a_reason(tmp_path, foi, archive_dir):
    release = tmp_path / "release"
    release.mkdir()
    (release / "a.txt").write_text("before the fifo")
    os.mkfifo(release / "b_pipe")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(release / "c_sock"))
    except OSError:
        pytest.skip("cannot bind a unix socket here")
    try:
        (release / "d.txt").write_text("after the fifo")
        report = _ingest(foi, str(release))
        # A named FIFO given on its own is refused too (reading it would block for ever).
        alone = _ingest(foi, str(release / "b_pipe"))
    finally:
        sock.close()
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert reasons == {
        "b_pipe": "a FIFO: not read (only regular files are ingested)",
        "c_sock": "a socket: not read (only regular files are ingested)",
    }
    assert report["ingested"] == 2 and report["failed"] == 0
    assert alone["skipped"] == [
        {"path": str(release / "b_pipe"), "stage": "select", "reason": reasons["b_pipe"]}
    ]
    assert sorted(_docs(archive_dir)) == ["a.txt", "d.txt"]
    text = foi("ingest", str(release)).stdout
    assert "skipped 2 (not read)" in text and "b_pipe: a FIFO" in text


def test_a_file_swapped_for_a_link_after_it_was_chosen_is_not_read(tmp_path, archive_dir):
    """The check is made again when the file is opened: a link put in its place is refused."""
    from archive import Archive
    from archive.inputs import InputFile, select_files

    release = tmp_path / "release"
    release.mkdir()
    (release / "a.txt").write_text("plain text")
    entries = list(select_files([release]))
    assert entries == [InputFile(release / "a.txt", release / "a.txt")]
    (release / "a.txt").unlink()
    (release / "a.txt").symlink_to("/etc/passwd")
    with Archive(archive_dir) as a:
        report = a.ingest(entries)
        assert a.store.documents() == []
    assert report.failed["store"] == 1
    assert report.failures[0]["path"] == str(release / "a.txt")
