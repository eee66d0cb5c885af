"""FOI Archive: pipeline, store, search backends and CLI.

Public API: `Archive` (the facade the CLI and the web app use), `SearchQuery`, `QueryError`,
`SearchError`, `NoPageImages`, `Original`, `default_archive_dir`.
"""

from .core import Archive, Hit, SearchResults
from .originals import NoPageImages, Original
from .search import QueryError, SearchError, SearchQuery
from .store import default_archive_dir

__all__ = [
    "Archive",
    "Hit",
    "NoPageImages",
    "Original",
    "QueryError",
    "SearchError",
    "SearchQuery",
    "SearchResults",
    "default_archive_dir",
]
