"""Address header fields parsed into [{"name", "address"}], bounded in size and count."""

from __future__ import annotations

import re
from email.utils import getaddresses

from .charset import _decode_raw_text, decode_header_value
from .limits import MAX_ADDRESSES, MAX_HEADER_FIELD_BYTES

# Mailman/pipermail archives write "andy at example.com (Andy Grunwald)".
_OBFUSCATED = re.compile(r"(?<![\w.@+-])([\w.+-]+)\s+at\s+([\w-]+(?:\.[\w-]+)+)(?![\w@-])", re.I)


def _deobfuscate(value: str) -> str:
    if "@" in value:
        return value
    return _OBFUSCATED.sub(r"\1@\2", value)


def _addresses(values: list[str]) -> list[dict[str, str]]:
    return _address_field(values)[0]


def _cap_address_text(value: str) -> str:
    """An address list longer than a header field may be, cut after its last whole address."""
    if len(value) <= MAX_HEADER_FIELD_BYTES:
        return value
    cut = value.rfind(",", 0, MAX_HEADER_FIELD_BYTES)
    return value[: cut if cut > 0 else MAX_HEADER_FIELD_BYTES]


def _address_field(values: list[str], limit: int = MAX_ADDRESSES) -> tuple[list[dict[str, str]], bool]:
    """Parsed addresses, at most `limit` of them, and whether there were more."""
    result: list[dict[str, str]] = []
    cleaned = [
        _deobfuscate(re.sub(r"\r?\n[ \t]+", " ", _cap_address_text(str(v)).replace("\x00", "")))
        for v in values
        if v
    ]
    for name, addr in getaddresses(cleaned):
        if len(result) >= limit:
            return result, True
        name = decode_header_value(name).strip().strip('"').strip()
        addr = _decode_raw_text(addr).strip()
        if not name and not addr:
            continue
        result.append({"name": name, "address": addr.lower() if "@" in addr else addr})
    return result, False


def parse_address_list(values: list[str]) -> list[dict[str, str]]:
    """[{"name", "address"}] from address header values (RFC 2047 names decoded, NULs dropped)."""
    return _addresses(values)


def _format_address(a: dict[str, str]) -> str:
    if a.get("name") and a.get("address"):
        return f"{a['name']} <{a['address']}>"
    return a.get("name") or a.get("address") or ""
