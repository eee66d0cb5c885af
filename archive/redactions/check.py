"""The publication check of a collection: what a charity must catch before it republishes.

    bad_redaction    a box with text still in the text layer under it (readable by anyone who
                     copies the page's text)
    personal_email   an individual's e-mail address printed on a page (generic office addresses
                     such as foi@ or info@ are skipped)
    personal_phone   a phone number printed on a page, unless it is on 3 or more documents of the
                     collection (a letterhead's switchboard)
    personal_name    a person's name found by the entity extractors on a page

Anything on the allow-list (exact value, case-insensitive; an e-mail domain as "@example.org")
is skipped. `check_collection` is what `foi collections check` and a publish hook call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .records import collection_boxes

if TYPE_CHECKING:
    from ..store import Store

GENERIC_MAILBOXES = frozenset(
    [
        "foi",
        "foia",
        "freedomofinformation",
        "info",
        "information",
        "enquiries",
        "enquiry",
        "inquiries",
        "contact",
        "contactus",
        "admin",
        "office",
        "help",
        "support",
        "press",
        "media",
        "news",
        "noreply",
        "no-reply",
        "donotreply",
        "webmaster",
        "postmaster",
        "mail",
        "post",
        "correspondence",
        "dataprotection",
        "dpo",
        "privacy",
        "complaints",
        "feedback",
        "publications",
        "customerservices",
        "customer.services",
        "reception",
        "switchboard",
        "secretariat",
        "general",
        "hello",
        "team",
        "requests",
        "records",
    ]
)
SHARED_PHONE_DOCUMENTS = 3
_KINDS = {"email": "personal_email", "phone": "personal_phone", "person": "personal_name"}


def _allowed(value: str, allow: set[str]) -> bool:
    low = value.casefold()
    if low in allow:
        return True
    return "@" in low and "@" + low.split("@", 1)[1] in allow


def _generic_address(address: str) -> bool:
    local = address.casefold().split("@", 1)[0]
    return local in GENERIC_MAILBOXES or local.replace("_", "").replace("-", "") in GENERIC_MAILBOXES


def check_collection(archive: Any, collection: str, allow: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Findings (dicts with `kind`, `message` and details: document, filename, page(s), value)
    for one collection of an `Archive` (or of a `Store`); [] when there is nothing to fix."""
    store: Store = getattr(archive, "store", archive)
    allowed = {a.strip().casefold() for a in allow if a.strip()}
    findings: list[dict[str, Any]] = []
    for box in collection_boxes(store, collection):
        if box["bad"]:
            findings.append(
                {
                    "kind": "bad_redaction",
                    "message": f"{box['filename']} page {box['page']}: text is still in the file under a redaction box",
                    "document": box["document"],
                    "filename": box["filename"],
                    "page": box["page"],
                    "bbox": box["bbox"],
                }
            )
    docs = store.documents("collection=? AND status IN ('done', 'failed')", (collection,))
    phone_documents: Counter[str] = Counter()
    for doc in docs:
        for ent in {e["norm"] for e in doc["metadata"].get("entities") or [] if e.get("type") == "phone"}:
            phone_documents[ent] += 1
    for doc in docs:
        for ent in doc["metadata"].get("entities") or []:
            kind = _KINDS.get(ent.get("type", ""))
            value = str(ent.get("norm") or "")
            if kind is None or not value or "original" not in (ent.get("fields") or ["original"]):
                continue
            if _allowed(value, allowed) or any(_allowed(t, allowed) for t in ent.get("texts") or []):
                continue
            if kind == "personal_email" and _generic_address(value):
                continue
            if kind == "personal_phone" and phone_documents[value] >= SHARED_PHONE_DOCUMENTS:
                continue
            pages = list(ent.get("pages") or [])
            what = {
                "personal_email": "e-mail address",
                "personal_phone": "phone number",
                "personal_name": "name",
            }[kind]
            findings.append(
                {
                    "kind": kind,
                    "message": f"{doc['filename']} page {', '.join(map(str, pages[:5]))}: {what} {value!r} is not redacted",
                    "document": doc["id"],
                    "filename": doc["filename"],
                    "pages": pages,
                    "value": value,
                }
            )
    order = {"bad_redaction": 0, "personal_email": 1, "personal_phone": 2, "personal_name": 3}
    findings.sort(key=lambda f: (order[f["kind"]], f["document"], f.get("page") or 0))
    return findings
