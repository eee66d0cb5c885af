"""Server-rendered pages: search with facets, document view with page images, status, collections."""

from __future__ import annotations

import csv
from dataclasses import replace
from io import BytesIO, StringIO
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    send_file,
    stream_with_context,
)
from markupsafe import Markup

from . import archive
from . import validation as valid
from .alerts import ui_bp as alerts_ui_bp
from .auth import current_viewer
from .markup import css_name, locate, render_text
from archive import NoPageImages, SearchQuery, may_write_collection
from archive.search import FACETS, parse

bp = Blueprint("ui", __name__)
bp.register_blueprint(alerts_ui_bp)  # saved searches and alerts: /alerts (web/alerts.py)

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
        facets=FACETS,
    )


# Facets whose values exclude each other (a page has one collection): choosing several means any of
# them, so the other values stay on offer with their counts. Sender, entity and exemption values
# combine (a page from A that names B), so their counts come from the filtered results.
EITHER_FACETS = ("collection", "lang", "kind", "year")


def _disjunctive_facets(
    query: SearchQuery, facets: dict[str, list[tuple[str, int]]]
) -> dict[str, list[tuple[str, int]]]:
    """For each chosen either-or facet, its counts without its own filter (all values selectable)."""
    out = {}
    for name in EITHER_FACETS:
        chosen = query.filters.get(name)
        if not chosen or name not in query.facets:
            continue
        others = {k: v for k, v in query.filters.items() if k != name}
        counts = (
            archive()
            .search(replace(query, filters=others, facets=(name,), limit=1, offset=0), current_viewer())
            .facets.get(name, [])
        )
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
        results = archive().search(query, current_viewer())
        results.facets.update(_disjunctive_facets(query, results.facets))
        for hit in results.hits:
            # Built by archive.search.snippets: escaped document text plus our own <mark> tags.
            hit.snippet = Markup(hit.snippet)
            if hit.translation_snippet:
                hit.translation_snippet = Markup(hit.translation_snippet)
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
            rows.append(
                (
                    render_text(str(src), terms, mentions, "original", gloss, sb),
                    render_text(str(tgt), terms, mentions, "translation", (), tb),
                )
            )
    return {
        "rows": rows,
        "original": render_text(text, terms, mentions, "original", gloss) if not rows else None,
        "translation": render_text(translation, terms, mentions, "translation")
        if translation and not rows
        else None,
    }


@bp.get("/documents/<int:doc_id>")
def document_page(doc_id: int):  # type: ignore[no-untyped-def]
    a = archive()
    viewer = current_viewer()
    doc = a.document(doc_id, viewer=viewer)
    if doc is None:
        abort(404, f"No document {doc_id}")
    q = valid.query_text(request.args)
    raw = valid.choice(request.args, "raw", ("0", "1"), "0") == "1"
    terms = parse(q).positive_terms() if q.strip() and not raw else []  # QueryError: a 400 page
    highlights = {p["number"]: a.page_highlights(doc_id, p["number"], q, viewer) for p in doc["pages"]}
    views = {p["number"]: page_view(p, terms) for p in doc["pages"]}
    parent = a.parent(doc, viewer)
    thread = a.thread(doc, viewer)
    mail = doc["metadata"].get("mail") or {}
    ents = doc["metadata"].get("entities") or []
    watched = {
        m.get("entity_id")
        for p in doc["pages"]
        for m in p["meta"].get("entities") or []
        if m.get("source") == "watchlist"
    }
    types_present = {str(e.get("type")) for e in ents if e.get("type")}
    redactions = _redaction_view(a, doc)
    return render_template(
        "document.html",
        doc=doc,
        q=q,
        highlights=highlights,
        views=views,
        parent=parent,
        mail=mail,
        thread=thread,
        entities=ents,
        watched=watched,
        legend=entity_legend(types_present),
        css_name=css_name,
        redactions=redactions,
    )


def _redaction_view(a: Any, doc: dict[str, Any]) -> dict[str, Any]:
    """The redaction boxes of a document's pages in percent of the page, for drawing over its
    images (`?boxes=0` hides them), and whether the text under bad ones may be shown (only to
    those who may write to the collection, and only on request: `?hidden_text=1`)."""
    may_see = may_write_collection(current_viewer(), a.collection(doc["collection"]))
    show_hidden = may_see and valid.choice(request.args, "hidden_text", ("0", "1"), "0") == "1"
    sizes = {p["number"]: (p.get("width") or 0, p.get("height") or 0) for p in doc["pages"]}
    by_page: dict[int, list[dict[str, Any]]] = {}
    for box in a.redactions(doc["id"], current_viewer(), show_hidden):
        width, height = sizes.get(box["page"], (0, 0))
        if width and height:
            left, top, w, h = box["bbox"]
            box["pct"] = [100 * left / width, 100 * top / height, 100 * w / width, 100 * h / height]
        by_page.setdefault(box["page"], []).append(box)
    return {
        "pages": by_page,
        "show_boxes": valid.choice(request.args, "boxes", ("0", "1"), "1") == "1",
        "may_see_hidden": may_see,
        "show_hidden": show_hidden,
        "summary": doc["metadata"].get("redactions") or {},
    }


@bp.get("/documents/<int:doc_id>/pages/<int:number>.png")
def page_image(doc_id: int, number: int):  # type: ignore[no-untyped-def]
    a = archive()
    doc = a.document_record(doc_id, current_viewer())
    if doc is None:
        abort(404, f"No document {doc_id}")
    try:
        png = a.page_image(doc, number, current_viewer())
    except NoPageImages as exc:
        abort(404, str(exc))
    if png is None:
        abort(404, "No such page")
    return send_file(BytesIO(png), mimetype="image/png", max_age=3600)


@bp.get("/documents/<int:doc_id>/original")
def download(doc_id: int):  # type: ignore[no-untyped-def]
    a = archive()
    doc = a.document_record(doc_id, current_viewer())
    if doc is None:
        abort(404, f"No document {doc_id}")
    original = a.original(doc, current_viewer())
    if original is None:
        abort(404, "Original missing")
    return send_file(
        original.path, mimetype=original.mime, as_attachment=True, download_name=original.filename
    )


@bp.get("/status")
def status_page():  # type: ignore[no-untyped-def]
    viewer = current_viewer()
    # Processing details (failures, stages) are for admins; others get counts of what they may read.
    template = "status.html" if viewer.is_admin else "status_reader.html"
    return render_template(template, status=archive().status(viewer))


@bp.get("/collections")
def collections_page():  # type: ignore[no-untyped-def]
    return render_template("collections.html", collections=archive().collections(current_viewer()))


@bp.get("/collections/<name>")
def collection_page(name: str):  # type: ignore[no-untyped-def]
    a = archive()
    viewer = current_viewer()
    info = a.collection(name, viewer)
    if info is None:
        abort(404, "No such collection")
    page = valid.integer(request.args, "page", 1, 1, valid.MAX_PAGE)
    docs = a.collection_documents(
        name, COLLECTION_PAGE_SIZE, valid.offset_of(page, COLLECTION_PAGE_SIZE), viewer
    )
    pages = max(1, -(-info["documents"] // COLLECTION_PAGE_SIZE))
    return render_template(
        "collection.html",
        name=name,
        info=info,
        docs=docs,
        page=page,
        pages=pages,
        may_write=may_write_collection(viewer, info),
        redactions=a.redaction_summary(name, viewer),
    )


@bp.get("/collections/<name>/release.zip")
def collection_zip(name: str):  # type: ignore[no-untyped-def]
    """The whole release as a zip of its originals (those the viewer may read), streamed."""
    a = archive()
    viewer = current_viewer()
    if a.collection(name, viewer) is None:
        abort(404, "No such collection")
    resp = Response(stream_with_context(a.collection_zip(name, viewer)), mimetype="application/zip")
    resp.headers["Content-Disposition"] = f"attachment; filename={css_name(name) or 'collection'}.zip"
    return resp


@bp.get("/robots.txt")
def robots():  # type: ignore[no-untyped-def]
    """Keeps search engines out when the site is run with FOI_NOINDEX=1."""
    body = (
        "User-agent: *\nDisallow: /\n" if current_app.config["FOI_NOINDEX"] else "User-agent: *\nDisallow:\n"
    )
    return Response(body, mimetype="text/plain")


@bp.get("/collections/<name>/redactions.csv")
def collection_redactions_csv(name: str):  # type: ignore[no-untyped-def]
    """Every redaction box of a collection: document, page, bbox, area, exemption, bad."""
    from .api import csv_safe  # (web.api imports this module)

    a = archive()
    viewer = current_viewer()
    if a.collection(name, viewer) is None:
        abort(404, "No such collection")
    buf = StringIO()
    writer = csv.writer(buf)
    for row in a.redaction_rows(name, viewer):
        writer.writerow([csv_safe(v) for v in row])
    resp = Response(buf.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = "attachment; filename=redactions.csv"
    return resp
