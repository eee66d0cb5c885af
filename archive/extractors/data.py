"""Data and other files a disclosure holds: JSON and XML as text with their structure (a key or
element path per value), SVG's text, vCard contacts and iCalendar events as records, Apple Mail
.emlx messages, DjVu scans (rendered by djvulibre, their text layer or OCR), Access (.mdb/.accdb,
mdbtools) and dBase (.dbf, dbfread) tables as rows, and audio and video stored with what is known
of them and marked as having no text (a recorded skip, not a failure)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from ..models import Extraction, PageResult, Source, StageError
from . import ExtractContext, register
from .tables import Row, TablePages
from .text import _read, decode_bytes, split_pages

MAX_CELLS = 5_000_000
TOOL_TIMEOUT = 600.0


def _text_extraction(
    kind: str, source: Source, text: str, metadata: dict[str, Any] | None = None
) -> Extraction:
    pages = [PageResult(number=i + 1, text=t) for i, t in enumerate(split_pages(text))]
    return Extraction(kind=kind, title=source.filename, pages=pages, metadata=metadata or {})


def _run(command: list[str], what: str, timeout: float = TOOL_TIMEOUT) -> bytes:
    """Output of one of djvulibre's or mdbtools' programs; a failure names the file kind only."""
    if shutil.which(command[0]) is None:
        raise StageError("extract", f"{what}: {command[0]} is not installed")
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise StageError("extract", f"{what}: {command[0]} took longer than {timeout:g} s") from None
    if done.returncode != 0:
        raise StageError("extract", f"{what}: damaged or unsupported ({command[0]} failed)")
    return done.stdout


# -- JSON ----------------------------------------------------------------------------------------


def _json_lines(value: Any, path: str, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _json_lines(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _json_lines(item, f"{path}[{n}]", out)
    elif value is not None and str(value).strip():
        out.append(f"{path or '(value)'}: {value}")


class JsonExtractor:
    name = "json"

    def score(self, source: Source) -> int | None:
        if source.mime in {"application/json", "application/ld+json"} or source.extension in {
            "json",
            "geojson",
        }:
            return 60
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        text, charset = decode_bytes(_read(source))
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            # JSON Lines, or damaged JSON: its text is still worth searching.
            return _text_extraction("data", source, text, {"charset": charset, "json": {"parsed": False}})
        lines: list[str] = []
        try:
            _json_lines(value, "", lines)
        except RecursionError:
            return _text_extraction("data", source, text, {"charset": charset, "json": {"parsed": False}})
        return _text_extraction(
            "data", source, "\n".join(lines), {"charset": charset, "json": {"parsed": True}}
        )


# -- XML and SVG ---------------------------------------------------------------------------------


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


class XmlExtractor:
    name = "xml"

    def score(self, source: Source) -> int | None:
        if source.mime == "image/svg+xml" or source.extension == "svg":
            return 60
        head = source.head.lstrip()[:200]
        if (
            source.mime in {"application/xml", "text/xml"}
            or source.extension == "xml"
            or head.startswith(b"<?xml")
        ):
            return 45  # below HTML (60) and any format with its own extractor
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        raw = _read(source)
        svg = source.mime == "image/svg+xml" or source.extension == "svg" or b"<svg" in raw[:2000]
        try:
            root = ET.fromstring(raw)  # expat: no external entities, entity expansion bounded
        except ET.ParseError:
            text, charset = decode_bytes(raw)
            return _text_extraction(
                "svg" if svg else "data", source, text, {"charset": charset, "xml": {"parsed": False}}
            )
        lines: list[str] = []
        if svg:
            for el in root.iter():
                if (
                    _local(el.tag) in {"text", "title", "desc", "tspan", "textPath"}
                    and el.text
                    and el.text.strip()
                ):
                    lines.append(" ".join(el.text.split()))
            return _text_extraction("svg", source, "\n".join(lines), {"svg": {"texts": len(lines)}})
        self._walk(root, "", lines)
        return _text_extraction("data", source, "\n".join(lines), {"xml": {"root": _local(root.tag)}})

    def _walk(self, el: ET.Element, path: str, out: list[str]) -> None:
        here = f"{path}/{_local(el.tag)}"
        attrs = " ".join(f"{_local(k)}={v}" for k, v in el.attrib.items())
        text = " ".join((el.text or "").split())
        if text or attrs:
            out.append(f"{here}{' [' + attrs + ']' if attrs else ''}: {text}".rstrip(": "))
        for child in el:
            self._walk(child, here, out)
            tail = " ".join((child.tail or "").split())
            if tail:
                out.append(f"{here}: {tail}")


# -- vCard and iCalendar -------------------------------------------------------------------------


class VcardExtractor:
    name = "vcard"

    def score(self, source: Source) -> int | None:
        if source.mime in {"text/vcard", "text/x-vcard", "text/directory"} or source.extension in {
            "vcf",
            "vcard",
        }:
            return 70
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        import vobject

        text, _ = decode_bytes(_read(source))
        cards: list[dict[str, Any]] = []
        try:
            for card in vobject.readComponents(text, ignoreUnreadable=True):
                cards.append(self._card(card))
        except Exception as exc:
            if not cards:
                raise StageError("extract", f"vCard file: damaged ({type(exc).__name__})") from exc
        blocks = ["\n".join(f"{label}: {value}" for label, value in card["lines"]) for card in cards]
        records = [{k: v for k, v in card.items() if k != "lines"} for card in cards]
        return _text_extraction("contacts", source, "\n\n".join(blocks), {"contacts": records[:1000]})

    @staticmethod
    def _card(card: Any) -> dict[str, Any]:
        labels = {
            "fn": "Name", "org": "Organisation", "title": "Job title", "email": "E-mail", "tel": "Phone",
            "adr": "Address", "bday": "Birthday", "note": "Note", "url": "Web", "role": "Role",
        }  # fmt: skip
        lines: list[tuple[str, str]] = []
        record: dict[str, Any] = {}
        for child in card.getChildren():
            key = child.name.lower()
            if key not in labels:
                continue
            value = child.value
            if key == "org" and isinstance(value, list):
                value = ", ".join(str(v) for v in value if v)
            elif key == "adr":
                value = ", ".join(
                    str(getattr(value, part, "") or "")
                    for part in ("street", "city", "region", "code", "country")
                    if getattr(value, part, "")
                )
            value = " ".join(str(value).split())
            if value:
                lines.append((labels[key], value))
                record.setdefault(key, []).append(value)
        return {"lines": lines, **record}


class CalendarExtractor:
    name = "calendar"

    def score(self, source: Source) -> int | None:
        if source.mime == "text/calendar" or source.extension in {"ics", "ical", "ifb"}:
            return 70
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        import icalendar

        try:
            calendar = icalendar.Calendar.from_ical(_read(source))
        except Exception as exc:
            raise StageError("extract", f"iCalendar file: damaged ({type(exc).__name__})") from exc
        blocks: list[str] = []
        events: list[dict[str, Any]] = []
        for item in calendar.walk():
            if item.name not in {"VEVENT", "VTODO", "VJOURNAL"}:
                continue
            event: dict[str, Any] = {}
            lines = []
            for key, label in (
                ("SUMMARY", "Event"), ("DTSTART", "Starts"), ("DTEND", "Ends"), ("LOCATION", "Where"),
                ("ORGANIZER", "Organizer"), ("ATTENDEE", "Attendee"), ("DESCRIPTION", "Description"),
                ("RRULE", "Repeats"),
            ):  # fmt: skip
                values = item.get(key)
                if values is None:
                    continue
                for value in values if isinstance(values, list) else [values]:
                    shown = self._value(value)
                    if shown:
                        lines.append(f"{label}: {shown}")
                        event.setdefault(key.lower(), []).append(shown)
            if lines:
                blocks.append("\n".join(lines))
                events.append(event)
        metadata: dict[str, Any] = {"events": events[:1000]}
        starts = sorted(e["dtstart"][0] for e in events if e.get("dtstart"))
        if starts and len(starts[0]) >= 10:
            metadata["date"] = starts[0]
        return _text_extraction("calendar", source, "\n\n".join(blocks), metadata)

    @staticmethod
    def _value(value: Any) -> str:
        if hasattr(value, "dt"):
            return str(value.dt.isoformat())
        if hasattr(value, "to_ical") and not isinstance(value, str):
            value = value.to_ical().decode("utf-8", "replace")
        text = " ".join(str(value).split())
        return text.removeprefix("mailto:").removeprefix("MAILTO:")


# -- Apple Mail .emlx ----------------------------------------------------------------------------


class EmlxExtractor:
    name = "emlx"

    def score(self, source: Source) -> int | None:
        first = source.head.split(b"\n", 1)[0].strip()
        if source.extension in {"emlx", "partial.emlx"} or (first.isdigit() and source.extension == "emlx"):
            return 95
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        from .mail.rfc822 import extract_rfc822

        data = _read(source)
        first, _, rest = data.partition(b"\n")
        if not first.strip().isdigit():
            raise StageError("extract", "Apple Mail message (.emlx): no byte count on its first line")
        message = rest[: int(first.strip())]  # the Apple property list after it is not mail
        return extract_rfc822(message, ctx, {"emlx": True})


# -- DjVu ----------------------------------------------------------------------------------------


class DjvuExtractor:
    name = "djvu"

    def score(self, source: Source) -> int | None:
        if source.mime == "image/vnd.djvu" or source.head.startswith(b"AT&TFORM"):
            return 100
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        from . import make_source
        from .pdf import PdfExtractor, usable_text

        what = "DjVu document"
        pdf = Path(ctx.workdir) / "djvu" / "rendition.pdf"
        pdf.parent.mkdir(parents=True, exist_ok=True)
        _run(["ddjvu", "-format=pdf", "-quality=85", str(source.path), str(pdf)], what)
        pages = PdfExtractor().extract(make_source(pdf, "rendition.pdf"), ctx).pages
        layer = _run(["djvutxt", str(source.path)], what).decode("utf-8", "replace").split("\f")
        for page, text in zip(pages, layer, strict=False):
            if usable_text(text):
                page.text, page.needs_ocr = text.strip(), None  # its own text layer
                page.meta["djvu_text_layer"] = True
        return Extraction(
            kind="djvu",
            title=source.filename,
            pages=pages,
            metadata={"djvu": {"pages": len(pages)}},
            rendition=pdf,
        )


# -- Access and dBase tables ---------------------------------------------------------------------


class AccessExtractor:
    name = "access"

    def score(self, source: Source) -> int | None:
        if source.mime == "application/x-msaccess" or source.extension in {"mdb", "accdb"}:
            return 80
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        what = "Access database"
        names = [
            t
            for t in _run(["mdb-tables", "-1", str(source.path)], what)
            .decode("utf-8", "replace")
            .splitlines()
            if t.strip()
        ]
        tables = TablePages()
        listed = []
        for table in names:
            out = _run(["mdb-export", "-D", "%Y-%m-%d %H:%M:%S", str(source.path), table], what)
            rows = csv.reader(io.StringIO(out.decode("utf-8", "replace")))
            header = next(rows, [])
            listed.append(
                {"name": table, "rows": tables.add_table(table, _named_rows(header, rows), MAX_CELLS)}
            )
        return Extraction(
            kind="database",
            title=source.filename,
            pages=tables.pages or [PageResult(number=1, text="")],
            metadata={"tables": listed},
        )


def _named_rows(header: list[str], rows: Iterator[list[str]]) -> Iterator[Row]:
    for number, row in enumerate(rows, start=1):
        filled = [
            (header[i] if i < len(header) else f"column {i + 1}", v) for i, v in enumerate(row) if v.strip()
        ]
        if filled:
            yield number, filled


class DbaseExtractor:
    name = "dbase"

    def score(self, source: Source) -> int | None:
        if source.extension == "dbf" or source.mime in {"application/dbf", "application/x-dbf"}:
            return 80
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        import dbfread

        try:
            table = dbfread.DBF(
                str(source.path), load=False, char_decode_errors="replace", ignore_missing_memofile=True
            )
            fields = list(table.field_names)
            tables = TablePages()

            def rows() -> Iterator[Row]:
                for number, record in enumerate(table, start=1):
                    filled = [(k, v) for k, v in record.items() if v is not None and str(v).strip()]
                    if filled:
                        yield number, filled

            count = tables.add_table(Path(source.filename).stem or "table", rows(), MAX_CELLS)
        except Exception as exc:
            raise StageError("extract", f"dBase table: damaged ({type(exc).__name__})") from exc
        return Extraction(
            kind="database",
            title=source.filename,
            pages=tables.pages or [PageResult(number=1, text="")],
            metadata={"tables": [{"name": Path(source.filename).stem, "rows": count, "fields": fields}]},
        )


# -- audio and video -----------------------------------------------------------------------------


class MediaExtractor:
    name = "media"

    def score(self, source: Source) -> int | None:
        return 50 if source.mime.startswith(("audio/", "video/")) else None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        kind = "audio" if source.mime.startswith("audio/") else "video"
        media: dict[str, Any] = {"type": source.mime, "bytes": source.path.stat().st_size}
        if source.head[:4] == b"RIFF" and source.head[8:12] == b"WAVE":
            try:
                with wave.open(str(source.path)) as w:
                    media.update(
                        seconds=round(w.getnframes() / max(w.getframerate(), 1), 2),
                        channels=w.getnchannels(),
                        rate=w.getframerate(),
                    )
            except (wave.Error, EOFError):
                pass
        note = f"{kind} recording: stored with its metadata; no text to read (speech is not transcribed)"
        return Extraction(
            kind=kind,
            title=source.filename,
            pages=[PageResult(number=1, text="", lang="und")],
            metadata={"media": media, "no_text": note},
        )


for _extractor in (
    JsonExtractor(), XmlExtractor(), VcardExtractor(), CalendarExtractor(), EmlxExtractor(),
    DjvuExtractor(), AccessExtractor(), DbaseExtractor(), MediaExtractor(),
):  # fmt: skip
    register(_extractor)
