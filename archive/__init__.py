"""FOI Archive: pipeline, store, search backends and CLI.

Public API: `Archive`, `SearchQuery`, `QueryError`, `SearchError`.
"""

from .core import Archive, Hit, SearchResults
from .search import QueryError, SearchError, SearchQuery

__all__ = ["Archive", "Hit", "QueryError", "SearchError", "SearchQuery", "SearchResults"]
