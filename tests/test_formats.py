"""Issue 19: every format a disclosure holds, through the real pipeline. A mixed folder of one
file of each format (made by scripts/make_format_fixtures.py with LibreOffice itself,
python-docx, openpyxl, py7zr, 7z, djvulibre), the corpus's real office files and a real PST:
each format's own text found by search in a hit from that file, page counts, a spreadsheet hit
naming sheet and row, office metadata stored and shown, no XML part ever a document."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from archive.extractors import make_source
from archive.models import Source, StageError, public_reason
from archive.search.base import SearchQuery
from conftest import corpus_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from make_format_fixtures import make_all  # noqa: E402

PST = Path(__file__).parent / "fixtures" / "pst" / "dist-list.pst"
pytestmark = pytest.mark.slow  # LibreOffice converts about a dozen files (~1.3 s each)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    from archive import Archive

    folder = tmp_path_factory.mktemp("mixed") / "release"
    phrases = make_all(folder)
    # The corpus's real office files (its .doc and .rtf are covered by the generated ones).
    for name in (
        "tika_testComment.docx",
        "tika_testFooter.odt",
        "tika_testPPT.pptx",
        "tika_testMSChart-govdocs-428996.ppt",
        "tika_testEXCEL_labels-govdocs-515858.xls",
        "tika_test-columnar.ods",
    ):
        shutil.copyfile(corpus_file(f"office/{name}"), folder / name)
    shutil.copyfile(PST, folder / "mailbox.pst")
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 this is not really a zip")
    root = tmp_path_factory.mktemp("mixed-archive")
    with Archive(root) as a:
        report = a.ingest([folder], collection="release")
        yield a, report, phrases


def _top(archive, filename):
    docs = archive.store.documents("filename=? AND parent_id IS NULL", (filename,))
    assert docs, filename
    return archive.document(docs[0]["id"])


def _hits(archive, text):
    return archive.search(SearchQuery(text=text, limit=50)).hits


def _in_tree(archive, doc_id, hit_doc):
    """Whether `hit_doc` is `doc_id` or one of its descendants."""
    while hit_doc is not None:
        if hit_doc == doc_id:
            return True
        hit_doc = archive.store.document(hit_doc)["parent_id"]
    return False


def test_every_file_ingested_with_its_text_or_failed_precisely(mixed):
    archive, report, phrases = mixed
    failures = {f["path"]: f for f in report.failures}
    # The only failure is the file that is genuinely broken, with a reason naming what it is.
    assert set(failures) == {"broken.docx"}, failures
    assert "zip" in failures["broken.docx"]["reason"]
    for filename, phrase in phrases.items():
        if not phrase:
            continue
        doc = _top(archive, filename)
        assert doc["status"] == "done", (filename, doc["error_reason"])
        hits = _hits(archive, f'"{phrase}"')
        assert any(_in_tree(archive, doc["id"], h.doc_id) for h in hits), (filename, phrase)


def test_no_xml_part_of_an_office_file_becomes_a_document(mixed):
    archive, _, _ = mixed
    for filename in (
        "letter.docx",
        "budget.xlsx",
        "letter.odt",
        "tika_testPPT.pptx",
        "tika_test-columnar.ods",
    ):
        doc = _top(archive, filename)
        assert doc["kind"] in {"office", "spreadsheet"}, filename
        assert not [c for c in doc["children"] if c["filename"].endswith((".xml", ".rels"))]
    assert not archive.store.documents("filename LIKE '%document.xml' OR filename LIKE '%manifest.xml'", ())


def test_office_pages_come_from_the_libreoffice_pdf(mixed):
    archive, _, _ = mixed
    docx = _top(archive, "letter.docx")
    assert docx["page_count"] == 2  # the page break
    assert _top(archive, "tika_testFooter.odt")["page_count"] == 2
    assert _top(archive, "tika_testPPT.pptx")["page_count"] == 3  # a slide a page
    page = archive.page(docx["id"], 1)
    assert any(w[0] == "dredging" for w in page["words"])  # hit boxes on the PDF's words
    png = archive.page_image(archive.document_record(docx["id"]), 1)
    assert png.startswith(b"\x89PNG")
    assert docx["metadata"]["rendition"]["pdf"]


def test_office_metadata_stored_shown_and_searchable(mixed):
    archive, _, _ = mixed
    docx = _top(archive, "letter.docx")
    office = docx["metadata"]["office"]
    assert office["author"] == "Alice Harbourmaster"
    assert office["last_modified_by"] == "Bob Reviewer"
    assert office["revision"] == "7"
    assert docx["date"] == "2013-12-23T23:15:00Z"  # its creation date (python-docx's template), in UTC
    assert _top(archive, "meeting.ics")["date"] == "2024-03-05T14:00:00Z"
    comment = _top(archive, "tika_testComment.docx")["metadata"]["office"]
    assert comment["comments"] == [{"author": "Michael McCandless", "text": "Here is a comment"}]
    xls = _top(archive, "tika_testEXCEL_labels-govdocs-515858.xls")["metadata"]["office"]
    assert xls["company"] == "USDA Economic Research Service"
    assert any(h.doc_id == docx["id"] for h in _hits(archive, "Harbourmaster"))
    assert any(h.filename == "tika_testComment.docx" for h in _hits(archive, '"Here is a comment"'))
    from web import create_app

    app = create_app({"ARCHIVE_DIR": str(archive.root), "TESTING": True})
    html = app.test_client().get(f"/documents/{docx['id']}").get_data(as_text=True)
    assert "Last modified by" in html and "Bob Reviewer" in html
    assert f"/documents/{docx['id']}/pages/1.png" in html
    xlsx = _top(archive, "budget.xlsx")
    html = app.test_client().get(f"/documents/{xlsx['id']}").get_data(as_text=True)
    assert "Sheet 2, rows 1–14" in html and "Carol Treasurer" in html
    ppt = _top(archive, "tika_testMSChart-govdocs-428996.ppt")
    assert (
        "Thin Film Partnership" in ppt["pages"][0]["text"] and ppt["metadata"]["office"]["company"] == "NREL"
    )


def test_spreadsheet_hit_names_sheet_and_row(mixed):
    archive, _, _ = mixed
    hits = _hits(archive, '"coastal defence grant"')
    hit = next(h for h in hits if h.filename == "budget.xlsx")
    assert "Sheet 2, row 14" in hit.snippet.replace("<mark>", "").replace("</mark>", "")
    page = archive.page(hit.doc_id, hit.page)
    assert page["meta"]["sheet"] == "Sheet 2" and page["meta"]["rows"][0] <= 14 <= page["meta"]["rows"][1]
    ods = _top(archive, "tika_test-columnar.ods")
    assert "This is row 0 of 10" in ods["pages"][0]["text"]


def test_containers_pst_and_records(mixed):
    archive, _, _ = mixed
    split = _top(archive, "split.7z.001")
    assert split["metadata"]["archive"]["volumes"] == 3
    assert [c["filename"] for c in split["children"]] == ["parking.txt"]
    assert _top(archive, "split.7z.002")["status"] == "done"  # noted as a part, not a failure
    pst = _top(archive, "mailbox.pst")
    names = sorted(c["filename"] for c in pst["children"])
    assert names == ["Personal Folders/Calendar/1.ics", "Personal Folders/Contacts/1.vcf"]
    assert any(_in_tree(archive, pst["id"], h.doc_id) for h in _hits(archive, '"Test appointment"'))
    assert any(_in_tree(archive, pst["id"], h.doc_id) for h in _hits(archive, "contact1@rjohnson.id.au"))
    vcf = _top(archive, "contacts.vcf")
    assert vcf["metadata"]["contacts"][0]["org"] == ["Port Authority"]
    ics = _top(archive, "meeting.ics")
    assert ics["metadata"]["events"][0]["location"] == ["Town Hall"]
    wav = _top(archive, "voicemail.wav")
    assert wav["status"] == "done" and wav["kind"] == "audio"
    assert "no text" in wav["metadata"]["no_text"] and wav["metadata"]["media"]["seconds"] == 1.0
    djvu = _top(archive, "scan.djvu")
    assert djvu["page_count"] == 1 and archive.page_image(archive.document_record(djvu["id"]), 1)


def test_encrypted_office_file_needs_a_password(tmp_path):
    import msoffcrypto
    from msoffcrypto.format.ooxml import OOXMLFile

    from archive import Archive

    make_all_docx = tmp_path / "plain.docx"
    import docx

    d = docx.Document()
    d.add_paragraph("Locked memo about the pension fund deficit.")
    d.save(str(make_all_docx))
    locked = tmp_path / "in" / "locked.docx"
    locked.parent.mkdir()
    with open(make_all_docx, "rb") as src, open(locked, "wb") as out:
        OOXMLFile(src).encrypt("s3cret", out)
    with open(locked, "rb") as fh:
        assert msoffcrypto.OfficeFile(fh).is_encrypted()
    with Archive(tmp_path / "a") as a:
        report = a.ingest([locked], collection="c")
        assert report.failures[0]["reason"].startswith("encrypted Office document: password required")
    with Archive(tmp_path / "b") as a:
        a.ingest([locked], collection="c", passwords=("wrong", "s3cret"))
        doc = _top(a, "locked.docx")
        assert doc["status"] == "done" and doc["metadata"]["office"]["decrypted"] is True
        assert any(h.doc_id == doc["id"] for h in _hits(a, '"pension fund deficit"'))


@pytest.mark.tesseract
def test_pictures_inside_an_office_file_are_ocrd(tmp_path):
    import docx
    from PIL import Image, ImageDraw, ImageFont

    from archive import Archive

    picture = tmp_path / "scan.png"
    im = Image.new("L", (1400, 200), 255)
    font = ImageFont.load_default(size=56)
    ImageDraw.Draw(im).text((30, 60), "Tidal barrier maintenance schedule", fill=0, font=font)
    im.save(picture, dpi=(300, 300))
    d = docx.Document()
    d.add_paragraph("A letter with a scanned note pasted in.")
    d.add_picture(str(picture))
    d.save(str(tmp_path / "pasted.docx"))
    with Archive(tmp_path / "a") as a:
        a.ingest([tmp_path / "pasted.docx"], collection="c")
        doc = _top(a, "pasted.docx")
        assert [c["kind"] for c in doc["children"]] == ["image"]
        hits = _hits(a, '"tidal barrier"')
        assert [h.doc_id for h in hits] == [doc["children"][0]["id"]]


def test_office_files_are_told_by_content_whatever_their_name(tmp_path):
    misnamed = tmp_path / "attachment.zip"
    shutil.copyfile(corpus_file("office/tika_testComment.docx"), misnamed)
    assert make_source(misnamed).mime.endswith("wordprocessingml.document")
    ole = tmp_path / "report.bin"
    shutil.copyfile(corpus_file("office/tika_test.doc"), ole)
    assert make_source(ole).mime == "application/msword"


def test_failure_reasons_never_show_internal_paths(tmp_path):
    from archive import Archive

    bad = tmp_path / "photo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with Archive(tmp_path / "a") as a:
        report = a.ingest([bad], collection="c")
    reason = report.failures[0]["reason"]
    assert "originals" not in reason and str(tmp_path) not in reason and "photo.png" in reason
    source = Source(path=Path("/srv/foi/originals/87/81/8781ab"), filename="x.doc", mime="", head=b"")
    said = public_reason("cannot open '/srv/foi/originals/87/81/8781ab' (see /tmp/foi-x/y.pdf)", source)
    assert said == "cannot open 'x.doc' (see x.doc)"


def test_a_converter_overrun_is_a_clear_failure(tmp_path, monkeypatch):
    from archive.extractors.office.convert import OfficeConverter

    monkeypatch.setenv("FOI_OFFICE_TIMEOUT", "0.01")
    conv = OfficeConverter(tmp_path / "profile")
    with pytest.raises(StageError, match="LibreOffice took longer than 0.01 s"):
        conv.convert(
            corpus_file("office/tika_test.doc"), tmp_path / "out", "pdf", "Word 97-2003 document (.doc)"
        )
