"""Chinese pages that are hard for Tesseract, made from known text (tests and bench/ use them).

    python samples/hard_pages.py OUT_DIR

`textured_page` prints lines over a textured background (a mottled, striped paper with a watermark
grid, as on a certificate or a screenshot of a web form); `formula_page` mixes Chinese with inline
formulas. Each returns the image and where every character was drawn, so tests can check that
word boxes land on the characters. All text is invented.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_PATHS = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
]

TEXTURED_LINES = [
    "关于海洋传感器合作项目的补充说明",
    "研究所将于下个月完成水下声学测试",
    "出口管制审查结束以前不得签署协议",
    "请财务部门核对经费预算并及时回复",
]

FORMULA_LINES = [
    "设信号功率为 P = 10 log(S/N) 分贝，则噪声随距离增加",
    "当 x² + y² = r² 时，传感器阵列的覆盖半径保持不变",
    "误差 ε ≤ 0.05 的测试结果已经提交给项目负责人",
]


@dataclass(frozen=True)
class Glyph:
    char: str
    box: tuple[int, int, int, int]  # left, top, right, bottom in the page's pixels


def _font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    raise SystemExit("a CJK font is needed (Debian: apt-get install fonts-wqy-microhei)")


def _draw_lines(
    image: Image.Image, lines: list[str], size: int, fill: int, left: int = 60, top: int = 60, step: int = 0
) -> list[Glyph]:
    draw = ImageDraw.Draw(image)
    font = _font(size)
    glyphs: list[Glyph] = []
    y = top
    for line in lines:
        x = float(left)
        for ch in line:
            if not ch.isspace():
                box = draw.textbbox((x, y), ch, font=font)
                glyphs.append(Glyph(ch, (int(box[0]), int(box[1]), int(box[2]), int(box[3]))))
            draw.text((x, y), ch, font=font, fill=fill)
            x += draw.textlength(ch, font=font)
        y += step or int(size * 1.9)
    return glyphs


def textured_page(lines: list[str] | None = None, seed: int = 0) -> tuple[Image.Image, list[Glyph]]:
    """Grey text on a mottled background crossed by stripes and a watermark grid."""
    lines = lines or TEXTURED_LINES
    rng = random.Random(seed)
    width, height = 1100, 120 + 64 * len(lines)
    noise = Image.effect_noise((width // 4, height // 4), 60).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    image = noise.point(lambda v: 165 + v * 80 // 255)  # mottled mid-grey paper
    draw = ImageDraw.Draw(image)
    for x in range(-height, width, 14):  # diagonal stripes
        draw.line((x, 0, x + height, height), fill=rng.choice((135, 145, 155)), width=3)
    for x in range(0, width, 48):  # a watermark grid
        draw.line((x, 0, x, height), fill=120, width=1)
    for y in range(0, height, 48):
        draw.line((0, y, width, y), fill=120, width=1)
    glyphs = _draw_lines(image, lines, 34, fill=40, step=64)
    return image.filter(ImageFilter.GaussianBlur(0.4)), glyphs


def formula_page(lines: list[str] | None = None) -> tuple[Image.Image, list[Glyph]]:
    """Chinese sentences with inline formulas on a clean page."""
    lines = lines or FORMULA_LINES
    width, height = 1300, 120 + 70 * len(lines)
    image = Image.new("L", (width, height), 255)
    glyphs = _draw_lines(image, lines, 32, fill=0, step=70)
    return image, glyphs


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    textured_page()[0].save(out / "textured.png")
    formula_page()[0].save(out / "formula.png")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "hard-pages"))
