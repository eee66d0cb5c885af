"""E-mail: RFC 822 files (.eml), mbox folders and Outlook .msg files.

Every message becomes one document of kind "email": one page holding a readable header block and
the body text, `metadata["mail"]` with parsed addresses and dates, and its attachments and
embedded messages as child files (which the ingester reads recursively like any other file).
Nothing in a message is executed or fetched: HTML bodies become plain text.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import email.utils
import re
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from ..models import ChildFile, Extraction, PageResult, Source, StageError
from . import ExtractContext, register
from .text import _canonical, decode_bytes, html_to_text

MAX_MESSAGE_BYTES = 100 * 1024 * 1024  # one .eml / .msg file
MAX_MBOX_BYTES = 2 * 1024 * 1024 * 1024
MAX_MBOX_MESSAGES = 200_000
MAX_ATTACHMENTS = 1000

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_SAFE_NAME = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)


# -- text repair ---------------------------------------------------------------------------------


def repair_mojibake(text: str) -> str:
    """Undo CJK text that was decoded as Latin-1/cp1252 (possibly twice): keep the repair only when
    the re-encoded bytes decode cleanly and the result contains CJK characters."""
    if not text or not re.search(r"[\u0080-\u00ff]", text):
        return text
    current = text
    for _ in range(3):  # double and triple encodings
        repaired = _repair_once(current)
        if repaired is None:
            break
        current = repaired
        if _CJK.search(current):
            return current
    return text


def _looks_like_multibyte(text: str) -> bool:
    """Latin-1 readings of GBK/Big5 bytes are full of symbols (¡ ¤ ª ± ½ ®); real accented Latin
    text is made of letters (â, ç, é)."""
    high = [
        c
        for c in text
        if "\u0080" <= c <= "\u00ff"
        or c
        in "\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178"
    ]
    if len(high) < 2:
        return False
    symbols = sum(1 for c in high if not c.isalpha())
    return symbols >= 0.25 * len(high)


def _repair_once(text: str) -> str | None:
    for single in ("latin-1", "cp1252"):
        try:
            raw = text.encode(single)
        except UnicodeEncodeError:
            continue
        if raw.isascii():
            return None
        try:
            out = raw.decode("utf-8")
            if out != text:
                return out
        except UnicodeDecodeError:
            pass
        if not _looks_like_multibyte(text):
            continue
        candidates = []
        for multi in ("gb18030", "big5hkscs"):
            try:
                out = raw.decode(multi)
            except UnicodeDecodeError:
                continue
            if _CJK.search(out) and "\ufffd" not in out and not re.search(r"[\u0080-\u00ff]", out):
                candidates.append((_commonness(out, multi), out))
        if candidates:
            return max(candidates)[1]
    return None


def _commonness(text: str, codec: str) -> float:
    """Share of the CJK characters that are in the frequent-character block of their charset
    (GB2312 level 1, Big5 frequent characters): a wrong reading lands on rare characters."""
    chars = _CJK.findall(text)
    if not chars:
        return 0.0
    common = 0
    for c in chars:
        try:
            if codec == "gb18030":
                b = c.encode("gb2312")
                common += 0xB0A1 <= int.from_bytes(b, "big") <= 0xD7FE
            else:
                b = c.encode("big5")
                common += 0xA440 <= int.from_bytes(b, "big") <= 0xC67E
        except UnicodeEncodeError:
            pass
    return common / len(chars)


def _decode_chunk(raw: bytes, charset: str | None) -> str:
    if charset:
        try:
            return raw.decode(_canonical(charset))
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_bytes(raw)[0]


def decode_header_value(value: str) -> str:
    """RFC 2047 encoded words with GB2312 read as GB18030 and Big5 as Big5-HKSCS; undeclared
    8-bit bytes (kept by the parser as surrogate escapes) go through charset detection."""
    if value is None:
        return ""
    value = str(value)
    value = re.sub(r"\r?\n[ \t]+", " ", value)
    out: list[str] = []
    pos = 0
    last_was_word = False
    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        if not (last_was_word and between.strip() == ""):
            out.append(_decode_raw_text(between))
        charset, enc, payload = m.group(1).split("*", 1)[0], m.group(2).upper(), m.group(3)
        try:
            if enc == "B":
                import base64

                raw = base64.b64decode(payload + "=" * (-len(payload) % 4))
            else:
                import quopri

                raw = quopri.decodestring(
                    payload.replace("_", " ").encode("ascii", "surrogateescape"), header=True
                )
            out.append(_decode_chunk(raw, charset))
        except Exception:
            out.append(m.group(0))
        pos = m.end()
        last_was_word = True
    out.append(_decode_raw_text(value[pos:]))
    return repair_mojibake("".join(out)).strip()


def _decode_raw_text(text: str) -> str:
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text
    if raw.isascii():
        return text
    return decode_bytes(raw)[0]


def _addresses(values: list[str]) -> list[dict[str, str]]:
    result = []
    for name, addr in getaddresses([re.sub(r"\r?\n[ \t]+", " ", str(v)) for v in values if v]):
        name = decode_header_value(name).strip().strip('"').strip()
        addr = _decode_raw_text(addr).strip()
        if not name and not addr:
            continue
        result.append({"name": name, "address": addr.lower() if "@" in addr else addr})
    return result


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


def _format_address(a: dict[str, str]) -> str:
    if a.get("name") and a.get("address"):
        return f"{a['name']} <{a['address']}>"
    return a.get("name") or a.get("address") or ""


def header_block(mail: dict[str, Any]) -> str:
    lines = []
    if mail.get("from"):
        lines.append("From: " + _format_address(mail["from"]))
    for key, label in (("to", "To"), ("cc", "Cc")):
        if mail.get(key):
            lines.append(f"{label}: " + ", ".join(_format_address(a) for a in mail[key]))
    if mail.get("date"):
        lines.append("Date: " + mail["date"])
    lines.append("Subject: " + (mail.get("subject") or ""))
    return "\n".join(lines)


def _mail_document(
    mail: dict[str, Any],
    body: str,
    children: list[ChildFile],
    warnings: list[str],
    extra: dict[str, Any] | None = None,
) -> Extraction:
    text = header_block(mail) + "\n\n" + (body or "").strip()
    metadata: dict[str, Any] = {"mail": mail, **(extra or {})}
    if mail.get("date_utc"):
        metadata["date"] = mail["date_utc"]
    return Extraction(
        kind="email",
        title=mail.get("subject") or "(no subject)",
        pages=[PageResult(number=1, text=text.strip())],
        metadata=metadata,
        children=children,
        warnings=warnings,
    )


def safe_filename(name: str, fallback: str) -> str:
    """A file name without folders or control characters, for child files and display."""
    name = (name or "").replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if c.isprintable()).strip().strip(".")
    return name[:200] or fallback


class _ChildWriter:
    """Writes child files into the extraction's scratch folder, never elsewhere."""

    def __init__(self, ctx: ExtractContext):
        self.dir = Path(ctx.workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def write(self, name: str, data: bytes, meta: dict[str, Any] | None = None) -> ChildFile:
        self.count += 1
        path = self.dir / f"child-{self.count:05d}{Path(name).suffix[:16]}"
        path.write_bytes(data)
        return ChildFile(name=name, path=path, meta=meta or {})


# -- RFC 822 -------------------------------------------------------------------------------------


def _raw_header(msg: Message, name: str) -> list[str]:
    lname = name.lower()
    return [str(v) for k, v in msg.raw_items() if k.lower() == lname]


def _first(msg: Message, name: str) -> str:
    values = _raw_header(msg, name)
    return values[0] if values else ""


def parse_rfc822(data: bytes) -> Message:
    """Parse with the modern policy; the raw header values are decoded by us, so broken headers
    only fall back to compat32 when the modern parser itself gives up."""
    try:
        msg = email.message_from_bytes(data, policy=email.policy.default)
        msg.raw_items()  # force header parsing problems to show here
        return msg
    except Exception:
        return email.message_from_bytes(data, policy=email.policy.compat32)


def mail_headers(msg: Message) -> dict[str, Any]:
    from_ = _addresses(_raw_header(msg, "from")) or _addresses(_raw_header(msg, "sender"))
    date = re.sub(r"\s+", " ", _decode_raw_text(_first(msg, "date"))).strip()
    refs = re.findall(r"<[^<>\s]+>", " ".join(_raw_header(msg, "references")))
    irt = re.findall(r"<[^<>\s]+>", _first(msg, "in-reply-to"))
    mid = re.findall(r"<[^<>\s]+>", _first(msg, "message-id"))
    return {
        "from": from_[0] if from_ else None,
        "to": _addresses(_raw_header(msg, "to")),
        "cc": _addresses(_raw_header(msg, "cc")),
        "bcc": _addresses(_raw_header(msg, "bcc")),
        "subject": decode_header_value(_first(msg, "subject")),
        "date": date or None,
        "date_utc": _parse_date(date),
        "message_id": mid[0] if mid else (_first(msg, "message-id").strip() or None),
        "in_reply_to": irt[0] if irt else None,
        "references": refs,
    }


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


def _part_bytes(part: Message) -> bytes:
    try:
        data: Any = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _part_text(part: Message) -> str:
    data = _part_bytes(part)
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text, _ = decode_bytes(data, charset)
    return text


def _message_bytes(msg: Message) -> bytes:
    try:
        return msg.as_bytes(policy=email.policy.compat32)
    except Exception:
        return msg.as_string(policy=email.policy.compat32).encode("utf-8", "surrogateescape")


def extract_rfc822(data: bytes, ctx: ExtractContext, extra: dict[str, Any] | None = None) -> Extraction:
    msg = parse_rfc822(data)
    mail = mail_headers(msg)
    writer = _ChildWriter(ctx)
    warnings: list[str] = []
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
            text = _part_text(part)
            (plain if ctype == "text/plain" else html).append(text)
            return
        payload = _part_bytes(part)
        if not payload:
            if filename:
                warnings.append(f"attachment {filename} is empty")
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
    return _mail_document(mail, body, children, warnings, extra)


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
        size = source.path.stat().st_size
        if size > MAX_MESSAGE_BYTES:
            raise StageError("extract", f"message too large: {size} bytes (limit {MAX_MESSAGE_BYTES})")
        data = source.path.read_bytes()
        if data.startswith(b"From "):  # a single message saved with its mbox separator line
            data = data.split(b"\n", 1)[1] if b"\n" in data else b""
        return extract_rfc822(data, ctx)


# -- mbox ----------------------------------------------------------------------------------------

_FROM_LINE = re.compile(rb"^From \S*.*\d{4}\s*$|^From \S+@\S+|^From [^\s:]+ ", re.M)


def split_mbox(path: Path) -> list[tuple[bytes, bytes]]:
    """(separator line, message bytes) per message. Works on bytes, so a separator line with
    non-ASCII bytes is fine; ">From " quoting in bodies is undone."""
    messages: list[tuple[bytes, bytes]] = []
    current: list[bytes] = []
    separator = b""
    previous_blank = True
    with open(path, "rb") as fh:
        for line in fh:
            if line.startswith(b"From ") and previous_blank and _is_separator(line):
                if current or separator:
                    messages.append((separator, b"".join(current)))
                    if len(messages) > MAX_MBOX_MESSAGES:
                        raise StageError("extract", f"mbox has more than {MAX_MBOX_MESSAGES} messages")
                separator, current = line, []
            else:
                if line.startswith(b">From "):
                    line = line[1:]
                current.append(line)
            previous_blank = line.strip() == b""
    if current or separator:
        messages.append((separator, b"".join(current)))
    return [(s, m) for s, m in messages if m.strip()]


def _is_separator(line: bytes) -> bool:
    # "From sender date": a second token and a year or time somewhere on the line.
    parts = line.split()
    return len(parts) >= 3 and re.search(rb"\d{1,2}:\d{2}|\d{4}", line) is not None


class MboxExtractor:
    name = "mbox"

    def score(self, source: Source) -> int | None:
        if source.mime == "application/mbox" or source.extension in {"mbox", "mbx"}:
            return 80
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        size = source.path.stat().st_size
        if size > MAX_MBOX_BYTES:
            raise StageError("extract", f"mbox too large: {size} bytes (limit {MAX_MBOX_BYTES})")
        messages = split_mbox(source.path)
        if not messages:
            raise StageError("extract", "no messages found in mbox")
        writer = _ChildWriter(ctx)
        children = []
        lines = []
        for i, (_sep, data) in enumerate(messages, 1):
            msg = parse_rfc822(data)
            subject = decode_header_value(_first(msg, "subject"))
            sender = _addresses(_raw_header(msg, "from"))
            base = safe_filename(subject.replace("/", "_").replace("\\", "_"), "message")[:80]
            children.append(writer.write(f"{i:05d} {base}.eml", data, {"mbox": {"index": i}}))
            lines.append(f"{i}. {subject} — {_format_address(sender[0]) if sender else ''}")
        title = source.filename
        text = f"{len(messages)} messages\n\n" + "\n".join(lines)
        return Extraction(
            kind="mailbox",
            title=title,
            pages=[PageResult(number=1, text=text)],
            metadata={"mbox": {"messages": len(messages)}},
            children=children,
        )


# -- Outlook .msg ----------------------------------------------------------------------------------


def _msg_address_list(value: str | None) -> list[dict[str, str]]:
    if not value:
        return []
    return _addresses([value.replace(";", ",")])


def _recipients(msg: Any, kind: int) -> list[dict[str, str]]:
    out = []
    try:
        for r in msg.recipients:
            rtype = int(getattr(r.type, "value", r.type) or 1)
            if rtype == kind:
                out.append({"name": (r.name or "").strip(), "address": (r.email or "").strip().lower()})
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
        if _CJK.search(raw.decode("utf-8")):
            return "utf-8"
    except UnicodeDecodeError:
        pass
    best: tuple[float, str] | None = None
    for enc in ("gb18030", "big5hkscs"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if _CJK.search(text):
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
    for stream in ("__substg1.0_5D01", "__substg1.0_0C1F", "__substg1.0_0065"):
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


def _clean(s: Any) -> str:
    return str(s or "").replace("\x00", "").strip()


def extract_outlook(msg: Any, ctx: ExtractContext) -> Extraction:
    header_text = ""
    try:
        header_text = msg.headerText or ""
    except Exception:
        header_text = ""
    headers = parse_rfc822(header_text.encode("utf-8", "surrogateescape") + b"\n\n") if header_text else None
    sender = _msg_sender(msg, headers)
    to = _recipients(msg, 1) or _msg_address_list(_clean(msg.to))
    cc = _recipients(msg, 2) or _msg_address_list(_clean(msg.cc))
    bcc = _recipients(msg, 3) or _msg_address_list(_clean(getattr(msg, "bcc", "")))
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
        size = source.path.stat().st_size
        if size > MAX_MESSAGE_BYTES:
            raise StageError("extract", f"message too large: {size} bytes (limit {MAX_MESSAGE_BYTES})")
        msg = _open_msg(source.path)
        try:
            return extract_outlook(msg, ctx)
        finally:
            with contextlib.suppress(Exception):
                msg.close()


register(EmlExtractor())
register(MboxExtractor())
register(MsgExtractor())
