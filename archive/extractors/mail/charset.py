"""Charsets: RFC 2047 header words, undeclared 8-bit bytes, CJK and UTF-8 mojibake repair, and text
parts in their declared charset (one Python does not know is replaced by detection)."""

from __future__ import annotations

import re
from email.message import Message
from typing import Any

from ...script import HAN
from ..text import _canonical, decode_bytes

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")


def repair_mojibake(text: str) -> str:
    """Undo CJK text that was decoded as Latin-1/cp1252 (possibly twice): keep the repair only when
    the re-encoded bytes decode cleanly and the result contains CJK characters."""
    if not text or not re.search(r"[\u0080-\u00ff]", text):
        return text
    current = text
    for _ in range(3):  # double and triple encodings
        repaired = _repair_once(current)
        if repaired is None:
            break
        current = repaired
        if HAN.search(current):
            return current
    return text


def _looks_like_multibyte(text: str) -> bool:
    """Latin-1 readings of GBK/Big5 bytes are full of symbols (¡ ¤ ª ± ½ ®); real accented Latin
    text is made of letters (â, ç, é)."""
    high = [
        c
        for c in text
        if "\u0080" <= c <= "\u00ff"
        or c
        in "\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178"
    ]
    if len(high) < 2:
        return False
    symbols = sum(1 for c in high if not c.isalpha())
    return symbols >= 0.25 * len(high)


def _repair_once(text: str) -> str | None:
    for single in ("latin-1", "cp1252"):
        try:
            raw = text.encode(single)
        except UnicodeEncodeError:
            continue
        if raw.isascii():
            return None
        try:
            out = raw.decode("utf-8")
            if out != text:
                return out
        except UnicodeDecodeError:
            pass
        if not _looks_like_multibyte(text):
            continue
        candidates = []
        for multi in ("gb18030", "big5hkscs"):
            try:
                out = raw.decode(multi)
            except UnicodeDecodeError:
                continue
            if HAN.search(out) and "\ufffd" not in out and not re.search(r"[\u0080-\u00ff]", out):
                candidates.append((_commonness(out, multi), out))
        if candidates:
            return max(candidates)[1]
    return None


def _commonness(text: str, codec: str) -> float:
    """Share of the CJK characters that are in the frequent-character block of their charset
    (GB2312 level 1, Big5 frequent characters): a wrong reading lands on rare characters."""
    chars = HAN.findall(text)
    if not chars:
        return 0.0
    common = 0
    for c in chars:
        try:
            if codec == "gb18030":
                b = c.encode("gb2312")
                common += 0xB0A1 <= int.from_bytes(b, "big") <= 0xD7FE
            else:
                b = c.encode("big5")
                common += 0xA440 <= int.from_bytes(b, "big") <= 0xC67E
        except UnicodeEncodeError:
            pass
    return common / len(chars)


def _decode_chunk(raw: bytes, charset: str | None) -> str:
    if charset:
        try:
            return raw.decode(_canonical(charset))
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_bytes(raw)[0]


def decode_header_value(value: str) -> str:
    """RFC 2047 encoded words with GB2312 read as GB18030 and Big5 as Big5-HKSCS; undeclared
    8-bit bytes (kept by the parser as surrogate escapes) go through charset detection."""
    if value is None:
        return ""
    value = str(value)
    value = re.sub(r"\r?\n[ \t]+", " ", value)
    out: list[str] = []
    pos = 0
    last_was_word = False
    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        if not (last_was_word and between.strip() == ""):
            out.append(_decode_raw_text(between))
        charset, enc, payload = m.group(1).split("*", 1)[0], m.group(2).upper(), m.group(3)
        try:
            if enc == "B":
                import base64

                raw = base64.b64decode(payload + "=" * (-len(payload) % 4))
            else:
                import quopri

                raw = quopri.decodestring(
                    payload.replace("_", " ").encode("ascii", "surrogateescape"), header=True
                )
            out.append(_decode_chunk(raw, charset))
        except Exception:
            out.append(m.group(0))
        pos = m.end()
        last_was_word = True
    out.append(_decode_raw_text(value[pos:]))
    return repair_mojibake("".join(out)).strip()


def _decode_raw_text(text: str) -> str:
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text
    if raw.isascii():
        return text
    return decode_bytes(raw)[0]


def _part_bytes(part: Message) -> bytes:
    try:
        data: Any = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _part_text(part: Message, guessed: list[dict[str, str]] | None = None) -> str:
    """A text part's text in its declared charset; a charset Python does not know (or none that
    decodes) is replaced by detection, noted in `guessed` as {"declared", "used"}."""
    data = _part_bytes(part)
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    if charset:
        try:
            codec: str | None = _canonical(charset)
        except (LookupError, ValueError, TypeError):
            codec = None
        if codec is None:
            text, used = decode_bytes(data)
            if guessed is not None:
                guessed.append({"declared": charset, "used": used})
            return repair_utf8_mojibake(text)
    text, _ = decode_bytes(data, charset)
    return repair_utf8_mojibake(text)


# Characters that UTF-8 read as cp1252 or Latin-1 is made of: lead bytes (Ã, Â, Ð, Ñ, ...) then
# continuation bytes (0x80-0xBF, some shown as cp1252 punctuation).
_MOJIBAKE_PAIR = re.compile(r"[\u00c2-\u00f4][\u0080-\u00bf\u2018-\u203a\u0152-\u02dc\u20ac\u2122]")


def _to_single_bytes(text: str) -> bytes | None:
    """Each character back to the byte it was read from: cp1252 where it defines the byte,
    Latin-1 for the five bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            if ord(ch) > 0xFF:
                return None
            out.append(ord(ch))
    return bytes(out)


def _decode_utf8_mending_nbsp(raw: bytes) -> str | None:
    """Strict UTF-8, except that a lead byte followed by a plain space is tried with 0xA0 there:
    mojibake passed through tools that turn the no-break space (0xA0) into a space loses that
    continuation byte (Cyrillic Р is D0 A0). None when the bytes are not UTF-8 even so."""
    buf = bytearray(raw)
    for _ in range(max(8, len(buf) // 50)):
        try:
            return buf.decode("utf-8")
        except UnicodeDecodeError as exc:
            at = exc.start
            if 0xC2 <= buf[at] <= 0xF4 and at + 1 < len(buf) and buf[at + 1] == 0x20:
                buf[at + 1] = 0xA0
                continue
            return None
    return None


def repair_utf8_mojibake(text: str) -> str:
    """Undo UTF-8 text read as cp1252/Latin-1 once, twice or three times (the corpus has a
    Cyrillic body stored so). Only text dense with the telltale pairs is tried, and a repair is
    kept only when every round decodes as strict UTF-8, which random accented text never does."""
    if len(_MOJIBAKE_PAIR.findall(text)) < 3:
        return text
    current = text
    for _ in range(3):
        raw = _to_single_bytes(current)
        if raw is None or raw.isascii():
            break
        decoded = _decode_utf8_mending_nbsp(raw)
        if decoded is None:
            break
        current = decoded
        if len(_MOJIBAKE_PAIR.findall(current)) < 3:
            return current
    return current if current != text and not _MOJIBAKE_PAIR.search(current) else text
