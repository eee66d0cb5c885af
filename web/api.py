"""The JSON API under /api, described by the OpenAPI document at /api/openapi.json."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request, stream_with_context

from . import archive
from . import validation as valid
from .openapi import openapi_document
from .ui import query_from_args
from archive import QueryError, SearchQuery

bp = Blueprint("api", __name__)

EXPORT_FIELDS = [
    "document_id",
    "title",
    "filename",
    "collection",
    "kind",
    "language",
    "page",
    "date",
    "score",
    "matched_fields",
    "snippet",
]


@bp.get("/search")
def api_search():  # type: ignore[no-untyped-def]
    limit = valid.integer(request.args, "limit", 20, 1, valid.MAX_LIMIT)
    query = query_from_args(request.args, limit=limit)
    query.raw = valid.choice(request.args, "mode", valid.MODES, "") == "raw" or query.raw
    query.offset = valid.integer(request.args, "offset", query.offset, 0, valid.MAX_OFFSET)
    query.facets = tuple(dict.fromkeys(valid.values(request.args, "facet", valid.FACET_CHOICES)))
    if request.args.get("cursor"):
        query.search_after = valid.cursor(request.args["cursor"], archive().backend.name)
        try:
            return jsonify(archive().search(query).as_dict())
        except QueryError:
            raise
        except (ValueError, TypeError, IndexError) as exc:  # a cursor this backend cannot use
            abort(400, f"Bad cursor: {exc}")
    return jsonify(archive().search(query).as_dict())


@bp.get("/documents/<int:doc_id>")
def api_document(doc_id: int):  # type: ignore[no-untyped-def]
    doc = archive().document(doc_id)
    if doc is None:
        abort(404, f"No document {doc_id}")
    doc["redactions"] = archive().redactions(doc_id)  # never the text under them here
    return jsonify(doc)


@bp.get("/documents/<int:doc_id>/pages/<int:number>")
def api_page(doc_id: int, number: int):  # type: ignore[no-untyped-def]
    a = archive()
    q = valid.query_text(request.args)
    page = a.page(doc_id, number)
    if page is None:
        abort(404, f"No page {number} in document {doc_id}")
    page["highlights"] = a.page_highlights(doc_id, number, q)
    page["redactions"] = a.redactions(doc_id, page=number)
    return jsonify(page)


@bp.get("/collections")
def api_collections():  # type: ignore[no-untyped-def]
    return jsonify({"collections": archive().collections()})


@bp.get("/status")
def api_status():  # type: ignore[no-untyped-def]
    return jsonify(archive().status())


def _export_query(args: Any) -> SearchQuery:
    query = query_from_args(args, limit=200)
    query.raw = valid.choice(args, "mode", valid.MODES, "") == "raw" or query.raw
    query.facets = ()
    query.offset = 0
    return query


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _all_hits(query: SearchQuery) -> Iterator[dict[str, Any]]:
    """Every hit of a search, page by page through the backend's cursor (not capped)."""
    a = archive()
    while True:
        results = a.search(query)
        yield from (h.as_dict() for h in results.hits)
        if not results.next_cursor or not results.hits:
            return
        query.search_after = results.next_cursor


@bp.get("/export.<fmt>")
def export(fmt: str):  # type: ignore[no-untyped-def]
    if fmt not in {"csv", "json"}:
        abort(404, "Export as csv or json")
    query = _export_query(request.args)
    if not (query.text or query.filters or query.date_from or query.date_to):
        abort(400, "An export needs a query or a filter")
    # Run the first page now, so a bad query is a 400 rather than a broken stream.
    hits = _all_hits(query)
    first = next(hits, None)

    def every_hit() -> Iterator[dict[str, Any]]:
        if first is not None:
            yield first
            yield from hits

    def rows_csv() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for hit in every_hit():
            hit["matched_fields"] = ";".join(hit["matched_fields"])
            writer.writerow({k: csv_safe(v) for k, v in hit.items()})
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
        yield buf.getvalue()

    def rows_json() -> Iterator[str]:
        yield "["
        for i, hit in enumerate(every_hit()):
            yield ("," if i else "") + json.dumps(hit, ensure_ascii=False)
        yield "]"

    body = rows_csv() if fmt == "csv" else rows_json()
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    resp = Response(stream_with_context(body), mimetype=mimetype)
    resp.headers["Content-Disposition"] = f"attachment; filename=foi-export.{fmt}"
    return resp


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(openapi_document(current_app.config.get("API_VERSION", "1")))
