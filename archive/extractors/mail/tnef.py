"""TNEF (winmail.dat): Outlook's attachment wrapper, saved on its own or inside a message."""

from __future__ import annotations

from typing import Any

from ...models import Extraction, PageResult, Source, StageError
from .. import ExtractContext
from ..text import decode_bytes, html_to_text
from .document import _ChildWriter, _clean, safe_filename
from .limits import MAX_ATTACHMENTS, MAX_MESSAGE_BYTES, _refuse_larger_than

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
