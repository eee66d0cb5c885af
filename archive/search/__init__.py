"""Search: a small public API over interchangeable backends.

get_backend(config, db_path)  -> SearchBackend   (sqlite by default, or elasticsearch)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .base import (
    FACETS,
    SORTS,
    BackendHit,
    BackendResults,
    IndexRecord,
    SearchBackend,
    SearchError,
    SearchQuery,
)
from .query import MAX_DEPTH, Phrase, QueryError, Term, parse
from .snippets import highlight_spans, matching_tokens


class SearchUnavailable(SearchError):
    """The engine cannot be reached at all (connection refused or timed out, 5xx): unlike a
    refused request, the next one will fail the same way, so a batch stops trying."""


__all__ = [
    "FACETS",
    "SORTS",
    "MAX_DEPTH",
    "BackendHit",
    "BackendResults",
    "IndexRecord",
    "Phrase",
    "QueryError",
    "SearchBackend",
    "SearchError",
    "SearchQuery",
    "SearchUnavailable",
    "Term",
    "get_backend",
    "highlight_spans",
    "matching_tokens",
    "parse",
]


def get_backend(db_path: Path | str, config: dict[str, Any] | None = None) -> SearchBackend:
    """The configured backend: `FOI_SEARCH=sqlite` (default) or `elasticsearch`
    (with `FOI_ELASTICSEARCH_URL`, `FOI_ELASTICSEARCH_INDEX`)."""
    config = config or {}
    kind = (config.get("search") or os.environ.get("FOI_SEARCH") or "sqlite").lower()
    if kind == "sqlite":
        from .sqlite import SqliteBackend

        return SqliteBackend(db_path)
    if kind in {"elasticsearch", "es"}:
        from .elastic import ElasticBackend

        url = config.get("elasticsearch_url") or os.environ.get(
            "FOI_ELASTICSEARCH_URL", "http://127.0.0.1:9200"
        )
        index = config.get("elasticsearch_index") or os.environ.get("FOI_ELASTICSEARCH_INDEX", "foi")
        return ElasticBackend(url, index)
    raise ValueError(f"unknown search backend {kind!r} (use sqlite or elasticsearch)")
