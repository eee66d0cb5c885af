"""What FOI readers look for in an office file besides its text: who wrote it and who last
changed it, the company, dates, revision count, comments and tracked changes.

Read from the package itself (OOXML `docProps/*.xml`, comment and revision markup; OpenDocument
`meta.xml` and annotations; the OLE2 summary streams of legacy files; RTF's `{\\info}` group),
with what LibreOffice wrote into the PDF as a fallback. XML is parsed with expat, which refuses
entity expansion bombs; parts are read up to a size limit.
"""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from ..dates import utc_from_iso
from .detect import DOC, ODG, ODP, ODS, ODT, PPT, RTF, XLS

MAX_PART = 50 * 1024 * 1024
MAX_COMMENTS = 500
MAX_CHANGES_TEXT = 20_000

# Shown in this order, with these labels (the page text and the document page use them).
LABELS = {
    "title": "Title",
    "subject": "Subject",
    "author": "Author",
    "last_modified_by": "Last modified by",
    "company": "Company",
    "manager": "Manager",
    "created": "Created",
    "modified": "Modified",
    "printed": "Last printed",
    "revision": "Revision",
    "editing_minutes": "Editing time (minutes)",
    "keywords": "Keywords",
    "description": "Description",
    "category": "Category",
    "application": "Application",
    "template": "Template",
}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml(zf: zipfile.ZipFile, name: str) -> ET.Element | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_PART:
        return None
    try:
        return ET.fromstring(zf.read(info))
    except ET.ParseError:
        return None


def _text_of(el: ET.Element) -> str:
    return " ".join(t.strip() for t in el.itertext() if t.strip())


def _clean(props: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in props.items():
        if isinstance(value, str):
            value = value.replace("\x00", "").strip()[:2000]
        if value not in (None, "", [], {}, 0) or key == "revision" and value:
            out[key] = value
    return out


def _ooxml(path: Path) -> dict[str, Any]:
    props: dict[str, Any] = {}
    names = {
        "creator": "author",
        "lastModifiedBy": "last_modified_by",
        "created": "created",
        "modified": "modified",
        "lastPrinted": "printed",
        "revision": "revision",
        "title": "title",
        "subject": "subject",
        "keywords": "keywords",
        "description": "description",
        "category": "category",
        "Company": "company",
        "Manager": "manager",
        "Application": "application",
        "Template": "template",
        "TotalTime": "editing_minutes",
    }
    with zipfile.ZipFile(path) as zf:
        for part in ("docProps/core.xml", "docProps/app.xml"):
            root = _xml(zf, part)
            if root is None:
                continue
            for el in root:
                key = names.get(_local(el.tag))
                if key and (el.text or "").strip():
                    props[key] = (el.text or "").strip()
        comments: list[dict[str, str]] = []
        for name in sorted(zf.namelist()):
            low = name.lower()
            if low == "word/comments.xml" or re.fullmatch(
                r"xl/comments\d*\.xml|ppt/comments/[^/]+\.xml", low
            ):
                root = _xml(zf, name)
                if root is None:
                    continue
                authors = [_text_of(a) for a in root.iter() if _local(a.tag) == "author"]
                for el in root.iter():
                    tag = _local(el.tag)
                    if tag in {"comment", "cm"} and len(comments) < MAX_COMMENTS:
                        who = _attr(el, "author")
                        if not who and _attr(el, "authorId").isdigit() and authors:
                            index = int(_attr(el, "authorId"))
                            who = authors[index] if index < len(authors) else ""
                        comments.append({"author": who, "text": _text_of(el)[:2000]})
        props["comments"] = [c for c in comments if c["text"]]
        document = _xml(zf, "word/document.xml")
        if document is not None:
            props["tracked_changes"] = _ooxml_changes(document)
    return props


def _attr(el: ET.Element, name: str) -> str:
    for key, value in el.attrib.items():
        if _local(key) == name:
            return value
    return ""


def _ooxml_changes(root: ET.Element) -> dict[str, Any]:
    inserted: list[str] = []
    deleted: list[str] = []
    authors: set[str] = set()
    for el in root.iter():
        tag = _local(el.tag)
        if tag in {"ins", "del"}:
            who = _attr(el, "author")
            if who:
                authors.add(who)
            text = "".join(
                t.text or "" for t in el.iter() if _local(t.tag) in ({"t"} if tag == "ins" else {"delText"})
            )
            (inserted if tag == "ins" else deleted).append(text)
    return _changes(inserted, deleted, authors)


def _changes(inserted: list[str], deleted: list[str], authors: set[str]) -> dict[str, Any]:
    if not inserted and not deleted:
        return {}
    return {
        "insertions": len(inserted),
        "deletions": len(deleted),
        "authors": sorted(authors),
        "inserted_text": " / ".join(t for t in inserted if t.strip())[:MAX_CHANGES_TEXT],
        "deleted_text": " / ".join(t for t in deleted if t.strip())[:MAX_CHANGES_TEXT],
    }


def _odf(path: Path) -> dict[str, Any]:
    props: dict[str, Any] = {}
    names = {
        "initial-creator": "author",
        "creator": "last_modified_by",
        "creation-date": "created",
        "date": "modified",
        "print-date": "printed",
        "editing-cycles": "revision",
        "title": "title",
        "subject": "subject",
        "keyword": "keywords",
        "description": "description",
        "generator": "application",
    }
    with zipfile.ZipFile(path) as zf:
        meta = _xml(zf, "meta.xml")
        if meta is not None:
            for el in meta.iter():
                key = names.get(_local(el.tag))
                if key and (el.text or "").strip():
                    props[key] = (el.text or "").strip()
        content = _xml(zf, "content.xml")
        if content is not None:
            comments: list[dict[str, str]] = []
            inserted: list[str] = []
            deleted: list[str] = []
            authors: set[str] = set()
            for el in content.iter():
                tag = _local(el.tag)
                if tag == "annotation" and len(comments) < MAX_COMMENTS:
                    who = next((_text_of(c) for c in el if _local(c.tag) == "creator"), "")
                    body = " ".join(_text_of(c) for c in el if _local(c.tag) == "p")
                    comments.append({"author": who, "text": body[:2000]})
                elif tag == "changed-region":
                    for change in el:
                        kind = _local(change.tag)
                        who = next((_text_of(c) for c in change.iter() if _local(c.tag) == "creator"), "")
                        if who:
                            authors.add(who)
                        if kind == "insertion":
                            inserted.append("")
                        elif kind == "deletion":
                            deleted.append(" ".join(_text_of(p) for p in change if _local(p.tag) == "p"))
            props["comments"] = [c for c in comments if c["text"]]
            props["tracked_changes"] = _changes(inserted, deleted, authors)
    return props


def _ole(path: Path) -> dict[str, Any]:
    import olefile

    with olefile.OleFileIO(str(path)) as ole:
        meta = ole.get_metadata()
    fields = {
        "author": meta.author,
        "last_modified_by": meta.last_saved_by,
        "company": meta.company,
        "manager": meta.manager,
        "created": meta.create_time,
        "modified": meta.last_saved_time,
        "printed": meta.last_printed,
        "revision": meta.revision_number,
        "title": meta.title,
        "subject": meta.subject,
        "keywords": meta.keywords,
        "description": meta.comments,
        "category": meta.category,
        "application": meta.creating_application,
        "template": meta.template,
    }
    props: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, bytes):
            value = _decode_ole(value)
        elif isinstance(value, datetime):
            if value.year < 1980:  # OLE writes 1601 for "never"
                continue
            value = value.replace(microsecond=0).isoformat() + ("Z" if value.tzinfo is None else "")
        props[key] = value
    return props


def _decode_ole(value: bytes) -> str:
    for charset in ("utf-8", "cp1252"):
        try:
            return value.decode(charset)
        except UnicodeDecodeError:
            continue
    return value.decode("latin-1")


_RTF_INFO = {
    "author": "author",
    "operator": "last_modified_by",
    "company": "company",
    "manager": "manager",
    "title": "title",
    "subject": "subject",
    "keywords": "keywords",
    "doccomm": "description",
    "category": "category",
}
_RTF_DATE = re.compile(r"\\(creatim|revtim|printim)((?:\\(?:yr|mo|dy|hr|min|sec)\d+)+)")


def _rtf(path: Path) -> dict[str, Any]:
    with open(path, "rb") as fh:
        head = fh.read(2 * 1024 * 1024).decode("latin-1")
    props: dict[str, Any] = {}
    for word, key in _RTF_INFO.items():
        m = re.search(r"\{\\" + word + r"\s([^{}]*)\}", head)
        if m:
            props[key] = _rtf_text(m.group(1))
    for m in _RTF_DATE.finditer(head):
        parts = dict(re.findall(r"\\(yr|mo|dy|hr|min|sec)(\d+)", m.group(2)))
        try:
            stamp = datetime(
                int(parts.get("yr", 0)), int(parts.get("mo", 1)), int(parts.get("dy", 1)),
                int(parts.get("hr", 0)), int(parts.get("min", 0)), int(parts.get("sec", 0)),
            )  # fmt: skip
        except ValueError:
            continue
        key = {"creatim": "created", "revtim": "modified", "printim": "printed"}[m.group(1)]
        props[key] = stamp.isoformat()
    m = re.search(r"\\version(\d+)", head)
    if m:
        props["revision"] = m.group(1)
    comments = []
    for m in re.finditer(r"\{\\\*\\atnauthor\s([^{}]*)\}", head):
        comments.append({"author": _rtf_text(m.group(1)), "text": ""})
    texts = [_rtf_text(t) for t in re.findall(r"\{\\\*\\annotation([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}", head)]
    for n, text in enumerate(texts[:MAX_COMMENTS]):
        if n < len(comments):
            comments[n]["text"] = text
        else:
            comments.append({"author": "", "text": text})
    props["comments"] = [c for c in comments if c["text"] or c["author"]]
    return props


def _rtf_text(raw: str) -> str:
    """Plain text of a small RTF fragment: \\'hh escapes decoded (cp1252), control words dropped."""
    raw = re.sub(r"\\'([0-9a-fA-F]{2})", lambda m: bytes.fromhex(m.group(1)).decode("cp1252", "replace"), raw)
    raw = re.sub(r"\{\\\*[^{}]*\}", " ", raw)
    raw = re.sub(r"\\[a-zA-Z]+-?\d* ?", " ", raw)
    return re.sub(r"\s+", " ", raw.replace("{", " ").replace("}", " ")).strip()


def read_properties(path: Path, mime: str) -> dict[str, Any]:
    """The properties of an office file (see LABELS, plus `comments` and `tracked_changes`);
    empty when they cannot be read (the document itself may still be)."""
    try:
        if mime in {DOC, XLS, PPT}:
            props = _ole(path)
        elif mime == RTF:
            props = _rtf(path)
        elif mime in {ODT, ODS, ODP, ODG}:
            props = _odf(path)
        else:
            props = _ooxml(path)
    except Exception:
        return {}
    return _clean(props)


def from_pdf_info(info: dict[str, Any]) -> dict[str, Any]:
    """What LibreOffice carried into the PDF, for properties the package itself did not give."""
    pairs = {"Author": "author", "Title": "title", "Subject": "subject", "Keywords": "keywords"}
    return _clean({key: str(info[name]) for name, key in pairs.items() if info.get(name)})


def properties_text(props: dict[str, Any]) -> str:
    """The properties as lines of text, searchable with the document."""
    lines = [f"{label}: {props[key]}" for key, label in LABELS.items() if props.get(key)]
    for comment in props.get("comments", []):
        who = f" ({comment['author']})" if comment.get("author") else ""
        lines.append(f"Comment{who}: {comment['text']}")
    changes = props.get("tracked_changes") or {}
    if changes:
        by = f" by {', '.join(changes['authors'])}" if changes.get("authors") else ""
        lines.append(
            f"Tracked changes: {changes['insertions']} insertions, {changes['deletions']} deletions{by}"
        )
        if changes.get("inserted_text"):
            lines.append(f"Inserted text: {changes['inserted_text']}")
        if changes.get("deleted_text"):
            lines.append(f"Deleted text: {changes['deleted_text']}")
    return "\n".join(lines)


def document_date(props: dict[str, Any]) -> str | None:
    """The date a reader files the document under: its creation date, else its last change."""
    for key in ("created", "modified"):
        value = utc_from_iso(str(props.get(key) or ""))
        if value is not None:
            return value
    return None
