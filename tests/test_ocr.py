"""The ocr package on its own: rendering, orientation, deskew, languages, cache, errors."""

from __future__ import annotations

import time
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from conftest import cer, corpus_file
from ocr import OCR_FORMAT, OcrError, TesseractEngine, native_dpi, render_pdf_page, usable_dpi
from ocr.geometry import deskew, estimate_skew, line_profile, unrotate_box

pytestmark = pytest.mark.tesseract


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    eng = TesseractEngine(cache_dir=tmp_path_factory.mktemp("ocr-cache"), workers=2)
    yield eng
    eng.close()


def test_native_resolution_of_scans():
    assert native_dpi(corpus_file("pdf-scanned/mineru_small_ocr.pdf"), 0) == 96
    assert native_dpi(corpus_file("pdf-scanned/pdfminer_175.pdf"), 0) == 200
    assert native_dpi(corpus_file("pdf-scanned/kreuzberg_image_only_german_pdf.pdf"), 0) == 150
    page = render_pdf_page(corpus_file("pdf-scanned/mineru_small_ocr.pdf"), 0)
    assert (page.dpi, page.width, page.height) == (96, 1634, 2400)
    assert page.png.startswith(b"\x89PNG")


def test_pages_go_to_tesseract_as_packbits_tiff_with_the_same_pixels_and_resolution(tmp_path):
    pdf = corpus_file("pdf-scanned/ocrmypdf_skew.pdf")
    png, tiff = render_pdf_page(pdf, 0), render_pdf_page(pdf, 0, image_format=OCR_FORMAT)
    with Image.open(BytesIO(tiff.data)) as im:
        assert (im.format, im.info["compression"], im.info["dpi"]) == ("TIFF", "packbits", (293, 293))
        assert im.tobytes() == Image.open(BytesIO(png.png)).tobytes()  # lossless: the same page
    with pytest.raises(ValueError):
        tiff.png  # noqa: B018
    # A frame of a multi-page TIFF keeps its resolution on the way to Tesseract.
    from archive.steps import _image_frame

    frames = tmp_path / "two.tif"
    first = Image.open(BytesIO(png.png))
    first.save(frames, save_all=True, append_images=[first.rotate(180)], dpi=(293, 293))
    with Image.open(BytesIO(_image_frame(frames, 1))) as frame:  # type: ignore[arg-type]
        assert frame.format == "TIFF" and frame.info["dpi"] == (293, 293)
        assert frame.tobytes() == first.rotate(180).tobytes()
    # A frame that claims 1 dpi (what Pillow reports for a TIFF without a resolution) goes
    # without one, so Tesseract estimates it rather than being told 1 dpi.
    untagged = tmp_path / "untagged.tif"
    first.save(untagged, save_all=True, append_images=[first], dpi=(1, 1))
    with Image.open(untagged) as im:
        assert im.info["dpi"] == (1, 1) and usable_dpi(im.info["dpi"]) is None
    with Image.open(BytesIO(_image_frame(untagged, 1))) as frame:  # type: ignore[arg-type]
        assert frame.tag_v2.get(282) is None  # no XResolution tag written


def test_skew_is_measured_and_removed():
    page = render_pdf_page(corpus_file("pdf-scanned/ocrmypdf_skew.pdf"), 0)
    image = Image.open(BytesIO(page.png))
    angle = estimate_skew(image)
    assert abs(angle) > 1.0
    assert abs(estimate_skew(deskew(image, angle))) < 0.3


def test_boxes_map_back_through_rotation():
    # A box on the upright copy of a 100x50 image turned 90 degrees clockwise (so 50x100).
    assert unrotate_box(10, 20, 5, 8, 90, 100, 50) == (20, 35, 8, 5)
    assert unrotate_box(10, 20, 5, 8, 180, 100, 50) == (85, 22, 5, 8)
    assert unrotate_box(10, 20, 5, 8, 270, 100, 50) == (72, 10, 8, 5)


def test_rotated_image_with_boxes_on_the_original(engine):
    result = engine.recognize(corpus_file("images/tesseract_phototest-rotated-180.png"))
    gold = corpus_file("images/tesseract_phototest.gold.txt").read_text()
    assert result.rotation == 180 and result.languages == "eng"
    assert cer(gold, result.text) < 0.05
    quick = next(w for w in result.words if w.text == "quick")
    # On the original (upside-down) image the first line sits at the bottom.
    assert quick.top > result.height / 2


def test_linn_page_against_its_ground_truth(engine):
    result = engine.recognize(corpus_file("images/ocrmypdf_linn.png"))
    assert cer(corpus_file("images/ocrmypdf_linn.txt").read_text(), result.text) < 0.08
    assert result.confidence > 80


def test_chinese_chooses_chi_sim_without_spaces(engine):
    result = engine.recognize(corpus_file("images/rapidocr_test_letterbox_like.jpg"))
    assert result.languages == "chi_sim"
    assert "取决于所使用的执行提供者" in result.text and "CUDA" in result.text


def test_cache_serves_identical_pages_without_tesseract(engine, monkeypatch):
    data = corpus_file("images/tesseract_phototest.tif").read_bytes()
    first = engine.recognize(data)
    import ocr.tesseract as t

    def boom(*a, **k):
        raise AssertionError("tesseract ran on a cached page")

    monkeypatch.setattr(t.TesseractEngine, "_executor", boom)
    assert engine.recognize(data) == first


def test_results_keep_input_order(engine):
    images = [
        corpus_file("images/kreuzberg_chi_sim_image.jpeg"),
        corpus_file("images/tesseract_phototest.tif"),
    ]
    results = engine.recognize_many(images)
    assert "甘草" in results[0].text and "quick" in results[1].text


def test_clear_errors(engine, tmp_path):
    with pytest.raises(OcrError, match="language data missing: klingon"):
        engine.recognize(corpus_file("images/tesseract_phototest.tif"), languages=["klingon"])
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(OcrError, match="cannot read image"):
        engine.recognize(bad)


def test_traditional_chinese_page_is_read_with_chi_tra(engine, tmp_path):
    """chi_sim reads Traditional print confidently but in Simplified characters; chi_tra must win."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
    from make_sample import render_page, save_pdf

    pdf = tmp_path / "trad.pdf"
    lines = [
        "會議記錄",
        "我們討論了這個國家的發展與經濟問題。",
        "關於電話會議的時間，請儘快通知。",
        "這些資料將在下週寄給學院。",
    ]
    save_pdf([render_page(lines)], pdf)
    result = engine.recognize(render_pdf_page(pdf, 0).png)
    assert result.languages == "chi_tra"
    assert "這個國家的發展" in result.text


def test_simplified_book_scan_stays_chi_sim(engine):
    result = engine.recognize(render_pdf_page(corpus_file("pdf-scanned/mineru_small_ocr.pdf"), 0).png)
    assert result.languages == "chi_sim" and "价值" in result.text


@pytest.mark.parametrize(
    ("name", "bound"),
    # Measured here: 0.023 and 0.075 (the magazine page has two columns and small print).
    [("tesseract_eurotext", 0.05), ("tesseract_8087_054.3B", 0.11)],
)
def test_tiffs_against_their_ground_truth(engine, name, bound):
    result = engine.recognize(corpus_file(f"images/{name}.tif"))
    assert cer(corpus_file(f"images/{name}.txt").read_text(), result.text) < bound


def test_identical_pages_are_read_once(tmp_path):
    """Within a batch and across batches in flight, one Tesseract run per distinct image."""
    eng = TesseractEngine(cache_dir=tmp_path / "cache", workers=2)
    try:
        page = corpus_file("images/tesseract_phototest.tif").read_bytes()
        other = corpus_file("images/ocrmypdf_linn.png")
        first = eng.submit([page, page, other, page])
        second = eng.submit([page])  # started while the first batch still runs
        results = first.results() + second.results()
        assert eng.runs == 2
        assert results[0] == results[1] == results[3] == results[4]
        assert "quick brown dog" in results[0].text and "LinnSequencer" in results[2].text
        assert eng.recognize(page) == results[0] and eng.runs == 2  # now from the disk cache
    finally:
        eng.close()


def test_sideways_pages_are_seen_before_ocr():
    from ocr.geometry import sideways_score

    cardinal = corpus_file("pdf-scanned/ocrmypdf_cardinal.pdf")
    scores = [sideways_score(Image.open(BytesIO(render_pdf_page(cardinal, i).png))) for i in range(4)]
    assert [s > 4 for s in scores] == [False, True, False, True]
    # Upright pages with columns, tables, skew or Chinese stay well below.
    for rel in (
        "images/tesseract_8087_054.3B.tif",
        "images/tesseract_eurotext.tif",
        "images/pix2text_zh6.jpg",
    ):
        assert sideways_score(Image.open(corpus_file(rel))) < 2.5
    skewed = Image.open(BytesIO(render_pdf_page(corpus_file("pdf-scanned/ocrmypdf_skew.pdf"), 0).png))
    assert sideways_score(skewed) < 2.5


def test_rendering_from_many_threads_at_once():
    """PDFium is not thread-safe; the web app renders page images for concurrent requests."""
    from concurrent.futures import ThreadPoolExecutor

    pdf = corpus_file("pdf-scanned/ingest-file_jbig2.pdf")
    with ThreadPoolExecutor(8) as pool:
        pages = list(pool.map(lambda i: render_pdf_page(pdf, i % 5, dpi=50), range(40)))
    assert {p.index for p in pages} == set(range(5)) and all(p.png.startswith(b"\x89PNG") for p in pages)


def _page_image(rel: str, index: int = 0) -> Image.Image:
    return Image.open(BytesIO(render_pdf_page(corpus_file(rel), index).png))


def test_ink_profiles_tell_upright_upside_down_and_chinese():
    from ocr.geometry import line_profile

    latin = [
        _page_image("pdf-scanned/pdfminer_175.pdf"),
        _page_image("pdf-scanned/ocrmypdf_skew.pdf"),
        Image.open(corpus_file("images/tesseract_8087_054.3B.tif")),
        _page_image("pdf-scanned/ingest-file_jbig2.pdf"),
    ]
    for image in latin:
        assert line_profile(image).upright_latin()
        assert line_profile(image.rotate(180, expand=True)).upside_down_latin()
    # Chinese fills its lines: never taken for Latin print either way up.
    chinese = _page_image("pdf-scanned/mineru_small_ocr.pdf")
    for image in (chinese, chinese.rotate(180, expand=True)):
        profile = line_profile(image)
        assert profile.lines > 100 and profile.core >= 0.82 and not profile.latin_like()
    # Four big words (upright, yet their profile leans the wrong way) are too few to judge.
    heading = line_profile(Image.open(corpus_file("images/ingest-file_multipage_tiff_example.tif")))
    assert heading.asymmetry < -0.2 and not heading.upside_down_latin()


class _Calls:
    """Tesseract runs made by one in-process `_recognize_file` call (the pool's workers run the same)."""

    def __init__(self, monkeypatch):
        import pytesseract

        self.log: list[tuple[str, str, str]] = []
        data, osd = pytesseract.image_to_data, pytesseract.image_to_osd

        def traced_data(path, lang=None, **kw):
            self.log.append(("data", lang, Path(path).name.split("-")[0]))
            return data(path, lang=lang, **kw)

        def traced_osd(path, **kw):
            self.log.append(("osd", "", ""))
            return osd(path, **kw)

        monkeypatch.setattr(pytesseract, "image_to_data", traced_data)
        monkeypatch.setattr(pytesseract, "image_to_osd", traced_osd)


def _write_page(tmp_path, rel: str, index: int) -> str:
    out = tmp_path / f"{Path(rel).stem}-{index}.png"
    out.write_bytes(render_pdf_page(corpus_file(rel), index).png)
    return str(out)


def test_turned_pages_are_read_once_upright(tmp_path, monkeypatch):
    """Upside-down and sideways Latin pages: the ink profiles say which way, one pass, no OSD."""
    from ocr.tesseract import _recognize_file

    calls = _Calls(monkeypatch)
    for index, turn in ((1, 270), (2, 180), (3, 90)):
        calls.log.clear()
        result = _recognize_file(
            _write_page(tmp_path, "pdf-scanned/ocrmypdf_cardinal.pdf", index), None, ("eng",)
        )
        assert result.rotation == turn and "LinnSequencer" in result.text.replace(" ", "")
        assert calls.log == [("data", "eng", "prep")]


def test_first_chinese_page_pays_one_pass_and_a_band(tmp_path, monkeypatch):
    """The page that chooses a document's languages: its lines are filled like Chinese, so one
    chi_sim pass with no OSD, and chi_tra on a band of middle lines only."""
    from ocr.tesseract import _recognize_file

    calls = _Calls(monkeypatch)
    result = _recognize_file(_write_page(tmp_path, "pdf-scanned/mineru_small_ocr.pdf", 0), None, None)
    assert result.languages == "chi_sim" and "价值" in result.text
    assert calls.log == [("data", "chi_sim", "mineru_small_ocr"), ("data", "chi_tra", "band")]


def test_first_chinese_page_upside_down_reads_poorly_then_asks_osd(tmp_path, monkeypatch):
    """The ink says Chinese but not which way up: read as it stands, a turned page reads poorly,
    so OSD turns it and the second pass is kept."""
    from ocr.tesseract import _recognize_file

    page = tmp_path / "turned-0.png"
    Image.open(BytesIO(render_pdf_page(corpus_file("pdf-scanned/mineru_small_ocr.pdf"), 0).png)).rotate(
        180
    ).save(page)
    calls = _Calls(monkeypatch)
    result = _recognize_file(str(page), None, None)
    assert (result.rotation, result.languages) == (180, "chi_sim") and "价值" in result.text
    assert calls.log[:3] == [("data", "chi_sim", "turned"), ("osd", "", ""), ("data", "chi_sim", "prep")]


TRADITIONAL_MINUTES = """會議記錄：關於海洋感測器合作計畫
我們在會議上討論了這個國家的發展與經濟問題。
關於電話會議的時間，請儘快通知所有參加者。
這些資料將在下週寄給學院的研究部門。
學校與合作單位簽訂了新的研究協議。
雙方同意在明年開始進行實驗室測試。
負責人說明了經費與設備的安排。
所有報告必須在月底以前送交委員會。
請各位準備好下次會議需要的文件。
與會者對於技術轉讓的條件提出問題。
研究團隊將繼續與製造商保持聯絡。
這項計畫的進度會在每個月的會議中檢討。
關於出口管制的規定，法律顧問會再說明。
學院希望在夏天以前完成第一階段。
對方代表表示願意提供更多的資料。
會議結束前，主席感謝各位的參與。""".splitlines()


def test_long_traditional_page_is_chosen_on_a_band_then_read_with_chi_tra(tmp_path, monkeypatch):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
    from make_sample import render_page

    from ocr.tesseract import _recognize_file

    path = tmp_path / "minutes.png"
    render_page(TRADITIONAL_MINUTES, noisy=True, seed=3).save(path)
    calls = _Calls(monkeypatch)
    result = _recognize_file(str(path), None, None)
    assert result.languages == "chi_tra" and abs(result.skew) > 0.3  # the 'scan' is turned 0.8 degrees
    assert "技術轉讓的條件" in result.text and "出口管制的規定" in result.text
    assert calls.log == [
        ("data", "chi_sim", "prep"),
        ("data", "chi_tra", "band"),
        ("data", "chi_tra", "prep"),
    ]


TELEX = """PRIORITY 041530Z MAR 19
FROM BRITISH EMBASSY BEIJING
TO FOREIGN AND COMMONWEALTH OFFICE LONDON
SUBJECT UNIVERSITY RESEARCH PARTNERSHIP WITH SHIPBUILDING GROUP
1. THE UNIVERSITY INFORMED US TODAY OF A PROPOSED AGREEMENT
2. THE PARTNER IS A STATE OWNED DEFENCE CONTRACTOR
3. THE AGREEMENT COVERS UNDERWATER ACOUSTIC SENSORS
4. WE RECOMMEND AN EXPORT CONTROL REVIEW BEFORE SIGNATURE
5. THE VICE CHANCELLOR WILL VISIT THE INSTITUTE IN APRIL
6. PLEASE ADVISE ON THE LICENSING POSITION BY FRIDAY
7. COPIES TO MINISTRY OF DEFENCE AND CABINET OFFICE
8. NO FURTHER ACTION HAS BEEN TAKEN AT THIS STAGE
SMITH
ENDS""".splitlines()


def test_an_all_capitals_first_page_is_read_as_english(tmp_path, monkeypatch):
    """Capitals fill their lines as Chinese does, so a telex's ink looks Chinese: its chi_sim
    reading comes out Latin, so OSD is asked and the English reading kept."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
    from make_sample import render_page

    from ocr.tesseract import _recognize_file

    path = tmp_path / "telex.png"
    image = render_page(TELEX)
    assert line_profile(image).han_like()  # the case guarded here
    image.save(path)
    calls = _Calls(monkeypatch)
    result = _recognize_file(str(path), None, None)
    assert result.languages == "eng" and result.confidence > 85
    assert "EXPORT CONTROL REVIEW" in result.text and "UNDERWATER ACOUSTIC SENSORS" in result.text
    assert calls.log == [("data", "chi_sim", "telex.png"), ("osd", "", ""), ("data", "eng", "telex.png")]


def test_later_pages_fail_not_hang_when_the_pool_breaks(tmp_path, pool_breaks_after_first_pages):
    """A worker that dies (killed for memory, say) breaks the pool: the document's later pages
    fail with its error and the batch says it is done, so the ingest goes on."""
    engine = TesseractEngine(cache_dir=tmp_path / "cache", workers=1)
    pages = [_write_page(tmp_path, "pdf-scanned/ingest-file_jbig2.pdf", i) for i in range(2)]
    try:
        batch = engine.submit(pages)
        deadline = time.monotonic() + 60
        while not batch.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert batch.done() and not batch.running()
        with pytest.raises(OcrError, match="a worker died"):
            batch.results()
    finally:
        engine.close()


def test_a_fresh_pool_replaces_one_a_dead_worker_broke(tmp_path):
    import os
    import signal

    engine = TesseractEngine(workers=1)
    page = corpus_file("images/tesseract_phototest.tif")
    try:
        assert "quick brown dog" in engine.recognize(page).text
        pool = engine._pool
        for pid in list(pool._processes):  # type: ignore[union-attr]
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not pool._broken and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.05)
        assert pool._broken  # type: ignore[union-attr]
        assert "quick brown dog" in engine.recognize(page).text and engine._pool is not pool
    finally:
        engine.close()


def test_a_wrong_osd_answer_still_gets_the_plain_reading(tmp_path, monkeypatch):
    """A first page that doesn't look Latin asks OSD before reading; when OSD is wrong (here it
    says upside-down Chinese for an upright English heading) the page is read again upright in
    English, and that reading wins."""
    import ocr.tesseract as t

    monkeypatch.setattr(t._Page, "osd", lambda self: (180, "Han"))
    calls = _Calls(monkeypatch)
    frame = tmp_path / "heading.png"
    Image.open(corpus_file("images/ingest-file_multipage_tiff_example.tif")).convert("L").save(frame)
    result = t._recognize_file(str(frame), None, None)
    assert (result.rotation, result.languages) == (0, "eng")
    assert "Multipage" in result.text and "Example" in result.text
    assert [c[:2] for c in calls.log] == [("data", "chi_sim"), ("data", "eng")]


def test_middle_band_is_found_on_the_deskewed_rows():
    """Word boxes are on the page as given; the band is cut from the deskewed page, so word
    centres are turned level first (the inverse of the mapping that put them back)."""
    from ocr.geometry import map_point_back
    from ocr.tesseract import OcrResult, OcrWord, _middle_band

    width, height, skew = 1200, 1600, 2.0
    words = []
    for line in range(20):  # level lines on the deskewed page, every 60 px from y=100
        for col in range(10):
            x, y = 100 + col * 100, 100 + line * 60
            ox, oy = map_point_back(x, y, skew, width, height)  # where it sits on the skewed scan
            words.append(
                OcrWord("字", int(ox) - 20, int(oy) - 15, 40, 30, 90.0 if line in (8, 9, 10, 11) else 50.0)
            )
    result = OcrResult("", 0.0, words, "chi_sim", 0, skew, width, height)
    top, bottom, conf = _middle_band(result)
    # The middle fifth of 200 words is lines 8-11, centred on rows 580-760 once level (boxes
    # 30 px tall): rows 565-776. Turned the wrong way the centres scatter by up to 40 px.
    assert 561 <= top <= 568 and 773 <= bottom <= 780
    assert conf == 90.0
    back = map_point_back(*map_point_back(300.0, 400.0, skew, width, height), -skew, width, height)
    assert abs(back[0] - 300.0) < 1e-6 and abs(back[1] - 400.0) < 1e-6
