"""Extractors, one per file family, chosen from a registry by score.

Every extractor declares a `name` and a `score(source)`: None declines, a higher number wins.
`extract(source, ctx)` returns an `Extraction` or raises `StageError("extract", reason)` for a
file it recognised but cannot read (encrypted, broken). Pages without a usable text layer carry
an `OcrRequest`; the OCR step, not the extractor, runs Tesseract.
"""

from __future__ import annotations

import mimetypes
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..models import Extraction, Source

if TYPE_CHECKING:
    from ..limits import TreeBudget


@dataclass
class ExtractContext:
    """What extractors may use besides the file: a scratch folder for child files and limits."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="foi-extract-")))
    passwords: tuple[str, ...] = ()
    depth: int = 0  # container nesting depth of the file being extracted
    # What the tree of the top-level file may still use (documents, bytes, time); None when the
    # extractor runs on its own (a container then has a budget of its own).
    budget: TreeBudget | None = None
    # Where a top-level file was found (None for a member of another file): split archive sets
    # look for their other parts beside it.
    origin: Path | None = None


class Extractor(Protocol):
    name: str

    def score(self, source: Source) -> int | None:
        """How well this extractor handles `source`; None when it cannot."""

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        """Read the file. Raises StageError('extract', reason) for unreadable input."""


_REGISTRY: list[Extractor] = []


def register(extractor: Extractor) -> Extractor:
    _REGISTRY.append(extractor)
    return extractor


def registered() -> list[Extractor]:
    _load_builtin()
    return list(_REGISTRY)


def choose(source: Source) -> Extractor | None:
    best: tuple[int, Extractor] | None = None
    for ex in registered():
        s = ex.score(source)
        if s is not None and (best is None or s > best[0]):
            best = (s, ex)
    return best[1] if best else None


_MAGIC: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF8", "image/gif"),
    (b"BM", "image/bmp"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"From ", "application/mbox"),
    # Formats of issue 19 (office, containers, Outlook stores, data files).
    (b"{\\rtf", "application/rtf"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\x1f\x8b", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"!BDN", "application/vnd.ms-outlook-pst"),
    (b"AT&TFORM", "image/vnd.djvu"),
    (b"\x00\x01\x00\x00Standard Jet DB", "application/x-msaccess"),
    (b"\x00\x01\x00\x00Standard ACE DB", "application/x-msaccess"),
]


def sniff_mime(head: bytes, filename: str) -> str:
    """MIME type from content first (extensions lie in FOI dumps), then from the name."""
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            if mime == "application/mbox" and filename.lower().endswith(".eml"):
                return "message/rfc822"  # a single message saved with its mbox "From " line
            if mime == "image/bmp" and len(head) < 14:
                continue
            if mime == "application/x-ole-storage" and filename.lower().endswith(".msg"):
                return "application/vnd.ms-outlook"
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "application/x-tar"
    media = _media_mime(head, filename)
    if media:
        return media
    stripped = head.lstrip()[:512].lower()
    if stripped.startswith((b"<!doctype html", b"<html")) or b"<html" in stripped[:200]:
        return "text/html"
    if _looks_like_rfc822(head):
        return "message/rfc822"
    guessed, _ = mimetypes.guess_type(filename)
    if guessed:
        return guessed
    if _looks_textual(head):
        return "text/plain"
    return "application/octet-stream"


def _media_mime(head: bytes, filename: str) -> str | None:
    """Audio and video told by their container's signature (the name then says which)."""
    guessed = mimetypes.guess_type(filename)[0] or ""
    if head[4:8] == b"ftyp":
        if guessed.startswith(("audio/", "video/")):
            return guessed
        return "audio/mp4" if head[8:11] == b"M4A" else "video/mp4"
    signatures = {
        b"ID3": "audio/mpeg",
        b"fLaC": "audio/flac",
        b"OggS": "audio/ogg",
        b"\x1aE\xdf\xa3": "video/x-matroska",
    }
    for magic, mime in signatures.items():
        if head.startswith(magic):
            return guessed if guessed.startswith(("audio/", "video/")) else mime
    if head[:4] == b"RIFF" and head[8:12] in {b"WAVE", b"AVI "}:
        return "audio/x-wav" if head[8:12] == b"WAVE" else "video/x-msvideo"
    return None


def _looks_like_rfc822(head: bytes) -> bool:
    # The header block only (long Received: chains push From/Subject far down).
    block = head.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    names = {line.split(b":", 1)[0].strip().lower() for line in block.split(b"\n") if b":" in line[:80]}
    known = {
        b"from",
        b"to",
        b"cc",
        b"subject",
        b"date",
        b"received",
        b"message-id",
        b"mime-version",
        b"delivered-to",
        b"return-path",
        b"x-received",
        b"arc-seal",
        b"dkim-signature",
        b"reply-to",
        b"authentication-results",
        b"in-reply-to",
        b"references",
        b"content-type",
        b"x-mailer",
    }
    first = block.split(b"\n", 1)[0]
    return b":" in first[:80] and not first.startswith((b" ", b"\t")) and len(names & known) >= 3


def _looks_textual(head: bytes) -> bool:
    return b"\x00" not in head[:4096]


def make_source(path: Path, filename: str | None = None) -> Source:
    with open(path, "rb") as fh:
        head = fh.read(8192)
    name = filename or path.name
    mime = sniff_mime(head, name)
    if mime in {"application/zip", "application/x-ole-storage"}:
        # Office files are zips and OLE2 stores: told apart by content before any unpacking.
        from .office.detect import office_mime

        mime = office_mime(path, mime) or mime
    return Source(path=path, filename=name, mime=mime, head=head)


_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    # Importing a module registers its extractors.
    from . import archives, containers, data, image, mail, office, pdf, text  # noqa: F401
