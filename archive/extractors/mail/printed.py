"""Messages split out of printed e-mail chains: the JSON records archive/printed_mail.py writes,
read back as e-mail documents."""

from __future__ import annotations

from typing import Any

from ...models import Extraction, Source, StageError
from .. import ExtractContext
from .document import _mail_document
from .limits import _refuse_larger_than

MAX_PRINTED_RECORD_BYTES = 5 * 1024 * 1024


def _clean_address_entries(value: Any) -> list[dict[str, str]]:
    out = []
    for entry in value if isinstance(value, list) else []:
        if isinstance(entry, dict):
            name, addr = str(entry.get("name") or "").strip(), str(entry.get("address") or "").strip()
            if name or addr:
                out.append({"name": name, "address": addr})
    return out


# The first bytes of the record archive/printed_mail.py writes for each message of a printout.
PRINTED_MAGIC = '{"foi_printed_message": 1'


class PrintedMessageExtractor:
    """The JSON record that archive/printed_mail.py writes for each message of a printed chain:
    read back as an e-mail document (kind "email", metadata["mail"] like a native message's)."""

    name = "printed_mail"

    def score(self, source: Source) -> int | None:
        if source.head.startswith(PRINTED_MAGIC.encode()):
            return 100
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        import json

        _refuse_larger_than(source, MAX_PRINTED_RECORD_BYTES, "printed message record")
        try:
            record = json.loads(source.path.read_text(encoding="utf-8"))
            raw_mail = record["mail"]
            if not isinstance(raw_mail, dict):
                raise TypeError("mail is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            raise StageError("extract", f"unreadable printed message record: {exc}") from exc
        sender = _clean_address_entries([raw_mail.get("from")])
        pages = raw_mail.get("pages")
        if not (isinstance(pages, list) and len(pages) == 2 and all(isinstance(p, int) for p in pages)):
            pages = None
        mail: dict[str, Any] = {
            "from": sender[0] if sender else None,
            "to": _clean_address_entries(raw_mail.get("to")),
            "cc": _clean_address_entries(raw_mail.get("cc")),
            "bcc": _clean_address_entries(raw_mail.get("bcc")),
            "subject": str(raw_mail.get("subject") or ""),
            "date": str(raw_mail["date"]) if raw_mail.get("date") else None,
            "date_utc": str(raw_mail["date_utc"]) if raw_mail.get("date_utc") else None,
            "date_has_zone": bool(raw_mail.get("date_has_zone")),
            "message_id": None,
            "in_reply_to": None,
            "references": [],
            "printed": True,
            "pages": pages,
        }
        return _mail_document(mail, str(record.get("body") or ""), [], [])
