"""FOI Archive: pipeline, store, search backends and CLI.

Public API: `Archive` (the facade the CLI and the web app use), the access rules (`Viewer`,
`LOCAL`, `PUBLIC`, `may_read_collection`, `may_write_collection`), `SearchQuery`, `QueryError`,
`SearchError`, `NoPageImages`, `Original`, `default_archive_dir`, and `spans_in_original` (offsets
found in NFKC text mapped back to the text, for highlighting).
"""

from .access import LOCAL, PUBLIC, Viewer, may_read_collection, may_write_collection
from .accounts import AccountError
from .core import Archive
from .originals import NoPageImages, Original
from .publishing import PublishRefused
from .script import spans_in_original
from .search import QueryError, SearchError, SearchQuery
from .search.results import Hit, ResultCache, SearchResults
from .store import default_archive_dir

__all__ = [
    "LOCAL",
    "PUBLIC",
    "AccountError",
    "Archive",
    "Hit",
    "NoPageImages",
    "Original",
    "PublishRefused",
    "QueryError",
    "ResultCache",
    "SearchError",
    "SearchQuery",
    "SearchResults",
    "Viewer",
    "default_archive_dir",
    "may_read_collection",
    "may_write_collection",
    "spans_in_original",
]
