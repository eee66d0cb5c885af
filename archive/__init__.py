"""FOI Archive: pipeline, store, search backends and CLI.

Public API: `Archive` (the facade the CLI and the web app use), `SearchQuery`, `QueryError`,
`SearchError`, `NoPageImages`, `Original`, `default_archive_dir`, and `spans_in_original` (offsets
found in NFKC text mapped back to the text, for highlighting).
"""

from .core import Archive
from .originals import NoPageImages, Original
from .script import spans_in_original
from .search import QueryError, SearchError, SearchQuery
from .search.results import Hit, ResultCache, SearchResults
from .store import default_archive_dir

__all__ = [
    "Archive",
    "Hit",
    "NoPageImages",
    "Original",
    "QueryError",
    "ResultCache",
    "SearchError",
    "SearchQuery",
    "SearchResults",
    "default_archive_dir",
    "spans_in_original",
]
