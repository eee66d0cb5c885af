"""Issue 19's gaps a review found, each on real files: OpenDocument and legacy Office files saved
with a password by LibreOffice itself, opened with `--password`; pictures inside legacy office
files OCR'd; audio and video metadata; vCard and iCalendar people and dates as entities; .odp,
.ost, plain .tar, multi-page DjVu; 7z zip-slip and bombs; a PST whose expansion outgrows the
tree's budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from archive.search.base import SearchQuery

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from make_encrypted_office import PHRASES as LOCKED  # noqa: E402
from test_formats import _in_tree, _top  # noqa: E402


def _hit_ids(archive, text):
    return {h.doc_id for h in archive.search(SearchQuery(text=text, limit=50)).hits}


@pytest.fixture(scope="module")
def locked(tmp_path_factory):
    """locked.odt/.ods/.doc/.xls saved with the password "s3cret" by LibreOffice through UNO."""
    out = tmp_path_factory.mktemp("locked")
    subprocess.run(
        ["/usr/bin/python3", str(ROOT / "scripts" / "make_encrypted_office.py"), str(out), "s3cret"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


@pytest.mark.slow
def test_password_opens_opendocument_and_legacy_office(locked, tmp_path):
    from archive import Archive

    files = sorted(locked.iterdir())
    assert sorted(p.name for p in files) == sorted(LOCKED)
    with Archive(tmp_path / "none") as a:
        report = a.ingest(files, collection="c")
        reasons = sorted(f["reason"] for f in report.failures)
        assert len(reasons) == 4 and all("password required (pass it with --password)" in r for r in reasons)
        assert not any(_hit_ids(a, f'"{phrase}"') for phrase in LOCKED.values())
    with Archive(tmp_path / "wrong") as a:
        report = a.ingest(files[:1], collection="c", passwords=("nope",))
        assert "none of the 1 passwords given opens it" in report.failures[0]["reason"]
    with Archive(tmp_path / "right") as a:
        report = a.ingest(files, collection="c", passwords=("nope", "s3cret"))
        assert not report.failures
        for name, phrase in LOCKED.items():
            doc = _top(a, name)
            assert doc["status"] == "done" and doc["metadata"]["office"]["decrypted"] is True, name
            assert doc["id"] in _hit_ids(a, f'"{phrase}"'), name


def _picture_of_text(path: Path, words: str) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("L", (1400, 200), 255)
    ImageDraw.Draw(im).text((30, 60), words, fill=0, font=ImageFont.load_default(size=56))
    im.save(path, dpi=(300, 300))
    return path


def _soffice(src: Path, target: str, outdir: Path) -> Path:
    from archive.extractors.office.convert import OfficeConverter

    conv = OfficeConverter(outdir / "profile")
    try:
        made = conv.convert(src, outdir / "made", target)
        final = outdir / f"{src.stem}.{target}"
        made.replace(final)
        return final
    finally:
        conv.close()


@pytest.mark.slow
@pytest.mark.tesseract
def test_pictures_inside_legacy_office_files_are_ocrd(tmp_path):
    import docx
    import openpyxl
    from openpyxl.drawing.image import Image as SheetImage

    from archive import Archive

    d = docx.Document()
    d.add_paragraph("A letter with a scanned note pasted in.")
    d.add_picture(str(_picture_of_text(tmp_path / "note.png", "Tidal barrier maintenance schedule")))
    d.save(str(tmp_path / "pasted.docx"))
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Claims register"
    wb.active.add_image(
        SheetImage(str(_picture_of_text(tmp_path / "stamp.png", "Received by the Treasury"))), "B3"
    )
    wb.save(str(tmp_path / "claims.xlsx"))
    folder = tmp_path / "release"
    folder.mkdir()
    doc_file = _soffice(tmp_path / "pasted.docx", "doc", folder)
    xls_file = _soffice(tmp_path / "claims.xlsx", "xls", folder)
    with Archive(tmp_path / "a") as a:
        a.ingest([doc_file, xls_file], collection="c")
        for name, phrase in (("pasted.doc", '"tidal barrier"'), ("claims.xls", '"received by the treasury"')):
            doc = _top(a, name)
            assert [c["kind"] for c in doc["children"]] == ["image"], name
            assert _hit_ids(a, phrase) == {doc["children"][0]["id"]}, name


MEDIA = ROOT / "tests" / "data" / "media"


def test_audio_and_video_keep_duration_and_tags(tmp_path):
    import cv2
    import mutagen
    import numpy as np

    from archive import Archive

    folder = tmp_path / "release"
    folder.mkdir()
    titles = {
        "hearing.mp3": "Select committee hearing on ferry contracts",
        "briefing.flac": "Minister briefing on the harbour levy",
        "voicenote.ogg": "Voice note about the tender shortlist",
        "interview.m4a": "Interview with the port auditor",
        "cctv.mp4": "Gate camera footage of the depot",
    }
    for name, source in (
        ("hearing.mp3", "no-tags.mp3"),
        ("briefing.flac", "no-tags.flac"),
        ("voicenote.ogg", "empty.ogg"),
        ("interview.m4a", "no-tags.m4a"),
    ):
        (folder / name).write_bytes((MEDIA / source).read_bytes())
    writer = cv2.VideoWriter(str(folder / "cctv.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(25):
        writer.write(np.full((48, 64, 3), i * 10, np.uint8))
    writer.release()
    for name, title in titles.items():
        media = mutagen.File(str(folder / name), easy=True)
        if media.tags is None:
            media.add_tags()
        media["title"], media["artist"] = title, "Records Office"
        media.save()
    with Archive(tmp_path / "a") as a:
        report = a.ingest([folder], collection="c")
        assert not report.failures
        seconds = {"hearing.mp3": 0.06, "briefing.flac": 3.68, "voicenote.ogg": 3.68, "interview.m4a": 3.71}
        for name, title in titles.items():
            doc = _top(a, name)
            media = doc["metadata"]["media"]
            assert doc["kind"] == ("video" if name.endswith("mp4") else "audio"), name
            assert "no text" in doc["metadata"]["no_text"] and doc["title"] == title, name
            assert media["tags"]["artist"] == "Records Office", name
            assert media["seconds"] == seconds.get(name, 2.5), name
            assert doc["id"] in _hit_ids(a, f'"{title}"'), name
        assert _top(a, "briefing.flac")["metadata"]["media"]["rate"] == 44100


def test_contact_and_calendar_fields_are_entities(tmp_path):
    from archive import Archive

    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "contacts.vcf").write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Okonkwo;Margaret;;;\r\nFN:Margaret Okonkwo\r\n"
        "ORG:Port Authority\r\nEMAIL:M.Okonkwo@port.example\r\nBDAY:1971-03-09\r\nEND:VCARD\r\n"
        # No FN: the name comes from N.
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Tranh;Quoc;;;\r\nEMAIL:qt@harbour.example\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    (folder / "meeting.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:1@test\r\n"
        "DTSTAMP:20240101T000000Z\r\nDTSTART:20240312T093000Z\r\nSUMMARY:Levy review\r\n"
        "ORGANIZER;CN=Wilhelmina Stroud:mailto:w.stroud@council.example\r\n"
        "ATTENDEE;CN=Desmond Achterberg:mailto:desmond@port.example\r\n"
        "LOCATION:Harbour Office\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    with Archive(tmp_path / "a") as a:
        report = a.ingest([folder], collection="c")
        assert not report.failures
        vcf, ics = _top(a, "contacts.vcf"), _top(a, "meeting.ics")
        for query, doc in (
            ('entity:"Margaret Okonkwo"', vcf),
            ('entity:"Quoc Tranh"', vcf),
            ('entity:"Port Authority"', vcf),
            ('entity:"m.okonkwo@port.example"', vcf),
            ('entity:"Wilhelmina Stroud"', ics),
            ('entity:"Desmond Achterberg"', ics),
            ('entity:"desmond@port.example"', ics),
            ('entity:"Harbour Office"', ics),
        ):
            assert _hit_ids(a, query) == {doc["id"]}, query
        kinds = {(e["type"], e["norm"]) for e in ics["metadata"]["entities"]}
        assert {("person", "Wilhelmina Stroud"), ("date", "2024-03-12"), ("place", "Harbour Office")} <= kinds
        assert ("date", "1971-03-09") in {(e["type"], e["norm"]) for e in vcf["metadata"]["entities"]}


def _djvu_page(work: Path, name: str, words: str) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("L", (2400, 900), 255)
    ImageDraw.Draw(im).text((150, 350), words, fill=0, font=ImageFont.load_default(size=90))
    bitmap = work / f"{name}.pbm"
    im.point(lambda v: 255 if v > 128 else 0).convert("1").save(bitmap)
    page = work / f"{name}.djvu"
    subprocess.run(["cjb2", "-dpi", "300", str(bitmap), str(page)], check=True, capture_output=True)
    return page


@pytest.mark.slow
@pytest.mark.tesseract
def test_odp_ost_plain_tar_and_multipage_djvu(tmp_path):
    import tarfile

    from archive import Archive
    from conftest import corpus_file

    folder = tmp_path / "release"
    folder.mkdir()
    made = _soffice(corpus_file("office/tika_testPPT.pptx"), "odp", tmp_path)
    made.replace(folder / "deck.odp")
    # No tool here writes an OST; readpst reads one exactly as a PST (same !BDN layout), so a
    # real PST under the .ost name stands in for one.
    (folder / "offline.ost").write_bytes((ROOT / "tests" / "fixtures" / "pst" / "dist-list.pst").read_bytes())
    note = tmp_path / "note.txt"
    note.write_text("Minutes of the pontoon inspection, plain tar member.", encoding="utf-8")
    with tarfile.open(folder / "bundle.tar", "w") as tf:
        tf.add(note, "minutes/note.txt")
    pages = [
        _djvu_page(tmp_path, "p1", "Reservoir overflow audit"),
        _djvu_page(tmp_path, "p2", "Culvert survey results"),
    ]
    subprocess.run(
        ["djvm", "-c", str(folder / "survey.djvu"), *map(str, pages)], check=True, capture_output=True
    )
    with Archive(tmp_path / "a") as a:
        report = a.ingest([folder], collection="c")
        assert not report.failures
        odp = _top(a, "deck.odp")
        assert odp["kind"] == "office" and odp["page_count"] == 3
        assert "Attachment Test" in odp["pages"][0]["text"]
        ost = _top(a, "offline.ost")
        assert ost["kind"] == "mailbox" and ost["pages"][0]["text"].startswith(
            "Outlook store (.ost): 1 contacts, 1 calendar"
        )
        assert any(_in_tree(a, ost["id"], h) for h in _hit_ids(a, '"Test appointment"'))
        tar = _top(a, "bundle.tar")
        assert [c["filename"] for c in tar["children"]] == ["minutes/note.txt"]
        assert _hit_ids(a, '"pontoon inspection"') == {tar["children"][0]["id"]}
        djvu = _top(a, "survey.djvu")
        assert djvu["page_count"] == 2 and djvu["metadata"]["djvu"]["pages"] == 2
        assert "overflow audit" in djvu["pages"][0]["text"].lower()
        assert "culvert survey" in djvu["pages"][1]["text"].lower()
        assert a.page_image(a.document_record(djvu["id"]), 2)


def _extract(path: Path, ctx=None):
    from archive.extractors import ExtractContext, choose, make_source

    source = make_source(path)
    extractor = choose(source)
    assert extractor is not None
    return extractor.extract(source, ctx or ExtractContext(workdir=path.parent / "work"))


def test_7z_names_never_climb_out_and_each_member_keeps_its_bytes(tmp_path):
    import py7zr

    with py7zr.SevenZipFile(tmp_path / "slip.7z", "w") as z:
        # py7zr's public writestr refuses such names; its inner one writes them as an attacker would.
        z._writestr(b"escaped?", "../../etc/cron.d/evil.txt")
        z._writestr(b"rooted", "/etc/rooted.txt")
        z._writestr(b"fine", "docs/fine.txt")
    ex = _extract(tmp_path / "slip.7z")
    assert [(c.name, c.path.read_bytes()) for c in ex.children] == [
        ("etc/rooted.txt", b"rooted"),
        ("docs/fine.txt", b"fine"),
    ]
    assert all(c.path.is_relative_to(tmp_path / "work") for c in ex.children)
    assert ex.warnings == ["etc/cron.d/evil.txt: its name climbs out of the archive (..): not read"]
    assert "etc/cron.d/evil.txt" in ex.pages[0].text  # listed all the same
    assert not Path("/etc/rooted.txt").exists()


def test_7z_and_rar_bombs_are_refused_before_writing(tmp_path):
    import py7zr
    from make_format_fixtures import _rar

    from archive.extractors import ExtractContext
    from archive.limits import TreeBudget, TreeLimits
    from archive.models import StageError

    with py7zr.SevenZipFile(tmp_path / "bomb.7z", "w") as z:
        z.writestr(b"\0" * (8 * 1024 * 1024), "zeros.bin")
    assert (tmp_path / "bomb.7z").stat().st_size < 10_000
    ctx = ExtractContext(workdir=tmp_path / "w", budget=TreeBudget(TreeLimits(bytes=1024 * 1024)))
    with pytest.raises(StageError, match="7z archive would expand to 8388608 bytes"):
        _extract(tmp_path / "bomb.7z", ctx)
    assert not any((tmp_path / "w").rglob("*.bin"))
    _rar(tmp_path / "big.rar", [("big.txt", b"x" * 5000)])
    ctx = ExtractContext(workdir=tmp_path / "w2", budget=TreeBudget(TreeLimits(bytes=1000)))
    with pytest.raises(StageError, match="RAR archive would expand to 5000 bytes"):
        _extract(tmp_path / "big.rar", ctx)


def test_pst_expansion_is_bounded_by_the_trees_byte_budget(tmp_path):
    """readpst writes 7 messages (67 KB) from this store; with 30 KB left it is cut there, the
    cut recorded, and what stays on disk fits the budget."""
    import shutil

    from archive.extractors import ExtractContext
    from archive.limits import TreeBudget, TreeLimits

    store = tmp_path / "mailbox.pst"
    shutil.copyfile(ROOT / "tests" / "fixtures" / "pst" / "tika-testPST.pst", store)
    whole = _extract(store, ExtractContext(workdir=tmp_path / "whole"))
    assert len(whole.children) == 7 and "limits" not in whole.metadata
    ctx = ExtractContext(workdir=tmp_path / "w", budget=TreeBudget(TreeLimits(bytes=30_000)))
    cut = _extract(store, ctx)
    assert cut.metadata["limits"].startswith(
        "Outlook store (.pst) expands past the byte budget of the archive tree (30000 bytes left"
    )
    assert 0 < len(cut.children) < 7
    assert sum(c.path.stat().st_size for c in cut.children) <= 30_000
    assert sum(p.stat().st_size for p in (tmp_path / "w" / "pst").rglob("*") if p.is_file()) <= 30_000


def test_a_writer_past_the_budget_is_stopped_while_it_runs(tmp_path):
    """The watch stops a real process that keeps writing (as readpst on a huge store would)."""
    import time

    from archive.extractors.mail.pst import _tree_bytes, _watch

    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        ["sh", "-c", "i=0; while :; do i=$((i+1)); head -c 4096 /dev/zero > f$i; sleep 0.005; done"],
        cwd=out,
        start_new_session=True,
    )
    began = time.monotonic()
    assert _watch(proc, out, 200_000, 60, "Outlook store (.pst)") is True
    assert proc.returncode is not None and time.monotonic() - began < 30
    stopped_at = _tree_bytes(out)
    time.sleep(0.3)
    assert _tree_bytes(out) == stopped_at > 200_000  # nothing written after the stop
