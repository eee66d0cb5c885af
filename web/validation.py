"""Every HTTP parameter is checked here before use, for the pages and the API alike.

The bounds live in this one place (the OpenAPI document quotes them). A value out of bounds, of the
wrong form or nested too deeply is a 400 whose message names the parameter and says what it takes:
JSON under /api, an HTML page elsewhere (web/errors.py). Nothing a client sends reaches SQLite or
Elasticsearch as a number either cannot hold, or as a query the parser would recurse into too deeply.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Collection
from typing import Any, NoReturn

from flask import abort
from werkzeug.routing import IntegerConverter as _WerkzeugIntegerConverter

from archive.search import FACETS
from archive.search import SORTS as SEARCH_SORTS

# Ids and page numbers are SQLite INTEGERs (signed 64-bit); a larger one in a URL names nothing.
MAX_ID = 2**63 - 1
# Hits per API page.
MAX_LIMIT = 200
# How deep `offset` (or page x page size) may reach. Elasticsearch stops at 10,000 anyway (deeper
# results need next_cursor); the embedded backend skips rows one by one, so a bound keeps it cheap.
MAX_OFFSET = 1_000_000
# `page` of any listing: enough for MAX_OFFSET at the smallest page size.
MAX_PAGE = MAX_OFFSET + 1
# The search text's length (its nesting is bounded by the parser: archive.search.query.MAX_DEPTH).
MAX_QUERY_CHARS = 2000
# Values of one repeatable filter (collection=a&collection=b ...) and the length of each.
MAX_FILTER_VALUES = 50
MAX_VALUE_CHARS = 500
# A cursor is the next_cursor a previous page returned: a short JSON array of sort values.
MAX_CURSOR_CHARS = 1000
MAX_CURSOR_ITEMS = 8
MAX_CURSOR_STRING = 500
# Items a backend's cursor holds: SQLite's is [offset]; Elasticsearch's are the sort values of the
# last hit (score and page id, or the date and/or document, page number and page id), which the node
# checks against the search's sort itself.
CURSOR_ITEMS = {"sqlite": (1, 1), "elasticsearch": (2, 4)}

SORTS = SEARCH_SORTS
MODES = ("raw",)  # the API's mode=raw: engine syntax passed through (as raw=1)
FILTERS = (
    "collection",
    "lang",
    "kind",
    "year",
    "sender",
    "recipient",
    "entity",
    "exemption",
    "redacted",
    "bad_redaction",
)
FACET_CHOICES = (*FACETS, "recipient")
EXPORT_FORMATS = ("csv", "json")

_INT = re.compile(r"[+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def bad(message: str) -> NoReturn:
    abort(400, message)


class IntegerConverter(_WerkzeugIntegerConverter):
    """`<int:...>` in every route, bounded to what SQLite stores: a larger id or page number does not
    match the route (404) instead of overflowing the query. Named like Werkzeug's, which it is."""

    def __init__(
        self,
        map: Any,
        fixed_digits: int = 0,
        min: int | None = 0,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def text(args: Any, name: str, max_chars: int = MAX_VALUE_CHARS) -> str:
    value: str = args.get(name, "")
    if len(value) > max_chars:
        bad(f"{name} is too long ({len(value)} characters; at most {max_chars})")
    if "\x00" in value:
        bad(f"{name} contains a NUL character")
    return value


def integer(args: Any, name: str, default: int, low: int, high: int) -> int:
    """An integer parameter from `low` to `high`; absent or empty means `default`."""
    raw = args.get(name, "").strip()
    if not raw:
        return default
    if not _INT.fullmatch(raw) or len(raw) > 25:
        bad(f"{name} must be a whole number from {low} to {high} (got {raw[:40]!r})")
    value = int(raw)
    if not low <= value <= high:
        bad(f"{name} must be a whole number from {low} to {high} (got {value if len(raw) <= 25 else raw})")
    return value


def choice(args: Any, name: str, choices: Collection[str], default: str) -> str:
    value: str = args.get(name, "")
    if not value:
        return default
    if value not in choices:
        bad(f"{name} must be one of {', '.join(choices)} (got {value[:40]!r})")
    return value


def values(args: Any, name: str, choices: Collection[str] | None = None) -> list[str]:
    """The values of a repeatable parameter (empty ones dropped)."""
    out = [v for v in args.getlist(name) if v]
    if len(out) > MAX_FILTER_VALUES:
        bad(f"{name} is given {len(out)} times; at most {MAX_FILTER_VALUES}")
    for v in out:
        if len(v) > MAX_VALUE_CHARS:
            bad(f"a {name} value is too long ({len(v)} characters; at most {MAX_VALUE_CHARS})")
        if "\x00" in v:
            bad(f"a {name} value contains a NUL character")
        if choices is not None and v not in choices:
            bad(f"{name} must be one of {', '.join(choices)} (got {v[:40]!r})")
    return out


def date(args: Any, name: str) -> str | None:
    value = args.get(name, "").strip()
    if not value:
        return None
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        dt.date.fromisoformat(value)
    except ValueError:
        bad(f"{name} must be a date written YYYY-MM-DD (got {value[:40]!r})")
    return str(value)


def query_text(args: Any, name: str = "q") -> str:
    """The search text, bounded in length. Its nesting is the parser's to bound (parentheses beyond
    archive.search.query.MAX_DEPTH are a QueryError, so a 400; NOT chains are read in a loop)."""
    return text(args, name, MAX_QUERY_CHARS)


def offset_of(page: int, size: int) -> int:
    offset = (page - 1) * size
    if offset > MAX_OFFSET:
        bad(
            f"page {page} is too deep (results beyond {MAX_OFFSET} are not served by page; "
            "the API's next_cursor pages further)"
        )
    return offset


class _CursorValue(ValueError):
    pass


def _number(token: str) -> float:
    value = float(token)
    if not math.isfinite(value) or abs(value) > MAX_ID:
        raise _CursorValue(f"the number {token[:30]} is out of range")
    return value


def _constant(token: str) -> NoReturn:
    raise _CursorValue(f"{token} is not a number a cursor holds")


def cursor(raw: str, backend: str) -> list[Any]:
    """A `next_cursor` echoed back: a JSON array of the length the backend uses, of integers in
    SQLite's and Elasticsearch's signed 64-bit range, finite numbers no larger, short strings and
    nulls."""
    hint = "(pass next_cursor from the previous page)"
    if len(raw) > MAX_CURSOR_CHARS:
        bad(f"Bad cursor: too long ({len(raw)} characters) {hint}")
    try:
        value = json.loads(raw, parse_float=_number, parse_constant=_constant)
    except _CursorValue as exc:
        bad(f"Bad cursor: {exc} {hint}")
    except (ValueError, RecursionError):
        bad(f"Bad cursor: not JSON {hint}")
    low, high = CURSOR_ITEMS.get(backend, (1, MAX_CURSOR_ITEMS))
    if not isinstance(value, list) or not low <= len(value) <= high:
        bad(
            f"Bad cursor: expected the next_cursor array of the previous page ({low} to {high} items)"
            if low != high
            else f"Bad cursor: expected the next_cursor array of the previous page ({low} item)"
        )
    for item in value:
        # null: Elasticsearch's sort value of a page without a date, under sort=date or -date.
        if isinstance(item, bool) or not (item is None or isinstance(item, int | float | str)):
            bad(
                "Bad cursor: its items are numbers, strings or null (pass next_cursor from the previous page)"
            )
        if isinstance(item, int) and not -MAX_ID - 1 <= item <= MAX_ID:
            bad("Bad cursor: a number out of range (pass next_cursor from the previous page)")
        if isinstance(item, str) and len(item) > MAX_CURSOR_STRING:
            bad("Bad cursor: a string too long (pass next_cursor from the previous page)")
    if backend == "sqlite" and not (isinstance(value[0], int) and value[0] >= 0):
        bad("Bad cursor: this archive's cursor is [offset], a whole number from 0")
    return value
