"""Small typed records that pass between pipeline stages.

An extractor returns new records (an `Extraction` with its `PageResult`s). The steps after it
then complete those pages in place, one step at a time in pipeline order (archive/pipeline.py):
OCR fills the text, word boxes, size and `meta["ocr"]` of the pages with `needs_ocr` (and clears
it), language sets `lang` where it is None, the gloss, translate and entity steps add their keys
to `meta`, and entities and printed e-mails add to the extraction's `metadata` (printed e-mails
also to its `children`). No two steps write the same field, and only one step runs on a document
at a time; frozen records (`Word`, `OcrRequest`, `Source`) are never changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

# The stages, in pipeline order, are `pipeline.STAGES`; a status row exists per (document, stage).


class StageError(Exception):
    """A failure that belongs to one document and one stage; the batch carries on."""

    def __init__(self, stage: str, reason: str):
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


class Word(NamedTuple):
    """One OCR word with its box in page-image pixels (a named tuple: pages travel to cluster
    workers and back with hundreds of them, and tuples pickle far faster than dataclasses)."""

    text: str
    left: int
    top: int
    width: int
    height: int
    conf: float


@dataclass(frozen=True)
class OcrRequest:
    """Where the OCR step finds the image of a page that has no usable text layer."""

    kind: str  # "pdf" (render page `index`) or "image" (frame `index` of an image file)
    path: Path
    index: int = 0
    password: str | None = None


@dataclass
class PageResult:
    """One page of extracted text. `number` is 1-based. Made by an extractor, completed in place
    by the steps (see the module docstring)."""

    number: int
    text: str
    ocr: bool = False
    confidence: float | None = None
    words: list[Word] = field(default_factory=list)
    width: int | None = None  # page image size in pixels when OCR'd
    height: int | None = None
    dpi: float | None = None
    lang: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    needs_ocr: OcrRequest | None = None
    # Redaction boxes the extractor read in a text-layer page's drawing (redactions.Box), or why
    # it could not; None: not read. Used by the redaction step, never stored as is.
    drawn_boxes: list[Any] | str | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # Words as plain tuples: a document's pages go to a cluster worker for its analysis, and
        # its coordinator pickles tuples several times faster than named tuples.
        state = dict(self.__dict__)
        state["words"] = [tuple(w) for w in self.words]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["words"] = list(map(Word._make, state["words"]))
        self.__dict__.update(state)


@dataclass
class ChildFile:
    """A file found inside another (attachment, archive member) to be ingested as a child document."""

    name: str
    path: Path  # a temporary file holding the bytes
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Extraction:
    """What an extractor returns for one file."""

    kind: str  # pdf, image, text, html, email, archive ...
    title: str
    pages: list[PageResult]
    metadata: dict[str, Any] = field(default_factory=dict)
    children: list[ChildFile] = field(default_factory=list)
    # Failures of single parts (an encrypted zip member, an unreadable attachment): kept, not fatal.
    warnings: list[str] = field(default_factory=list)
    # A PDF the pages were read from when the original is not one (an office file converted by
    # LibreOffice): stored with the document, its page images are rendered from it.
    rendition: Path | None = None


@dataclass(frozen=True)
class Source:
    """A file offered to the extractors."""

    path: Path
    filename: str
    mime: str
    head: bytes  # the first bytes, for sniffing

    @property
    def extension(self) -> str:
        return Path(self.filename).suffix.lower().lstrip(".")


# Absolute paths a library put into an error message (the stored original's place in the archive
# folder, a scratch file): readers see the file's name instead, never the archive's layout.
_PATH = re.compile(r"""(?:[A-Za-z]:)?(?:/|\\)(?:[^\s'"():,;<>|]+(?:/|\\))+[^\s'"():,;<>|]*""")


def public_reason(reason: str, source: Source | None = None) -> str:
    """A failure reason safe to show: the source's stored path and any other absolute path in it
    replaced by the file's name (or "the file")."""
    name = source.filename if source is not None else "the file"
    if source is not None:
        reason = reason.replace(str(source.path), name)
    return _PATH.sub(lambda m: name if m.group(0) != "/" else "/", reason)
