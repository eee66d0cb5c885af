"""Header floods and deep MIME, cut in the raw bytes before parsing; then the parse itself."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from .limits import (
    MAX_COUNTED_DEEP_PARTS,
    MAX_HEADER_BLOCK_BYTES,
    MAX_HEADER_FIELD_BYTES,
    MAX_HEADER_FIELDS,
    MAX_MIME_DEPTH,
    MAX_MIME_PARTS,
)

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
