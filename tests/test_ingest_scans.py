"""Scanned PDFs and images through the whole pipeline on real Tesseract."""

from __future__ import annotations

import unicodedata

import pytest

from archive import Archive, SearchQuery
from conftest import cer, corpus_file

pytestmark = pytest.mark.tesseract

SCANS = [
    "pdf-scanned/mineru_small_ocr.pdf",
    "pdf-scanned/ocrmypdf_cardinal.pdf",
    "pdf-scanned/ocrmypdf_skew.pdf",
    "pdf-scanned/kreuzberg_non_searchable.pdf",
    "pdf-scanned/kreuzberg_scanned.pdf",
    "pdf-scanned/pdfminer_175.pdf",
    "pdf-scanned/ingest-file_jbig2.pdf",
    "images/tesseract_phototest.tif",
    "images/tesseract_phototest-rotated-180.png",
    "images/kreuzberg_chi_sim_image.jpeg",
    "images/ingest-file_multipage_tiff_example.tif",
]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    root = tmp_path_factory.mktemp("scans")
    with Archive(root) as a:
        report = a.ingest([corpus_file(rel) for rel in SCANS], collection="scans")
        yield a, report


def _doc(archive, name):
    (row,) = archive.store.documents("filename=?", (name,))
    return archive.document(row["id"], with_words=True)


def _text(doc):
    return "\n".join(p["text"] for p in doc["pages"])


def test_every_scan_ingested(scanned):
    _, report = scanned
    assert report.failures == [] and report.ingested == len(SCANS)


def test_chinese_book_scan(scanned):
    archive, _ = scanned
    doc = _doc(archive, "mineru_small_ocr.pdf")
    assert doc["page_count"] == 8
    assert doc["lang"] == "zh-Hans"
    assert all(p["ocr"] and p["lang"] == "zh-Hans" for p in doc["pages"])
    first = doc["pages"][0]
    assert "使用价值" in first["text"] or "交换价值" in first["text"]
    assert first["dpi"] == pytest.approx(96, abs=2)  # rendered at the scan's own resolution
    assert first["confidence"] > 50
    # Running heads alternate between the part and the chapter title.
    heads = sum(("商品和货币" in p["text"]) or ("第一章" in p["text"]) for p in doc["pages"])
    assert heads >= 6
    hits = archive.search(SearchQuery("价值", filters={"lang": ["zh"]}))
    assert any(h.filename == "mineru_small_ocr.pdf" for h in hits.hits)


def test_rotated_pages_are_turned_upright(scanned):
    archive, _ = scanned
    doc = _doc(archive, "ocrmypdf_cardinal.pdf")
    assert doc["page_count"] == 4
    rotations = []
    for page in doc["pages"]:
        assert "LinnSequencer32TrackMIDISequenceRecorder" in "".join(page["text"].split())
        rotations.append(page["meta"]["ocr"]["rotation"])
    # MANIFEST: OSD orientations 0, 90, 180, 270; ours is the clockwise turn that makes each upright.
    assert rotations == [0, 270, 180, 90]


def test_skewed_and_image_only_pages(scanned):
    archive, _ = scanned
    assert "LinnSequencer" in _text(_doc(archive, "ocrmypdf_skew.pdf")).replace(" ", "")
    assert "This is an example of a non-text-searchable PDF" in " ".join(
        _text(_doc(archive, "kreuzberg_non_searchable.pdf")).split()
    )
    grumman = _text(_doc(archive, "pdfminer_175.pdf"))
    assert "GRUMMAN" in grumman and "December 20, 1974" in grumman
    jbig2 = _doc(archive, "ingest-file_jbig2.pdf")
    assert jbig2["page_count"] == 5 and "JBIG2" in jbig2["pages"][0]["text"]


def test_scanner_ocr_layer_is_redone(scanned):
    archive, _ = scanned
    page = _doc(archive, "kreuzberg_scanned.pdf")["pages"][0]
    assert page["ocr"] and "SUNivors" in page["meta"]["text_layer"]
    assert "STATE UNIVERSITIES ANNUITANTS ASSOCIATION" in page["text"]
    assert "survivors" in page["text"].lower()


def test_images_against_ground_truth(scanned, corpus):
    archive, _ = scanned
    gold = (corpus / "images/tesseract_phototest.gold.txt").read_text()
    for name in ("tesseract_phototest.tif", "tesseract_phototest-rotated-180.png"):
        doc = _doc(archive, name)
        assert doc["kind"] == "image" and doc["lang"] == "en"
        assert cer(gold, _text(doc)) < 0.05
    zh = _doc(archive, "kreuzberg_chi_sim_image.jpeg")
    assert zh["lang"] == "zh-Hans"
    text = "".join(unicodedata.normalize("NFKC", _text(zh)).split())
    for fragment in ("新鲜甘草黄酮养分", "适用人群：适合任何肌肤", "希望美白的皮肤。"):
        fragment = unicodedata.normalize("NFKC", fragment)
        n = len(fragment)
        best = min(cer(fragment, text[i : i + n]) for i in range(max(1, len(text) - n + 1)))
        assert best <= 0.15, (fragment, text)


def test_multipage_tiff_and_word_boxes(scanned):
    archive, _ = scanned
    tiff = _doc(archive, "ingest-file_multipage_tiff_example.tif")
    assert tiff["page_count"] > 1 and all(p["ocr"] for p in tiff["pages"])
    photo = _doc(archive, "tesseract_phototest.tif")["pages"][0]
    words = {w[0]: w for w in photo["words"]}
    assert "quick" in words
    _, left, top, width, height, conf = words["quick"]
    assert 0 <= left < left + width <= photo["width"] and 0 <= top < top + height <= photo["height"]
    assert conf > 50


def test_mandarin_email_printout_found_by_two_character_words(tmp_path):
    """A scanned English/Mandarin email chain, rendered here with a CJK font, OCR'd and searched."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
    from make_sample import EMAIL_CHAIN_PAGES, render_page, save_pdf

    pdf = tmp_path / "printout.pdf"
    save_pdf([render_page(p, noisy=i == 1, seed=7) for i, p in enumerate(EMAIL_CHAIN_PAGES)], pdf)
    with Archive(tmp_path / "a") as archive:
        archive.ingest([pdf])
        doc = archive.document(archive.store.documents()[0]["id"])
        assert [p["ocr"] for p in doc["pages"]] == [True, True]
        assert doc["pages"][1]["lang"] == "zh-Hans"
        assert "Joint research agreement" in doc["pages"][0]["text"]
        for word in ("海洋", "基地", "协议"):
            hits = archive.search(SearchQuery(word))
            assert [h.page for h in hits.hits] and hits.hits[0].page == 2, word
            assert f"<mark>{word}</mark>" in hits.hits[0].snippet


def test_a_short_scan_is_stored_before_a_longer_one_begun_earlier(archive):
    """Documents are finished as their OCR ends, not in the order they were begun: the one-page
    scan behind a five-page one is stored first, and both end complete."""
    long_scan, short_scan = (
        corpus_file("pdf-scanned/ingest-file_jbig2.pdf"),
        corpus_file("images/tesseract_phototest.tif"),
    )
    order: list[str] = []
    report = archive.ingest([long_scan, short_scan], progress=lambda path: order.append(path.name))
    assert order == [short_scan.name, long_scan.name]
    assert [archive.document(d)["filename"] for d in report.documents] == [long_scan.name, short_scan.name]
    assert report.ingested == 2 and not report.failed
    (long_row,) = archive.store.documents("filename=?", (long_scan.name,))
    assert [p["number"] for p in archive.document(long_row["id"])["pages"]] == [1, 2, 3, 4, 5]
    assert (
        long_row["id"] < archive.store.documents("filename=?", (short_scan.name,))[0]["id"]
    )  # ids keep the file order


def test_a_broken_pool_fails_that_document_and_the_ingest_goes_on(archive, pool_breaks_after_first_pages):
    """Its later pages can't be started (a worker died): that document is recorded as failed at
    the OCR stage, with the reason, and the next file is still stored."""
    long_scan, short_scan = (
        corpus_file("pdf-scanned/ingest-file_jbig2.pdf"),
        corpus_file("images/tesseract_phototest.tif"),
    )
    report = archive.ingest([long_scan, short_scan])
    assert report.ingested == 1 and report.failed == {"ocr": 1}
    (failure,) = report.failures
    assert (
        failure["path"] == long_scan.name
        and failure["stage"] == "ocr"
        and "a worker died" in failure["reason"]
    )
    (short_row,) = archive.store.documents("filename=?", (short_scan.name,))
    assert (
        short_row["status"] == "done" and "quick brown dog" in archive.store.pages(short_row["id"])[0]["text"]
    )
