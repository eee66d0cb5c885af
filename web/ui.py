"""Server-rendered pages: search with facets, document view with page images, status, collections."""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from io import BytesIO, StringIO
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from markupsafe import Markup

from . import archive
from . import validation as valid
from .alerts import ui_bp as alerts_ui_bp
from .auth import current_viewer
from .manage import start_upload_worker
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
    group = valid.choice(request.args, "group", ("page", "doc"), "page")
    results = None
    home = None
    if query.text or query.filters or query.date_from or query.date_to:
        results = archive().search(query, current_viewer())
        results.facets.update(_disjunctive_facets(query, results.facets))
        for hit in results.hits:
            # Built by archive.search.snippets: escaped document text plus our own <mark> tags.
            hit.snippet = Markup(hit.snippet)
            if hit.translation_snippet:
                hit.translation_snippet = Markup(hit.translation_snippet)
    else:
        a = archive()
        viewer = current_viewer()
        home = {
            "collections": a.collections(viewer),
            "latest": a.latest_documents(8, viewer),
            "examples": EXAMPLE_QUERIES,
        }
    page = query.offset // PAGE_SIZE + 1
    printed = fold_printed_messages(results.hits) if results else {}
    return render_template(
        "search.html",
        q=query.text,
        query=query,
        results=results,
        page=page,
        page_size=PAGE_SIZE,
        pages=page_numbers(page, results.total if results else 0),
        last_page=last_page(results.total if results else 0),
        args=request.args,
        url_with=url_with,
        active=query.filters,
        chips=filter_chips(query, request.args),
        clear_url=url_with(request.args, **{name: None for name in (*valid.FILTERS, "from", "to")}),
        keep=kept_parameters(request.args),
        group=group,
        groups=group_by_document(results.hits) if results and group == "doc" else None,
        printed=printed,
        histogram=date_histogram(query, request.args) if results else None,
        home=home,
        facet_labels=FILTER_LABELS,
    )


# Shown on the home page: what the query language can do, on words any release has.
EXAMPLE_QUERIES = (
    ('"due diligence"', "a phrase"),
    ("contract OR agreement", "either word"),
    ("minister -draft", "without a word"),
    ("procure*", "a prefix"),
    ("海洋", "Chinese words, also found through English"),
    ("lang:zh military", "a filter in the query"),
)

FILTER_LABELS = {
    "collection": "collection",
    "lang": "language",
    "kind": "kind",
    "year": "year",
    "sender": "from",
    "recipient": "to",
    "entity": "entity",
    "exemption": "exemption",
    "redacted": "redacted",
    "bad_redaction": "bad redaction",  # text left under a box (archive/redactions)
}

LANGUAGES = {
    "en": "English",
    "zh": "Chinese",
    "zh-hans": "Chinese (simplified)",
    "zh-hant": "Chinese (traditional)",
    "zh-cn": "Chinese (simplified)",
    "zh-tw": "Chinese (traditional)",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "ru": "Russian",
    "el": "Greek",
    "ja": "Japanese",
    "ko": "Korean",
    "und": "language unknown",
}


@bp.app_template_filter("language")
def language_name(code: Any) -> str:
    """A language code as a reader says it ("zh" -> "Chinese"); unknown codes as they are."""
    if not code:
        return LANGUAGES["und"]
    return LANGUAGES.get(str(code).lower(), str(code))


@bp.app_template_filter("plural")
def plural(count: Any, word: str, words: str | None = None) -> str:
    """ "1 document", "2 documents"."""
    n = int(count or 0)
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def filter_chips(query: SearchQuery, args: Any) -> list[tuple[str, str, str]]:
    """(what, value, URL without it) for every active filter: facets, entity, dates."""
    chips = []
    for name, chosen in query.filters.items():
        for value in chosen:
            shown = language_name(value) if name == "lang" else value
            chips.append((FILTER_LABELS.get(name, name), shown, url_with(args, toggle=(name, value))))
    if query.text and not query.raw:
        # Filters written in the query (lang:zh, from:2015-01-01): removing one edits the query.
        for name, chosen in parse(query.text).filters.items():
            for value in chosen:
                shown = language_name(value) if name == "lang" else value
                label = FILTER_LABELS.get(name, name) + " (in the query)"
                chips.append((label, shown, url_with(args, q=without_filter(query.text, name, value))))
    if query.date_from:
        chips.append(("from", query.date_from[:10], url_with(args, **{"from": None})))
    if query.date_to:
        chips.append(("to", query.date_to[:10], url_with(args, **{"to": None})))
    return chips


_QUERY_FILTER = re.compile(r'(?<!\S)(\w+):(?:"([^"]*)"|(\S+))')


def without_filter(text: str, name: str, value: str) -> str:
    """The query text less the `name:value` filters written in it."""

    def drop(m: re.Match[str]) -> str:
        given = m.group(2) if m.group(2) is not None else m.group(3)
        return "" if m.group(1).lower() == name and given.strip() == value.strip() else m.group(0)

    return " ".join(_QUERY_FILTER.sub(drop, text).split())


def kept_parameters(args: Any) -> list[tuple[str, str]]:
    """What a new query from the header keeps of the current search: its filters, dates, sort
    and grouping (the chips remove them)."""
    names = (*valid.FILTERS, "from", "to", "sort", "group")
    return [(k, v) for k in args for v in args.getlist(k) if k in names]


def last_page(total: int) -> int:
    return max(1, min(-(-total // PAGE_SIZE), valid.MAX_PAGE))


def page_numbers(page: int, total: int) -> list[int | None]:
    """The page numbers to offer: the first, the last and two either side of the current one
    (None where numbers are left out)."""
    last = last_page(total)
    wanted = sorted({1, last, *range(max(1, page - 2), min(last, page + 2) + 1)})
    out: list[int | None] = []
    for n in wanted:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


def group_by_document(hits: list[Any]) -> list[list[Any]]:
    """The hits of a results page by document, each document where its best hit ranked and its
    best page first."""
    groups: dict[int, list[Any]] = {}
    for hit in hits:
        groups.setdefault(hit.doc_id, []).append(hit)
    return list(groups.values())


def fold_printed_messages(hits: list[Any]) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """Printed e-mails (messages split out of a printout) are not listed twice: a message whose
    printout page is among the hits is taken out of the list and named under that page's hit.
    Returns {(printout id, page): [the messages]}; `hits` is changed in place."""
    a = archive()
    where = {(h.doc_id, h.page): i for i, h in enumerate(hits)}
    folded: dict[tuple[int, int], list[dict[str, Any]]] = {}
    keep = []
    for hit in hits:
        doc = a.document_record(hit.doc_id, current_viewer()) if hit.kind == "email" else None
        mail = (doc or {}).get("metadata", {}).get("mail") or {}
        pages = mail.get("pages") if mail.get("printed") else None
        parent_hit = None
        if doc and doc["parent_id"] and isinstance(pages, list) and len(pages) == 2:
            parent_hit = next(
                (
                    where[(doc["parent_id"], n)]
                    for n in range(int(pages[0]), int(pages[1]) + 1)
                    if (doc["parent_id"], n) in where
                ),
                None,
            )
        if parent_hit is None:
            keep.append(hit)
        else:
            parent = hits[parent_hit]
            folded.setdefault((parent.doc_id, parent.page), []).append(
                {"id": hit.doc_id, "subject": mail.get("subject") or hit.title}
            )
    hits[:] = keep
    return folded


HISTOGRAM_YEARS = 80


def date_histogram(query: SearchQuery, args: Any) -> dict[str, Any] | None:
    """Matching pages per year, under every filter but the dates and the year: bars that filter
    by a year (or, dragged across, by a span of years)."""
    others = {k: v for k, v in query.filters.items() if k != "year"}
    counts = (
        archive()
        .search(
            replace(
                query,
                filters=others,
                date_from=None,
                date_to=None,
                facets=("year",),
                facet_size=HISTOGRAM_YEARS,
                limit=1,
                offset=0,
            )
        )
        .facets.get("year", [])
    )
    by_year = {int(y): n for y, n in counts if str(y).isdigit()}
    if not by_year:
        return None
    first, last = min(by_year), max(by_year)
    first = max(first, last - HISTOGRAM_YEARS + 1)
    top = max(by_year.values())
    lo = (query.date_from or "")[:4]
    hi = (query.date_to or "")[:4]
    bars = []
    for year in range(first, last + 1):
        n = by_year.get(year, 0)
        chosen = bool(lo or hi) and (not lo or str(year) >= lo) and (not hi or str(year) <= hi)
        bars.append(
            {
                "year": year,
                "count": n,
                "height": max(2, round(100 * n / top)) if n else 0,
                "url": url_with(args, year=None, **{"from": f"{year}-01-01", "to": f"{year}-12-31"}),
                "chosen": chosen,
            }
        )
    return {"bars": bars, "base": url_with(args, year=None, **{"from": None, "to": None})}


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
    view: dict[str, Any] = {
        "rows": rows,
        "original": render_text(text, terms, mentions, "original", gloss) if not rows else None,
        "translation": render_text(translation, terms, mentions, "translation")
        if translation and not rows
        else None,
        "blocks": quoted_blocks(text, terms, mentions, gloss) if not rows and not translation else None,
    }
    shown = [*(m for pair in rows for m in pair), view["original"], view["translation"]]
    view["marks"] = sum(str(m).count("<mark") for m in shown if m)
    return view


_QUOTED = re.compile(r"(?m)^(?:[ \t]*>.*(?:\n|$)){2,}")


def quoted_blocks(
    text: str, terms: list[Any], mentions: list[Any], gloss: list[Any]
) -> list[tuple[bool, Markup]] | None:
    """A message's text cut into its own lines and the quoted ones ("> ..." lines, two or more),
    which the page folds; None when nothing is quoted."""
    cuts = [(m.start(), m.end()) for m in _QUOTED.finditer(text)]
    if not cuts:
        return None
    out: list[tuple[bool, Markup]] = []
    at = 0
    for start, end in [*cuts, (len(text), len(text))]:
        if start > at:
            out.append((False, render_text(text[at:start], terms, mentions, "original", gloss, at)))
        if end > start:
            out.append((True, render_text(text[start:end], terms, mentions, "original", gloss, start)))
        at = end
    return out


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
    has_images = doc["kind"] in ("pdf", "image") or bool(doc["metadata"].get("rendition"))
    # A page's hits: its boxes on the page image when it has some, else the marks in its text.
    hit_counts = {
        n: len(boxes) if has_images and (boxes := (highlights[n] or {}).get("hits")) else view["marks"]
        for n, view in views.items()
    }
    printed_in = printed_location(doc, parent)
    return render_template(
        "document.html",
        doc=doc,
        title=doc["title"] or doc["filename"] or f"Document {doc_id}",
        q=q,
        highlights=highlights,
        views=views,
        parent=parent,
        printed_in=printed_in,
        mail=mail,
        thread=thread,
        thread_attachments=a.attachments([m["id"] for m in thread], viewer) if len(thread) > 1 else {},
        entities=ents,
        watched=watched,
        legend=entity_legend(types_present),
        css_name=css_name,
        redactions=redactions,
        has_images=has_images,
        hit_counts=hit_counts,
        total_hits=sum(hit_counts.values()),
    )


def _redaction_view(a: Any, doc: dict[str, Any]) -> dict[str, Any]:
    """The redaction boxes of a document's pages in percent of the page, for drawing over its
    images (`?boxes=0` hides them), and whether the text under bad ones may be shown (only to
    those who may write to the collection, and only on request: `?hidden_text=1`)."""
    viewer = current_viewer()
    may_see = may_write_collection(viewer, a.collection(doc["collection"], viewer))
    show_hidden = may_see and valid.choice(request.args, "hidden_text", ("0", "1"), "0") == "1"
    sizes = {p["number"]: (p.get("width") or 0, p.get("height") or 0) for p in doc["pages"]}
    by_page: dict[int, list[dict[str, Any]]] = {}
    for box in a.redactions(doc["id"], viewer, show_hidden):
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


def printed_location(doc: dict[str, Any], parent: dict[str, Any] | None) -> dict[str, Any] | None:
    """For a message split out of a printed e-mail chain: the printout and its page range."""
    mail = doc["metadata"].get("mail") or {}
    pages = mail.get("pages")
    if not (parent and mail.get("printed") and isinstance(pages, list) and len(pages) == 2):
        return None
    first, last = int(pages[0]), int(pages[1])
    return {"parent": parent, "first": first, "last": last, "images": parent["kind"] in ("pdf", "image")}


@bp.get("/documents/<int:doc_id>/pages/<int:number>.png")
def page_image(doc_id: int, number: int):  # type: ignore[no-untyped-def]
    return _page_png(doc_id, number, thumbnail=False)


@bp.get("/documents/<int:doc_id>/pages/<int:number>/thumbnail.png")
def page_thumbnail(doc_id: int, number: int):  # type: ignore[no-untyped-def]
    return _page_png(doc_id, number, thumbnail=True)


def _page_png(doc_id: int, number: int, thumbnail: bool) -> Any:
    """A page image or its thumbnail, for a document the viewer may read (else 404)."""
    a = archive()
    viewer = current_viewer()
    doc = a.document_record(doc_id, viewer)
    if doc is None:
        abort(404, f"No document {doc_id}")
    try:
        png = (a.page_thumbnail if thumbnail else a.page_image)(doc, number, viewer)
    except NoPageImages as exc:
        abort(404, str(exc))
    if png is None:
        abort(404, "No such page")
    # The image follows from the original's digest and the page: a revalidation is a 304.
    return send_file(
        BytesIO(png),
        mimetype="image/png",
        max_age=86400 if thumbnail else 3600,
        etag=f"{doc['sha256'][:32]}-{number}{'-t' if thumbnail else ''}",
        conditional=True,
    )


@bp.post("/documents/<int:doc_id>/retry")
def retry_document(doc_id: int):  # type: ignore[no-untyped-def]
    """Queue a failed document to be read again from its stored original (an operator's
    action); the server's background worker reads it (archive/retries.py), not this request."""
    a = archive()
    viewer = current_viewer()
    doc = a.document_record(doc_id, viewer)
    if doc is None:
        abort(404, f"No document {doc_id}")
    if not may_write_collection(viewer, a.collection(doc["collection"], viewer)):
        abort(403, "Only an editor of this collection may retry its documents")
    if doc["status"] != "failed":
        abort(409, "Only a failed document can be retried")
    a.queue_retry(doc_id, viewer)
    start_upload_worker(current_app)  # the background worker reads it
    return redirect(url_for("ui.document_page", doc_id=doc_id), code=303)


@bp.get("/favicon.ico")
def favicon():  # type: ignore[no-untyped-def]
    return current_app.send_static_file("favicon.svg")


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
    a = archive()
    viewer = current_viewer()
    # Processing details (failures, stages) are for admins; others get counts of what they may read.
    if not viewer.is_admin:
        return render_template("status_reader.html", status=a.status(viewer))
    return render_template(
        "status.html",
        status=a.status(viewer),
        failed=a.failed_documents(viewer=viewer),
        model=a.translation_model(),
        may_retry=True,
    )


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
