"""Files for the reading-room tests, made here: a text-layer PDF with a phrase low on its third
page, an e-mail thread with quoted text, a printed e-mail chain, pages of 10,000-character
unbroken strings and a run of dated ledgers (for result pages and the year histogram)."""

from __future__ import annotations

from pathlib import Path

LONG = "x" * 10_000
LONG_URL = "https://example.org/" + "a1b2c3d4" * 60
LEDGERS = 25


def text_pdf(path: Path, pages: list[list[tuple[float, str]]]) -> Path:
    """A PDF with a Helvetica text layer: each page a list of (height from the bottom in points,
    line of text). US Letter pages."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    objects: list[bytes] = []
    kids = []
    n_pages = len(pages)
    for i, lines in enumerate(pages):
        page_obj, content_obj = 4 + 2 * i, 5 + 2 * i
        kids.append(f"{page_obj} 0 R")
        stream = "".join(f"BT /F1 12 Tf 72 {y} Td ({esc(t)}) Tj ET\n" for y, t in lines).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {content_obj} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")
    head = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {n_pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(head + objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    body += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref)
    path.write_bytes(body)
    return path


def make_files(root: Path) -> dict[str, list[Path]]:
    """{collection: files} for the reading-room archive."""
    root.mkdir(parents=True, exist_ok=True)
    filler = [
        (720 - 16 * k, f"Paragraph {k} of routine correspondence about the harbour works.") for k in range(20)
    ]
    report = text_pdf(
        root / "harbour-report.pdf",
        [
            filler,
            filler,
            [*filler, (90, "The board did its due diligence on the harbour contractor.")],
            [*filler[:3], (500, "A second mention of due diligence, on the last page.")],
        ],
    )
    long = root / "long-strings.txt"
    long.write_text(
        f"overflowword starts here {LONG}\nhash {'f0e1d2c3' * 1250}\nlink {LONG_URL}\nend of overflowword page",
        "utf-8",
    )
    note = root / "note.txt"
    note.write_text("我们在军事基地附近讨论了海洋数据。" * 3, "utf-8")
    first = root / "m1.eml"
    first.write_text(
        "From: Alice Example <alice@example.org>\nTo: Bob Example <bob@example.org>\n"
        "Subject: Harbour tender\nDate: Tue, 03 Mar 2015 10:00:00 +0000\nMessage-ID: <m1@example.org>\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n'
        "--b1\nContent-Type: text/plain\n\nBob, the harbour tender closes on Friday.\n"
        '--b1\nContent-Type: text/plain\nContent-Disposition: attachment; filename="tender-terms.txt"\n\n'
        "Terms of the harbour tender.\n--b1--\n",
        "utf-8",
    )
    reply = root / "m2.eml"
    reply.write_text(
        "From: Bob Example <bob@example.org>\nTo: Alice Example <alice@example.org>\n"
        'Cc: "Harbour Board" <>\n'
        "Subject: Re: Harbour tender\nDate: Wed, 04 Mar 2015 09:00:00 +0000\nMessage-ID: <m2@example.org>\n"
        "In-Reply-To: <m1@example.org>\nReferences: <m1@example.org>\n\n"
        "Thanks, I will send the pelican figures today.\n\n"
        "> Bob, the harbour tender closes on Friday.\n> Regards, Alice\n",
        "utf-8",
    )
    printout = text_pdf(
        root / "printout.pdf",
        [
            [(720, "Released under FOI, ref FOI-2016-001.")],
            [
                (720, "From: Carol Printer <carol@example.org>"),
                (704, "Sent: 12 May 2016 14:02"),
                (688, "To: Dave Reader <dave@example.org>"),
                (672, "Subject: Zebra crossing survey"),
                (640, "The zebra crossing survey is attached for review."),
            ],
        ],
    )
    ledgers = []
    for i in range(LEDGERS):
        path = root / f"ledger-{i:02d}.txt"
        path.write_text(f"Ledger entry {i}: quarterly ledger of harbour dues.", "utf-8")
        ledgers.append(path)
    return {
        "reports": [report, long, note],
        "mail": [first, reply, printout],
        "ledgers": ledgers,
    }


def ledger_year(i: int) -> int:
    """The document date given to ledger i: 2001-2005, five ledgers a year."""
    return 2001 + i // 5
