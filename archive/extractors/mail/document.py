"""The document every mail format makes: one page with a readable header block and the body,
`metadata["mail"]`, and child files written into the extraction's scratch folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...models import ChildFile, Extraction, PageResult
from .. import ExtractContext
from .addresses import _format_address
from .limits import MAX_PAGE_ADDRESSES


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


def _clean(s: Any) -> str:
    return str(s or "").replace("\x00", "").strip()
