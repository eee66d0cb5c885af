"""Entities, watchlist hits and FOI exemption citations found in page texts.

Every extractor reads one text field of a page (the original, its English translation, or the word
gloss) and returns `Mention`s with character offsets into that field. The entity step runs them all
after translation, resolves overlaps (a watchlist hit beats an exemption, which beats a pattern,
which beats statistical NER), maps mentions in OCR'd originals to the word boxes they cover and
stores them in page.meta["entities"]; `Archive.index_records` turns those into the `entity` and
`exemption` search keywords. A per-document summary (one row per entity id) goes into the
document's metadata["entities"].

- `base`: `Mention`, the `EntityExtractor` contract, `PageTexts`, the entity types.
- `registry`: which extractors run (`default_extractors`, the archive's watchlists) and on which
  pages (the per-document caps).
- `extract`: running the extractors on a page, overlaps, the per-document summary.
- `alignment`: word boxes for mentions (the word positions come from `archive.highlights`).
- `step`: the pipeline step, and `rescan_document`.
- `exemptions`, `ner_en`, `ner_zh`, `patterns`, `watchlist`: the extractors.
"""

from ..highlights import word_spans
from .base import TYPES, EntityExtractor, Mention, PageTexts
from .extract import extract_page
from .registry import archive_watchlists, default_extractors
from .step import EntityStep, rescan_document

__all__ = [
    "TYPES",
    "EntityExtractor",
    "EntityStep",
    "Mention",
    "PageTexts",
    "archive_watchlists",
    "default_extractors",
    "extract_page",
    "rescan_document",
    "word_spans",
]
