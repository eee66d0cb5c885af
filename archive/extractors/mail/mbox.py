"""mbox folders: every message becomes a child .eml file, listed on the mailbox's page."""

from __future__ import annotations

import re
from pathlib import Path

from ...models import Extraction, PageResult, Source, StageError
from .. import ExtractContext
from .addresses import _addresses, _format_address
from .bounds import parse_bounded
from .charset import decode_header_value
from .document import _ChildWriter, safe_filename
from .headers import _first, _raw_header
from .limits import _refuse_larger_than

MAX_MBOX_BYTES = 2 * 1024 * 1024 * 1024
MAX_MBOX_MESSAGES = 200_000


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
