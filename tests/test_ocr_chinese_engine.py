"""The second OCR engine for Chinese (RapidOCR): the fallback on a hard page, its word boxes on
the characters, and the setting that chooses it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from archive import Archive, SearchQuery
from archive.cli import cli
from conftest import corpus_file

pytestmark = pytest.mark.tesseract

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
from hard_pages import TEXTURED_LINES, Glyph, textured_page  # noqa: E402

# Words of the textured page (two-character words are found by their jieba words).
WORDS = ("传感器", "声学测试", "出口管制", "签署协议", "经费预算")


@pytest.fixture(scope="module")
def textured(tmp_path_factory) -> tuple[Path, list[Glyph]]:
    image, glyphs = textured_page()
    path = tmp_path_factory.mktemp("hard") / "notice-textured.png"
    image.save(path)
    return path, glyphs


@pytest.fixture(scope="module")
def hard_archives(tmp_path_factory, textured):
    """The textured page ingested twice: with the default setting (auto) and Tesseract only."""
    path, _ = textured
    opened = {}
    for engine in ("auto", "tesseract"):
        archive = Archive(tmp_path_factory.mktemp(f"a-{engine}"), config={"ocr_chinese_engine": engine})
        report = archive.ingest([path])
        assert report.failures == [] and report.ingested == 1
        opened[engine] = archive
    yield opened
    for archive in opened.values():
        archive.close()


def _only_page(archive: Archive) -> dict:
    doc = archive.document(archive.store.documents()[0]["id"], with_words=True)
    assert doc is not None
    return doc["pages"][0]


def test_textured_chinese_page_is_read_by_rapidocr_and_found_by_search(hard_archives):
    archive = hard_archives["auto"]
    page = _only_page(archive)
    assert page["meta"]["ocr"]["engine"] == "rapidocr" and page["meta"]["ocr"]["languages"] == "chi_sim"
    assert page["lang"] == "zh-Hans"
    text = "".join(page["text"].split())
    for line in TEXTURED_LINES:  # at most one character of a line misread
        assert sum(a != b for a, b in zip(line, text[text.index(line[:2]) :], strict=False)) <= 1, line
    for word in WORDS:
        hits = archive.search(SearchQuery(word))
        assert [h.page for h in hits.hits] == [1], word
        assert f"<mark>{word}</mark>" in hits.hits[0].snippet


def test_tesseract_alone_misses_the_textured_page(hard_archives):
    """The same page with the setting `tesseract`: its words are not found, so the hits above came
    from RapidOCR's reading."""
    archive = hard_archives["tesseract"]
    page = _only_page(archive)
    assert page["meta"]["ocr"]["engine"] == "tesseract"
    for word in WORDS:
        assert archive.search(SearchQuery(word)).hits == [], word


def _centre_inside(box: list[float] | tuple[float, ...], glyph: Glyph, slack: int = 3) -> bool:
    left, top, width, height = box[:4]
    cx, cy = left + width / 2, top + height / 2
    gl, gt, gr, gb = glyph.box
    return gl - slack <= cx <= gr + slack and gt - slack <= cy <= gb + slack


def test_rapidocr_word_boxes_sit_on_the_characters(hard_archives, textured):
    """One box per Han character, in the page's pixels, centred on the glyph drawn there; and a
    search hit's box covers the characters of the word."""
    _, glyphs = textured
    archive = hard_archives["auto"]
    page = _only_page(archive)
    words = [w for w in page["words"] if len(w[0]) == 1 and "\u4e00" <= w[0] <= "\u9fff"]
    assert len(words) >= 60
    on_glyph = 0
    for word in words:
        # The glyph of the same character nearest to the box (a character can occur twice).
        same = [g for g in glyphs if g.char == word[0]]
        if same and any(_centre_inside(word[1:5], g) for g in same):
            on_glyph += 1
    assert on_glyph >= 0.9 * len(words), (on_glyph, len(words))
    # The hit box of a search word spans its glyphs, in percent of the page image.
    doc_id = archive.store.documents()[0]["id"]
    boxes = archive.page_highlights(doc_id, 1, "出口管制")
    assert boxes is not None and len(boxes["hits"]) == 1
    hit = boxes["hits"][0]
    width, height = boxes["width"], boxes["height"]
    line = next(i for i, text in enumerate(TEXTURED_LINES) if text.startswith("出口管制"))
    drawn = [g for g in glyphs if g.char in "出口管制"][:4]
    assert all(g.char == c for g, c in zip(drawn, "出口管制", strict=True)) and line == 2
    left, top = hit["left"] * width / 100, hit["top"] * height / 100
    right, bottom = left + hit["width"] * width / 100, top + hit["height"] * height / 100
    assert abs(left - drawn[0].box[0]) <= 8 and abs(right - drawn[-1].box[2]) <= 8
    assert top <= drawn[0].box[1] + 6 and bottom >= drawn[0].box[3] - 6


def test_clean_chinese_image_keeps_tesseract_in_auto_and_the_setting_is_honoured(tmp_path, monkeypatch):
    """A clean Chinese image reads well with Tesseract: `auto` never starts RapidOCR there;
    `rapidocr` reads it with RapidOCR; `tesseract` never does."""
    import ocr.rapid as rapid
    from ocr.tesseract import _recognize_file

    calls: list[int] = []
    read_lines = rapid.read_lines

    def counted(image):
        calls.append(1)
        return read_lines(image)

    monkeypatch.setattr(rapid, "read_lines", counted)
    image = str(corpus_file("images/kreuzberg_chi_sim_image.jpeg"))
    auto = _recognize_file(image, None, None, "auto")
    assert (auto.engine, auto.languages, calls) == ("tesseract", "chi_sim", [])
    chosen = _recognize_file(image, None, None, "rapidocr")
    assert chosen.engine == "rapidocr" and calls == [1]
    assert "新鲜甘草黄酮养分" in chosen.text and "适用人群" in chosen.text
    assert _recognize_file(image, None, None, "tesseract").engine == "tesseract" and calls == [1]
    with pytest.raises(Exception, match="unknown Chinese OCR engine"):
        _recognize_file(image, None, None, "paddle")


def test_english_pages_never_start_rapidocr(tmp_path, monkeypatch):
    import ocr.rapid as rapid
    from ocr.tesseract import _recognize_file

    def boom(image):
        raise AssertionError("RapidOCR ran on an English page")

    monkeypatch.setattr(rapid, "read_lines", boom)
    result = _recognize_file(str(corpus_file("images/tesseract_phototest.tif")), None, None, "rapidocr")
    assert result.engine == "tesseract" and "quick brown dog" in result.text


def test_setting_from_config_environment_and_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("FOI_OCR_CHINESE", "tesseract")
    with Archive(tmp_path / "env") as archive:
        assert archive.ocr_chinese_engine == "tesseract"
        assert archive.ocr_engine().chinese_engine == "tesseract"
    with Archive(tmp_path / "cfg", config={"ocr_chinese_engine": "rapidocr"}) as archive:
        assert archive.ocr_chinese_engine == "rapidocr"  # the setting wins over the environment
    monkeypatch.delenv("FOI_OCR_CHINESE")
    with Archive(tmp_path / "default") as archive:
        assert archive.ocr_chinese_engine == "auto"
    # `foi ingest --ocr-chinese-engine rapidocr` on a clean Chinese image: RapidOCR's reading.
    from click.testing import CliRunner

    root = tmp_path / "cli"
    result = CliRunner().invoke(
        cli,
        [
            "--archive",
            str(root),
            "ingest",
            "--ocr-chinese-engine",
            "rapidocr",
            str(corpus_file("images/kreuzberg_chi_sim_image.jpeg")),
        ],
    )
    assert result.exit_code == 0, result.output
    with Archive(root) as archive:
        page = _only_page(archive)
        assert page["meta"]["ocr"]["engine"] == "rapidocr" and "甘草" in page["text"]
        assert archive.search(SearchQuery("甘草")).hits
