"""Generate a small, self-contained sample FOI release (no corpus or network needed).

    python samples/make_sample.py OUT_DIR

Writes a scanned (image-only) English/Mandarin email printout PDF, an English FOI response letter
as a scan, a Chinese meeting note as text and an e-mail with a GB2312 body. All content is invented.
"""

from __future__ import annotations

import random
import sys
from email.message import EmailMessage
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_PATHS = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
]

EMAIL_CHAIN_PAGES = [
    [
        "From: Dr Alice Morgan <a.morgan@example.ac.uk>",
        "Sent: 12 November 2018 09:14",
        "To: 郭教授 <guo@jsai.example.cn>",
        "Subject: Joint research agreement - marine sensors",
        "",
        "Dear Professor Guo,",
        "Thank you for the draft agreement. Our department is keen",
        "to continue the marine sensor project with your institute.",
        "Please find our comments on clause 4 attached.",
        "",
        "-----Original Message-----",
        "发件人: 郭教授 <guo@jsai.example.cn>",
        "发送时间: 2018年11月10日 16:02",
        "收件人: Alice Morgan <a.morgan@example.ac.uk>",
        "主题: 合作研究协议",
    ],
    [
        "尊敬的Morgan博士：",
        "我们希望在海洋传感器项目上继续合作。",
        "研究所已经开发了新的软件，并讨论了资金。",
        "测试将在海南的军事基地附近进行。",
        "请在月底前签署协议。",
        "",
        "此致",
        "郭教授",
        "江苏自动化研究所",
    ],
]

LETTER = [
    "Information Governance Office",
    "Our reference: FOI-2023-0457",
    "Date: 3 March 2023",
    "",
    "FREEDOM OF INFORMATION REQUEST",
    "",
    "You asked for correspondence between the university and",
    "the Jiangsu Automation Research Institute about marine sensors.",
    "We hold 14 emails and one draft agreement. Some names have",
    "been withheld under section 40(2) (personal information) and",
    "commercial terms under section 43(2) of the Act.",
    "",
    "If you are unhappy with this response you may ask for an",
    "internal review, and then complain to the Information",
    "Commissioner's Office, Wycliffe House, Wilmslow SK9 5AF.",
]


def _font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    raise SystemExit("a CJK font is needed (Debian: apt-get install fonts-wqy-microhei)")


def render_page(lines: list[str], noisy: bool = False, seed: int = 0, redact: list[int] | None = None) -> Image.Image:
    """A 150 dpi A4 'scan' of text lines; `redact` blacks out those line numbers' second half."""
    width, height = 1240, 1754
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    font = _font(30)
    y = 120
    for i, line in enumerate(lines):
        draw.text((110, y), line, font=font, fill=0)
        if redact and i in redact:
            w = draw.textlength(line, font=font)
            draw.rectangle((110 + w * 0.45, y - 4, 110 + w + 10, y + 36), fill=0)
        y += 52
    if noisy:
        rng = random.Random(seed)
        px = img.load()
        for _ in range(6000):
            x, yy = rng.randrange(width), rng.randrange(height)
            px[x, yy] = rng.choice((0, 90, 200))
        img = img.rotate(0.8, resample=Image.Resampling.BICUBIC, fillcolor=255).filter(ImageFilter.GaussianBlur(0.6))
    return img


def save_pdf(pages: list[Image.Image], path: Path) -> None:
    pages[0].save(path, "PDF", resolution=150.0, save_all=True, append_images=pages[1:])


def make_sample(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = []
    chain = out / "email-chain-marine-sensors.pdf"
    save_pdf([render_page(p, noisy=i == 1, seed=i) for i, p in enumerate(EMAIL_CHAIN_PAGES)], chain)
    files.append(chain)
    letter = out / "foi-response-FOI-2023-0457.pdf"
    save_pdf([render_page(LETTER)], letter)
    files.append(letter)
    note = out / "meeting-note.txt"
    note.write_text(
        "会议记录\n双方讨论了海洋数据共享和军事基地附近的测试安排。\n下一次会议将在南京举行。\n", encoding="utf-8"
    )
    files.append(note)
    msg = EmailMessage()
    msg["From"] = "Dr Alice Morgan <a.morgan@example.ac.uk>"
    msg["To"] = "郭教授 <guo@jsai.example.cn>"
    msg["Subject"] = "Re: 合作研究协议"
    msg["Date"] = "Tue, 13 Nov 2018 10:30:00 +0000"
    msg["Message-ID"] = "<sample-2@example.ac.uk>"
    msg.set_content("谢谢您的来信。我们同意继续海洋传感器项目。\nAlice", charset="gb2312")
    mail = out / "reply.eml"
    mail.write_bytes(msg.as_bytes())
    files.append(mail)
    return files


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "sample-release")
    for f in make_sample(target):
        print(f)
