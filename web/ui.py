"""Server-rendered pages: search with facets, document view with page images, status, collections."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request, send_file
from markupsafe import Markup

from . import archive
from . import validation as valid
from .markup import css_name, locate, render_text
from archive import SearchQuery
from archive.search.query import parse

bp = Blueprint("ui", __name__)

FACET_NAMES = ("collection", "lang", "kind", "year", "sender", "entity", "exemption")
PAGE_SIZE = 20
COLLECTION_PAGE_SIZE = 100


def query_from_args(args: Any, limit: int = PAGE_SIZE) -> SearchQuery:
    """The search state lives in the URL: q, raw, sort, page and one parameter per filter, each
    checked by web.validation (a bad one is a 400 naming it)."""
    page = valid.integer(args, "page", 1, 1, valid.MAX_PAGE)
    filters = {name: chosen for name in valid.FILTERS if (chosen := valid.values(args, name))}
    return SearchQuery(
        text=valid.query_text(args).strip(),
        raw=valid.choice(args, "raw", ("0", "1"), "0") == "1",
        filters=filters,
        date_from=valid.date(args, "from"),
        date_to=valid.date(args, "to"),
        sort=valid.choice(args, "sort", valid.SORTS, "relevance"),
        limit=limit,
        offset=valid.offset_of(page, limit),
        facets=FACET_NAMES,
    )


# Facets whose values exclude each other (a page has one collection): choosing several means any of
# them, so the other values stay on offer with their counts. Sender, entity and exemption values
# combine (a page from A that names B), so their counts come from the filtered results.
EITHER_FACETS = ("collection", "lang", "kind", "year")


def _disjunctive_facets(query: SearchQuery, facets: dict[str, list[tuple[str, int]]]) -> dict[str, list[tuple[str, int]]]:
    """For each chosen either-or facet, its counts without its own filter (all values selectable)."""
    out = {}
    for name in EITHER_FACETS:
        chosen = query.filters.get(name)
        if not chosen or name not in query.facets:
            continue
        others = {k: v for k, v in query.filters.items() if k != name}
        counts = archive().search(replace(query, filters=others, facets=(name,), limit=1, offset=0)).facets.get(name, [])
        listed = {v for v, _ in counts}
        current = dict(facets.get(name, []))
        out[name] = counts + [(v, current.get(v, 0)) for v in chosen if v not in listed]
    return out


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
    if query.text or query.filters or query.date_from or query.date_to:
        results = archive().search(query)
        results.facets.update(_disjunctive_facets(query, results.facets))
        for hit in results.hits:
            # Built by archive.search.snippets: escaped document text plus our own <mark> tags.
            hit.snippet = Markup(hit.snippet)  # type: ignore[assignment]
            if hit.translation_snippet:
                hit.translation_snippet = Markup(hit.translation_snippet)  # type: ignore[assignment]
    page = query.offset // PAGE_SIZE + 1
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


ENTITY_LABELS = {
    "person": "person",
    "org": "organisation",
    "place": "place",
    "email": "e-mail address",
    "phone": "phone number",
    "url": "web address",
    "money": "amount of money",
    "date": "date",
    "foi_ref": "FOI reference",
    "postcode": "postcode",
    "id": "identifier",
    "exemption": "FOI exemption",
}


def entity_legend(types_present: set[str]) -> list[tuple[str, str, bool]]:
    """(css type, label, present on this document) for every type the entity step produces."""
    produced: tuple[str, ...]
    try:
        from archive.entities import TYPES as produced
    except ModuleNotFoundError:  # the entity step is optional
        produced = tuple(ENTITY_LABELS)
    names = list(dict.fromkeys([*produced, *ENTITY_LABELS, *sorted(types_present)]))
    return [(css_name(t), ENTITY_LABELS.get(t, t), t in types_present) for t in names]


def page_view(page: dict[str, Any], terms: list[Any]) -> dict[str, Any]:
    """What the template shows of one page: the original (and the translation) as safe markup,
    sentence-aligned when the translation step left segments."""
    text = page["text"] or ""
    translation = page.get("translation") or ""
    mentions = page["meta"].get("entities") or []
    gloss = page["meta"].get("gloss_words") or []
    rows: list[tuple[Markup, Markup]] = []
    segments = [s for s in page.get("segments") or [] if isinstance(s, list | tuple) and len(s) >= 2]
    if segments:
        src_at = locate([str(s[0]) for s in segments], text)
        tgt_at = locate([str(s[1]) for s in segments], translation)
        for (src, tgt, *_), sb, tb in zip(segments, src_at, tgt_at, strict=True):
            rows.append((
                render_text(str(src), terms, mentions, "original", gloss, sb),
                render_text(str(tgt), terms, mentions, "translation", (), tb),
            ))
    return {
        "rows": rows,
        "original": render_text(text, terms, mentions, "original", gloss) if not rows else None,
        "translation": render_text(translation, terms, mentions, "translation") if translation and not rows else None,
    }


@bp.get("/documents/<int:doc_id>")
def document_page(doc_id: int):  # type: ignore[no-untyped-def]
    a = archive()
    doc = a.document(doc_id)
    if doc is None:
        abort(404, f"No document {doc_id}")
    q = valid.query_text(request.args)
    raw = valid.choice(request.args, "raw", ("0", "1"), "0") == "1"
    terms = parse(q).positive_terms() if q.strip() and not raw else []  # QueryError: a 400 page
    highlights = {p["number"]: a.page_highlights(doc_id, p["number"], q) for p in doc["pages"]}
    views = {p["number"]: page_view(p, terms) for p in doc["pages"]}
    parent = a.store.document(doc["parent_id"]) if doc["parent_id"] else None
    thread = []
    mail = doc["metadata"].get("mail") or {}
    if (mail.get("thread") or {}).get("id") is not None:
        tid = int(mail["thread"]["id"])
        # The thread id is the smallest document id in the thread: only later rows can belong to it.
        thread = a.store.documents(
            "kind='email' AND id >= ? AND json_extract(metadata, '$.mail.thread.id') = ?", (tid, tid)
        )
        thread.sort(key=lambda d: ((d["metadata"].get("mail") or {}).get("thread") or {}).get("position") or 0)
    ents = doc["metadata"].get("entities") or []
    watched = {
        m.get("entity_id") for p in doc["pages"] for m in p["meta"].get("entities") or [] if m.get("source") == "watchlist"
    }
    types_present = {str(e.get("type")) for e in ents if e.get("type")}
    return render_template(
        "document.html", doc=doc, q=q, highlights=highlights, views=views, parent=parent, mail=mail,
        thread=thread, entities=ents, watched=watched, legend=entity_legend(types_present), css_name=css_name,
    )


def _page_png(doc: dict[str, Any], number: int) -> bytes:
    """The page image, rendered once from the original and cached in the archive folder."""
    a = archive()
    page = a.store.page(doc["id"], number)
    if page is None:
        abort(404, "No such page")
    dpi = page["dpi"] or 100
    cache = a.root / "cache" / "pages" / f"{doc['sha256']}-{number}-{int(dpi)}.png"
    try:
        return cache.read_bytes()
    except FileNotFoundError:
        pass
    original = a.store.blob_path(doc["sha256"])
    if doc["kind"] == "pdf":
        from ocr import render_pdf_page

        data = render_pdf_page(original, number - 1, dpi=dpi).png
    elif doc["kind"] == "image":
        from PIL import Image

        with Image.open(original) as im:
            im.seek(number - 1)
            buf = BytesIO()
            im.convert("L" if im.mode in {"1", "L", "I;16"} else "RGB").save(buf, format="PNG", compress_level=1)
            data = buf.getvalue()
    else:
        abort(404, "This document has no page images")
    # Written to a temporary file and renamed: a concurrent reader never sees half an image.
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".tmp-", suffix=".png")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, cache)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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
    if not path.is_file() or not path.resolve().is_relative_to(a.root.resolve()):
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
    info = next((c for c in a.store.collections() if c["name"] == name), None)
    if info is None:
        abort(404, "No such collection")
    page = valid.integer(request.args, "page", 1, 1, valid.MAX_PAGE)
    docs = a.store.documents(
        "id IN (SELECT id FROM documents WHERE collection=? AND parent_id IS NULL ORDER BY id LIMIT ? OFFSET ?)",
        (name, COLLECTION_PAGE_SIZE, valid.offset_of(page, COLLECTION_PAGE_SIZE)),
    )
    pages = max(1, -(-info["documents"] // COLLECTION_PAGE_SIZE))
    return render_template("collection.html", name=name, info=info, docs=docs, page=page, pages=pages)
