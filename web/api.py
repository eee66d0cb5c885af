"""The JSON API under /api, described by the OpenAPI document at /api/openapi.json."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request, stream_with_context

from . import archive
from .ui import query_from_args
from archive import QueryError, SearchQuery

bp = Blueprint("api", __name__)

EXPORT_FIELDS = ["document_id", "title", "filename", "collection", "kind", "language", "page", "date", "score",
                 "matched_fields", "snippet"]


@bp.get("/search")
def api_search():  # type: ignore[no-untyped-def]
    limit = min(max(request.args.get("limit", 20, type=int), 1), 200)
    query = query_from_args(request.args, limit=limit)
    query.raw = request.args.get("mode") == "raw" or query.raw
    query.offset = max(request.args.get("offset", query.offset, type=int), 0)
    query.facets = tuple(request.args.getlist("facet"))
    if request.args.get("cursor"):
        query.search_after = parse_cursor(request.args["cursor"])
        try:
            return jsonify(archive().search(query).as_dict())
        except QueryError:
            raise
        except (ValueError, TypeError, IndexError) as exc:  # a cursor this backend cannot use
            abort(400, f"Bad cursor: {exc}")
    return jsonify(archive().search(query).as_dict())


def parse_cursor(raw: str) -> list[Any]:
    """A `next_cursor` echoed back: a non-empty JSON array of scalars; anything else is a 400."""
    try:
        value = json.loads(raw)
    except ValueError:
        abort(400, "Bad cursor: not JSON (pass next_cursor from the previous page)")
    if not isinstance(value, list) or not value or not all(
        v is None or isinstance(v, str | int | float | bool) for v in value
    ):
        abort(400, "Bad cursor: expected the next_cursor array of the previous page")
    return value


@bp.get("/documents/<int:doc_id>")
def api_document(doc_id: int):  # type: ignore[no-untyped-def]
    doc = archive().document(doc_id)
    if doc is None:
        abort(404, f"No document {doc_id}")
    return jsonify(doc)


@bp.get("/documents/<int:doc_id>/pages/<int:number>")
def api_page(doc_id: int, number: int):  # type: ignore[no-untyped-def]
    a = archive()
    page = a.store.page(doc_id, number)
    if page is None:
        abort(404, f"No page {number} in document {doc_id}")
    page["highlights"] = a.page_highlights(doc_id, number, request.args.get("q", ""))
    return jsonify(page)


@bp.get("/collections")
def api_collections():  # type: ignore[no-untyped-def]
    return jsonify({"collections": archive().store.collections()})


@bp.get("/status")
def api_status():  # type: ignore[no-untyped-def]
    return jsonify(archive().status())


def _export_query(args: Any) -> SearchQuery:
    query = query_from_args(args, limit=200)
    query.raw = args.get("mode") == "raw" or query.raw
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
    return jsonify(openapi_document())


def _param(name: str, description: str, kind: str = "string", where: str = "query", many: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind}
    if many:
        schema = {"type": "array", "items": schema}
    return {"name": name, "in": where, "required": where == "path", "description": description, "schema": schema,
            **({"style": "form", "explode": True} if many else {})}


def openapi_document() -> dict[str, Any]:
    filters = [
        _param("q", "Query: words (AND), \"phrases\", OR, NOT, -word, prefix*, field:value filters"),
        _param("mode", "raw: pass engine syntax through unescaped"),
        _param("raw", "1: pass engine syntax through unescaped (same as mode=raw)"),
        _param("collection", "Collection filter", many=True),
        _param("lang", "Language filter (zh matches zh-Hans and zh-Hant)", many=True),
        _param("kind", "Kind filter (pdf, image, email ...)", many=True),
        _param("year", "Year filter", many=True),
        _param("sender", "Mail sender filter", many=True),
        _param("recipient", "Mail recipient filter", many=True),
        _param("entity", "Entity filter (name or alias)", many=True),
        _param("exemption", "FOI exemption code filter", many=True),
        _param("from", "Documents dated on or after (YYYY-MM-DD)"),
        _param("to", "Documents dated on or before (YYYY-MM-DD)"),
        _param("sort", "relevance, date or -date"),
    ]
    doc_id = _param("doc_id", "Document id", "integer", "path")
    ok = {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}
    not_found = {"404": {"description": "Not found"}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "FOI Archive API", "version": current_app.config.get("API_VERSION", "1")},
        "paths": {
            "/api/search": {"get": {"summary": "Search pages", "parameters": [
                *filters, _param("limit", "Hits per page (1-200)", "integer"),
                _param("page", "Page of results (1-based; offset = (page - 1) * limit)", "integer"),
                _param("offset", "Offset (overrides page)", "integer"),
                _param("cursor", "next_cursor of the previous page (JSON array)"),
                _param("facet", "Facets to count", many=True)],
                "responses": {**ok, "400": {"description": "Bad query or cursor"}}}},
            "/api/documents/{doc_id}": {"get": {"summary": "A document with pages, stages and children",
                                                "parameters": [doc_id], "responses": {**ok, **not_found}}},
            "/api/documents/{doc_id}/pages/{number}": {"get": {
                "summary": "One page: text, translation, segments, word boxes, highlight boxes for q",
                "parameters": [doc_id, _param("number", "Page number (1-based)", "integer", "path"), _param("q", "Query to highlight")],
                "responses": {**ok, **not_found}}},
            "/api/collections": {"get": {"summary": "Collections", "responses": ok}},
            "/api/status": {"get": {"summary": "Counts by status and stage, failures", "responses": ok}},
            "/api/export.{fmt}": {"get": {"summary": "Every hit of a search as CSV or JSON, streamed",
                                          "parameters": [_param("fmt", "csv or json", where="path"), *filters],
                                          "responses": {"200": {"description": "The export", "content": {
                                              "text/csv": {"schema": {"type": "string"}},
                                              "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}},
                                              "400": {"description": "No query or filter, or a bad query"},
                                              "404": {"description": "Unknown format"}}}},
            "/api/openapi.json": {"get": {"summary": "This document", "responses": ok}},
        },
    }
