"""The store side of redactions: the `redactions` table (declared in store.py's schema) and the
reads made of it: a document's boxes, a collection's summary, the rows of the CSV export.

Text under a bad box (`hidden_text`) is read only when the caller says it may be shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import Box

if TYPE_CHECKING:
    from ..store import Store

_COLUMNS = (
    "id, document_id, page, kind, bbox_left, bbox_top, bbox_width, bbox_height, area, bad, label, exemption"
)


def replace_redactions(store: Store, doc_id: int, boxes: dict[int, list[Box]]) -> None:
    """A document's boxes, by page number, replacing any stored before."""
    rows = [
        (
            doc_id,
            page,
            b.kind,
            b.left,
            b.top,
            b.width,
            b.height,
            b.area,
            int(b.bad),
            b.label,
            b.exemption,
            b.hidden_text,
        )
        for page, found in sorted(boxes.items())
        for b in found
    ]
    with store.transaction():
        store.db.execute("DELETE FROM redactions WHERE document_id=?", (doc_id,))
        store.db.executemany(
            "INSERT INTO redactions(document_id, page, kind, bbox_left, bbox_top, bbox_width, bbox_height, area, "
            "bad, label, exemption, hidden_text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )


def _box_dict(row: Any, document_exemptions: list[str], covering: list[str] | None = None) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "document": row["document_id"],
        "page": row["page"],
        "kind": row["kind"],
        "bbox": [row["bbox_left"], row["bbox_top"], row["bbox_width"], row["bbox_height"]],
        "area": row["area"],
        "bad": bool(row["bad"]),
        "label": row["label"],
    }
    # On the box (or beside it) when found there; else the document's citations, or those of the
    # covering letter it came with.
    if row["exemption"]:
        out["exemption"], out["exemption_from"] = row["exemption"], "box"
    elif document_exemptions:
        out["exemption"], out["exemption_from"] = "; ".join(document_exemptions), "document"
    elif covering:
        out["exemption"], out["exemption_from"] = "; ".join(covering), "covering letter"
    else:
        out["exemption"], out["exemption_from"] = None, None
    return out


def document_exemptions(metadata: dict[str, Any]) -> list[str]:
    """The exemption codes the entity step found in a document (its summary)."""
    return [
        e["norm"] for e in metadata.get("entities") or [] if e.get("type") == "exemption" and e.get("norm")
    ]


def covering_exemptions(store: Store, parent_id: int | None) -> list[str]:
    """The exemptions cited by the covering letter of a release that came as a parent (an
    e-mail, a zip): the parent's own text (an e-mail's body) and its children that have no
    redaction boxes of their own (a letter rather than a redacted release)."""
    if not parent_id:
        return []
    parent = store.document(parent_id)
    letters = [parent] if parent is not None else []
    letters += [
        d for d in store.children(parent_id) if not (d["metadata"].get("redactions") or {}).get("boxes")
    ]
    return list(dict.fromkeys(code for d in letters for code in document_exemptions(d["metadata"])))


def document_redactions(store: Store, doc_id: int, show_hidden: bool = False) -> list[dict[str, Any]]:
    """A document's boxes in page order; `hidden_text` only with `show_hidden`."""
    doc = store.document(doc_id)
    if doc is None:
        return []
    exemptions = document_exemptions(doc["metadata"])
    covering = [] if exemptions else covering_exemptions(store, doc.get("parent_id"))
    extra = ", hidden_text" if show_hidden else ""
    rows = store.db.execute(
        f"SELECT {_COLUMNS}{extra} FROM redactions WHERE document_id=? ORDER BY page, bbox_top, bbox_left",
        (doc_id,),
    )
    out = []
    for row in rows:
        box = _box_dict(row, exemptions, covering)
        if show_hidden:
            box["hidden_text"] = row["hidden_text"]
        out.append(box)
    return out


def page_redactions(store: Store, doc_id: int, page: int, show_hidden: bool = False) -> list[dict[str, Any]]:
    return [b for b in document_redactions(store, doc_id, show_hidden) if b["page"] == page]


def collection_summary(store: Store, collection: str) -> dict[str, Any]:
    """ "N pages, M redactions, X% withheld, K bad redactions, by exemption" of a collection."""
    pages, text_area, withheld, redacted_pages = store.db.execute(
        "SELECT count(*), sum(json_extract(p.meta, '$.redactions.text_area')), "
        "sum(json_extract(p.meta, '$.redactions.area')), "
        "sum(json_extract(p.meta, '$.redactions.boxes') > 0) "
        "FROM pages p JOIN documents d ON d.id = p.document_id WHERE d.collection=?",
        (collection,),
    ).fetchone()
    boxes, bad = store.db.execute(
        "SELECT count(*), coalesce(sum(r.bad), 0) FROM redactions r JOIN documents d ON d.id = r.document_id "
        "WHERE d.collection=?",
        (collection,),
    ).fetchone()
    by_exemption: dict[str, int] = {}
    for box in collection_boxes(store, collection):
        key = box["exemption"] or "(none cited)"
        by_exemption[key] = by_exemption.get(key, 0) + 1
    return {
        "collection": collection,
        "pages": int(pages or 0),
        "redacted_pages": int(redacted_pages or 0),
        "redactions": int(boxes or 0),
        "bad_redactions": int(bad or 0),
        "withheld": round(min(1.0, (withheld or 0) / text_area), 4) if text_area else 0.0,
        "by_exemption": dict(sorted(by_exemption.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def collection_boxes(store: Store, collection: str) -> Iterator[dict[str, Any]]:
    """Every box of a collection (without hidden text), with its document's file name."""
    exemptions: dict[int, list[str]] = {}
    covering: dict[int, list[str]] = {}  # by parent: the same letter covers every sibling
    rows = store.db.execute(
        f"SELECT r.{_COLUMNS.replace(', ', ', r.')}, d.filename, d.metadata, d.parent_id FROM redactions r "
        "JOIN documents d ON d.id = r.document_id WHERE d.collection=? ORDER BY r.document_id, r.page, r.bbox_top",
        (collection,),
    )
    for row in rows:
        doc_id = row["document_id"]
        if doc_id not in exemptions:
            exemptions[doc_id] = document_exemptions(json.loads(row["metadata"] or "{}"))
        parent = row["parent_id"]
        if parent and not exemptions[doc_id] and parent not in covering:
            covering[parent] = covering_exemptions(store, parent)
        box = _box_dict(row, exemptions[doc_id], covering.get(parent, []) if parent else [])
        box["filename"] = row["filename"]
        yield box


CSV_FIELDS = (
    "document",
    "filename",
    "page",
    "kind",
    "left",
    "top",
    "width",
    "height",
    "area",
    "exemption",
    "bad",
)


def csv_rows(store: Store, collection: str) -> Iterator[list[Any]]:
    """The rows of the per-box CSV export (header first); the writer makes text cells safe for
    spreadsheets (web/api.py `csv_safe`)."""
    yield list(CSV_FIELDS)
    for box in collection_boxes(store, collection):
        left, top, width, height = box["bbox"]
        yield [
            box["document"],
            box["filename"],
            box["page"],
            box["kind"],
            left,
            top,
            width,
            height,
            box["area"],
            box["exemption"] or "",
            "yes" if box["bad"] else "no",
        ]
