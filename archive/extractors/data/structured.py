"""JSON and XML as text with their structure (a key or element path per value), and SVG's text."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from ...models import Extraction, Source
from .. import ExtractContext
from ..text import _read, decode_bytes
from .common import text_extraction


def _json_lines(value: Any, path: str, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _json_lines(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _json_lines(item, f"{path}[{n}]", out)
    elif value is not None and str(value).strip():
        out.append(f"{path or '(value)'}: {value}")


class JsonExtractor:
    name = "json"

    def score(self, source: Source) -> int | None:
        if source.mime in {"application/json", "application/ld+json"} or source.extension in {
            "json",
            "geojson",
        }:
            return 60
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        text, charset = decode_bytes(_read(source))
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            # JSON Lines, or damaged JSON: its text is still worth searching.
            return text_extraction("data", source, text, {"charset": charset, "json": {"parsed": False}})
        lines: list[str] = []
        try:
            _json_lines(value, "", lines)
        except RecursionError:
            return text_extraction("data", source, text, {"charset": charset, "json": {"parsed": False}})
        return text_extraction(
            "data", source, "\n".join(lines), {"charset": charset, "json": {"parsed": True}}
        )


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


class XmlExtractor:
    name = "xml"

    def score(self, source: Source) -> int | None:
        if source.mime == "image/svg+xml" or source.extension == "svg":
            return 60
        head = source.head.lstrip()[:200]
        if (
            source.mime in {"application/xml", "text/xml"}
            or source.extension == "xml"
            or head.startswith(b"<?xml")
        ):
            return 45  # below HTML (60) and any format with its own extractor
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        raw = _read(source)
        svg = source.mime == "image/svg+xml" or source.extension == "svg" or b"<svg" in raw[:2000]
        try:
            root = ET.fromstring(raw)  # expat: no external entities, entity expansion bounded
        except ET.ParseError:
            text, charset = decode_bytes(raw)
            return text_extraction(
                "svg" if svg else "data", source, text, {"charset": charset, "xml": {"parsed": False}}
            )
        lines: list[str] = []
        if svg:
            for el in root.iter():
                if (
                    _local(el.tag) in {"text", "title", "desc", "tspan", "textPath"}
                    and el.text
                    and el.text.strip()
                ):
                    lines.append(" ".join(el.text.split()))
            return text_extraction("svg", source, "\n".join(lines), {"svg": {"texts": len(lines)}})
        self._walk(root, "", lines)
        return text_extraction("data", source, "\n".join(lines), {"xml": {"root": _local(root.tag)}})

    def _walk(self, el: ET.Element, path: str, out: list[str]) -> None:
        here = f"{path}/{_local(el.tag)}"
        attrs = " ".join(f"{_local(k)}={v}" for k, v in el.attrib.items())
        text = " ".join((el.text or "").split())
        if text or attrs:
            out.append(f"{here}{' [' + attrs + ']' if attrs else ''}: {text}".rstrip(": "))
        for child in el:
            self._walk(child, here, out)
            tail = " ".join((child.tail or "").split())
            if tail:
                out.append(f"{here}: {tail}")
