"""Server-rendered pages: search with facets, document view with page images, status, collections."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request, send_file
from markupsafe import Markup

from . import archive
from archive import SearchQuery

bp = Blueprint("ui", __name__)

FACET_NAMES = ("collection", "lang", "kind", "year", "sender", "entity", "exemption")
PAGE_SIZE = 20


def query_from_args(args: Any, limit: int = PAGE_SIZE) -> SearchQuery:
    """The search state lives in the URL: q, raw, sort, page and one parameter per filter."""
    page = max(1, args.get("page", 1, type=int))
    filters = {name: args.getlist(name) for name in (*FACET_NAMES, "recipient") if args.getlist(name)}
    return SearchQuery(
        text=args.get("q", "").strip(),
        raw=args.get("raw") == "1",
        filters=filters,
        date_from=args.get("from") or None,
        date_to=args.get("to") or None,
        sort=args.get("sort", "relevance") if args.get("sort") in {"relevance", "date", "-date"} else "relevance",
        limit=limit,
        offset=(page - 1) * limit,
        facets=FACET_NAMES,
    )


def url_with(args: Any, **changes: Any) -> str:
    """The current search URL with parameters added (name=value) or toggled off (value None)."""
    items = [(k, v) for k in args for v in args.getlist(k) if k != "page"]
    for key, value in changes.items():
        if isinstance(value, tuple):  # toggle one value of a repeatable filter
            name, val = value
            if (name, val) in items:
                items.remove((name, val))
            else:
                items.append((name, val))
        elif value is None:
            items = [(k, v) for k, v in items if k != key]
        else:
            items = [(k, v) for k, v in items if k != key] + [(key, str(value))]
    return "?" + urlencode(items)


@bp.get("/")
def search_page():  # type: ignore[no-untyped-def]
    query = query_from_args(request.args)
    results = None
    if query.text or query.filters:
        results = archive().search(query)
        for hit in results.hits:
            # Built by archive.search.snippets: escaped document text plus our own <mark> tags.
            hit.snippet = Markup(hit.snippet)  # type: ignore[assignment]
            if hit.translation_snippet:
                hit.translation_snippet = Markup(hit.translation_snippet)  # type: ignore[assignment]
    page = max(1, request.args.get("page", 1, type=int))
    return render_template(
        "search.html",
        q=query.text,
        query=query,
        results=results,
        page=page,
        page_size=PAGE_SIZE,
        args=request.args,
        url_with=url_with,
        active=query.filters,
    )


@bp.get("/documents/<int:doc_id>")
def document_page(doc_id: int):  # type: ignore[no-untyped-def]
    a = archive()
    doc = a.document(doc_id)
    if doc is None:
        abort(404, f"No document {doc_id}")
    q = request.args.get("q", "")
    highlights = {p["number"]: a.page_highlights(doc_id, p["number"], q) for p in doc["pages"]}
    parent = a.store.document(doc["parent_id"]) if doc["parent_id"] else None
    thread = []
    mail = doc["metadata"].get("mail") or {}
    if mail.get("thread"):
        tid = mail["thread"]["id"]
        thread = [
            d for d in a.store.documents("kind='email'")
            if ((d["metadata"].get("mail") or {}).get("thread") or {}).get("id") == tid
        ]
        thread.sort(key=lambda d: d["metadata"]["mail"]["thread"]["position"])
    return render_template(
        "document.html", doc=doc, q=q, highlights=highlights, parent=parent, mail=mail, thread=thread
    )


def _page_png(doc: dict[str, Any], number: int) -> bytes:
    """The page image, rendered once from the original and cached in the archive folder."""
    a = archive()
    page = a.store.page(doc["id"], number)
    if page is None:
        abort(404, "No such page")
    cache = a.root / "cache" / "pages" / f"{doc['sha256']}-{number}-{int(page['dpi'] or 0)}.png"
    if cache.exists():
        return cache.read_bytes()
    original = a.store.blob_path(doc["sha256"])
    if doc["kind"] == "pdf":
        from ocr import render_pdf_page

        data = render_pdf_page(original, number - 1, dpi=page["dpi"] or 100).png
    elif doc["kind"] == "image":
        from PIL import Image

        with Image.open(original) as im:
            im.seek(number - 1)
            buf = BytesIO()
            im.convert("L" if im.mode in {"1", "L", "I;16"} else "RGB").save(buf, format="PNG", compress_level=1)
            data = buf.getvalue()
    else:
        abort(404, "This document has no page images")
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(data)
    return data


@bp.get("/documents/<int:doc_id>/pages/<int:number>.png")
def page_image(doc_id: int, number: int):  # type: ignore[no-untyped-def]
    doc = archive().store.document(doc_id)
    if doc is None:
        abort(404, f"No document {doc_id}")
    resp = send_file(BytesIO(_page_png(doc, number)), mimetype="image/png", max_age=3600)
    return resp


@bp.get("/documents/<int:doc_id>/original")
def download(doc_id: int):  # type: ignore[no-untyped-def]
    a = archive()
    doc = a.store.document(doc_id)
    if doc is None:
        abort(404, f"No document {doc_id}")
    # The path comes from the stored digest (validated hex), never from the request.
    path = a.store.blob_path(doc["sha256"])
    if not path.is_file() or a.root not in path.resolve().parents:
        abort(404, "Original missing")
    return send_file(path, mimetype=doc["mime"] or "application/octet-stream", as_attachment=True,
                     download_name=Path(doc["filename"]).name or f"document-{doc_id}")


@bp.get("/status")
def status_page():  # type: ignore[no-untyped-def]
    return render_template("status.html", status=archive().status())


@bp.get("/collections")
def collections_page():  # type: ignore[no-untyped-def]
    return render_template("collections.html", collections=archive().store.collections())


@bp.get("/collections/<name>")
def collection_page(name: str):  # type: ignore[no-untyped-def]
    a = archive()
    if name not in {c["name"] for c in a.store.collections()}:
        abort(404, "No such collection")
    docs = a.store.documents("collection=? AND parent_id IS NULL", (name,))
    return render_template("collection.html", name=name, docs=docs)
