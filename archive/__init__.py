"""FOI Archive: pipeline, store, search backends and CLI.

Public API: `Archive`, `SearchQuery`, `QueryError`, `SearchError`.
"""

from .core import Archive
from .search import QueryError, SearchError, SearchQuery
from .search.results import Hit, ResultCache, SearchResults

__all__ = ["Archive", "Hit", "QueryError", "ResultCache", "SearchError", "SearchQuery", "SearchResults"]
