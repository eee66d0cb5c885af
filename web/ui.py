"""Server-rendered pages: search, document, status."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from markupsafe import Markup

from archive import SearchQuery

from . import archive

bp = Blueprint("ui", __name__)


@bp.get("/")
def search_page():  # type: ignore[no-untyped-def]
    q = request.args.get("q", "").strip()
    results = None
    if q:
        page = max(1, request.args.get("page", 1, type=int))
        query = SearchQuery(
            text=q,
            limit=20,
            offset=(page - 1) * 20,
            filters={k: request.args.getlist(k) for k in ("lang", "collection", "kind") if request.args.getlist(k)},
            facets=("collection", "lang", "kind"),
        )
        results = archive().search(query)
        # Snippets are built by archive.search.snippets: escaped text plus our own <mark> tags only.
        for hit in results.hits:
            hit.snippet = Markup(hit.snippet)  # type: ignore[assignment]
    return render_template("search.html", q=q, results=results)


@bp.get("/documents/<int:doc_id>")
def document_page(doc_id: int):  # type: ignore[no-untyped-def]
    doc = archive().document(doc_id)
    if doc is None:
        abort(404, f"No document {doc_id}")
    return render_template("document.html", doc=doc)


@bp.get("/status")
def status_page():  # type: ignore[no-untyped-def]
    return render_template("status.html", status=archive().status())
