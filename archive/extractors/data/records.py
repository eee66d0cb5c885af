"""vCard contacts and iCalendar events as records (`metadata.contacts`, `metadata.events`).
Their text is one "Label: value" line per field; the people, organisations, e-mail addresses,
phone numbers, addresses and dates are taken from the fields themselves (a vCard's FN or N, an
attendee's or organiser's CN and address) and handed to the entity step as the page's
`meta["record_entities"]`, spans in that text, so `entity:"Name"` finds the record whatever NER
makes of a bare line."""

from __future__ import annotations

from typing import Any

from ...models import Extraction, PageResult, Source, StageError
from .. import ExtractContext
from ..dates import utc_from_iso
from ..text import _read, decode_bytes, split_pages

# A field's line: its label, its shown value and the entities in it, as (type, start, end, norm)
# with offsets in the value.
Span = tuple[str, int, int, str]
Line = tuple[str, str, list[Span]]


def _whole(kind: str | None, value: str) -> list[Span]:
    if kind is None:
        return []
    norm = value.lower() if kind == "email" else value[:10] if kind == "date" else value
    return [(kind, 0, len(value), norm)]


def record_extraction(
    kind: str, source: Source, blocks: list[list[Line]], metadata: dict[str, Any]
) -> Extraction:
    """Pages of the records' lines, each with the entities of its lines at their offsets."""
    spans_of: dict[str, list[Span]] = {}
    for block in blocks:
        for label, value, spans in block:
            if spans:
                spans_of.setdefault(f"{label}: {value}", spans)
    text = "\n\n".join("\n".join(f"{label}: {value}" for label, value, _ in block) for block in blocks)
    pages = []
    for number, page_text in enumerate(split_pages(text), start=1):
        found: list[dict[str, Any]] = []
        offset = 0
        for line in page_text.split("\n"):
            label = line.split(": ", 1)[0]
            for kind, start, end, norm in spans_of.get(line, []):
                at = offset + len(label) + 2
                found.append(
                    {"type": kind, "text": line[len(label) + 2 :][start:end], "norm": norm}
                    | {"start": at + start, "end": at + end}
                )
            offset += len(line) + 1
        page = PageResult(number=number, text=page_text)
        if found:
            page.meta["record_entities"] = found
        pages.append(page)
    return Extraction(kind=kind, title=source.filename, pages=pages, metadata=metadata)


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
        cards: list[tuple[list[Line], dict[str, Any]]] = []
        try:
            for card in vobject.readComponents(text, ignoreUnreadable=True):
                cards.append(self._card(card))
        except Exception as exc:
            if not cards:
                raise StageError("extract", f"vCard file: damaged ({type(exc).__name__})") from exc
        records = [record for _, record in cards]
        return record_extraction(
            "contacts", source, [lines for lines, _ in cards], {"contacts": records[:1000]}
        )

    @staticmethod
    def _card(card: Any) -> tuple[list[Line], dict[str, Any]]:
        fields = {
            "fn": ("Name", "person"), "org": ("Organisation", "org"), "title": ("Job title", None),
            "email": ("E-mail", "email"), "tel": ("Phone", "phone"), "adr": ("Address", "place"),
            "bday": ("Birthday", "date"), "note": ("Note", None), "url": ("Web", "url"), "role": ("Role", None),
        }  # fmt: skip
        lines: list[Line] = []
        record: dict[str, Any] = {}
        children = list(card.getChildren())
        has_fn = any(c.name.lower() == "fn" and str(c.value).strip() for c in children)
        for child in children:
            key = child.name.lower()
            value = child.value
            if key == "n" and not has_fn:  # no display name: "Given Family" from the structured one
                key, value = (
                    "fn",
                    " ".join(
                        str(getattr(value, p, "") or "") for p in ("prefix", "given", "additional", "family")
                    ),
                )
            if key not in fields:
                continue
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
                label, kind = fields[key]
                lines.append((label, value, _whole(kind, value)))
                record.setdefault(key, []).append(value)
        return lines, record


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
        blocks: list[list[Line]] = []
        events: list[dict[str, Any]] = []
        for item in calendar.walk():
            if item.name not in {"VEVENT", "VTODO", "VJOURNAL"}:
                continue
            event: dict[str, Any] = {}
            lines: list[Line] = []
            for key, label, kind in (
                ("SUMMARY", "Event", None), ("DTSTART", "Starts", "date"), ("DTEND", "Ends", "date"),
                ("LOCATION", "Where", "place"), ("ORGANIZER", "Organizer", "person"),
                ("ATTENDEE", "Attendee", "person"), ("DESCRIPTION", "Description", None), ("RRULE", "Repeats", None),
            ):  # fmt: skip
                values = item.get(key)
                if values is None:
                    continue
                for value in values if isinstance(values, list) else [values]:
                    shown = self._value(value)
                    if not shown:
                        continue
                    event.setdefault(key.lower(), []).append(shown)
                    if kind == "person":
                        lines.append((label, *self._person(value, shown)))
                    else:
                        lines.append((label, shown, _whole(kind, shown)))
            if lines:
                blocks.append(lines)
                events.append(event)
        metadata: dict[str, Any] = {"events": events[:1000]}
        starts = sorted(filter(None, (utc_from_iso(e["dtstart"][0]) for e in events if e.get("dtstart"))))
        if starts:
            metadata["date"] = starts[0]
        return record_extraction("calendar", source, blocks, metadata)

    @staticmethod
    def _person(value: Any, address: str) -> tuple[str, list[Span]]:
        """An organiser or attendee shown as "Name <address>": the name a person, the address an
        e-mail address when it is one."""
        params = getattr(value, "params", {}) or {}
        name = " ".join(str(params.get("CN", "")).split()).strip("\"'")
        spans: list[Span] = []
        shown = address
        if name and name != address:
            shown = f"{name} <{address}>"
            spans.append(("person", 0, len(name), name))
        if "@" in address and " " not in address:
            start = shown.rfind(address)
            spans.append(("email", start, start + len(address), address.lower()))
        return shown, spans

    @staticmethod
    def _value(value: Any) -> str:
        if hasattr(value, "dt"):
            return str(value.dt.isoformat())
        if hasattr(value, "to_ical") and not isinstance(value, str):
            value = value.to_ical().decode("utf-8", "replace")
        text = " ".join(str(value).split())
        return text.removeprefix("mailto:").removeprefix("MAILTO:")
