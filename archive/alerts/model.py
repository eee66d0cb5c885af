"""A saved search: the whole query (text, filters, sort) and what to do with its hits."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..accounts import AccountError, check_email
from ..search import SORTS, QueryError, SearchQuery
from ..search.base import FILTERS
from ..search.query import check_date, check_runnable, parse

CADENCES = ("instant", "daily", "weekly")
CHANNEL_KINDS = ("email", "webhook")
# Filters a saved search may carry apart from its text (the same names as `field:value`).
FILTER_NAMES = (*FILTERS, "from", "to")
MAX_NAME = 200
MAX_QUERY = 2000


class AlertError(ValueError):
    """A saved search or channel that cannot be kept as given; the message is for the user."""


@dataclass
class Channel:
    id: int
    kind: str  # email | webhook
    target: str
    secret: str | None = None
    confirmed: bool = True
    failures: int = 0
    disabled: str | None = None
    audience: str = "owner"  # whose reading rights its hits go out under: owner | public

    def as_dict(self) -> dict[str, Any]:
        # The webhook secret is shown once, when the hook is added; never listed again.
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "confirmed": self.confirmed,
            "failures": self.failures,
            "disabled": self.disabled,
            "audience": self.audience,
        }


@dataclass
class SavedSearch:
    id: int
    owner: str
    name: str
    query: str
    filters: dict[str, list[str]]
    sort: str
    cadence: str
    paused: bool
    failing: str | None
    feed_token: str
    public_feed: bool
    since: str
    created: str
    updated: str
    channels: list[Channel] = field(default_factory=list)

    def search_query(self, limit: int = 20) -> SearchQuery:
        """The query as search runs it (the same results the results page showed)."""
        return SearchQuery(
            text=self.query,
            filters={k: list(v) for k, v in self.filters.items()},
            sort=self.sort,
            limit=limit,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "owner": self.owner,
            "query": self.query,
            "filters": self.filters,
            "sort": self.sort,
            "cadence": self.cadence,
            "paused": self.paused,
            "failing": self.failing,
            "public_feed": self.public_feed,
            "since": self.since,
            "created": self.created,
            "updated": self.updated,
            "channels": [c.as_dict() for c in self.channels],
        }


def check_search(
    query: str, filters: dict[str, list[str]] | None, sort: str, cadence: str
) -> dict[str, list[str]]:
    """The filters to store when the query can be saved; AlertError (or QueryError, a kind of
    ValueError with the parser's message) saying why not."""
    if not query.strip() and not any(v for vs in (filters or {}).values() for v in vs):
        raise AlertError("a saved search needs words or a filter to look for")
    if len(query) > MAX_QUERY:
        raise AlertError(f"a saved query is at most {MAX_QUERY} characters")
    if cadence not in CADENCES:
        raise AlertError(f"cadence must be one of {', '.join(CADENCES)}")
    if sort not in SORTS:
        raise AlertError(f"sort must be one of {', '.join(SORTS)}")
    kept: dict[str, list[str]] = {}
    for name, values in (filters or {}).items():
        if name not in FILTER_NAMES:
            raise AlertError(f"unknown filter {name!r} (use {', '.join(FILTER_NAMES)})")
        values = [str(v).strip() for v in values if str(v).strip()]
        if name in ("from", "to"):
            values = [check_date(v, name) for v in values[:1]]
        if values:
            kept[name] = values
    parsed = parse(query)  # QueryError with the parser's message
    check_runnable(parsed.tree)
    return kept


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise AlertError(f"a saved search needs a name of 1 to {MAX_NAME} printable characters")
    return name


def check_channel(kind: str, target: str) -> str:
    target = target.strip()
    if kind == "email":
        try:
            target = check_email(target)
        except AccountError as exc:
            raise AlertError(str(exc)) from exc
    elif kind == "webhook":
        if not re.match(r"^https?://[^\s]+$", target) or len(target) > 2000:
            raise AlertError(f"a webhook needs an http:// or https:// URL, not {target!r}")
    else:
        raise AlertError(f"unknown channel {kind!r} (use email or webhook)")
    return target


def dump_filters(filters: dict[str, list[str]]) -> str:
    return json.dumps(filters, ensure_ascii=False, sort_keys=True)


__all__ = ["CADENCES", "AlertError", "Channel", "QueryError", "SavedSearch", "check_search"]
