"""Exemptions linked to redactions (issue #18, item 3): a citation printed on a box or beside it
on its line belongs to that box; any other box gets the document's citations, or those of the
covering letter the release came with (a sibling in an e-mail or a zip). Checked through
`foi show --json`, box by box."""

from __future__ import annotations

import json
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from test_redactions import LATIN_FONT, PAGE_H, _line, write_pdf


def _show(runner, root: Path, doc_id: int) -> dict:
    from archive.cli import cli

    result = runner.invoke(cli, ["--archive", str(root), "show", str(doc_id), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _codes(box: dict) -> set[str]:
    return set((box["exemption"] or "").split("; ")) - {""}


def test_a_citation_beside_a_box_on_its_line_is_the_box_s(tmp_path, runner):
    """Line 1: a box with "s.43(2)" just after it. Line 2: a box with nothing cited on its line
    ("s.40(2)" is on the next line, not beside it). Line 3: a box whose line cites "s.42" too far
    from it to be its own."""
    from archive import Archive

    far = [("declined", "text"), ("to", "text"), ("answer", "text"), ("the", "text"), ("question", "text")]
    content = [
        *_line(PAGE_H - 100, [("Harbourmaster", "good"), ("s.43(2)", "text"), ("applies.", "text")]),
        *_line(PAGE_H - 130, [("Contractor", "good"), ("was", "text"), ("paid.", "text")]),
        *_line(PAGE_H - 160, [("Exemption", "text"), ("s.40(2)", "text"), ("also", "text")]),
        *_line(PAGE_H - 190, [("Ratepayer", "good"), *far, ("under", "text"), ("s.42", "text")]),
        *_line(PAGE_H - 220, [("Freedom", "text"), ("of", "text"), ("Information", "text"), ("Act", "text")]),
    ]
    write_pdf(tmp_path / "beside.pdf", ["\n".join(content)], [[]])
    with Archive(tmp_path / "archive") as a:
        doc_id = a.ingest([tmp_path / "beside.pdf"], collection="c").documents[0]
    boxes = _show(runner, tmp_path / "archive", doc_id)["redactions"]
    assert len(boxes) == 3 and not any(b["bad"] for b in boxes)
    first, second, third = sorted(boxes, key=lambda b: b["bbox"][1])
    assert first["exemption"] == "FOIA s43(2)" and first["exemption_from"] == "box"
    for box in (second, third):  # nothing beside them: the document's citations
        assert box["exemption_from"] == "document"
        assert {"FOIA s43(2)", "FOIA s40(2)"} <= _codes(box), box


def _flat_release(path: Path) -> None:
    """A text PDF with two boxes and no citation of its own."""
    content = [
        *_line(PAGE_H - 100, [("Minutes", "text"), ("of", "text"), ("the", "text"), ("board", "text")]),
        *_line(PAGE_H - 130, [("Councillor", "good"), ("Bramblewick", "good"), ("attended.", "text")]),
    ]
    write_pdf(path, ["\n".join(content)], [[]])


LETTER = (
    "Dear Mr Ray,\n\nThank you for your request. Some information in the enclosed minutes has been "
    "withheld under section 43(2) of the Freedom of Information Act 2000 (commercial interests).\n\n"
    "Yours sincerely,\nInformation Governance\n"
)


def test_a_covering_letter_s_exemptions_reach_the_boxes_of_its_release(tmp_path, runner):
    """A zip with a covering letter beside the redacted minutes, and an e-mail whose body is the
    covering letter: the minutes' boxes carry the letter's exemption; a loose copy of the same
    minutes (no letter) carries none."""
    from archive import Archive

    _flat_release(tmp_path / "minutes.pdf")
    with zipfile.ZipFile(tmp_path / "release.zip", "w") as zf:
        zf.writestr("covering letter.txt", LETTER)
        zf.write(tmp_path / "minutes.pdf", "minutes.pdf")
    mail = EmailMessage()
    mail["From"] = "Information Governance <foi@council.example.gov.uk>"
    mail["To"] = "ray@example.org"
    mail["Subject"] = "Your request FOI-2024-0193"
    mail.set_content(LETTER)
    mail.add_attachment(
        (tmp_path / "minutes.pdf").read_bytes(),
        maintype="application",
        subtype="pdf",
        filename="minutes-2.pdf",
    )
    (tmp_path / "reply.eml").write_bytes(bytes(mail))
    (tmp_path / "loose").mkdir()
    _flat_release(tmp_path / "loose" / "minutes-3.pdf")
    root = tmp_path / "archive"
    with Archive(root) as a:
        report = a.ingest(
            [tmp_path / "release.zip", tmp_path / "reply.eml", tmp_path / "loose" / "minutes-3.pdf"],
            collection="c",
        )
        assert not report.failed, report.as_dict()
        docs = {d["filename"]: d["id"] for d in a.store.documents("1")}
    for name in ("minutes.pdf", "minutes-2.pdf"):
        boxes = _show(runner, root, docs[name])["redactions"]
        assert len(boxes) == 2, (name, boxes)
        for box in boxes:
            assert box["exemption"] == "FOIA s43(2)" and box["exemption_from"] == "covering letter", box
    loose = _show(runner, root, docs["minutes-3.pdf"])["redactions"]
    assert len(loose) == 2 and all(b["exemption"] is None for b in loose)
    with Archive(root) as a:  # the collection summary and the CSV read the same
        assert a.redaction_summary("c")["by_exemption"] == {"FOIA s43(2)": 4, "(none cited)": 2}


@pytest.mark.tesseract
def test_an_exemption_stamped_on_a_scanned_box_or_beside_it(tmp_path, runner):
    """A scan (image-only PDF): one box with "s.40(2)" stamped on it in white, one with "s.43"
    printed beside it; OCR reads both and each box gets its own."""
    from archive import Archive

    img = Image.new("L", (1654, 2339), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(LATIN_FONT, 34)
    for i in range(12):
        draw.text((200, 400 + i * 60), "the harbour board approved the dredging contract", fill=0, font=font)
    draw.text((200, 1200), "Name:", fill=0, font=font)
    draw.rectangle([340, 1190, 760, 1250], fill=0)
    draw.text((470, 1198), "s.40(2)", fill=255, font=font)
    draw.text((200, 1400), "The price was", fill=0, font=font)
    draw.rectangle([440, 1394, 700, 1440], fill=0)
    draw.text((730, 1400), "(s.43) per tonne.", fill=0, font=font)
    img.save(tmp_path / "scan.pdf", resolution=200.0)
    with Archive(tmp_path / "archive") as a:
        doc_id = a.ingest([tmp_path / "scan.pdf"], collection="scans").documents[0]
    boxes = sorted(_show(runner, tmp_path / "archive", doc_id)["redactions"], key=lambda b: b["bbox"][1])
    assert [b["kind"] for b in boxes] == ["image", "image"], boxes
    assert boxes[0]["exemption"] == "FOIA s40(2)" and boxes[0]["exemption_from"] == "box", boxes
    assert boxes[1]["exemption"] == "FOIA s43" and boxes[1]["exemption_from"] == "box", boxes
