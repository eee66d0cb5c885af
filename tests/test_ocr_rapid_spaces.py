"""RapidOCR runs Latin words together on small print ("ThePermanentSecretary"); ocr/rapid.py
parts them where the page shows a word space. On rendered English lines at 16 px (where the
recognizer itself drops nearly every space) and a mixed Chinese and English line."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr import rapid

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
LINES = [
    "Minutes of the quarry extension permit meeting held in Hull on 3 May",
    "Total production, exports and export value for countries eligible to ship cabbage",
]


def _line(text: str, font_path: str, size: int) -> tuple[Image.Image, ImageFont.FreeTypeFont]:
    font = ImageFont.truetype(font_path, size)
    image = Image.new("L", (int(font.getlength(text)) + 60, size * 3), 255)
    ImageDraw.Draw(image).text((30, size), text, fill=0, font=font)
    return image, font


@pytest.mark.parametrize("text", LINES)
def test_small_english_print_comes_out_as_its_words(text):
    image, font = _line(text, DEJAVU, 16)
    lines = rapid.read_lines(image)
    assert [w.text for line in lines for w in line] == text.split()
    # Each word's box starts near where the word was drawn (the boxes follow the characters).
    x = 30.0
    for word, drawn in zip(lines[0], text.split(), strict=True):
        assert abs(word.left - x) <= 6, (drawn, word.left, x)
        x += font.getlength(drawn + " ")


@pytest.mark.parametrize("text", LINES)
def test_the_recognizer_alone_runs_those_words_together(text):
    """Why the parting is needed: the same line through RapidOCR without the page's pixels."""
    import numpy as np

    image, _ = _line(text, DEJAVU, 16)
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    found, _ = rapid._engine()(bgr, return_word_box=True)
    joined = [w.text for line in found for w in rapid._line_words(line)]
    assert len(joined) <= len(text.split()) - 4, joined


def test_chinese_characters_stay_one_word_each_beside_parted_english():
    text = "合同签署 harbour dredging contract 经费预算"
    image, _ = _line(text, WQY, 24)
    words = [w.text for line in rapid.read_lines(image) for w in line]
    assert words == ["合", "同", "签", "署", "harbour", "dredging", "contract", "经", "费", "预", "算"]
