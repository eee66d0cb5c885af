"""Hostile mail (issue #14: 2, 6, 8) through the real pipeline: unknown charsets decoded by detection
and flagged, header floods bounded with a note (time and peak memory of a real `foi ingest`
measured), MIME nested too deep or too wide cut with the reason recorded and the rest kept."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from archive import SearchQuery

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
from make_hostile import (  # noqa: E402
    field_flood,
    many_parts,
    nested_multipart,
    nested_rfc822,
    subject_flood,
    to_flood,
    unknown_charset_eml,
    unknown_charset_multipart,
)
from runner import run_foi  # noqa: E402


def _ingest_one(archive, tmp_path: Path, name: str, data: bytes) -> dict:
    path = tmp_path / name
    path.write_bytes(data)
    report = archive.ingest([path], collection="hostile")
    doc_id = report.documents[0]
    return archive.document(doc_id)


def _found(archive, word: str) -> set[str]:
    return {h.filename for h in archive.search(SearchQuery(text=word)).hits}


def test_unknown_charset_body_is_detected_flagged_and_searchable(archive, tmp_path):
    doc = _ingest_one(archive, tmp_path, "unknown.eml", unknown_charset_eml("zanzibarquux"))
    assert doc["status"] == "done"
    assert "The zanzibarquux minutes were approved." in doc["pages"][0]["text"]
    assert doc["metadata"]["charset_detected"] == [{"declared": "x-unknown-9", "used": "utf-8"}]
    assert any("unknown charset 'x-unknown-9'" in w for w in doc["metadata"]["warnings"])
    assert _found(archive, "zanzibarquux") == {"unknown.eml"}


def test_unknown_charsets_inside_multipart(archive, tmp_path):
    data = unknown_charset_multipart("plainquuxword", "htmlquuxword", "latinquuxword")
    doc = _ingest_one(archive, tmp_path, "parts.eml", data)
    assert doc["status"] == "done"
    text = doc["pages"][0]["text"]
    assert "Plain part plainquuxword here." in text
    assert "latinquuxword" in text and "Café résumé" in text  # Latin-1 bytes found by detection
    declared = [g["declared"] for g in doc["metadata"]["charset_detected"]]
    assert declared == ["x-unknown-9", "no-such-charset", "x-bogus"]
    for word in ("plainquuxword", "latinquuxword"):
        assert _found(archive, word) == {"parts.eml"}


def test_unknown_charset_html_only_body(archive, tmp_path):
    data = (
        b"From: a@example.org\nSubject: html only\nMIME-Version: 1.0\n"
        b"Content-Type: text/html; charset=x-nothing\n\n<p>Only htmlonlyquux here.</p>\n"
    )
    doc = _ingest_one(archive, tmp_path, "html.eml", data)
    assert doc["status"] == "done" and "Only htmlonlyquux here." in doc["pages"][0]["text"]
    assert doc["metadata"]["charset_detected"][0]["declared"] == "x-nothing"
    assert _found(archive, "htmlonlyquux") == {"html.eml"}


def test_show_json_carries_the_charset_flag(tmp_path, foi):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "u.eml").write_bytes(unknown_charset_eml("showjsonquux"))
    foi("ingest", str(folder))
    shown = json.loads(foi("show", "1", "--json").output)
    assert shown["status"] == "done"
    assert shown["metadata"]["charset_detected"][0]["declared"] == "x-unknown-9"
    assert "showjsonquux" in shown["pages"][0]["text"]


def test_nested_rfc822_500_levels_records_the_reason_and_keeps_the_top(archive, tmp_path):
    doc = _ingest_one(archive, tmp_path, "deep.eml", nested_rfc822(500, "outerdeepquux"))
    assert doc["status"] == "failed" and doc["error_stage"] == "extract"
    assert re.match(r"nested too deep \(501 levels\)", doc["error_reason"]), doc["error_reason"]
    assert doc["metadata"]["limits"] == doc["error_reason"]
    assert doc["pages"][0]["text"].startswith("From: l0@example.com")
    assert "outerdeepquux" in doc["title"]
    assert "deep.eml" in _found(archive, "outerdeepquux")
    # The forwarded message above the limit is kept as a child (whose own children stop at the
    # container depth limit), and nothing below the limit was read.
    assert doc["children"], "the forwarded message above the limit is a child document"
    assert not _found(archive, "innermostdeepword")


def test_nested_multipart_500_levels_keeps_the_parts_above_the_limit(archive, tmp_path):
    doc = _ingest_one(archive, tmp_path, "deepmp.eml", nested_multipart(500, "keptmpquux"))
    assert doc["status"] == "failed" and doc["error_stage"] == "extract"
    assert doc["error_reason"].startswith("nested too deep (501 levels)")
    assert "Level 0 says keptmpquux." in doc["pages"][0]["text"]
    assert _found(archive, "keptmpquux") == {"deepmp.eml"}
    assert "innermostdeepword" not in doc["pages"][0]["text"]


def test_deeper_than_the_parser_can_go(archive, tmp_path):
    """20,000 levels: the standard parser alone raises RecursionError at about 1,000."""
    doc = _ingest_one(archive, tmp_path, "deeper.eml", nested_multipart(20_000, "deeperquux"))
    assert re.match(r"nested too deep \((more than )?\d+ levels\)", doc["error_reason"])
    assert "Level 0 says deeperquux." in doc["pages"][0]["text"]


def test_too_many_parts_keeps_the_first(archive, tmp_path):
    doc = _ingest_one(archive, tmp_path, "wide.eml", many_parts(5000, "firstpartquux"))
    assert doc["error_reason"] == "more than 2000 MIME parts: the rest not read"
    assert "part 0 firstpartquux" in doc["pages"][0]["text"]
    text = doc["pages"][0]["text"]
    assert text.endswith("\npart 1998") and "part 1999" not in text  # the message itself is a part


def test_field_flood_keeps_the_fields_after_it(archive, tmp_path):
    doc = _ingest_one(archive, tmp_path, "fields.eml", field_flood(300_000, "fieldquux"))
    assert doc["status"] == "done"
    assert doc["metadata"]["mail"]["to"] == [{"name": "", "address": "last@example.com"}]
    assert "Body fieldquux here." in doc["pages"][0]["text"]
    assert any("header fields" in w and "dropped" in w for w in doc["metadata"]["warnings"])


# -- header floods through a real `foi ingest`, measured --------------------------------------------


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """Time and peak memory of ingesting one small message (model loading dominates both)."""
    folder = tmp_path_factory.mktemp("baseline")
    (folder / "small.eml").write_bytes(unknown_charset_eml("baselinequux"))
    run = run_foi(["ingest", str(folder), "--json"], tmp_path_factory.mktemp("baseline-arc") / "a")
    assert run.returncode == 0, run.stderr
    return run


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, make, word, field",
    [
        ("to.eml", lambda: to_flood(400_000, "tofloodquux"), "tofloodquux", "to"),
        ("subject.eml", lambda: subject_flood(10_000_000, "subjfloodquux"), "subjfloodquux", "subject"),
    ],
)
def test_header_flood_is_bounded(tmp_path, baseline, name, make, word, field):
    folder = tmp_path / "in"
    folder.mkdir()
    data = make()
    assert len(data) > 9_000_000
    (folder / name).write_bytes(data)
    archive_dir = tmp_path / "arc"
    run = run_foi(["ingest", str(folder), "--json"], archive_dir, timeout=120)
    print(
        f"{name}: {len(data)} bytes in {run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB "
        f"(one small message: {baseline.seconds:.1f} s, {baseline.peak_rss_mb:.0f} MB)"
    )
    assert run.returncode == 0, run.stderr
    # Before: 80 s and 1.9 GB for the To flood, 42 s and 841 MB for the Subject one.
    assert run.peak_rss_mb < max(300, baseline.peak_rss_mb + 64)
    assert run.seconds < baseline.seconds + 10
    from archive import Archive

    with Archive(archive_dir) as a:
        doc = a.document(run.json()["documents"][0])
        assert doc is not None and doc["status"] == "done"
        cut = doc["metadata"]["cut"]
        assert cut[0]["field"] == field and cut[0]["bytes"] > 9_000_000
        assert cut[0]["kept_bytes"] <= 64 * 1024
        assert any(w.startswith(f"{field.title()} header cut from") for w in doc["metadata"]["warnings"])
        assert len(doc["pages"][0]["text"]) < 100_000
        if field == "to":
            assert cut[0]["addresses"] == 400_000
            assert len(doc["metadata"]["mail"]["to"]) == 1000
            assert doc["metadata"]["mail"]["to"][0]["address"] == "user0@example.com"
        assert _found(a, word) == {name}
