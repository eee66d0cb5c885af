"""The entity contract: the `Mention` an extractor returns, the `EntityExtractor` protocol, the
page texts extractors read, and the text helpers extractors share."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Protocol

FIELDS = ("original", "translation", "gloss")
# Types an extractor may return. Exemptions are counted in their own facet.
TYPES = (
    "person",
    "org",
    "place",
    "email",
    "phone",
    "url",
    "money",
    "date",
    "foi_ref",
    "postcode",
    "id",
    "exemption",
)


@dataclass
class Mention:
    """One occurrence of an entity in one text field of a page. `end` is exclusive."""

    type: str
    text: str
    norm: str
    start: int
    end: int
    source: str
    entity_id: str = ""
    field: str = "original"
    boxes: list[list[float]] = dc_field(default_factory=list)  # [left, top, width, height]
    extra: dict[str, Any] = dc_field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.entity_id:
            self.entity_id = f"{self.type}:{entity_key(self.norm)}"

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": self.type,
            "text": self.text,
            "norm": self.norm,
            "entity_id": self.entity_id,
            "start": self.start,
            "end": self.end,
            "field": self.field,
            "source": self.source,
        }
        if self.boxes:
            d["boxes"] = self.boxes
        d.update(self.extra)
        return d


class EntityExtractor(Protocol):
    """Finds mentions in one text.

    `name` is stored as each mention's `source`. `fields` are the page fields it reads.
    `available()` is False when a dependency (a spaCy model) is missing; the step then skips the
    extractor rather than failing. `extract(text, lang, field)` returns mentions whose offsets index
    `text`; it must not raise on any input (hostile documents included). An extractor that needs
    document-level facts sets `uses_context = True` and accepts `context=` (a dict such as
    {"foi": True}) as a keyword argument.
    """

    name: str
    fields: tuple[str, ...]

    def available(self) -> bool: ...

    def extract(self, text: str, lang: str | None, field: str) -> list[Mention]: ...


def entity_key(text: str) -> str:
    """Case-, width- and whitespace-insensitive key used to group spellings of one entity."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def clean_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span so it neither starts nor ends with whitespace or stray punctuation."""
    while start < end and (text[start].isspace() or text[start] in "\"'“‘([{<"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "\"'”’.,;:)]}>"):
        if text[end - 1] == ")" and "(" in text[start:end]:
            break
        end -= 1
    return start, end


@dataclass
class PageTexts:
    """What the extractors read of one page, whether it comes from the pipeline or the store."""

    number: int
    original: str
    translation: str = ""
    gloss: str = ""
    lang: str | None = None
    ocr: bool = False
    words: list[tuple[str, int, int, int, int]] = dc_field(default_factory=list)

    def text(self, name: str) -> str:
        return {"original": self.original, "translation": self.translation, "gloss": self.gloss}[name] or ""
