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
from dataclasses import dataclass, field
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
# Headers and MIME structure are bounded before the parser sees them (a 10 MB To: or Subject: would
# otherwise become a 10 MB page, and 1,000 nested parts overflow Python's recursion limit).
MAX_HEADER_FIELD_BYTES = 64 * 1024  # one header field, folded lines included
MAX_HEADER_BLOCK_BYTES = 1024 * 1024  # all the fields of one part
MAX_HEADER_FIELDS = 5000  # fields of one part
MAX_ADDRESSES = 1000  # per address field (metadata, for the sender/recipient filters)
MAX_PAGE_ADDRESSES = 250  # of those, written in the page's header block (entities cost memory per word)
MAX_MIME_DEPTH = 32  # parts inside parts (a forwarded message is two or three levels)
MAX_MIME_PARTS = 2 * MAX_ATTACHMENTS  # parts read from one message (the parser's cost is per part)
MAX_COUNTED_DEEP_PARTS = 10_000  # parts below MAX_MIME_DEPTH counted for the note, then skipped

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


# Mailman/pipermail archives write "andy at example.com (Andy Grunwald)".
_OBFUSCATED = re.compile(r"(?<![\w.@+-])([\w.+-]+)\s+at\s+([\w-]+(?:\.[\w-]+)+)(?![\w@-])", re.I)


def _deobfuscate(value: str) -> str:
    if "@" in value:
        return value
    return _OBFUSCATED.sub(r"\1@\2", value)


def _addresses(values: list[str]) -> list[dict[str, str]]:
    return _address_field(values)[0]


def _cap_address_text(value: str) -> str:
    """An address list longer than a header field may be, cut after its last whole address."""
    if len(value) <= MAX_HEADER_FIELD_BYTES:
        return value
    cut = value.rfind(",", 0, MAX_HEADER_FIELD_BYTES)
    return value[: cut if cut > 0 else MAX_HEADER_FIELD_BYTES]


def _address_field(values: list[str], limit: int = MAX_ADDRESSES) -> tuple[list[dict[str, str]], bool]:
    """Parsed addresses, at most `limit` of them, and whether there were more."""
    result: list[dict[str, str]] = []
    cleaned = [
        _deobfuscate(re.sub(r"\r?\n[ \t]+", " ", _cap_address_text(str(v)).replace("\x00", "")))
        for v in values
        if v
    ]
    for name, addr in getaddresses(cleaned):
        if len(result) >= limit:
            return result, True
        name = decode_header_value(name).strip().strip('"').strip()
        addr = _decode_raw_text(addr).strip()
        if not name and not addr:
            continue
        result.append({"name": name, "address": addr.lower() if "@" in addr else addr})
    return result, False


def parse_address_list(values: list[str]) -> list[dict[str, str]]:
    """[{"name", "address"}] from address header values (RFC 2047 names decoded, NULs dropped)."""
    return _addresses(values)


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
            shown = ", ".join(_format_address(a) for a in mail[key][:MAX_PAGE_ADDRESSES])
            more = len(mail[key]) - MAX_PAGE_ADDRESSES
            lines.append(f"{label}: {shown}" + (f" (and {more} more)" if more > 0 else ""))
    if mail.get("date"):
        lines.append("Date: " + mail["date"])
    lines.append("Subject: " + (mail.get("subject") or ""))
    if mail.get("printed") and mail.get("pages"):
        first, last = mail["pages"]
        where = f"page {first}" if first == last else f"pages {first}-{last}"
        lines.append(f"Printed: {where} of the parent document")
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


# -- bounds: header floods and deep MIME, cut in the raw bytes before parsing -----------------------

# A header line as the standard library's feedparser sees one (a continuation starts with blanks).
_HEADER_START = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:")
_CTYPE_VALUE = re.compile(rb"\s*([!#$%&'*+.^`|~\w-]+)\s*/\s*([!#$%&'*+.^`|~\w-]+)")
_BOUNDARY_PARAM = re.compile(rb""";\s*boundary\s*=\s*(?:"((?:[^"\\\r\n]|\\.)*)"|([^\s;"]+))""", re.I)
# Fields kept whatever the budget of their part (the first of each name, each cut to its own cap).
_ESSENTIAL_FIELDS = frozenset(
    b"from sender to cc bcc reply-to subject date message-id in-reply-to references mime-version "
    b"content-type content-transfer-encoding content-disposition".split()
)
_ADDRESS_FIELDS = frozenset(b"from sender to cc bcc reply-to".split())
_ESSENTIAL_LINE = re.compile(rb"^(" + b"|".join(sorted(_ESSENTIAL_FIELDS)) + rb")[ \t]*:", re.M | re.I)
_FIELD_END = re.compile(rb"\n(?![ \t])")  # the end of a field's last (folded) line
_BLOCK_END = re.compile(rb"\n(?=\r?\n|--)")  # a header block ends at a blank line (or a boundary)


@dataclass
class BoundedMessage:
    """A message's bytes with oversized header fields and too-deep parts cut out, and what was cut."""

    data: bytes
    warnings: list[str] = field(default_factory=list)  # header fields cut (the rest is all read)
    cuts: list[dict[str, Any]] = field(default_factory=list)
    levels: int = 1  # MIME levels found (the message itself is level 1)
    limit: str | None = None  # parts left unread (too deep, too many): the document's reason


class _MimeScanner:
    """Walks the MIME structure of raw message bytes the way the feedparser does (header blocks,
    multipart boundaries, message/* bodies), without recursion, and notes the edits that bound it."""

    def __init__(self, data: bytes, headers_only: bool):
        self.data = data
        self.headers_only = headers_only
        self.edits: list[tuple[int, int, bytes]] = []  # (start, end, replacement), in order
        self.out = BoundedMessage(data)
        self.stack: list[tuple[int, bytes, bool]] = []  # open multiparts: (level, boundary, is digest)
        self.open_boundaries: dict[bytes, list[int]] = {}  # boundary -> its stack indices
        self.cut_from: int | None = None  # start of the part being dropped for depth
        self.dropped_fields = 0
        self.dropped_bytes = 0
        self.deep_parts = 0  # parts seen below MAX_MIME_DEPTH (counted, then skipped)
        self.parts = 0  # parts kept
        self.levels_exact = True
        self.block_seen: set[bytes] = set()  # the current header block's field names, used, count
        self.block_used = 0
        self.block_fields = 0

    def _eol(self, pos: int) -> int:
        """Offset just past the line starting at `pos`."""
        nl = self.data.find(b"\n", pos)
        return len(self.data) if nl < 0 else nl + 1

    def _boundary_at(self, pos: int, end: int) -> tuple[int, bool] | None:
        """(stack index, is the closing boundary) when the line [pos, end) is a boundary of an open
        multipart. As in the feedparser, the outermost match wins (a part ends at any boundary of
        the multiparts around it) and closes the parts inside it."""
        if not self.data.startswith(b"--", pos):
            return None
        line = self.data[pos + 2 : end].rstrip(b"\r\n").rstrip(b" \t")
        best: tuple[int, bool] | None = None
        for candidate, closing in (
            (line, False),
            (line[:-2], True) if line.endswith(b"--") else (b"", False),
        ):
            where = self.open_boundaries.get(candidate)
            if where and (best is None or where[0] < best[0]):
                best = (where[0], closing)
        return best

    def _push(self, level: int, boundary: bytes, digest: bool) -> None:
        self.open_boundaries.setdefault(boundary, []).append(len(self.stack))
        self.stack.append((level, boundary, digest))

    def _close_from(self, index: int) -> None:
        """Close the multiparts from stack index `index` inwards."""
        for _, boundary, _ in self.stack[index:]:
            where = self.open_boundaries[boundary]
            where.pop()
            if not where:
                del self.open_boundaries[boundary]
        del self.stack[index:]

    def run(self) -> BoundedMessage:
        pos, level, digest_parent = 0, 1, False
        while True:
            # A part begins at `pos`: its header block, then what its type says.
            if level > MAX_MIME_DEPTH and self.cut_from is None:
                self.cut_from = pos
            self.out.levels = max(self.out.levels, level)
            if self.cut_from is not None:
                self.deep_parts += 1
            else:
                self.parts += 1
                if self.parts > MAX_MIME_PARTS:
                    self.edits.append((pos, len(self.data), b"\n"))
                    self.out.limit = f"more than {MAX_MIME_PARTS} MIME parts: the rest not read"
                    self.out.cuts.append({"mime_parts": MAX_MIME_PARTS, "at_byte": pos})
                    return self._finish()
            if self.deep_parts > MAX_COUNTED_DEEP_PARTS:
                # Enough counted: skip to a boundary of a part that is kept.
                self.levels_exact = False
                deeper = next((i for i, p in enumerate(self.stack) if p[0] > MAX_MIME_DEPTH), len(self.stack))
                self._close_from(deeper)
                ended_by = self._next_boundary(pos) if self.stack else None
            else:
                pos, ctype, boundary, ended_by = self._headers(pos, digest_parent)
                if self.headers_only:
                    break
                if ended_by is None:
                    main, _, sub = ctype.partition(b"/")
                    if main == b"multipart" and boundary:
                        self._push(level, boundary, sub == b"digest")
                    elif main == b"message" and sub != b"delivery-status":
                        level, digest_parent = level + 1, False
                        continue
                    if not self.stack:
                        break  # one body to the end: nothing more to bound
                    ended_by = self._next_boundary(pos)
            # Boundaries until one opens a new part (closing ones end their multipart).
            while ended_by is not None:
                pos, index, closing = ended_by
                part_level, _, is_digest = self.stack[index]
                if self.cut_from is not None and part_level <= MAX_MIME_DEPTH:
                    self._cut_depth(self._line_start(pos))
                if not closing:
                    break
                self._close_from(index)
                ended_by = self._next_boundary(pos) if self.stack else None
            if ended_by is None:
                break
            self._close_from(index + 1)
            level, digest_parent = part_level + 1, is_digest
        if self.cut_from is not None:
            self._cut_depth(len(self.data))
        return self._finish()

    def _line_start(self, after_line: int) -> int:
        """Start of the line that ends at `after_line`."""
        nl = self.data.rfind(b"\n", 0, max(after_line - 1, 0))
        return nl + 1

    def _next_boundary(self, pos: int) -> tuple[int, int, bool] | None:
        """(offset after the line, stack index, closing) of the next boundary line from `pos`."""
        data = self.data
        start = pos
        while True:
            if not data.startswith(b"--", start):
                nl = data.find(b"\n--", start)
                if nl < 0:
                    return None
                start = nl + 1
            end = self._eol(start)
            found = self._boundary_at(start, end)
            if found is not None:
                return end, found[0], found[1]
            start = end
            if start >= len(data):
                return None

    def _cut_depth(self, end: int) -> None:
        assert self.cut_from is not None
        self.edits.append((self.cut_from, end, b"\n"))
        self.cut_from = None

    def _headers(
        self, pos: int, digest_parent: bool
    ) -> tuple[int, bytes, bytes | None, tuple[int, int, bool] | None]:
        """Read a header block from `pos`: (offset after it, content type, boundary, and the
        boundary that ended the part already when one came before the body)."""
        data = self.data
        self.block_seen = set()
        self.block_used = self.block_fields = 0
        self.block_ctype: bytes | None = None
        self.block_boundary: bytes | None = None
        field_start = -1
        name = b""
        while True:
            end = self._eol(pos) if pos < len(data) else pos
            line = data[pos:end]
            continuation = field_start >= 0 and line[:1] in (b" ", b"\t")
            if field_start >= 0 and not continuation:
                self._take_field(name, self._close_field(field_start, pos, name))
                field_start = -1
            if pos >= len(data):
                break
            if continuation:
                pos = end
                continue
            if self.stack and not self.headers_only:
                found = self._boundary_at(pos, end)
                if found is not None:
                    return pos, self.block_ctype or b"text/plain", None, (end, found[0], found[1])
            if line.strip(b"\r\n") == b"":
                pos = end
                break
            if not _HEADER_START.match(line):
                break  # no blank line: the body starts here
            if self.block_fields >= MAX_HEADER_FIELDS or self.block_used >= MAX_HEADER_BLOCK_BYTES:
                pos = self._drop_rest_of_block(pos)
                continue
            field_start = pos
            name = line.split(b":", 1)[0].strip().lower() if not line.startswith(b"From ") else b""
            pos = end
        ctype = self.block_ctype or (b"message/rfc822" if digest_parent else b"text/plain")
        return pos, ctype, self.block_boundary, None

    def _take_field(self, name: bytes, value: bytes) -> None:
        if name == b"content-type" and self.block_ctype is None:
            m = _CTYPE_VALUE.match(value)
            self.block_ctype = (m.group(1) + b"/" + m.group(2)).lower() if m else b"text/plain"
            b = _BOUNDARY_PARAM.search(value)
            if b:
                self.block_boundary = b.group(1) if b.group(1) is not None else b.group(2)

    def _drop_rest_of_block(self, pos: int) -> int:
        """A header block over its budget: drop the rest of it in one edit, keeping only the first
        of each essential field not seen yet. Returns where the block ends (its blank line, or a
        line starting with "--")."""
        data = self.data
        m = _BLOCK_END.search(data, pos)
        stop = m.end() if m else len(data)
        kept: list[bytes] = []
        for fm in _ESSENTIAL_LINE.finditer(data, pos, stop):
            name = fm.group(1).lower()
            if name in self.block_seen:
                continue
            self.block_seen.add(name)
            nxt = _FIELD_END.search(data, fm.end(), stop)
            end = nxt.end() if nxt else stop
            value = data[fm.start() : min(end, fm.start() + MAX_HEADER_FIELD_BYTES)]
            kept.append(value if value.endswith(b"\n") else value + b"\n")
            self._take_field(name, re.sub(rb"\r?\n[ \t]+", b" ", value.split(b":", 1)[1]))
        if self.cut_from is None:
            self.edits.append((pos, stop, b"".join(kept)))
            lines = data.count(b"\n", pos, stop)
            fields = lines - data.count(b"\n ", pos, stop) - data.count(b"\n\t", pos, stop)
            self.dropped_fields += fields - len(kept)
            self.dropped_bytes += stop - pos - sum(len(k) for k in kept)
        return stop

    def _close_field(self, start: int, end: int, name: bytes) -> bytes:
        """Bound the field [start, end) of the current header block; return (the start of) its value."""
        data = self.data
        size = end - start
        essential = name in _ESSENTIAL_FIELDS and name not in self.block_seen
        self.block_seen.add(name)
        recording = self.cut_from is None
        kept = min(size, MAX_HEADER_FIELD_BYTES)
        over_budget = (
            self.block_used + kept > MAX_HEADER_BLOCK_BYTES or self.block_fields >= MAX_HEADER_FIELDS
        )
        if over_budget and not essential:
            if recording:
                self.edits.append((start, end, b""))
                self.dropped_fields += 1
                self.dropped_bytes += size
            return b""
        self.block_used += kept
        self.block_fields += 1
        if size > MAX_HEADER_FIELD_BYTES and recording:
            limit = start + MAX_HEADER_FIELD_BYTES
            cut = (
                data.rfind(b",", start, limit) if name in _ADDRESS_FIELDS else data.rfind(b"\n", start, limit)
            )
            if cut <= data.find(b":", start, limit):
                cut = limit
            self.edits.append((cut, end, b"\n"))
            label = name.decode("ascii", "replace").title()
            note = f"{label} header cut from {size} to {cut - start} bytes"
            record: dict[str, Any] = {"field": label.lower(), "bytes": size, "kept_bytes": cut - start}
            if name in _ADDRESS_FIELDS:
                record["addresses"] = data.count(b"@", start, end)
                note += f" (about {record['addresses']} addresses)"
            self.out.warnings.append(note)
            self.out.cuts.append(record)
        colon = data.find(b":", start, min(end, start + MAX_HEADER_FIELD_BYTES))
        value = data[colon + 1 : min(end, start + MAX_HEADER_FIELD_BYTES)]
        return re.sub(rb"\r?\n[ \t]+", b" ", value)

    def _finish(self) -> BoundedMessage:
        out = self.out
        if self.dropped_fields:
            out.warnings.append(
                f"{self.dropped_fields} header fields ({self.dropped_bytes} bytes) dropped: "
                f"more than {MAX_HEADER_FIELDS} fields or {MAX_HEADER_BLOCK_BYTES} bytes in a part"
            )
            out.cuts.append({"field": "*", "fields": self.dropped_fields, "bytes": self.dropped_bytes})
        if out.levels > MAX_MIME_DEPTH:
            levels = f"{out.levels} levels" if self.levels_exact else f"more than {out.levels} levels"
            out.limit = f"nested too deep ({levels}): parts below level {MAX_MIME_DEPTH} not read"
            out.cuts.append(
                {"mime_levels": out.levels, "exact": self.levels_exact, "kept_levels": MAX_MIME_DEPTH}
            )
        if self.edits:
            pieces, last = [], 0
            for start, end, replacement in sorted(self.edits):
                if start < last:
                    continue  # inside a part already cut for depth
                pieces += [self.data[last:start], replacement]
                last = end
            pieces.append(self.data[last:])
            out.data = b"".join(pieces)
        return out


def bound_message(data: bytes, headers_only: bool = False) -> BoundedMessage:
    """Cut header fields over MAX_HEADER_FIELD_BYTES (address lists after a whole address), fields
    over a part's budget (MAX_HEADER_FIELDS, MAX_HEADER_BLOCK_BYTES; the first of each field we read
    is always kept) and parts nested deeper than MAX_MIME_DEPTH, saying what was cut."""
    if b"\r" in data and b"\n" not in data:
        data = data.replace(b"\r", b"\n")  # old Mac line ends, which the parser accepts too
    return _MimeScanner(data, headers_only).run()


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


def parse_bounded(data: bytes, headers_only: bool = False) -> tuple[Message, BoundedMessage]:
    """`bound_message`, then `parse_rfc822`; a structure the scan misjudged that still overflows
    the parser's recursion is read for its headers only."""
    bounded = bound_message(data, headers_only)
    if headers_only:
        head = re.split(rb"\r?\n\r?\n", bounded.data, maxsplit=1)[0]
        return parse_rfc822(head + b"\n\n"), bounded
    try:
        return parse_rfc822(bounded.data), bounded
    except RecursionError:
        head = re.split(rb"\r?\n\r?\n", bounded.data, maxsplit=1)[0]
        bounded.limit = "nested too deep (more than the parser's recursion limit): body not read"
        bounded.cuts.append({"mime_levels": None, "kept_levels": 1})
        return parse_rfc822(head + b"\n\n"), bounded


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


def _part_text(part: Message, guessed: list[dict[str, str]] | None = None) -> str:
    """A text part's text in its declared charset; a charset Python does not know (or none that
    decodes) is replaced by detection, noted in `guessed` as {"declared", "used"}."""
    data = _part_bytes(part)
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    if charset:
        try:
            codec: str | None = _canonical(charset)
        except (LookupError, ValueError, TypeError):
            codec = None
        if codec is None:
            text, used = decode_bytes(data)
            if guessed is not None:
                guessed.append({"declared": charset, "used": used})
            return repair_utf8_mojibake(text)
    text, _ = decode_bytes(data, charset)
    return repair_utf8_mojibake(text)


# Characters that UTF-8 read as cp1252 or Latin-1 is made of: lead bytes (Ã, Â, Ð, Ñ, ...) then
# continuation bytes (0x80-0xBF, some shown as cp1252 punctuation).
_MOJIBAKE_PAIR = re.compile(r"[\u00c2-\u00f4][\u0080-\u00bf\u2018-\u203a\u0152-\u02dc\u20ac\u2122]")


def _to_single_bytes(text: str) -> bytes | None:
    """Each character back to the byte it was read from: cp1252 where it defines the byte,
    Latin-1 for the five bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            if ord(ch) > 0xFF:
                return None
            out.append(ord(ch))
    return bytes(out)


def _decode_utf8_mending_nbsp(raw: bytes) -> str | None:
    """Strict UTF-8, except that a lead byte followed by a plain space is tried with 0xA0 there:
    mojibake passed through tools that turn the no-break space (0xA0) into a space loses that
    continuation byte (Cyrillic Р is D0 A0). None when the bytes are not UTF-8 even so."""
    buf = bytearray(raw)
    for _ in range(max(8, len(buf) // 50)):
        try:
            return buf.decode("utf-8")
        except UnicodeDecodeError as exc:
            at = exc.start
            if 0xC2 <= buf[at] <= 0xF4 and at + 1 < len(buf) and buf[at + 1] == 0x20:
                buf[at + 1] = 0xA0
                continue
            return None
    return None


def repair_utf8_mojibake(text: str) -> str:
    """Undo UTF-8 text read as cp1252/Latin-1 once, twice or three times (the corpus has a
    Cyrillic body stored so). Only text dense with the telltale pairs is tried, and a repair is
    kept only when every round decodes as strict UTF-8, which random accented text never does."""
    if len(_MOJIBAKE_PAIR.findall(text)) < 3:
        return text
    current = text
    for _ in range(3):
        raw = _to_single_bytes(current)
        if raw is None or raw.isascii():
            break
        decoded = _decode_utf8_mending_nbsp(raw)
        if decoded is None:
            break
        current = decoded
        if len(_MOJIBAKE_PAIR.findall(current)) < 3:
            return current
    return current if current != text and not _MOJIBAKE_PAIR.search(current) else text


def _message_bytes(msg: Message) -> bytes:
    try:
        return msg.as_bytes(policy=email.policy.compat32)
    except Exception:
        return msg.as_string(policy=email.policy.compat32).encode("utf-8", "surrogateescape")


# -- TNEF (winmail.dat) ----------------------------------------------------------------------------

TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"
_TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef", "application/x-tnef"}


def is_tnef(ctype: str, filename: str | None, payload: bytes) -> bool:
    return payload.startswith(TNEF_SIGNATURE) and (
        ctype in _TNEF_TYPES
        or (filename or "").lower().endswith(".dat")
        or ctype == "application/octet-stream"
    )


def unpack_tnef(data: bytes, warnings: list[str]) -> tuple[str, list[tuple[str, bytes]]] | None:
    """(body text, [(file name, bytes)]) from an Outlook TNEF blob, or None when it cannot be read
    (it is then kept as an opaque attachment)."""
    try:
        from tnefparse import TNEF
    except ImportError:
        warnings.append("TNEF attachment kept unopened: tnefparse is not installed")
        return None
    try:
        tnef = TNEF(data, do_checksum=False)
    except Exception as exc:
        warnings.append(f"TNEF attachment unreadable: {type(exc).__name__}: {exc}")
        return None
    files: list[tuple[str, bytes]] = []
    for i, att in enumerate(tnef.attachments[:MAX_ATTACHMENTS], 1):
        try:
            name = att.long_filename() or ""
        except Exception:
            name = ""
        name = _clean(name or getattr(att, "name", "") or f"attachment-{i}")
        payload = getattr(att, "data", b"") or b""
        if isinstance(payload, bytes) and payload:
            files.append((name, payload))
    body: Any = tnef.body
    if not body and tnef.htmlbody:
        html = tnef.htmlbody
        body = html_to_text(html if isinstance(html, str) else decode_bytes(html)[0])[0]
    if isinstance(body, bytes):
        body = decode_bytes(body)[0]
    return _clean(body), files


class TnefExtractor:
    """A winmail.dat saved on its own: its files become children."""

    name = "tnef"

    def score(self, source: Source) -> int | None:
        return 85 if source.head.startswith(TNEF_SIGNATURE) else None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        _refuse_larger_than(source, MAX_MESSAGE_BYTES, "TNEF file")
        warnings: list[str] = []
        unpacked = unpack_tnef(source.path.read_bytes(), warnings)
        if unpacked is None:
            raise StageError("extract", warnings[0] if warnings else "unreadable TNEF file")
        body, files = unpacked
        writer = _ChildWriter(ctx)
        children = [
            writer.write(safe_filename(n, f"attachment-{i}"), d, {"attachment": {"tnef": source.filename}})
            for i, (n, d) in enumerate(files, 1)
        ]
        listing = "\n".join(c.name for c in children)
        text = f"{len(children)} files\n\n{listing}\n\n{body}".strip()
        return Extraction(
            kind="tnef",
            title=source.filename,
            pages=[PageResult(number=1, text=text)],
            metadata={"tnef": {"attachments": len(children)}},
            children=children,
            warnings=warnings,
        )


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


def _refuse_larger_than(source: Source, limit: int, what: str) -> None:
    """A file over its family's size limit is refused before it is read (recorded per document)."""
    size = source.path.stat().st_size
    if size > limit:
        raise StageError("extract", f"{what} too large: {size} bytes (limit {limit})")


class MboxExtractor:
    name = "mbox"

    def score(self, source: Source) -> int | None:
        if source.mime == "application/mbox" or source.extension in {"mbox", "mbx"}:
            return 80
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        _refuse_larger_than(source, MAX_MBOX_BYTES, "mbox")
        messages = split_mbox(source.path)
        if not messages:
            raise StageError("extract", "no messages found in mbox")
        writer = _ChildWriter(ctx)
        children = []
        lines = []
        for i, (_sep, data) in enumerate(messages, 1):
            msg, _ = parse_bounded(data, headers_only=True)
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
    for getter in (
        lambda: r.getStringStream("__substg1.0_39FE"),
        lambda: r.email,
        lambda: r.getStringStream("__substg1.0_3003"),
    ):
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


def _clean(s: Any) -> str:
    return str(s or "").replace("\x00", "").strip()


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


# -- messages split out of printed e-mail chains ----------------------------------------------------

MAX_PRINTED_RECORD_BYTES = 5 * 1024 * 1024


def _clean_address_entries(value: Any) -> list[dict[str, str]]:
    out = []
    for entry in value if isinstance(value, list) else []:
        if isinstance(entry, dict):
            name, addr = str(entry.get("name") or "").strip(), str(entry.get("address") or "").strip()
            if name or addr:
                out.append({"name": name, "address": addr})
    return out


class PrintedMessageExtractor:
    """The JSON record that archive/printed_mail.py writes for each message of a printed chain:
    read back as an e-mail document (kind "email", metadata["mail"] like a native message's)."""

    name = "printed_mail"

    def score(self, source: Source) -> int | None:
        from ..printed_mail import PRINTED_MAGIC

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


register(PrintedMessageExtractor())
register(TnefExtractor())
register(EmlExtractor())
register(MboxExtractor())
register(MsgExtractor())
