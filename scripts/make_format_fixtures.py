"""Make one file of each format issue 19 reads, into a folder (the tests' "mixed real-world
folder" and by hand: `python scripts/make_format_fixtures.py OUT`). Office files are made with
python-docx/openpyxl and converted by LibreOffice itself; archives with tarfile, py7zr and `7z` (RAR by hand);
a DjVu page with djvulibre (its hidden text layer set with djvused); a dBase table written by
hand (nothing here writes one). Each file holds a phrase of its own (PHRASES) to search for."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import sys
import tarfile
import wave
import zlib
from pathlib import Path

PHRASES = {
    "letter.docx": "harbour dredging contract",
    "letter.doc": "quarry extension permit",
    "letter.rtf": "ferry timetable consultation",
    "letter.odt": "library closure review",
    "budget.xlsx": "coastal defence grant",
    "budget.xls": "street lighting upgrade",
    "bundle.tar.gz": "sewage outfall inspection",
    "bundle.tar.bz2": "bridge load assessment",
    "bundle.7z": "school meals tender",
    "bundle.rar": "lifeboat station funding",
    "split.7z.001": "hospital parking charges",
    "request.json": "allotment waiting list",
    "payments.xml": "Northwind Haulage",
    "chart.svg": "Permanent Secretary Whitlock",
    "contacts.vcf": "Margaret Okonkwo",
    "meeting.ics": "Planning committee briefing",
    "message.emlx": "lighthouse keeper cottage",
    "scan.djvu": "reservoir safety",
    "grants.dbf": "BEEKEEPING",
    "voicemail.wav": "",
}


def _soffice(src: Path, target: str, out: Path) -> Path:
    from archive.extractors.office.convert import converter

    made = converter().convert(src, out / "lo", target)
    return made


def _docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.core_properties.author = "Alice Harbourmaster"
    d.core_properties.last_modified_by = "Bob Reviewer"
    d.core_properties.revision = 7
    d.core_properties.title = "Letter about the harbour"
    d.add_paragraph(f"Dear resident, this letter concerns the {PHRASES['letter.docx']}.")
    d.add_page_break()
    d.add_paragraph("Second page: the board meets in March.")
    d.save(str(path))


def _xlsx(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["Total", 1])
    ws2 = wb.create_sheet("Sheet 2")
    for n in range(1, 14):
        ws2.append([f"Item {n}", n * 100])
    ws2.append([PHRASES["budget.xlsx"], 250000])  # row 14
    wb.properties.creator = "Carol Treasurer"
    wb.save(str(path))


def _dbf(path: Path) -> None:
    """A dBase III table with one character field, two records."""
    records = [b"BEEKEEPING GRANT    ", b"ORCHARD GRANT       "]
    header = struct.pack("<BBBBIHH20x", 3, 124, 1, 1, len(records), 32 + 32 + 1, 1 + 20)
    field = struct.pack("<11sc4xBB14x", b"PURPOSE", b"C", 20, 0)
    with open(path, "wb") as fh:
        fh.write(header + field + b"\r")
        for r in records:
            fh.write(b" " + r)
        fh.write(b"\x1a")


def _rar(path: Path, members: list[tuple[str, bytes]]) -> None:
    """A RAR 4 archive of stored (uncompressed) members, written by hand: no program here writes
    RAR (rar is not free software). Blocks: marker, archive header, a file header per member
    (method 0x30 "store") followed by its bytes, end of archive; each header's CRC is the low 16
    bits of the CRC-32 of the header from its type byte on."""

    def block(kind: int, flags: int, fields: bytes) -> bytes:
        body = struct.pack("<BHH", kind, flags, 7 + len(fields)) + fields
        return struct.pack("<H", zlib.crc32(body) & 0xFFFF) + body

    out = bytearray(b"Rar!\x1a\x07\x00")
    out += block(0x73, 0, b"\0" * 6)
    for name, data in members:
        raw = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        fields = struct.pack(
            "<IIBIIBBHI", len(data), len(data), 3, crc, 0x5A210000, 20, 0x30, len(raw), 0o100644 << 16
        )
        out += block(0x74, 0x8000, fields + raw) + data
    out += block(0x7B, 0x4000, b"")
    path.write_bytes(bytes(out))


def _djvu(path: Path, work: Path) -> None:
    from PIL import Image, ImageDraw

    im = Image.new("1", (800, 200), 1)
    ImageDraw.Draw(im).text((40, 80), "Reservoir safety inspection report", fill=0)
    pbm = work / "page.pbm"
    im.save(pbm)
    subprocess.run(["cjb2", str(pbm), str(path)], check=True)
    sexpr = work / "text.txt"
    sexpr.write_text('(page 0 0 800 200 (line 40 100 400 120 "Reservoir safety inspection report"))')
    subprocess.run(["djvused", str(path), "-e", f"select 1; set-txt {sexpr}", "-s"], check=True)


def make_all(out: Path) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    work = out.parent / (out.name + "-work")
    work.mkdir(exist_ok=True)
    _docx(out / "letter.docx")
    import docx

    for name in ("letter.doc", "letter.rtf", "letter.odt"):
        d = docx.Document()
        d.add_paragraph(f"Minutes on the {PHRASES[name]}.")
        d.save(str(work / "plain.docx"))
        fmt = {"letter.doc": "doc:MS Word 97", "letter.rtf": "rtf", "letter.odt": "odt"}[name]
        shutil.copyfile(_soffice(work / "plain.docx", fmt, work), out / name)
    _xlsx(out / "budget.xlsx")
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["Scheme", PHRASES["budget.xls"]])
    wb.save(str(work / "b.xlsx"))
    shutil.copyfile(_soffice(work / "b.xlsx", "xls", work), out / "budget.xls")
    for name, mode in (("bundle.tar.gz", "w:gz"), ("bundle.tar.bz2", "w:bz2")):
        with tarfile.open(out / name, mode) as tf:
            data = f"Report on the {PHRASES[name]}.".encode()
            info = tarfile.TarInfo("reports/inside.txt")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    import py7zr

    with py7zr.SevenZipFile(out / "bundle.7z", "w") as z:
        z.writestr(f"Notes on the {PHRASES['bundle.7z']}.", "notes/tender.txt")
    _rar(out / "bundle.rar", [("minutes/rar.txt", f"Minutes: {PHRASES['bundle.rar']}.".encode())])
    (work / "parking.txt").write_text(f"Audit of {PHRASES['split.7z.001']}. " + "padding " * 3000)
    subprocess.run(
        ["7z", "a", "-bd", "-y", "-mx=0", "-v8k", str(out / "split.7z"), str(work / "parking.txt")],
        check=True,
        capture_output=True,
    )
    (out / "request.json").write_text(
        json.dumps({"request": {"subject": PHRASES["request.json"], "id": 117}})
    )
    (out / "payments.xml").write_text(
        f'<?xml version="1.0"?><spending><payment id="7"><payee>{PHRASES["payments.xml"]}</payee></payment></spending>'
    )
    (out / "chart.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg"><text x="1" y="2">{PHRASES["chart.svg"]}</text></svg>'
    )
    (out / "contacts.vcf").write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Margaret Okonkwo\r\nORG:Port Authority\r\n"
        "EMAIL:m.okonkwo@port.example\r\nADR:;;1 Quay Street;Dover;;CT16 1AA;UK\r\nEND:VCARD\r\n"
    )
    (out / "meeting.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:1@test\r\n"
        "DTSTAMP:20240101T000000Z\r\nDTSTART:20240305T140000Z\r\nDTEND:20240305T150000Z\r\n"
        f"SUMMARY:{PHRASES['meeting.ics']}\r\nLOCATION:Town Hall\r\n"
        "ORGANIZER:mailto:clerk@council.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    message = (
        "From: Jo Clerk <jo@council.example>\nTo: al@council.example\nSubject: Emlx minutes\n"
        f"Date: Mon, 1 Jan 2024 10:00:00 +0000\n\nThe sale of the {PHRASES['message.emlx']} is agreed.\n"
    ).encode()
    (out / "message.emlx").write_bytes(b"%d\n" % len(message) + message + b'<?xml version="1.0"?><plist/>')
    _djvu(out / "scan.djvu", work)
    _dbf(out / "grants.dbf")
    with wave.open(str(out / "voicemail.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000)
    shutil.rmtree(work, ignore_errors=True)
    return PHRASES


if __name__ == "__main__":
    make_all(Path(sys.argv[1]))
