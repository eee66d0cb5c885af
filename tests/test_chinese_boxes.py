"""Hit boxes on Chinese OCR pages sit on their characters (issue #20: they were about half a
character to the right). A line of Chinese is drawn with known glyph positions, read by the real
Tesseract, and the box of a two-character hit is compared with the glyphs' ink."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from archive import Archive
from archive.highlights import ocr_character_boxes

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
LINE = "我们在军事基地附近讨论了海洋数据"


def draw_line(path, size: int = 48, pitch: int = 60, x0: int = 60) -> dict[str, tuple[int, int]]:
    """The line drawn one character per `pitch` pixels; {character: (left, right) of its cell}."""
    font = ImageFont.truetype(FONT, size)
    img = Image.new("L", (x0 * 2 + pitch * len(LINE), size * 4), 255)
    draw = ImageDraw.Draw(img)
    cells = {}
    for i, ch in enumerate(LINE):
        x = x0 + i * pitch
        draw.text((x, size * 1.5), ch, font=font, fill=0)
        left, _, right, _ = draw.textbbox((x, size * 1.5), ch, font=font)
        cells[ch] = (left, right)
    img.save(path, dpi=(300, 300))
    return cells


def test_runs_of_chinese_words_become_even_character_boxes():
    words = [
        ["我们", 62, 10, 100, 50, 90.0],
        ["海洋", 180, 10, 140, 50, 80.0],
        ["CETC", 340, 12, 90, 46, 95.0],
        ["数据", 62, 100, 118, 50, 85.0],  # the next line
    ]
    boxes = ocr_character_boxes(words)
    assert [b[0] for b in boxes] == ["我", "们", "海", "洋", "CETC", "数", "据"]
    assert [b[1] for b in boxes[:4]] == [62, 126.5, 191, 255.5]  # 258 px over 4 characters
    assert all(b[3] == 64.5 for b in boxes[:4]) and boxes[4] == words[2]
    assert boxes[5][1:4] == [62, 100, 59]


@pytest.mark.tesseract
def test_chinese_hit_box_sits_on_its_characters(tmp_path):
    path = tmp_path / "line.png"
    cells = draw_line(path)
    with Archive(tmp_path / "archive") as a:
        a.ingest([path])
        doc = a.store.documents()[0]
        page = a.page(doc["id"], 1)
        assert page["ocr"] and "海洋" in page["text"]
        hits = a.page_highlights(doc["id"], 1, "海洋")["hits"]
    assert len(hits) == 1
    left = hits[0]["left"] * page["width"] / 100
    right = left + hits[0]["width"] * page["width"] / 100
    (ink_left, _), (_, ink_right) = cells["海"], cells["洋"]
    # Within a sixth of a character of the ink on both sides (it was a third to a half off).
    assert abs(left - ink_left) <= 10 and abs(right - ink_right) <= 10, (left, right, ink_left, ink_right)
