"""RFC 822 messages (.eml, message/rfc822): body text, attachments and embedded messages."""

from __future__ import annotations

import email.policy
import re
from email.message import Message
from typing import Any

from ...models import ChildFile, Extraction, Source
from .. import ExtractContext
from ..text import html_to_text
from .bounds import parse_bounded
from .charset import _part_bytes, _part_text, decode_header_value
from .document import _ChildWriter, _mail_document, safe_filename
from .headers import _first, mail_headers
from .limits import MAX_ATTACHMENTS, MAX_MESSAGE_BYTES, _refuse_larger_than
from .tnef import is_tnef, unpack_tnef


def _part_filename(part: Message) -> str | None:
    name = None
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        for header in ("content-disposition", "content-type"):
            m = re.search(r'(?:file)?name\*?=\s*"?([^";]+)"?', _first(part, header), re.I)
            if m:
                name = m.group(1)
                break
    return decode_header_value(name) if name else None


def _message_bytes(msg: Message) -> bytes:
    try:
        return msg.as_bytes(policy=email.policy.compat32)
    except Exception:
        return msg.as_string(policy=email.policy.compat32).encode("utf-8", "surrogateescape")


def extract_rfc822(data: bytes, ctx: ExtractContext, extra: dict[str, Any] | None = None) -> Extraction:
    msg, bounded = parse_bounded(data)
    warnings: list[str] = list(bounded.warnings)
    mail = mail_headers(msg, warnings)
    guessed: list[dict[str, str]] = []
    writer = _ChildWriter(ctx)
    plain: list[str] = []
    html: list[str] = []
    children: list[ChildFile] = []

    def add_child(name: str, payload: bytes, meta: dict[str, Any]) -> None:
        if len(children) >= MAX_ATTACHMENTS:
            warnings.append(f"more than {MAX_ATTACHMENTS} attachments: {name} skipped")
            return
        children.append(writer.write(name, payload, meta))

    def walk(part: Message) -> None:
        ctype = (part.get_content_type() or "text/plain").lower()
        if ctype == "message/rfc822":
            payload: Any = part.get_payload()
            if isinstance(payload, list) and payload:
                inner = payload[0]
                raw = _message_bytes(inner) if isinstance(inner, Message) else b""
            else:
                raw = _part_bytes(part)
            name = (
                _part_filename(part)
                or (
                    decode_header_value(str(payload[0].get("subject", "")))
                    if isinstance(payload, list) and payload
                    else ""
                )
                or "message"
            )
            name = safe_filename(name, "message")
            if not name.lower().endswith((".eml", ".msg")):
                name += ".eml"
            add_child(name, raw, {"attachment": {"content_type": ctype, "embedded_message": True}})
            return
        if part.is_multipart():
            subparts: Any = part.get_payload()
            for sub in subparts if isinstance(subparts, list) else []:
                if isinstance(sub, Message):
                    walk(sub)
            return
        filename = _part_filename(part)
        try:
            disposition = (part.get_content_disposition() or "").lower()
        except Exception:
            disposition = ""
        is_body_text = ctype in {"text/plain", "text/html"} and disposition != "attachment" and not filename
        if is_body_text:
            text = _part_text(part, guessed)
            (plain if ctype == "text/plain" else html).append(text)
            return
        payload = _part_bytes(part)
        if not payload:
            if filename:
                warnings.append(f"attachment {filename} is empty")
            return
        if is_tnef(ctype, filename, payload):
            unpacked = unpack_tnef(payload, warnings)
            if unpacked is not None:
                tnef_body, files = unpacked
                if tnef_body and not plain and not html:
                    plain.append(tnef_body)
                container = filename or "winmail.dat"
                for i, (att_name, att_data) in enumerate(files, 1):
                    add_child(
                        safe_filename(att_name, f"attachment-{len(children) + 1}"),
                        att_data,
                        {"attachment": {"content_type": None, "tnef": container, "index": i}},
                    )
                return
        ext = {"application/pdf": ".pdf", "text/plain": ".txt", "text/html": ".html"}.get(ctype, "")
        name = safe_filename(filename or "", f"attachment-{len(children) + 1}{ext}")
        add_child(name, payload, {"attachment": {"content_type": ctype, "disposition": disposition or None}})

    try:
        walk(msg)
    except Exception as exc:  # a broken MIME structure: keep what was read
        warnings.append(f"MIME structure partly unreadable: {type(exc).__name__}: {exc}")
    for defect in getattr(msg, "defects", [])[:5]:
        warnings.append(f"MIME defect: {type(defect).__name__}")
    if plain:
        body = "\n\n".join(t.strip() for t in plain if t.strip())
    else:
        body = "\n\n".join(html_to_text(h)[0] for h in html)
    notes: dict[str, Any] = dict(extra or {})
    for g in guessed:
        warnings.append(f"unknown charset {g['declared']!r}: text read as {g['used']} (detected)")
    if guessed:
        notes["charset_detected"] = guessed
    if bounded.cuts:
        notes["cut"] = bounded.cuts
    if bounded.limit:
        notes["limits"] = bounded.limit  # the ingester marks the message: parts were left unread
    return _mail_document(mail, body, children, warnings, notes)


def _rfc822_head(head: bytes) -> bool:
    block = head.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    names = set()
    for line in block.split(b"\n"):
        if line[:1] in (b" ", b"\t") or not line:
            continue
        m = re.match(rb"([A-Za-z][A-Za-z0-9-]*):", line)
        if not m:
            return False
        names.add(m.group(1).lower())
    return (
        len(names & {b"from", b"to", b"subject", b"date", b"received", b"message-id", b"mime-version"}) >= 2
    )


class EmlExtractor:
    name = "eml"

    def score(self, source: Source) -> int | None:
        if source.mime == "message/rfc822":
            return 80
        if source.extension == "eml":
            return 70
        if source.mime in {"text/plain", "application/octet-stream"} and _rfc822_head(source.head):
            return 75  # headers longer than the generic sniffer looks at (Received/ARC chains)
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        _refuse_larger_than(source, MAX_MESSAGE_BYTES, "message")
        data = source.path.read_bytes()
        if data.startswith(b"From "):  # a single message saved with its mbox separator line
            data = data.split(b"\n", 1)[1] if b"\n" in data else b""
        return extract_rfc822(data, ctx)
