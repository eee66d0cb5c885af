"""An Atom feed (RFC 4287) of a saved search's hits, made with ElementTree (which escapes every
text and attribute: document text is untrusted)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from .links import hit_link
from .model import SavedSearch

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def _stamp(value: str) -> str:
    return value if value.endswith("Z") or "+" in value else value + "Z"


def feed_xml(search: SavedSearch, hits: Iterable[dict[str, Any]], base: str, self_link: str) -> bytes:
    """The feed document: one entry per hit, newest first, its content the marked snippet."""
    hits = list(hits)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _el(feed, "id", f"{base}/alerts/{search.id}")
    _el(feed, "title", f"FOI Archive alert: {search.name}")
    _el(
        feed,
        "subtitle",
        f"Documents matching {search.query}"
        + (f" {json.dumps(search.filters, ensure_ascii=False)}" if search.filters else ""),
    )
    _el(feed, "updated", _stamp(hits[0]["created"] if hits else search.updated))
    _el(feed, "link", rel="self", href=self_link, type="application/atom+xml")
    _el(feed, "link", rel="alternate", href=f"{base}/?{_query_args(search)}", type="text/html")
    author = _el(feed, "author")
    _el(author, "name", "FOI Archive")
    _el(feed, "generator", "FOI Archive")
    for hit in hits:
        entry = _el(feed, "entry")
        _el(entry, "id", f"{base}/alerts/{search.id}/hits/{hit['id']}")
        _el(entry, "title", f"{hit['title']} (page {hit['page']})")
        link = hit_link(base, hit["document_id"], hit["page"], search.query)
        _el(entry, "link", rel="alternate", href=link, type="text/html")
        _el(entry, "updated", _stamp(hit["created"]))
        _el(entry, "published", _stamp(hit["created"]))
        _el(entry, "category", term=hit["collection"], label=f"collection {hit['collection']}")
        terms = ", ".join(hit["terms"])
        _el(entry, "summary", f"Matched: {terms}" if terms else "Matched the saved search")
        # HTML as text: ElementTree escapes it once more, feed readers unescape it. Matches are
        # <strong>: readers' sanitizers (feedparser's among them) drop the newer <mark>.
        snippet = hit["snippet"].replace("<mark>", "<strong>").replace("</mark>", "</strong>")
        _el(entry, "content", f"<p>{snippet}</p><p>Matched: {_html(terms)}</p>", type="html")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _query_args(search: SavedSearch) -> str:
    from urllib.parse import urlencode

    pairs = [("q", search.query)]
    pairs += [(k, v) for k, vs in search.filters.items() for v in vs]
    if search.sort != "relevance":
        pairs.append(("sort", search.sort))
    return urlencode(pairs)
