"""The JSON API under /api, described by the OpenAPI document at /api/openapi.json."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request, stream_with_context, url_for
from markupsafe import Markup

from . import archive
from . import validation as valid
from .alerts import api_bp as alerts_api_bp
from .auth import current_viewer
from .openapi import openapi_document
from .ui import query_from_args
from archive import QueryError, SearchQuery

bp = Blueprint("api", __name__)
bp.register_blueprint(alerts_api_bp)  # saved searches: /api/alerts (web/alerts.py)

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
    "translation_snippet",
    "url",
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
            return jsonify(archive().search(query, current_viewer()).as_dict())
        except QueryError:
            raise
        except (ValueError, TypeError, IndexError) as exc:  # a cursor this backend cannot use
            abort(400, f"Bad cursor: {exc}")
    return jsonify(archive().search(query, current_viewer()).as_dict())


@bp.get("/documents/<int:doc_id>")
def api_document(doc_id: int):  # type: ignore[no-untyped-def]
    doc = archive().document(doc_id, viewer=current_viewer())
    if doc is None:
        abort(404, f"No document {doc_id}")
    doc["redactions"] = archive().redactions(doc_id, current_viewer())  # never the text under them here
    return jsonify(doc)


@bp.get("/documents/<int:doc_id>/pages/<int:number>")
def api_page(doc_id: int, number: int):  # type: ignore[no-untyped-def]
    a = archive()
    q = valid.query_text(request.args)
    page = a.page(doc_id, number, current_viewer())
    if page is None:
        abort(404, f"No page {number} in document {doc_id}")
    page["highlights"] = a.page_highlights(doc_id, number, q, current_viewer())
    page["redactions"] = a.redactions(doc_id, current_viewer(), page=number)
    return jsonify(page)


@bp.get("/collections")
def api_collections():  # type: ignore[no-untyped-def]
    return jsonify({"collections": archive().collections(current_viewer())})


@bp.get("/status")
def api_status():  # type: ignore[no-untyped-def]
    return jsonify(archive().status(current_viewer()))


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
    viewer = current_viewer()
    while True:
        results = a.search(query, viewer)
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
            # A spreadsheet shows text: the snippets without our <mark> tags and entities, and a
            # link to the page of the hit.
            for key in ("snippet", "translation_snippet"):
                hit[key] = Markup(hit[key]).striptags() if hit[key] else ""
            hit["url"] = (
                url_for("ui.document_page", doc_id=hit["document_id"], q=query.text or None, _external=True)
                + f"#page-{hit['page']}"
            )
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
