"""vCard contacts and iCalendar events as records (`metadata.contacts`, `metadata.events`), with
their people, addresses and dates written into the text for the entity step."""

from __future__ import annotations

from typing import Any

from ...models import Extraction, Source, StageError
from .. import ExtractContext
from ..dates import utc_from_iso
from ..text import _read, decode_bytes
from .common import text_extraction


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
        return text_extraction("contacts", source, "\n\n".join(blocks), {"contacts": records[:1000]})

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
        starts = sorted(filter(None, (utc_from_iso(e["dtstart"][0]) for e in events if e.get("dtstart"))))
        if starts:
            metadata["date"] = starts[0]
        return text_extraction("calendar", source, "\n\n".join(blocks), metadata)

    @staticmethod
    def _value(value: Any) -> str:
        if hasattr(value, "dt"):
            return str(value.dt.isoformat())
        if hasattr(value, "to_ical") and not isinstance(value, str):
            value = value.to_ical().decode("utf-8", "replace")
        text = " ".join(str(value).split())
        return text.removeprefix("mailto:").removeprefix("MAILTO:")
