"""Dates written in ISO 8601 by a file (office properties, calendar events) as the store keeps a
document's date: UTC, `YYYY-MM-DDTHH:MM:SSZ` (a date without a zone is taken as UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$")


def utc_from_iso(value: str) -> str | None:
    """`value` as a UTC timestamp, or None when it is not an ISO 8601 date (or is a placeholder
    year such as OLE's 1601)."""
    m = _ISO.match(value.strip())
    if m is None:
        return None
    day, time, zone = m.group(1), m.group(2) or "00:00:00", m.group(3) or "+00:00"
    zone = "+00:00" if zone == "Z" else zone
    try:
        stamp = datetime.fromisoformat(f"{day}T{time}{zone}")
    except ValueError:
        return None
    if stamp.year < 1900:
        return None
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
