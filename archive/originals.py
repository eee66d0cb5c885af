"""The stored originals as files to hand out, and the page images rendered from them.

Page images are rendered once (PDF pages through `ocr.render_pdf_page`, image frames with Pillow)
and kept in `cache/pages/<sha256>-<page>-<dpi>.png` of the archive folder. Every PDF page is shown
at one resolution (`DISPLAY_DPI`), whatever resolution it was read or OCR'd at, so the pages of a
document line up; thumbnails (`THUMB_WIDTH` wide) are made from those images and cached beside
them.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from .store import Store

# The resolution of every PDF page image shown to readers (hit boxes are in percent of the page,
# so they sit the same at any resolution).
DISPLAY_DPI = 150
THUMB_WIDTH = 160


class NoPageImages(LookupError):
    """The document is of a kind that has no page images (text, e-mail, ...)."""


@dataclass(frozen=True)
class Original:
    """A stored original as a download: its file, the name to offer and its media type."""

    path: Path
    filename: str
    mime: str


def original_file(store: Store, doc: dict[str, Any]) -> Original | None:
    """The original of `doc` (a document record), or None when its file is missing."""
    # The path comes from the stored digest (validated hex), never from a caller.
    path = store.blob_path(doc["sha256"])
    if not path.is_file() or not path.resolve().is_relative_to(store.root.resolve()):
        return None
    return Original(
        path=path,
        filename=Path(doc["filename"]).name or f"document-{doc['id']}",
        mime=doc["mime"] or "application/octet-stream",
    )


def page_png(store: Store, doc: dict[str, Any], number: int) -> bytes | None:
    """Page `number` of `doc` (a document record) as a PNG, rendered once from the original and
    cached in the archive folder; None when the document has no such page. Raises NoPageImages
    for a document whose kind has no page images."""
    page = store.page(doc["id"], number)
    if page is None:
        return None
    dpi = DISPLAY_DPI
    cache = store.root / "cache" / "pages" / f"{doc['sha256']}-{number}-{int(dpi)}.png"
    try:
        return cache.read_bytes()
    except FileNotFoundError:
        pass
    original = store.blob_path(doc["sha256"])
    rendition = (doc.get("metadata") or {}).get("rendition") or {}
    if rendition.get("pdf"):
        # An office file's pages come from the PDF LibreOffice made of it (stored beside it).
        from ocr import render_pdf_page

        data = render_pdf_page(store.blob_path(rendition["pdf"]), number - 1, dpi=dpi).png
    elif doc["kind"] == "pdf":
        from ocr import render_pdf_page

        data = render_pdf_page(original, number - 1, dpi=dpi).png
    elif doc["kind"] == "image":
        from PIL import Image

        with Image.open(original) as im:
            im.seek(number - 1)
            buf = BytesIO()
            im.convert("L" if im.mode in {"1", "L", "I;16"} else "RGB").save(
                buf, format="PNG", compress_level=1
            )
            data = buf.getvalue()
    else:
        raise NoPageImages("This document has no page images")
    _write_atomically(cache, data)
    return data


def page_thumbnail(store: Store, doc: dict[str, Any], number: int) -> bytes | None:
    """A small PNG of page `number` (THUMB_WIDTH wide), made from its page image and cached; None
    and NoPageImages as `page_png`."""
    cache = store.root / "cache" / "pages" / f"{doc['sha256']}-{number}-thumb{THUMB_WIDTH}.png"
    try:
        return cache.read_bytes()
    except FileNotFoundError:
        pass
    full = page_png(store, doc, number)
    if full is None:
        return None
    from PIL import Image

    with Image.open(BytesIO(full)) as im:
        im.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 4))
        buf = BytesIO()
        im.save(buf, format="PNG", optimize=True)
    data = buf.getvalue()
    _write_atomically(cache, data)
    return data


def _write_atomically(cache: Path, data: bytes) -> None:
    # Written to a temporary file and renamed: a concurrent reader never sees half an image.
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".tmp-", suffix=".png")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, cache)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
