"""Regular-expression entities: e-mail, URLs, phone numbers, money, dates, FOI references,
UK postcodes and labelled ID numbers, in English and Chinese text.

Each match gets a normalised form so spellings group: e-mails lower-cased, phones as +<country>
digits, money as "<ISO code> <amount>", dates as ISO 8601 (YYYY, YYYY-MM or YYYY-MM-DD).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from .base import Mention, clean_span

# -- numbers ------------------------------------------------------------------------------------

_ZH_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}


def zh_number(text: str) -> float | None:
    """Arabic or Chinese numerals (五十, 三百二十万, 二〇一八) as a number; None if not a number."""
    text = text.replace(",", "").replace("，", "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    if all(c in _ZH_DIGITS for c in text):  # digit by digit: 二〇一八
        return float("".join(str(_ZH_DIGITS[c]) for c in text))
    total, section, digit = 0.0, 0.0, 0.0
    for c in text:
        if c in _ZH_DIGITS:
            digit = _ZH_DIGITS[c]
        elif c in _ZH_UNITS:
            section += (digit or 1) * _ZH_UNITS[c]
            digit = 0
        elif c in _ZH_BIG:
            total = (total + section + digit) * _ZH_BIG[c]
            section, digit = 0, 0
        else:
            return None
    return total + section + digit


# -- e-mail, URL --------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b"
)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'\]）。，、]+", re.I)

# -- phones ------------------------------------------------------------------------------------

_SEP = r"[ \t.\-]?"
_PHONES: list[tuple[str, re.Pattern[str]]] = [
    (
        "cn",
        re.compile(
            r"(?<![\d+])\+?86[ \-]?(?:1[3-9]\d[ \-]?\d{4}[ \-]?\d{4}|\(?0?\d{2,3}\)?[ \-]?\d{3,4}[ \-]?\d{4})(?!\d)"
        ),
    ),
    ("cn", re.compile(r"(?<![\d\w])1[3-9]\d(?:\d{8}|[ \-]\d{4}[ \-]\d{4})(?!\d)")),
    ("cn", re.compile(r"(?<![\d\w])(?:0\d{2,3}-\d{7,8}|[（(]0\d{2,3}[)）] ?\d{7,8})(?!\d)")),
    ("uk", re.compile(r"(?<![\d\w])\+44 ?(?:\(0\) ?)?\d{2,4}" + _SEP + r"\d{3,4}" + _SEP + r"\d{3,4}(?!\d)")),
    ("uk", re.compile(r"(?<![\d\w+])\(?0\d{2,4}\)?" + _SEP + r"\d{3,4}" + _SEP + r"\d{3,4}(?!\d)")),
    (
        "us",
        re.compile(
            r"(?<![\d\w+])(?:\+1" + _SEP + r")?\(?[2-9]\d{2}\)?" + _SEP + r"[2-9]\d{2}[ .\-]\d{4}(?!\d)"
        ),
    ),
]


def _phone_norm(kind: str, raw: str) -> str | None:
    digits = re.sub(r"\D", "", raw.replace("(0)", ""))
    if kind == "cn":
        if digits.startswith("86") and len(digits) >= 12:
            digits = digits[2:]
        if digits.startswith("0"):
            digits = digits[1:]
        return "+86" + digits if 9 <= len(digits) <= 11 else None
    if kind == "uk":
        if digits.startswith("44"):
            digits = digits[2:]
        elif digits.startswith("0"):
            digits = digits[1:]
        else:
            return None
        return "+44" + digits if 9 <= len(digits) <= 10 else None
    if digits.startswith("1") and len(digits) == 11:
        digits = digits[1:]
    return "+1" + digits if len(digits) == 10 else None


# -- money -------------------------------------------------------------------------------------

_CURRENCY = {
    "£": "GBP",
    "gbp": "GBP",
    "pounds": "GBP",
    "pounds sterling": "GBP",
    "pound": "GBP",
    "sterling": "GBP",
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "us dollars": "USD",
    "dollars": "USD",
    "s$": "SGD",
    "sgd": "SGD",
    "singapore dollars": "SGD",
    "a$": "AUD",
    "au$": "AUD",
    "aud": "AUD",
    "australian dollars": "AUD",
    "hk$": "HKD",
    "hkd": "HKD",
    "hong kong dollars": "HKD",
    "港元": "HKD",
    "港币": "HKD",
    "c$": "CAD",
    "cad": "CAD",
    "canadian dollars": "CAD",
    "€": "EUR",
    "eur": "EUR",
    "euros": "EUR",
    "euro": "EUR",
    "欧元": "EUR",
    "¥": "CNY",
    "￥": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "yuan": "CNY",
    "renminbi": "CNY",
    "人民币": "CNY",
    "元": "CNY",
    "块": "CNY",
    "英镑": "GBP",
    "美元": "USD",
    "日元": "JPY",
    "kina": "PGK",
    "papua new guinea kina": "PGK",
    "pgk": "PGK",
}
_MULT = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "bn": 1e9,
    "billion": 1e9,
    "千": 1e3,
    "万": 1e4,
    "十万": 1e5,
    "百万": 1e6,
    "千万": 1e7,
    "亿": 1e8,
    "万亿": 1e12,
}
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_EN_MULT = r"(?:[ \t]?(?P<mult>billion|million|thousand|bn|mn|m|k)(?![A-Za-z]))?"
_MONEY_EN_PREFIX = re.compile(
    r"(?P<cur>US\$|S\$|A\$|AU\$|HK\$|C\$|£|\$|€|¥|￥|"
    r"(?i:papua\s+new\s+guinea\s+kina|kina|australian\s+dollars|singapore\s+dollars|hong\s+kong\s+dollars|"
    r"canadian\s+dollars|us\s+dollars|gbp|usd|sgd|aud|hkd|cad|eur|rmb|cny|pgk)(?![A-Za-z]))[ \t]?(?P<num>"
    + _NUM
    + r")"
    + _EN_MULT
)
_MONEY_EN_SUFFIX = re.compile(
    r"(?<![\w.,])(?P<num>"
    + _NUM
    + r")"
    + _EN_MULT
    + r"[ \t]?(?P<cur>(?i:pounds sterling|pounds|dollars|euros|yuan|renminbi|gbp|usd|eur|rmb|cny))(?![A-Za-z])"
)
_ZH_NUM = r"\d[\d,]*(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+"
_MONEY_ZH = re.compile(
    r"(?P<pre>人民币|美元|港币|港元|英镑|欧元|[¥￥])?\s?(?<![\d,.])(?P<num>" + _ZH_NUM + r")\s?"
    r"(?P<mult>万亿|千万|百万|十万|万|亿)?\s?(?P<cur>元|块|英镑|美元|欧元|港元|港币|日元)"
)
_MONEY_ZH_PREFIX = re.compile(
    r"(?P<cur>人民币|美元|港币|港元|英镑|欧元)\s?(?P<num>"
    + _ZH_NUM
    + r")\s?(?P<mult>万亿|千万|百万|十万|万|亿)?"
)


def _money_norm(cur: str, num: str, mult: str | None) -> str | None:
    code = _CURRENCY.get(" ".join(cur.lower().split()))
    value = zh_number(num)
    if code is None or value is None:
        return None
    value *= _MULT.get((mult or "").lower(), 1)
    amount = f"{value:,.2f}"
    if amount.endswith(".00"):
        amount = amount[:-3]
    return f"{code} {amount}"


# -- dates -------------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "Jun",
    "Jul",
    "Aug",
    "Sept",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
]
# Capitalised or upper case only, so the verb "may" and "march" are not months.
_MONTH = (
    "(?P<mon>"
    + "|".join(sorted({n for m in _MONTH_NAMES for n in (m, m.upper())}, key=len, reverse=True))
    + r")\.?"
)
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})(?!\d)"
_DATES: list[re.Pattern[str]] = [
    re.compile(r"(?<![\d:.,/])" + _DAY + r"[ \t]*(?:of[ \t]+)?" + _MONTH + r",?[ \t]*" + _YEAR),
    re.compile(r"(?<![A-Za-z])" + _MONTH + r"[ \t]+" + _DAY + r",?[ \t]+" + _YEAR),
    re.compile(r"(?<![A-Za-z\d])" + _MONTH + r",?[ \t]*" + _YEAR),
    re.compile(
        r"(?<![\d/.-])(?P<year>(?:19|20)\d{2})[-/.](?P<mnum>[01]?\d)[-/.](?P<day>[0-3]?\d)(?![\d/.-]|:\d)"
    ),
    re.compile(r"(?<![\d/.-])(?P<a>[0-3]?\d)/(?P<b>[01]?\d)/(?P<year>(?:19|20)\d{2})(?![\d/])"),
    re.compile(
        r"(?P<year>(?:19|20)\d{2}|[〇零一二三四五六七八九]{4})\s?年\s?(?P<mnum>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])\s?月"
        r"(?:\s?(?P<day>3[01]|[12]\d|0?[1-9]|三十一?|二?十[一二三四五六七八九]?|[一二三四五六七八九])\s?[日号])?"
    ),
]


def _date_norm(m: re.Match[str]) -> str | None:
    g = m.groupdict()
    year_v = zh_number(g["year"])
    if year_v is None:
        return None
    year = int(year_v)
    if g.get("mon"):
        month = _MONTHS[g["mon"][:3].lower()]
    elif g.get("mnum"):
        mv = zh_number(g["mnum"])
        month = int(mv) if mv is not None else 0
    elif g.get("a"):
        a, b = int(g["a"]), int(g["b"])
        day, month = (a, b) if b <= 12 else (b, a)  # day first (UK) unless impossible
        g["day"] = str(day)
    else:
        return None
    day_raw = g.get("day")
    if not 1900 <= year <= 2100 or not 1 <= month <= 12:
        return None
    if not day_raw:
        return f"{year:04d}-{month:02d}"
    dv = zh_number(day_raw)
    try:
        return date(year, month, int(dv or 0)).isoformat()
    except ValueError:
        return None


# -- FOI references, postcodes, labelled IDs ---------------------------------------------------

_FOI_REF = re.compile(
    r"(?<![\w/-])(?:(?:FOI[AR]?|EIR|FOISA|RFI|FS|IC|CAS|F)-?(?:\d{2,4}[-/])?\d{3,8}(?:[-/][A-Z0-9]{1,8})?"
    r"|(?:FOI|FOIA|EIR)[ ]\d{3,8}(?:[-/]\d{2,4})?)(?![\w/])"
)
_LABELLED_REF = re.compile(
    r"(?:Request [Nn]umber|Request [Rr]ef(?:erence)?|Our [Rr]ef(?:erence)?|Your [Rr]ef(?:erence)?|"
    r"FOI [Rr]ef(?:erence)?|Reference [Nn](?:o\.?|umber)|REQUEST NUMBER|OUR REF)[ \t]*[:.]?\s*"
    r"(?P<val>(?=[A-Z0-9/-]*\d)[A-Z0-9][A-Z0-9/-]{3,30})(?![\w/])"
)
_POSTCODE = re.compile(
    r"(?<![\w-])(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})(?![\w-])"
)
_ID = re.compile(
    r"(?P<label>(?:Passport|Registration|Company|Companies House|Case|Claim|Doc|Document|Identity Card|ID Card|"
    r"Account|Licence|License|Serial|Charity|VAT|UEN|NHS|National Insurance)"
    r"|(?:PASSPORT|REGISTRATION|COMPANY|CASE|CLAIM|DOC|ACCOUNT|LICENCE|CHARITY|VAT))"
    r"[ \t]+(?:No\.?|NO\.?|Number|NUMBER|#)[ \t]*:?[ \t]*"
    r"(?P<val>(?=[A-Z0-9/. -]*\d)[A-Z0-9][A-Z0-9/.-]*(?: \d+/\d+)?)(?![\w])"
)
_CN_ID = re.compile(
    r"(?<![\dA-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])"
)


class PatternExtractor:
    """Regular-expression entities; reads every field (translations carry numbers and e-mails too)."""

    name: str = "patterns"
    fields: tuple[str, ...] = ("original", "translation", "gloss")

    def available(self) -> bool:
        return True

    def extract(self, text: str, lang: str | None, field: str) -> list[Mention]:
        found: list[Mention] = []
        taken = bytearray(len(text) + 1)  # characters already inside a mention
        # Earlier finders win overlaps: an e-mail is not also a URL, a Chinese landline not a UK one.
        for finder in (
            self._emails,
            self._urls,
            self._foi_refs,
            self._ids,
            self._phones,
            self._money,
            self._dates,
            self._postcodes,
        ):
            for m in finder(text):
                if m.end <= m.start or any(taken[m.start : m.end]):
                    continue
                found.append(m)
                taken[m.start : m.end] = b"\x01" * (m.end - m.start)
        return sorted(found, key=lambda m: m.start)

    def _mention(
        self, type_: str, text: str, start: int, end: int, norm: str | None = None, **extra: str
    ) -> Mention:
        return Mention(
            type_, text[start:end], norm or text[start:end], start, end, self.name, extra=dict(extra)
        )

    def _emails(self, text: str) -> Iterator[Mention]:
        for m in _EMAIL.finditer(text):
            yield self._mention("email", text, m.start(), m.end(), m.group().lower())

    def _urls(self, text: str) -> Iterator[Mention]:
        for m in _URL.finditer(text):
            start, end = m.start(), m.end()
            while end > start and text[end - 1] in ".,;:!?)’”'":
                end -= 1
            raw = text[start:end]
            if len(raw) < 8 or "." not in raw:
                continue
            norm = raw if raw.lower().startswith("http") else "http://" + raw
            scheme, _, rest = norm.partition("://")
            host, slash, path = rest.partition("/")
            yield self._mention("url", text, start, end, f"{scheme.lower()}://{host.lower()}{slash}{path}")

    def _foi_refs(self, text: str) -> Iterator[Mention]:
        for m in _FOI_REF.finditer(text):
            yield self._mention("foi_ref", text, m.start(), m.end(), m.group().upper().replace(" ", "-"))
        for m in _LABELLED_REF.finditer(text):
            yield self._mention("foi_ref", text, m.start("val"), m.end("val"), m.group("val").upper())

    def _ids(self, text: str) -> Iterator[Mention]:
        for m in _ID.finditer(text):
            s, e = clean_span(text, m.start("val"), m.end("val"))
            if e - s < 4:
                continue
            label = " ".join(m.group("label").split()).lower()
            yield self._mention("id", text, s, e, text[s:e].upper(), label=label)
        for m in _CN_ID.finditer(text):
            yield self._mention(
                "id", text, m.start(), m.end(), m.group().upper(), label="resident identity card"
            )

    def _phones(self, text: str) -> Iterator[Mention]:
        for kind, rx in _PHONES:
            for m in rx.finditer(text):
                norm = _phone_norm(kind, m.group())
                if norm:
                    yield self._mention("phone", text, m.start(), m.end(), norm, country=kind)

    def _money(self, text: str) -> Iterator[Mention]:
        for rx in (_MONEY_EN_PREFIX, _MONEY_ZH, _MONEY_ZH_PREFIX, _MONEY_EN_SUFFIX):
            for m in rx.finditer(text):
                g = m.groupdict()
                cur = g.get("pre") or g["cur"]
                if g.get("pre") and g["cur"] in {"元", "块"}:
                    cur = g["pre"]
                norm = _money_norm(cur, g["num"], g.get("mult"))
                if norm:
                    s, e = clean_span(text, m.start(), m.end())
                    yield self._mention("money", text, s, e, norm)

    def _dates(self, text: str) -> Iterator[Mention]:
        for rx in _DATES:
            for m in rx.finditer(text):
                norm = _date_norm(m)
                if norm:
                    yield self._mention("date", text, m.start(), m.end(), norm)

    def _postcodes(self, text: str) -> Iterator[Mention]:
        for m in _POSTCODE.finditer(text):
            raw = m.group()
            compact = raw.replace(" ", "")
            yield self._mention("postcode", text, m.start(), m.end(), compact[:-3] + " " + compact[-3:])
