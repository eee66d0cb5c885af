"""Turned pages: turned in the pixels, by the PDF's /Rotate, or both; and pages whose first reading
is poor, which always get OSD and a turned pass whatever the ink profile said."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from archive import Archive, SearchQuery
from conftest import cer, corpus_file

pytestmark = pytest.mark.tesseract

PHOTOTEST = "images/tesseract_phototest.tif"
# (turn of the pixels, /Rotate), both clockwise: alone, then combined (the last two cancel out).
CASES = [(90, 0), (180, 0), (270, 0), (0, 90), (0, 180), (0, 270), (90, 90), (180, 270), (90, 270)]


def _turned(image: Image.Image, degrees: int) -> Image.Image:
    """`image` turned `degrees` clockwise."""
    return image.rotate(-degrees, expand=True) if degrees else image.copy()


def _pdf_with_turns(path: Path, cases: list[tuple[int, int]]) -> None:
    """One page per case: the corpus scan turned in its pixels, then /Rotate set on the page."""
    page = Image.open(corpus_file(PHOTOTEST)).convert("L")
    images = [_turned(page, pixels) for pixels, _ in cases]
    plain = path.with_suffix(".plain.pdf")
    images[0].save(plain, "PDF", resolution=200.0, save_all=True, append_images=images[1:])
    pdf = pdfium.PdfDocument(str(plain))
    try:
        for i, (_, rotate) in enumerate(cases):
            pdf[i].set_rotation(rotate)
        pdf.save(str(path))
    finally:
        pdf.close()


def test_pages_turned_by_rotate_and_in_the_pixels_are_read_upright(tmp_path):
    pdf = tmp_path / "turned.pdf"
    _pdf_with_turns(pdf, CASES)
    assert [pdfium.PdfDocument(str(pdf))[i].get_rotation() for i in range(len(CASES))] == [
        r for _, r in CASES
    ]
    gold = corpus_file("images/tesseract_phototest.gold.txt").read_text()
    with Archive(tmp_path / "a", config={"ocr_workers": 2}) as archive:
        report = archive.ingest([pdf])
        assert report.failures == []
        doc = archive.document(archive.store.documents()[0]["id"], with_words=True)
        assert doc is not None and doc["page_count"] == len(CASES)
        for page, (pixels, rotate) in zip(doc["pages"], CASES, strict=True):
            shown = (pixels + rotate) % 360  # how the page is rendered: both turns applied
            assert page["meta"]["ocr"]["rotation"] == (360 - shown) % 360, (pixels, rotate)
            assert cer(gold, page["text"]) < 0.05, (pixels, rotate, page["text"])
            assert page["lang"] == "en"
            # Word boxes are on the page as rendered: a sideways page is taller than wide (the
            # scan itself is wider than tall).
            assert (page["width"] < page["height"]) == (shown in (90, 270))
            quick = next(w for w in page["words"] if w[0] == "quick")
            assert 0 <= quick[1] < quick[1] + quick[3] <= page["width"]
        hits = archive.search(SearchQuery('"quick brown dog"'))
        assert sorted(h.page for h in hits.hits) == list(range(1, len(CASES) + 1))


class _Calls:
    """Tesseract runs (kind, languages) made by one in-process reading."""

    def __init__(self, monkeypatch):
        import pytesseract

        self.log: list[tuple[str, str]] = []
        data, osd = pytesseract.image_to_data, pytesseract.image_to_osd

        def traced_data(path, lang=None, **kw):
            self.log.append(("data", lang))
            return data(path, lang=lang, **kw)

        def traced_osd(path, **kw):
            self.log.append(("osd", ""))
            return osd(path, **kw)

        monkeypatch.setattr(pytesseract, "image_to_data", traced_data)
        monkeypatch.setattr(pytesseract, "image_to_osd", traced_osd)


def _page_file(tmp_path: Path, degrees: int) -> str:
    out = tmp_path / f"page-{degrees}.png"
    _turned(Image.open(corpus_file(PHOTOTEST)).convert("L"), degrees).save(out)
    return str(out)


def test_wrong_sideways_guess_reads_poorly_then_osd_turns_it(tmp_path, monkeypatch):
    """The ink profile picks the wrong way round for a sideways page (the case of a scan whose
    /Rotate left it sideways, read upside down at confidence 35): OSD, then the turned pass."""
    import ocr.tesseract as t

    monkeypatch.setattr(t._Page, "sideways_turn", lambda self: 90)  # the page needs 270
    calls = _Calls(monkeypatch)
    result = t._recognize_file(_page_file(tmp_path, 90), None, ("eng",))
    assert result.rotation == 270 and "quick brown dog" in result.text
    assert calls.log == [("data", "eng"), ("osd", ""), ("data", "eng")]


def test_upside_down_page_the_profile_calls_upright_gets_the_turned_pass_without_osd(tmp_path, monkeypatch):
    """Neither the ink profile nor OSD sees the page is upside down (OSD declines, as on a page
    with little text): the reading is poor, so the page is read half round too, and that wins."""
    import ocr.tesseract as t
    from ocr.geometry import LineProfile

    monkeypatch.setattr(t._Page, "profile", lambda self, rotation=0: LineProfile(40, 0.5, 0.7))
    monkeypatch.setattr(t._Page, "osd", lambda self: (0, ""))
    calls = _Calls(monkeypatch)
    result = t._recognize_file(_page_file(tmp_path, 180), None, ("eng",))
    assert result.rotation == 180 and "quick brown dog" in result.text and result.confidence > 80
    assert calls.log == [("data", "eng"), ("data", "eng")]
    # Its boxes are on the page as given: the first line sits at the bottom.
    quick = next(w for w in result.words if w.text == "quick")
    assert quick.top > result.height / 2


def test_fixed_languages_still_turn_pages(tmp_path):
    """With the languages set (`ocr_languages`), turned pages are still turned."""
    from ocr import TesseractEngine

    engine = TesseractEngine(cache_dir=tmp_path / "cache", workers=2)
    try:
        results = engine.recognize_many(
            [_page_file(tmp_path, 90), _page_file(tmp_path, 180)], languages=["eng"]
        )
    finally:
        engine.close()
    assert [r.rotation for r in results] == [270, 180]
    assert all("quick brown dog" in r.text and r.languages == "eng" for r in results)


def test_a_good_first_reading_pays_no_osd(tmp_path, monkeypatch):
    """The rule costs nothing on pages that read well: one pass, no OSD."""
    from ocr.tesseract import _recognize_file

    calls = _Calls(monkeypatch)
    result = _recognize_file(_page_file(tmp_path, 0), None, ("eng",))
    assert result.rotation == 0 and result.confidence > 80
    assert calls.log == [("data", "eng")]


def test_dictionary_words_tell_a_reading_from_scraps():
    from ocr.words import dictionary_words

    good = dictionary_words(corpus_file("images/tesseract_phototest.gold.txt").read_text())
    assert good.share > 0.9
    assert dictionary_words("ee ttlnaq oe Srsqweu Hhtaz jnnpqo").share < 0.2
    # Chinese: characters inside words of jieba's dictionary.
    assert dictionary_words("研究所将于下个月完成水下声学测试").share > 0.8
    assert dictionary_words("究将下于所月个成完试测学声水下").share < 0.5
