"""The OpenAPI 3.0 document of the JSON API, served at /api/openapi.json.

Every /api route is here with the bounds web.validation enforces on its parameters and the shape of
each response, so a client (or schemathesis, in tests/test_schemathesis.py) can check the API
against it: a value outside these bounds is a 400 with an error object, never a 500.
"""

from __future__ import annotations

from typing import Any

from . import validation as valid
from archive.search import MAX_DEPTH


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
OBJ = {"type": "object"}
STR_OR_NULL = _nullable(STR)
INT_OR_NULL = _nullable(INT)


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object with these properties (the required ones always present); others allowed."""
    return {"type": "object", "required": sorted(required), "properties": {**required, **(optional or {})}}


ERROR = _object({"error": _object({"status": INT, "title": STR, "message": STR})})

# (null: the sort value Elasticsearch gives a page without a date)
CURSOR_ITEM = {"anyOf": [INT, NUM, STR_OR_NULL]}

HIT = _object(
    {
        "document_id": INT,
        "title": STR_OR_NULL,
        "filename": STR,
        "collection": STR,
        "kind": STR_OR_NULL,
        "language": STR_OR_NULL,
        "page": INT,
        "snippet": STR,
        "translation_snippet": STR_OR_NULL,
        "matched_fields": {"type": "array", "items": STR},
        "score": NUM,
        "date": STR_OR_NULL,
    }
)

SEARCH_RESULTS = _object(
    {
        "query": STR,
        "total": {"type": "integer", "minimum": 0},
        "backend": STR,
        "hits": {"type": "array", "items": HIT},
        "facets": {
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "items": _object({"value": STR, "count": {"type": "integer", "minimum": 0}}),
            },
        },
        "next_cursor": _nullable({"type": "array", "items": CURSOR_ITEM, "minItems": 1}),
    }
)

BOX = _object({"left": NUM, "top": NUM, "width": NUM, "height": NUM}, {"text": STR, "type": STR})

# A redaction box (archive/redactions): bbox in the pixels of the page's word boxes. The text
# under a bad one is never part of the API.
REDACTION = _object(
    {
        "id": INT,
        "page": INT,
        "kind": STR,
        "bbox": {"type": "array", "items": INT, "minItems": 4, "maxItems": 4},
        "area": INT,
        "bad": {"type": "boolean"},
        "label": STR,
        "exemption": STR_OR_NULL,
        "exemption_from": STR_OR_NULL,
    }
)

PAGE_FIELDS = {
    "id": INT,
    "document_id": INT,
    "number": INT,
    "text": STR,
    "lang": STR_OR_NULL,
    "ocr": {"type": "boolean"},
    "confidence": _nullable(NUM),
    "width": INT_OR_NULL,
    "height": INT_OR_NULL,
    "dpi": _nullable(NUM),
    "translation": STR_OR_NULL,
    "translation_status": STR_OR_NULL,
    "segments": {"type": "array"},
    "gloss": STR_OR_NULL,
    "meta": OBJ,
}

PAGE = _object(
    {
        **PAGE_FIELDS,
        "words": _nullable({"type": "array", "items": {"type": "array"}}),
        "highlights": _nullable(
            _object(
                {
                    "width": INT,
                    "height": INT,
                    "hits": {"type": "array", "items": BOX},
                    "entities": {"type": "array", "items": BOX},
                }
            )
        ),
    },
    {"redactions": {"type": "array", "items": REDACTION}},
)

CHILD = _object(
    {
        "id": INT,
        "filename": STR,
        "kind": STR_OR_NULL,
        "status": STR,
        "error_stage": STR_OR_NULL,
        "error_reason": STR_OR_NULL,
        "children": {"type": "array", "items": OBJ},
    }
)

DOCUMENT = _object(
    {
        "id": INT,
        "collection": STR,
        "parent_id": INT_OR_NULL,
        "sha256": STR,
        "filename": STR,
        "mime": STR_OR_NULL,
        "kind": STR_OR_NULL,
        "title": STR_OR_NULL,
        "lang": STR_OR_NULL,
        "page_count": INT,
        "status": STR,
        "error_stage": STR_OR_NULL,
        "error_reason": STR_OR_NULL,
        "metadata": OBJ,
        "date": STR_OR_NULL,
        "stages": {"type": "object", "additionalProperties": _object({"status": STR, "reason": STR_OR_NULL})},
        "children": {"type": "array", "items": CHILD},
        "pages": {"type": "array", "items": _object(PAGE_FIELDS)},
    },
    {"redactions": {"type": "array", "items": REDACTION}},
)

COLLECTIONS = _object(
    {
        "collections": {
            "type": "array",
            "items": _object(
                {
                    "name": STR,
                    "documents": {"type": "integer", "minimum": 0},
                    "public": {"type": "boolean"},
                    "description": STR_OR_NULL,
                    "created": STR,
                }
            ),
        }
    }
)

COUNTS = {"type": "object", "additionalProperties": INT}

STATUS = _object(
    {
        "documents": INT,
        "top_level_documents": INT,
        "pages": INT,
        "ocr_pages": INT,
        "by_status": COUNTS,
        "by_stage": {"type": "object", "additionalProperties": COUNTS},
        "failures": {"type": "array", "items": _object({"stage": STR, "reason": STR_OR_NULL, "count": INT})},
        "languages": COUNTS,
        "index_pending": INT,
        "indexed_pages": INT_OR_NULL,
        "search_backend": STR,
    }
)


FILTER_DESCRIPTIONS = {
    "collection": "Collection filter",
    "lang": "Language filter (zh matches zh-Hans and zh-Hant)",
    "kind": "Kind filter (pdf, image, email ...)",
    "year": "Year filter",
    "sender": "Mail sender filter",
    "recipient": "Mail recipient filter",
    "entity": "Entity filter (name or alias)",
    "exemption": "FOI exemption code filter",
    "redacted": "yes: documents with redaction boxes; no: without",
    "bad_redaction": "yes: documents with text left under a redaction box",
}


def _param(name: str, description: str, schema: dict[str, Any], where: str = "query") -> dict[str, Any]:
    out = {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
    }
    if where == "query":  # an empty value (as a form sends) is the same as leaving the parameter out
        out["allowEmptyValue"] = True
    if schema.get("type") == "array":
        out.update(style="form", explode=True)
    return out


def _text(max_chars: int = valid.MAX_VALUE_CHARS) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_chars}


def _many(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item, "maxItems": valid.MAX_FILTER_VALUES}


def _int(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(ERROR, description)


# Saved searches and alerts (web/alerts.py).
CHANNEL = _object(
    {"id": INT, "kind": STR, "target": STR, "confirmed": {"type": "boolean"}, "failures": INT},
    {"disabled": STR_OR_NULL, "audience": STR},
)
SAVED_SEARCH = _object(
    {
        "id": INT,
        "name": STR,
        "owner": STR,
        "query": STR,
        "filters": {"type": "object", "additionalProperties": {"type": "array", "items": STR}},
        "sort": STR,
        "cadence": STR,
        "paused": {"type": "boolean"},
        "failing": STR_OR_NULL,
        "public_feed": {"type": "boolean"},
        "since": STR,
        "channels": {"type": "array", "items": CHANNEL},
        "feed_url": STR,
        "hit_count": INT,
    },
    {"created": STR, "updated": STR},
)
ALERT_HIT = _object(
    {
        "id": INT,
        "search_id": INT,
        "document_id": INT,
        "page": INT,
        "terms": {"type": "array", "items": STR},
        "snippet": STR,
        "title": STR,
        "collection": STR,
        "created": STR,
    }
)


def _alert_paths(bad_request: dict[str, Any]) -> dict[str, Any]:
    def strings(n: int, m: int) -> dict[str, Any]:
        return {"type": "array", "items": _text(m), "maxItems": n}

    fields = {
        "name": _text(200),
        "query": _text(valid.MAX_QUERY_CHARS),
        "filters": {
            "type": "object",
            "description": "Filters apart from the query text: " + ", ".join((*valid.FILTERS, "from", "to")),
            "additionalProperties": strings(valid.MAX_FILTER_VALUES, valid.MAX_VALUE_CHARS),
        },
        "sort": {"type": "string", "enum": list(valid.SORTS)},
        "cadence": {"type": "string", "enum": ["instant", "daily", "weekly"]},
        "public_feed": {"type": "boolean"},
    }
    create = _object(
        {"name": fields["name"]}, {**fields, "emails": strings(20, 254), "webhooks": strings(20, 2000)}
    )
    change = _object({}, {**fields, "paused": {"type": "boolean"}})
    search_id = _param("search_id", "Saved search id", _int(0, valid.MAX_ID), "path")
    channel_id = _param("channel_id", "Channel id", _int(0, valid.MAX_ID), "path")
    searched = _object({"search": SAVED_SEARCH})
    not_found = _error("No such saved search")
    one = _object({"search": SAVED_SEARCH}, {"outbox": {"type": "object", "additionalProperties": INT}})
    return {
        "/api/alerts": {
            "get": {
                "summary": "Saved searches (alerts) of the requester",
                "responses": {
                    "200": _json(_object({"searches": {"type": "array", "items": SAVED_SEARCH}}), "Them")
                },
            },
            "post": {
                "summary": "Save a search: matched against documents indexed from now on",
                "requestBody": {"required": True, "content": {"application/json": {"schema": create}}},
                "responses": {
                    "200": _json(
                        _object({"search": SAVED_SEARCH, "webhook_secrets": {"type": "object"}}),
                        "Saved; each webhook's signing secret, shown once",
                    ),
                    "400": bad_request,
                },
            },
        },
        "/api/alerts/{search_id}": {
            "get": {
                "summary": "A saved search with its channels and outbox counts",
                "parameters": [search_id],
                "responses": {"200": _json(one, "The saved search"), "404": not_found},
            },
            "patch": {
                "summary": "Change, pause or resume a saved search",
                "parameters": [search_id],
                "requestBody": {"required": True, "content": {"application/json": {"schema": change}}},
                "responses": {"200": _json(one, "The saved search"), "400": bad_request, "404": not_found},
            },
            "delete": {
                "summary": "Delete a saved search with its hits",
                "parameters": [search_id],
                "responses": {"200": _json(_object({"deleted": INT}), "Deleted"), "404": not_found},
            },
        },
        "/api/alerts/{search_id}/channels": {
            "post": {
                "summary": "Add an e-mail or webhook channel to a saved search",
                "parameters": [search_id],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _object(
                                {
                                    "kind": {"type": "string", "enum": ["email", "webhook"]},
                                    "target": _text(2000),
                                }
                            )
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        _object({"channel": CHANNEL, "secret": STR_OR_NULL, "search": SAVED_SEARCH}),
                        "Added; a webhook's signing secret, shown once",
                    ),
                    "400": bad_request,
                    "404": not_found,
                },
            }
        },
        "/api/alerts/{search_id}/channels/{channel_id}": {
            "patch": {
                "summary": "Re-enable a channel disabled after failures (enabled: true) or turn it off",
                "parameters": [search_id, channel_id],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _object({"enabled": {"type": "boolean"}})}},
                },
                "responses": {
                    "200": _json(searched, "The saved search"),
                    "400": bad_request,
                    "404": not_found,
                },
            },
            "delete": {
                "summary": "Remove a channel",
                "parameters": [search_id, channel_id],
                "responses": {"200": _json(searched, "The saved search"), "404": not_found},
            },
        },
        "/api/alerts/{search_id}/feed-token": {
            "post": {
                "summary": "A new private feed address (the old one stops working)",
                "parameters": [search_id],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _object({})}}},
                "responses": {
                    "400": bad_request,
                    "200": _json(searched, "The saved search with its new feed_url"),
                    "404": not_found,
                },
            }
        },
        "/api/alerts/{search_id}/hits": {
            "get": {
                "summary": "A saved search's hits, newest first",
                "parameters": [
                    search_id,
                    _param("limit", "Hits per page", _int(1, valid.MAX_LIMIT)),
                    _param("offset", "Hits to skip", _int(0, valid.MAX_OFFSET)),
                ],
                "responses": {
                    "200": _json(
                        _object({"total": INT, "hits": {"type": "array", "items": ALERT_HIT}}), "Hits"
                    ),
                    "400": bad_request,
                    "404": not_found,
                },
            }
        },
    }


def openapi_document(version: str = "1") -> dict[str, Any]:
    filters = [
        _param(
            "q",
            'Query: words (AND), "phrases", OR, NOT, -word, prefix*, ( ... ), field:value filters; '
            f"at most {valid.MAX_QUERY_CHARS} characters and {MAX_DEPTH} levels of parentheses",
            _text(valid.MAX_QUERY_CHARS),
        ),
        _param(
            "mode", "raw: pass engine syntax through unescaped", {"type": "string", "enum": list(valid.MODES)}
        ),
        _param(
            "raw",
            "1: pass engine syntax through unescaped (same as mode=raw)",
            {"type": "string", "enum": ["0", "1"]},
        ),
        *(
            _param(name, f"{FILTER_DESCRIPTIONS[name]} (repeat for several values)", _many(_text()))
            for name in valid.FILTERS
        ),
        _param("from", "Documents dated on or after this day", {"type": "string", "format": "date"}),
        _param("to", "Documents dated on or before this day", {"type": "string", "format": "date"}),
        _param("sort", "Order of the hits", {"type": "string", "enum": list(valid.SORTS)}),
        _param(
            "page",
            f"Page of results (1-based; offset = (page - 1) * limit, at most {valid.MAX_OFFSET})",
            _int(1, valid.MAX_PAGE),
        ),
    ]
    doc_id = _param("doc_id", "Document id", _int(0, valid.MAX_ID), "path")
    bad_request = _error("A parameter out of bounds or a query not understood; the message says which")
    not_found = _error("No such document or page")
    unavailable = _error("The search engine cannot be reached")
    # The HTTP server's own answer (no JSON) to a URL longer than it reads: gunicorn takes 4094 bytes.
    too_long = {"description": "The URL is longer than the HTTP server reads"}
    search = {
        "summary": "Search pages",
        "parameters": [
            *filters,
            _param("limit", "Hits per page", _int(1, valid.MAX_LIMIT)),
            _param(
                "offset",
                "Offset of the first hit (overrides page; Elasticsearch serves the first 10000)",
                _int(0, valid.MAX_OFFSET),
            ),
            _param(
                "cursor",
                "next_cursor of the previous page, as JSON (overrides page and offset)",
                _text(valid.MAX_CURSOR_CHARS),
            ),
            _param("facet", "Facets to count", _many({"type": "string", "enum": list(valid.FACET_CHOICES)})),
        ],
        "responses": {
            "200": _json(SEARCH_RESULTS, "One page of hits"),
            "400": bad_request,
            "414": too_long,
            "503": unavailable,
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "FOI Archive API", "version": version},
        "paths": {
            "/api/search": {"get": search},
            "/api/documents/{doc_id}": {
                "get": {
                    "summary": "A document with pages, stages and children",
                    "parameters": [doc_id],
                    "responses": {"200": _json(DOCUMENT, "The document"), "404": not_found},
                }
            },
            "/api/documents/{doc_id}/pages/{number}": {
                "get": {
                    "summary": "One page: text, translation, segments, word boxes, highlight boxes for q",
                    "parameters": [
                        doc_id,
                        _param("number", "Page number (1-based)", _int(0, valid.MAX_ID), "path"),
                        _param("q", "Query to highlight (as for /api/search)", _text(valid.MAX_QUERY_CHARS)),
                    ],
                    "responses": {
                        "200": _json(PAGE, "The page"),
                        "400": bad_request,
                        "404": not_found,
                        "414": too_long,
                    },
                }
            },
            "/api/collections": {
                "get": {
                    "summary": "Collections",
                    "responses": {"200": _json(COLLECTIONS, "Every collection with its number of documents")},
                }
            },
            "/api/status": {
                "get": {
                    "summary": "Counts by status and stage, failures",
                    "responses": {"200": _json(STATUS, "The archive's counts")},
                }
            },
            "/api/export.{fmt}": {
                "get": {
                    "summary": "Every hit of a search as CSV or JSON, streamed",
                    "parameters": [
                        _param(
                            "fmt",
                            "csv or json",
                            {"type": "string", "enum": list(valid.EXPORT_FORMATS)},
                            "path",
                        ),
                        *filters,
                    ],
                    "responses": {
                        "200": {
                            "description": "The export",
                            "content": {
                                "text/csv": {"schema": STR},
                                "application/json": {"schema": {"type": "array", "items": HIT}},
                            },
                        },
                        "400": _error(
                            "No query or filter, a parameter out of bounds or a query not understood"
                        ),
                        "404": _error("Unknown format"),
                        "414": too_long,
                        "503": unavailable,
                    },
                }
            },
            **_alert_paths(bad_request),
            "/api/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": _json(OBJ, "The OpenAPI document")}}
            },
        },
    }
