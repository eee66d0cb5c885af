"""Header fields of a parsed message: raw values, dates, and the `metadata["mail"]` record."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

from .addresses import _address_field, _addresses
from .charset import _decode_raw_text, decode_header_value
from .limits import MAX_ADDRESSES


def _utc(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_date(value: str) -> str | None:
    if not value:
        return None
    try:
        return _utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError):
        return None


def _raw_header(msg: Message, name: str) -> list[str]:
    lname = name.lower()
    return [str(v) for k, v in msg.raw_items() if k.lower() == lname]


def _first(msg: Message, name: str) -> str:
    values = _raw_header(msg, name)
    return values[0] if values else ""


def mail_headers(msg: Message, warnings: list[str] | None = None) -> dict[str, Any]:
    """The parsed header fields; address fields keep MAX_ADDRESSES each (a note in `warnings`)."""

    def addresses(name: str) -> list[dict[str, str]]:
        found, more = _address_field(_raw_header(msg, name))
        if more and warnings is not None:
            warnings.append(
                f"{name.title()}: more than {MAX_ADDRESSES} addresses, the first {MAX_ADDRESSES} kept"
            )
        return found

    from_ = _addresses(_raw_header(msg, "from")) or _addresses(_raw_header(msg, "sender"))
    date = re.sub(r"\s+", " ", _decode_raw_text(_first(msg, "date"))).strip()
    refs = re.findall(r"<[^<>\s]+>", " ".join(_raw_header(msg, "references")))
    irt = re.findall(r"<[^<>\s]+>", _first(msg, "in-reply-to"))
    mid = re.findall(r"<[^<>\s]+>", _first(msg, "message-id"))
    return {
        "from": from_[0] if from_ else None,
        "to": addresses("to"),
        "cc": addresses("cc"),
        "bcc": addresses("bcc"),
        "subject": decode_header_value(_first(msg, "subject")),
        "date": date or None,
        "date_utc": _parse_date(date),
        "message_id": mid[0] if mid else (_first(msg, "message-id").strip() or None),
        "in_reply_to": irt[0] if irt else None,
        "references": refs,
    }
