"""Plain text and HTML, with charset detection. Long texts are cut into pages for search and display."""

from __future__ import annotations

import codecs
import re

from bs4 import BeautifulSoup
from charset_normalizer import from_bytes

from ..models import Extraction, PageResult, Source, StageError
from . import ExtractContext, register

PAGE_CHARS = 8000  # a "page" of a text file: large enough for context, small enough for snippets
MAX_TEXT_BYTES = 200 * 1024 * 1024

_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Text and the charset used: BOM, then a declared charset, then strict UTF-8, then detection."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data.decode(enc, "replace"), enc
    if declared:
        enc = _canonical(declared)
        try:
            return data.decode(enc), enc
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    enc = _detect(data[: 2 * 1024 * 1024])
    return data.decode(enc, "replace"), enc


# On short texts several charsets decode equally cleanly; prefer the ones FOI material is written in.
_PREFERRED = [
    "cp1252",
    "iso8859-1",
    "cp1250",
    "iso8859-2",
    "gb18030",
    "big5",
    "big5hkscs",
    "shift_jis",
    "euc_jp",
    "cp1251",
    "koi8-r",
    "iso8859-15",
    "euc_kr",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
]


def _detect(data: bytes) -> str:
    matches = list(from_bytes(data))
    if not matches:
        return "cp1252"
    least = min(m.chaos for m in matches)
    close = [m for m in matches if m.chaos <= least + 0.01]

    def rank(m: object) -> tuple[int, float]:
        enc = _canonical(m.encoding)  # type: ignore[attr-defined]
        pref = _PREFERRED.index(enc) if enc in _PREFERRED else len(_PREFERRED)
        return (pref, -m.coherence)  # type: ignore[attr-defined]

    return _canonical(min(close, key=rank).encoding)


def _canonical(name: str) -> str:
    name = name.lower().strip()
    # GB2312 labels are routinely used for text that needs GBK's extra characters.
    if name in {"gb2312", "gb_2312-80", "euc-cn", "x-gbk", "gbk"}:
        return "gb18030"
    if name in {"big5", "big5-hkscs", "x-x-big5"}:
        return "big5hkscs"
    return codecs.lookup(name).name


def split_pages(text: str, page_chars: int = PAGE_CHARS) -> list[str]:
    """Form feeds split pages; long stretches are cut at a line end near `page_chars`."""
    pages: list[str] = []
    for chunk in text.split("\f"):
        # By offsets: slicing off the rest at each cut would copy a large file's text once a page.
        start, end = 0, len(chunk)
        while end - start > page_chars:
            cut = chunk.rfind("\n", start + page_chars // 2, start + page_chars)
            cut = cut if cut > start else start + page_chars
            pages.append(chunk[start:cut])
            start = cut
            while start < end and chunk[start] == "\n":
                start += 1
        pages.append(chunk[start:])
    pages = [p.strip("\n") for p in pages]
    return [p for p in pages if p.strip()] or [""]


def html_to_text(html: str) -> tuple[str, str]:
    """Visible text and title of an HTML page; nothing executed or fetched."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "object", "embed", "svg"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for br in soup.find_all("br"):
        br.replace_with("\n")
    text = soup.get_text("\n")
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r"\n\s*\n+", "\n\n", text)
    return text.strip(), title


def _read(source: Source) -> bytes:
    size = source.path.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise StageError("extract", f"text file too large: {size} bytes (limit {MAX_TEXT_BYTES})")
    return source.path.read_bytes()


class TextExtractor:
    name = "text"

    def score(self, source: Source) -> int | None:
        if source.mime == "text/plain" or source.extension in {"txt", "csv", "tsv", "md", "log"}:
            return 50
        if source.mime.startswith("text/") and source.mime != "text/html":
            return 30
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        text, charset = decode_bytes(_read(source))
        pages = [PageResult(number=i + 1, text=t) for i, t in enumerate(split_pages(text))]
        return Extraction(kind="text", title=source.filename, pages=pages, metadata={"charset": charset})


class HtmlExtractor:
    name = "html"

    def score(self, source: Source) -> int | None:
        if source.mime in {"text/html", "application/xhtml+xml"} or source.extension in {"html", "htm"}:
            return 60
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        raw = _read(source)
        m = _META_CHARSET.search(raw[:4096])
        html, charset = decode_bytes(raw, m.group(1).decode("ascii") if m else None)
        text, title = html_to_text(html)
        pages = [PageResult(number=i + 1, text=t) for i, t in enumerate(split_pages(text))]
        return Extraction(
            kind="html", title=title or source.filename, pages=pages, metadata={"charset": charset}
        )


register(TextExtractor())
register(HtmlExtractor())
