"""Outlook .msg files (read with extract-msg): Exchange addresses resolved to SMTP ones where the
message pairs them, legacy code pages repaired, attachments and embedded messages as children."""

from __future__ import annotations

import contextlib
import email.utils
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any

from ...models import ChildFile, Extraction, Source, StageError
from ...script import HAN
from .. import ExtractContext
from ..text import decode_bytes, html_to_text
from .addresses import _addresses
from .bounds import parse_bounded
from .charset import _commonness, _decode_raw_text
from .document import _ChildWriter, _clean, _mail_document, safe_filename
from .headers import _first, _parse_date, _raw_header, _utc
from .limits import MAX_ATTACHMENTS, MAX_MESSAGE_BYTES, _refuse_larger_than


def _msg_address_list(value: str | None) -> list[dict[str, str]]:
    if not value:
        return []
    return _addresses([value.replace(";", ",")])


def _name_key(name: str) -> str:
    return re.sub(r"\W+", "", name or "").casefold()


_BODY_NAME_ADDR = re.compile(
    r"([^\n<>:;\[\]]{2,80}?)\s*[<\[](?:mailto:)?([\w.+-]+@[\w-]+(?:\.[\w-]+)+)[>\]]", re.I
)


def _smtp_directory(msg: Any, headers: Message | None) -> dict[str, str]:
    """Display name -> SMTP address, from everything in a .msg that pairs them: the transport
    headers, recipients' PR_SMTP_ADDRESS, extract-msg's To/Cc strings and "Name <address>" in the
    body (quoted earlier messages). Used for Exchange DN addresses ("/O=ORG/OU=.../CN=NAME")."""
    found: dict[str, str] = {}

    def add(name: str, address: str) -> None:
        key = _name_key(name)
        if key and "@" in address and key not in found:
            found[key] = address.strip().lower()

    if headers is not None:
        for h in ("from", "sender", "to", "cc", "bcc", "reply-to"):
            for a in _addresses(_raw_header(headers, h)):
                add(a["name"], a["address"])
    with contextlib.suppress(Exception):
        for r in msg.recipients:
            add(_clean(r.name), _recipient_smtp(r))
    for value in (getattr(msg, "to", None), getattr(msg, "cc", None)):
        with contextlib.suppress(Exception):
            for part in re.split(r"(?<=>)\s*[;,]\s*", _clean(value)):
                m = re.match(r'^\s*"?(.*?)"?\s*<([^<>]+)>\s*$', part)
                if m:
                    add(m.group(1), m.group(2))
    with contextlib.suppress(Exception):
        for m in _BODY_NAME_ADDR.finditer(_clean(msg.body)[:200_000]):
            add(m.group(1).strip().strip('"').strip(), m.group(2))
    return found


def _recipient_smtp(r: Any) -> str:
    """A recipient's SMTP address: PR_SMTP_ADDRESS, else its e-mail address when it has an '@'."""
    getters: tuple[Callable[[], Any], ...] = (
        lambda: r.getStringStream("__substg1.0_39FE"),
        lambda: r.email,
        lambda: r.getStringStream("__substg1.0_3003"),
    )
    for getter in getters:
        try:
            value = _clean(getter())
        except Exception:
            value = ""
        if "@" in value and not value.startswith("/"):
            return value.lower()
    return ""


def _resolve(entry: dict[str, str], directory: dict[str, str]) -> dict[str, str]:
    """An address without '@' (an Exchange DN) replaced by the SMTP address of the same name."""
    address = entry.get("address", "")
    if "@" in address:
        return entry
    smtp = directory.get(_name_key(entry.get("name", "")))
    out = dict(entry)
    if smtp:
        out["address"] = smtp
    elif address:
        out["address"] = ""
        out["exchange_dn"] = address
    return out


def _recipients(msg: Any, kind: int, directory: dict[str, str]) -> list[dict[str, str]]:
    out = []
    try:
        for r in msg.recipients:
            rtype = int(getattr(r.type, "value", r.type) or 1)
            if rtype == kind:
                name = _clean(r.name).strip("'\"")
                entry = {"name": name, "address": _recipient_smtp(r) or _clean(r.email)}
                out.append(_resolve(entry, directory))
    except Exception:
        return []
    return out


def _msg_strings_need_codepage(msg: Any) -> str | None:
    """A non-Unicode .msg without a usable code page decodes CJK as Latin-1 mojibake: find the
    real encoding from the subject and body bytes."""
    if getattr(msg, "areStringsUnicode", True):
        return None
    used = getattr(msg, "stringEncoding", "latin-1") or "latin-1"
    sample = (msg.subject or "") + "\n" + (msg.body or "")[:4000]
    try:
        raw = sample.encode(used)
    except (UnicodeEncodeError, LookupError):
        return None
    if raw.isascii():
        return None
    try:
        if HAN.search(raw.decode("utf-8")):
            return "utf-8"
    except UnicodeDecodeError:
        pass
    best: tuple[float, str] | None = None
    for enc in ("gb18030", "big5hkscs"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if HAN.search(text):
            candidate = (_commonness(text, enc), {"big5hkscs": "cp950"}.get(enc, enc))
            best = max(best, candidate) if best else candidate
    return best[1] if best else None


def _open_msg(path: Path) -> Any:
    import extract_msg

    try:
        msg = extract_msg.openMsg(str(path), delayAttachments=False)
    except Exception as exc:
        raise StageError("extract", f"unreadable Outlook message: {exc}") from exc
    enc = _msg_strings_need_codepage(msg)
    if enc:
        msg.close()
        msg = extract_msg.openMsg(str(path), overrideEncoding=enc)
    return msg


def _msg_sender(msg: Any, headers: Message | None) -> list[dict[str, str]]:
    if headers is not None and _raw_header(headers, "from"):
        found = _addresses(_raw_header(headers, "from"))
        if found:
            return found
    value = _clean(msg.sender)
    address = ""
    for stream in ("__substg1.0_5D01", "__substg1.0_5D02", "__substg1.0_0C1F", "__substg1.0_0065"):
        try:
            candidate = _clean(msg.getStringStream(stream))
        except Exception:
            candidate = ""
        if "@" in candidate:
            address = candidate.lower()
            break
    if "<" in value:
        parsed = _addresses([value])
        if parsed:
            if address and "@" not in parsed[0]["address"]:
                parsed[0]["address"] = address
            return parsed
    if "@" in value and " " not in value:
        return [{"name": "", "address": value.lower()}]
    if value or address:
        return [{"name": value, "address": address}]
    return []


def extract_outlook(msg: Any, ctx: ExtractContext) -> Extraction:
    header_text = ""
    try:
        header_text = msg.headerText or ""
    except Exception:
        header_text = ""
    headers = (
        parse_bounded(header_text.encode("utf-8", "surrogateescape") + b"\n\n", headers_only=True)[0]
        if header_text
        else None
    )
    directory = _smtp_directory(msg, headers)
    sender = [_resolve(a, directory) for a in _msg_sender(msg, headers)]
    to = _recipients(msg, 1, directory) or _msg_address_list(_clean(msg.to))
    cc = _recipients(msg, 2, directory) or _msg_address_list(_clean(msg.cc))
    bcc = _recipients(msg, 3, directory) or _msg_address_list(_clean(getattr(msg, "bcc", "")))
    date_raw = ""
    date_utc = None
    try:
        d = msg.date
        if isinstance(d, datetime):
            date_utc = _utc(d)
            date_raw = email.utils.format_datetime(d if d.tzinfo else d.replace(tzinfo=UTC))
        elif d:
            date_raw = str(d)
            date_utc = _parse_date(date_raw)
    except Exception:
        pass
    if headers is not None and headers.get("date"):
        date_raw = _decode_raw_text(_first(headers, "date")).strip() or date_raw
        date_utc = _parse_date(date_raw) or date_utc

    def ids(value: Any) -> list[str]:
        return re.findall(r"<[^<>\s]+>", _clean(value))

    refs = ids(_first(headers, "references")) if headers is not None else []
    mid = ids(getattr(msg, "messageId", None))
    irt = ids(getattr(msg, "inReplyTo", None))
    mail = {
        "from": sender[0] if sender else None,
        "to": to,
        "cc": cc,
        "bcc": bcc,
        "subject": _clean(msg.subject),
        "date": date_raw or None,
        "date_utc": date_utc,
        "message_id": mid[0] if mid else None,
        "in_reply_to": irt[0] if irt else None,
        "references": refs,
    }
    body = _clean(msg.body)
    if not body:
        try:
            html = msg.htmlBody
            if html:
                html_text, _ = decode_bytes(html) if isinstance(html, bytes) else (html, "")
                body = html_to_text(html_text)[0]
        except Exception:
            body = ""
    writer = _ChildWriter(ctx)
    children: list[ChildFile] = []
    warnings: list[str] = []
    for i, att in enumerate(msg.attachments, 1):
        if len(children) >= MAX_ATTACHMENTS:
            warnings.append(f"more than {MAX_ATTACHMENTS} attachments: the rest skipped")
            break
        try:
            name = _clean(
                getattr(att, "longFilename", None)
                or getattr(att, "shortFilename", None)
                or getattr(att, "name", None)
                or getattr(att, "displayName", None)
            )
            data = att.data
            if data is None:
                continue
            if isinstance(data, (bytes, bytearray)):
                payload = bytes(data)
                meta: dict[str, Any] = {
                    "attachment": {"content_type": _clean(getattr(att, "mimetype", None)) or None}
                }
            elif hasattr(data, "exportBytes"):
                payload = data.exportBytes()
                name = name or _clean(getattr(data, "subject", "")) or "message"
                if not name.lower().endswith(".msg"):
                    name += ".msg"
                meta = {
                    "attachment": {"content_type": "application/vnd.ms-outlook", "embedded_message": True}
                }
            else:
                warnings.append(f"attachment {i} ({name or 'unnamed'}) has an unsupported type")
                continue
            name = safe_filename(name, f"attachment-{i}")
            children.append(writer.write(name, payload, meta))
        except Exception as exc:
            warnings.append(f"attachment {i} unreadable: {type(exc).__name__}: {exc}")
    return _mail_document(mail, body, children, warnings)


class MsgExtractor:
    name = "msg"

    def score(self, source: Source) -> int | None:
        if source.mime == "application/vnd.ms-outlook":
            return 80
        if source.mime == "application/x-ole-storage" and source.extension in {"msg", "oft"}:
            return 70
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        _refuse_larger_than(source, MAX_MESSAGE_BYTES, "message")
        msg = _open_msg(source.path)
        try:
            return extract_outlook(msg, ctx)
        finally:
            with contextlib.suppress(Exception):
                msg.close()
