"""The JSON API under /api."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from archive import SearchQuery

from . import archive

bp = Blueprint("api", __name__)


@bp.get("/search")
def api_search():  # type: ignore[no-untyped-def]
    q = request.args.get("q", "")
    query = SearchQuery(
        text=q,
        raw=request.args.get("mode") == "raw",
        limit=min(max(request.args.get("limit", 20, type=int), 1), 200),
        offset=max(request.args.get("offset", 0, type=int), 0),
        filters={k: request.args.getlist(k) for k in ("lang", "collection", "kind", "sender", "recipient")
                 if request.args.getlist(k)},
        facets=tuple(request.args.getlist("facet")),
    )
    return jsonify(archive().search(query).as_dict())


@bp.get("/documents/<int:doc_id>")
def api_document(doc_id: int):  # type: ignore[no-untyped-def]
    doc = archive().document(doc_id)
    if doc is None:
        abort(404, f"No document {doc_id}")
    return jsonify(doc)


@bp.get("/status")
def api_status():  # type: ignore[no-untyped-def]
    return jsonify(archive().status())
