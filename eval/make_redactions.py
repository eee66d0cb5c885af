"""Labelled redacted pages for the redaction detectors (issue #18).

    .venv/bin/python eval/make_redactions.py OUT_DIR [--pages N] [--seed S]

Writes into OUT_DIR, with `labels.json` listing for every file and page its boxes as
[left, top, width, height] in the page's pixel space (a text PDF: rendered at 100 dpi; an
image: its own pixels) and whether each box leaves text under it:

    vector-en-*.pdf, vector-zh-*.pdf   text PDFs written here by hand: black and dark grey boxes drawn
                                      over words (text left in the layer: bad) or in their place (text
                                      removed: good), some with "s.40(2)" printed on the box; redaction
                                      and square annotations; negatives: a dark heading band with its
                                      title on it, light cell backgrounds, table rules
    flat-*.pdf                        the vector pages rendered and saved as image-only PDFs (boxes drawn
                                      then flattened), labels scaled to their resolution
    scan-*.png / scan-*.jpg           scans drawn with Pillow: black, dark grey and white-out (framed)
                                      boxes over English or Chinese text, with noise, speckles, skew up
                                      to 2 degrees and JPEG at quality 35-70; negatives: tables (some
                                      cells empty), a photo, a round logo, a dark banner with a title

Everything is drawn from the seed: the same command gives the same pages.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pdfminer.fontmetrics import FONT_METRICS
from PIL import Image, ImageDraw, ImageFilter, ImageFont

PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
TEXT_DPI = 100.0  # the text layer's pixel space (archive/extractors/pdf.py TEXT_LAYER_DPI)
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

EN_WORDS = [
    "the",
    "request",
    "for",
    "information",
    "about",
    "the",
    "naval",
    "base",
    "was",
    "received",
    "by",
    "the",
    "department",
    "and",
    "the",
    "names",
    "of",
    "officers",
    "involved",
    "in",
    "the",
    "review",
    "are",
    "withheld",
    "under",
    "section",
    "forty",
    "because",
    "disclosure",
    "would",
    "breach",
    "data",
    "protection",
    "principles",
    "the",
    "minister",
    "met",
    "the",
    "contractor",
    "on",
    "several",
    "occasions",
    "budget",
    "figures",
    "for",
    "the",
    "harbour",
    "survey",
    "were",
    "approved",
    "by",
    "the",
    "board",
    "in",
    "march",
    "and",
    "the",
    "report",
    "was",
    "sent",
    "to",
    "the",
    "council",
]
ZH_TEXT = (
    "南海海洋研究所在军事基地附近进行海洋调查调查报告由国防部发布关于军事基地扩建的会议纪要已经完成请各部门审阅"
    "根据信息公开条例部分内容不予公开涉及个人隐私的信息已经删除申请人可以在六十日内申请行政复议"
)


@dataclass
class Page:
    boxes: list[list[int]] = field(default_factory=list)
    bad: list[bool] = field(default_factory=list)
    # Drawn when the page is rendered (an unapplied redaction annotation has no appearance: a
    # viewer shows nothing, and a flattened copy holds no box)
    rendered: list[bool] = field(default_factory=list)


def _label(
    page: Page, box: tuple[float, float, float, float], bad: bool, scale: float, rendered: bool = True
) -> None:
    left, top, width, height = box
    page.boxes.append([round(left * scale), round(top * scale), round(width * scale), round(height * scale)])
    page.bad.append(bad)
    page.rendered.append(rendered)


# -- text PDFs ------------------------------------------------------------------------------


def _latin_width(text: str, size: float) -> float:
    widths = FONT_METRICS["Helvetica"][1]
    return sum(widths.get(ch, 556) for ch in text) * size / 1000


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def _show(font: str, text: str) -> str:
    if font == "F2":
        return "<" + text.encode("utf-16-be").hex() + ">"
    return _pdf_string(text)


def _width(font: str, text: str, size: float) -> float:
    return len(text) * size if font == "F2" else _latin_width(text, size)


def write_pdf(
    path: Path,
    contents: list[str],
    annotations: list[list[str]],
    forms: list[dict[str, tuple[str, str]]] | None = None,
    resources: list[str] | None = None,
) -> None:
    """A minimal PDF: A4 pages with the given content streams, Helvetica (F1) and the predefined
    CJK font STSong-Light (F2, no embedding), and annotation dictionaries per page. Optional per
    page: form XObjects by name (their /Matrix entries and content stream; the page is their
    BBox, the fonts their resources) and more resource entries (e.g. an /ExtGState)."""
    objects: list[bytes] = []

    def add(body: str | bytes) -> int:
        objects.append(body.encode("latin-1") if isinstance(body, str) else body)
        return len(objects)

    catalog = add("")
    pages_obj = add("")
    f1 = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    cid = add(
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /DW 1000 "
        "/FontDescriptor << /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [0 -200 1000 900] "
        "/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 80 >> >>"
    )
    f2 = add(
        f"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [{cid} 0 R] >>"
    )
    fonts = f"/Font << /F1 {f1} 0 R /F2 {f2} 0 R >>"

    def add_stream(content: str, entries: str = "") -> int:
        data = zlib.compress(content.encode("latin-1"))
        return add(
            b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(data), entries.encode("latin-1"))
            + data
            + b"\nendstream"
        )

    kids = []
    for n, (content, annots) in enumerate(zip(contents, annotations, strict=True)):
        stream = add_stream(content)
        annot_ids = [add(a) for a in annots]
        annot_ref = f" /Annots [{' '.join(f'{a} 0 R' for a in annot_ids)}]" if annot_ids else ""
        page_forms = (forms[n] if forms else None) or {}
        xobjects = " ".join(
            f"/{name} "
            + str(
                add_stream(
                    body,
                    f"/Type /XObject /Subtype /Form /BBox [0 0 {PAGE_W:g} {PAGE_H:g}] {entries} "
                    f"/Resources << {fonts} >> ",
                )
            )
            + " 0 R"
            for name, (entries, body) in page_forms.items()
        )
        more = (f" /XObject << {xobjects} >>" if xobjects else "") + (
            f" {resources[n]}" if resources and resources[n] else ""
        )
        kids.append(
            add(
                f"<< /Type /Page /Parent {pages_obj} 0 R /MediaBox [0 0 {PAGE_W:g} {PAGE_H:g}] "
                f"/Resources << {fonts}{more} >> /Contents {stream} 0 R{annot_ref} >>"
            )
        )
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_obj} 0 R >>".encode()
    objects[pages_obj - 1] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
    )
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    )
    path.write_bytes(out.getvalue())


def _line_words(rng: random.Random, chinese: bool) -> list[str]:
    if chinese:
        start = rng.randrange(0, len(ZH_TEXT) - 30)
        text = ZH_TEXT[start : start + rng.randint(18, 28)]
        return [text[i : i + rng.randint(2, 4)] for i in range(0, len(text), 3)]
    return [rng.choice(EN_WORDS) for _ in range(rng.randint(8, 13))]


def vector_page(rng: random.Random, chinese: bool, negatives: bool) -> tuple[str, list[str], Page]:
    """One text page: its content stream, annotations and labels (in 100 dpi pixels)."""
    ops: list[str] = []
    annots: list[str] = []
    page = Page()
    scale = TEXT_DPI / 72.0
    font, size = ("F2", 11.0) if chinese else ("F1", 11.0)
    y = PAGE_H - 80
    if negatives:
        # A dark heading band with its title printed on it; a light grey table with rules.
        ops.append(f"0.15 0.15 0.2 rg 60 {y - 8:.1f} 475 30 re f")
        ops.append(
            f"BT 1 1 1 rg /F1 16 Tf 72 {y:.1f} Td {_pdf_string('Response to request FOI-2024-0193')} Tj ET"
        )
        y -= 60
        for row in range(4):
            top = y - row * 18
            ops.append(f"0.9 0.9 0.9 rg 60 {top - 5:.1f} 475 18 re f")
            ops.append(f"0 0 0 RG 0.6 w 60 {top - 5:.1f} m 535 {top - 5:.1f} l S")
            ops.append(
                f"BT 0 0 0 rg /F1 9 Tf 66 {top:.1f} Td {_pdf_string(f'Item {row + 1}   cost 1{row}0 GBP')} Tj ET"
            )
        y -= 100
    for _ in range(rng.randint(14, 22)):
        words = _line_words(rng, chinese)
        x = 72.0
        gap = 0 if chinese else _latin_width(" ", size)
        redact_at = rng.randrange(len(words)) if rng.random() < 0.45 else None
        span = rng.randint(1, 3)
        for i, word in enumerate(words):
            w = _width(font, word, size)
            if x + w > PAGE_W - 60:
                break
            inside = redact_at is not None and redact_at <= i < redact_at + span
            if not inside:
                ops.append(f"BT 0 0 0 rg /{font} {size:g} Tf {x:.2f} {y:.2f} Td {_show(font, word)} Tj ET")
            x += w + gap
        if redact_at is not None:
            start = 72.0 + sum(_width(font, w, size) + gap for w in words[:redact_at])
            width = sum(_width(font, w, size) + gap for w in words[redact_at : redact_at + span]) - gap
            if start + width > PAGE_W - 60 or width < 8:
                y -= 22
                continue
            bad = rng.random() < 0.5
            left, bottom, height = start - 1, y - 3, size + 4
            grey = rng.choice(["0 0 0", "0 0 0", "0.2 0.2 0.2"])
            how = rng.random()
            shown = True
            if how < 0.2 and not chinese:
                # A redaction annotation left unapplied (the text is always still there).
                annots.append(
                    f"<< /Type /Annot /Subtype /Redact /Rect [{left:.2f} {bottom:.2f} {left + width + 2:.2f} {bottom + height:.2f}] "
                    "/IC [0 0 0] >>"
                )
                bad, shown = True, False
            elif how < 0.3:
                annots.append(
                    f"<< /Type /Annot /Subtype /Square /Rect [{left:.2f} {bottom:.2f} {left + width + 2:.2f} {bottom + height:.2f}] "
                    "/IC [0 0 0] /C [0 0 0] >>"
                )
                bad = True
            if how < 0.3:
                for i in range(redact_at, min(len(words), redact_at + span)):
                    wx = 72.0 + sum(_width(font, w, size) + gap for w in words[:i])
                    ops.append(
                        f"BT 0 0 0 rg /{font} {size:g} Tf {wx:.2f} {y:.2f} Td {_show(font, words[i])} Tj ET"
                    )
            else:
                if bad:  # the words drawn first, then the box over them
                    for i in range(redact_at, min(len(words), redact_at + span)):
                        wx = 72.0 + sum(_width(font, w, size) + gap for w in words[:i])
                        ops.append(
                            f"BT 0 0 0 rg /{font} {size:g} Tf {wx:.2f} {y:.2f} Td {_show(font, words[i])} Tj ET"
                        )
                ops.append(f"{grey} rg {left:.2f} {bottom:.2f} {width + 2:.2f} {height:.2f} re f")
                if width > 40 and rng.random() < 0.4:
                    ops.append(f"BT 1 1 1 rg /F1 7 Tf {left + 3:.2f} {bottom + 4:.2f} Td (s.40\\(2\\)) Tj ET")
            _label(page, (left, PAGE_H - bottom - height, width + 2, height), bad, scale, shown)
        y -= 22
        if y < 80:
            break
    return "\n".join(ops), annots, page


# -- scans ----------------------------------------------------------------------------------


def scan_page(rng: random.Random, chinese: bool, negatives: bool, dpi: int) -> tuple[Image.Image, Page]:
    px = dpi / 72.0
    w, h = round(PAGE_W * px), round(PAGE_H * px)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(CJK_FONT if chinese else LATIN_FONT, round(11 * px))
    page = Page()
    y = 70 * px
    if negatives:
        kind = rng.choice(["banner", "table", "photo", "logo"])
        if kind == "banner":
            draw.rectangle([50 * px, y, PAGE_W * px - 50 * px, y + 34 * px], fill=rng.choice([20, 45, 70]))
            title = ImageFont.truetype(LATIN_FONT, round(16 * px))
            draw.text((62 * px, y + 8 * px), "FREEDOM OF INFORMATION RESPONSE", fill=255, font=title)
            y += 60 * px
        elif kind == "table":
            cols, rows = 4, 5
            x0, cw, rh = 60 * px, 115 * px, 20 * px
            for r in range(rows + 1):
                draw.line([x0, y + r * rh, x0 + cols * cw, y + r * rh], fill=0, width=max(1, round(px)))
            for c in range(cols + 1):
                draw.line([x0 + c * cw, y, x0 + c * cw, y + rows * rh], fill=0, width=max(1, round(px)))
            small = ImageFont.truetype(LATIN_FONT, round(9 * px))
            for r in range(rows):
                for c in range(cols):
                    if rng.random() < 0.7:
                        draw.text(
                            (x0 + c * cw + 4 * px, y + r * rh + 4 * px),
                            rng.choice(EN_WORDS),
                            fill=0,
                            font=small,
                        )
            y += rows * rh + 30 * px
        elif kind == "photo":
            pw, ph = round(220 * px), round(150 * px)
            noise = (
                np.random.default_rng(rng.randrange(1 << 30))
                .integers(0, 255, (ph // 8, pw // 8))
                .astype(np.uint8)
            )
            photo = (
                Image.fromarray(noise)
                .resize((pw, ph), Image.Resampling.BICUBIC)
                .filter(ImageFilter.GaussianBlur(3))
            )
            photo = photo.point(lambda v: max(0, min(255, (v - 128) * 3 + 90)))
            img.paste(photo, (round(60 * px), round(y)))
            y += ph + 30 * px
        else:
            r = 30 * px
            cx, cy = 100 * px, y + r
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=10)
            draw.text(
                (cx - 15 * px, cy - 8 * px),
                "HM",
                fill=255,
                font=ImageFont.truetype(LATIN_FONT, round(16 * px)),
            )
            y += 2 * r + 30 * px
    while y < PAGE_H * px - 90 * px:
        words = _line_words(rng, chinese)
        sep = "" if chinese else " "
        line = sep.join(words)
        draw.text((72 * px, y), line, fill=0, font=font)
        if rng.random() < 0.45:
            i = rng.randrange(len(words))
            j = min(len(words), i + rng.randint(1, 3))
            start = draw.textlength(sep.join(words[:i]) + (sep if i else ""), font=font)
            width = draw.textlength(sep.join(words[i:j]), font=font)
            if width > 10 * px and 72 * px + start + width < w - 40 * px:
                left, top = 72 * px + start - 2 * px, y - 2 * px
                box = (left, top, width + 4 * px, 15 * px)
                style = rng.random()
                if style < 0.15:  # white-out: the words covered in white, a thin frame round them
                    draw.rectangle(
                        [left, top, left + box[2], top + box[3]],
                        fill=255,
                        outline=0,
                        width=max(2, round(0.8 * px)),
                    )
                else:
                    draw.rectangle(
                        [left, top, left + box[2], top + box[3]],
                        fill=0 if style < 0.75 else rng.randint(50, 85),
                    )
                _label(page, box, False, 1.0)
        y += 24 * px
    return img, page


def roughen(img: Image.Image, rng: random.Random, page: Page) -> Image.Image:
    """Scanner noise, speckles and skew (labels follow the skew: same centre, same size)."""
    arr = np.asarray(img, dtype=np.float32)
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    arr = arr + nrng.normal(0, rng.uniform(4, 14), arr.shape)
    speckles = nrng.random(arr.shape) < 0.0008
    arr[speckles] = 0
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    angle = rng.uniform(-2.0, 2.0)
    out = out.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=255)
    cx, cy = out.width / 2, out.height / 2
    rad = math.radians(angle)
    for box in page.boxes:
        bx, by = box[0] + box[2] / 2 - cx, box[1] + box[3] / 2 - cy
        # PIL turns counter-clockwise by `angle` (y grows downwards).
        nx = cx + bx * math.cos(rad) + by * math.sin(rad)
        ny = cy - bx * math.sin(rad) + by * math.cos(rad)
        box[0], box[1] = round(nx - box[2] / 2), round(ny - box[3] / 2)
    return out


def make(out: Path, pages: int, seed: int) -> dict[str, list[dict[str, object]]]:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    labels: dict[str, list[dict[str, object]]] = {}
    for lang in ("en", "zh"):
        contents, annots, page_labels = [], [], []
        for n in range(pages):
            c, a, p = vector_page(rng, lang == "zh", negatives=n % 3 == 0)
            contents.append(c)
            annots.append(a)
            page_labels.append(p)
        name = f"vector-{lang}.pdf"
        write_pdf(out / name, contents, annots)
        labels[name] = [{"kind": "vector", "boxes": p.boxes, "bad": p.bad} for p in page_labels]
        # The same pages flattened: rendered at 150 dpi into an image-only PDF.
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(out / name))
        images = [
            pdf[i].render(scale=150 / 72, grayscale=True, draw_annots=True).to_pil().convert("L")
            for i in range(len(pdf))
        ]
        pdf.close()
        flat = f"flat-{lang}.pdf"
        images[0].save(out / flat, save_all=True, append_images=images[1:], resolution=150.0)
        factor = 150 / TEXT_DPI
        labels[flat] = [
            {
                "kind": "flat",
                "dpi": 150,
                "boxes": [
                    [round(v * factor) for v in b]
                    for b, shown in zip(p.boxes, p.rendered, strict=True)
                    if shown
                ],
                "bad": [False] * sum(p.rendered),
            }
            for p in page_labels
        ]
    for n in range(pages * 2):
        chinese = n % 2 == 1
        dpi = rng.choice([200, 300])
        img, page = scan_page(rng, chinese, negatives=n % 3 == 0, dpi=dpi)
        img = roughen(img, rng, page)
        if n % 2 == 0:
            name = f"scan-{n:03d}.jpg"
            img.save(out / name, quality=rng.randint(35, 70), dpi=(dpi, dpi))
        else:
            name = f"scan-{n:03d}.png"
            img.save(out / name, dpi=(dpi, dpi))
        labels[name] = [{"kind": "scan", "dpi": dpi, "boxes": page.boxes, "bad": page.bad}]
    (out / "labels.json").write_text(json.dumps(labels, indent=1))
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pages", type=int, default=12, help="pages per text PDF (scans: twice as many)")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    labels = make(args.out, args.pages, args.seed)
    boxes = sum(len(p["boxes"]) for pages in labels.values() for p in pages)  # type: ignore[arg-type]
    print(f"{len(labels)} files, {boxes} labelled boxes in {args.out}")


if __name__ == "__main__":
    main()
