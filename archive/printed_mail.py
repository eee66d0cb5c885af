"""E-mails printed into PDFs and scans: split page text into messages by their header blocks.

FOI releases often print whole e-mail chains to PDF (or scan the printouts). This step finds the
header blocks (English From/Sent/To/Cc/Subject/Date, Outlook's Chinese 发件人/发送时间/收件人/抄送/主题,
"-----Original Message-----" and "On ... wrote:" lines) and makes every message found a real
message: a child document of kind "email" whose metadata["mail"] has the same shape as a native
mail's (parsed addresses, original and UTC dates, subject) plus `printed: true` and the page range
in the printout. Threads, sender/recipient/date filters and `foi show` then treat printed and
native messages alike. A summary stays on the printout in metadata["printed_messages"].

The child file is a small JSON record (see `PRINTED_MAGIC`) read back by the "printed_mail"
extractor in archive/extractors/mail/printed.py.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .extractors.mail.addresses import parse_address_list
from .extractors.mail.printed import PRINTED_MAGIC
from .models import ChildFile

if TYPE_CHECKING:
    from .steps import DocWork, StepContext

# Label -> field. Chinese labels are Outlook's Simplified and Traditional ones.
_LABELS = {
    "from": "from",
    "发件人": "from",
    "寄件者": "from",
    "寄件人": "from",
    "sent": "date",
    "date": "date",
    "发送时间": "date",
    "发送日期": "date",
    "日期": "date",
    "時間": "date",
    "寄件日期": "date",
    "to": "to",
    "收件人": "to",
    "收件者": "to",
    "cc": "cc",
    "抄送": "cc",
    "抄送人": "cc",
    "副本": "cc",
    "subject": "subject",
    "主题": "subject",
    "主旨": "subject",
    "標題": "subject",
}


def _label_pattern(label: str) -> str:
    # OCR often puts spaces between CJK characters ("发 件 人:"); English labels are single words.
    if label.isascii():
        return re.escape(label)
    return r"\s*".join(re.escape(c) for c in label)


# Longest labels first so that 发送时间 wins over a shorter prefix.
_LABEL_ALT = "|".join(_label_pattern(k) for k in sorted(_LABELS, key=len, reverse=True))
_HEADER_LINE = re.compile(rf"(?m)^\s*({_LABEL_ALT})\s*[:：]\s*(.*)$", re.I)
_ORIGINAL = re.compile(
    r"(?m)^\W*\w{0,6}\W*(original message|原始邮件|原始郵件|forwarded message|转发的邮件)\s*-{2,}\s*$", re.I
)
_WROTE = re.compile(r"^\s*On (.+?),\s*([^,]+?)\s+wrote:\s*$")
MAX_HEADER_GAP = 2  # lines between header lines of one block (OCR may leave blank lines)
MAX_PRINTED_MESSAGES = 500  # per printout


def _field(label: str) -> str:
    return _LABELS[re.sub(r"\s+", "", label).lower()]


def split_messages(pages: list[str]) -> list[dict[str, Any]]:
    """Messages found in page texts (page numbers 1-based): the raw header strings, the page range
    and the body text (the lines between this message's header block and the next one's)."""
    messages: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    last_content_page = 0
    for number, text in enumerate(pages, 1):
        lines = (text or "").splitlines()
        if any(line.strip() for line in lines):
            last_content_page = number
        i = 0
        while i < len(lines):
            line = lines[i]
            m = _HEADER_LINE.match(line)
            if m:
                # A block may start with any label (some printers put Subject or Date first); it is
                # a message when it has a From and at least one more header.
                block, end = _read_block(lines, i)
                if "from" in block and len(block) >= 2:
                    current = _start(messages, number, block)
                    i = end
                    continue
            w = _WROTE.match(line)
            if w:
                current = _start(messages, number, {"from": w.group(2).strip(), "date": w.group(1).strip()})
                i += 1
                continue
            if _ORIGINAL.match(line):
                # A quoted message starts here even when OCR garbled its header labels.
                block, end = _read_block(lines, i + 1)
                if not block:
                    block, end = _guess_block(lines, i + 1)
                current = _start(messages, number, block)
                i = end
                continue
            if current is not None:
                current["body"].append(line)
                if line.strip():
                    current["pages"][1] = number
            i += 1
        if current is not None:
            current["body"].append("")  # page break
    if current is not None and last_content_page:
        current["pages"][1] = max(current["pages"][1], last_content_page)
    for msg in messages:
        msg["body"] = re.sub(r"\n{3,}", "\n\n", "\n".join(msg["body"])).strip()
    return messages


def _read_block(lines: list[str], start: int) -> tuple[dict[str, str], int]:
    block: dict[str, str] = {}
    i, gap = start, 0
    while i < len(lines) and gap <= MAX_HEADER_GAP:
        m = _HEADER_LINE.match(lines[i])
        if m:
            field = _field(m.group(1))
            if field in block:
                break  # the next message's header
            block[field] = m.group(2).strip()
            gap = 0
        elif lines[i].strip():
            break
        else:
            gap += 1
        i += 1
    if len(block) >= 2 and not any(block.values()):
        return _columnar_values(lines, block, i)
    return block, i


_ANY_LABEL = re.compile(r"^\s*[^\s:：]{1,6}(?:\s[^\s:：]{1,6})?\s*[:：]\s*(\S.*)$")


def _guess_block(lines: list[str], start: int) -> tuple[dict[str, str], int]:
    """After an "Original Message" line whose labels OCR could not read (Chinese labels read with
    an English model): "label: value" lines taken in Outlook's order From, Sent, To, [Cc], Subject."""
    values: list[str] = []
    i = start
    while i < len(lines) and len(values) < 5:
        m = _ANY_LABEL.match(lines[i])
        if m:
            values.append(m.group(1).strip())
        elif lines[i].strip():
            break
        i += 1
    if len(values) < 3:
        return {}, start
    order = ["from", "date", "to", "cc", "subject"] if len(values) == 5 else ["from", "date", "to", "subject"]
    return dict(zip(order, values, strict=False)), i


def _columnar_values(lines: list[str], block: dict[str, str], start: int) -> tuple[dict[str, str], int]:
    """Labels printed as a column with their values in a second column come out of a PDF as all
    the labels, then all the values (Outlook's print layout through pdfminer). Take the values
    from the lines that follow, in label order, at the offset where the date line reads as a date."""
    values: list[tuple[int, str]] = []
    j = start
    while j < len(lines) and len(values) < len(block) + 3:
        if lines[j].strip():
            if _HEADER_LINE.match(lines[j]):
                break
            values.append((j, lines[j].strip()))
        j += 1
    fields = list(block)
    if len(values) < len(fields):
        return block, start
    for offset in range(len(values) - len(fields) + 1):
        window = values[offset : offset + len(fields)]
        candidate = {f: v for f, (_, v) in zip(fields, window, strict=True)}
        if "date" not in candidate or parse_printed_date(candidate["date"])[0]:
            return candidate, window[-1][0] + 1
    return block, start


def _start(messages: list[dict[str, Any]], page: int, block: dict[str, str]) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "from": block.get("from", ""),
        "to": block.get("to", ""),
        "cc": block.get("cc", ""),
        "date": block.get("date", ""),
        "subject": block.get("subject", ""),
        "pages": [page, page],
        "body": [],
    }
    messages.append(msg)
    return msg


# -- header values ---------------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        1,
    )
    for m in names
}
_TIME = r"(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?\s*([ap]\.?m\.?)?"
_ZONE = r"(?:\s*(?:UTC|GMT)?\s*([+-]\d{2}:?\d{2}))?"
_EN_DMY = re.compile(
    rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+([a-z]{{3,9}})\.?,?\s+(\d{{4}})(?:,?\s+(?:at\s+)?{_TIME})?{_ZONE}", re.I
)
_EN_MDY = re.compile(
    rf"([a-z]{{3,9}})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?:,?\s+(?:at\s+)?{_TIME})?{_ZONE}", re.I
)
_NUMERIC = re.compile(rf"(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}})(?:[T\s]+{_TIME})?{_ZONE}")
_ZH = re.compile(
    r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日(?:\s*(?:星期|周|週)[一二三四五六日天])?"
    r"\s*(上午|下午|晚上|中午|凌晨)?\s*(?:(\d{1,2})\s*[:：时點点]\s*(\d{2})(?:\s*[:：分]\s*(\d{2}))?)?"
)


def _hour(hour: int, ampm: str | None) -> int:
    if not ampm:
        return hour
    pm = ampm.lower().startswith("p") or ampm in {"下午", "晚上"}
    if pm and hour < 12:
        return hour + 12
    if not pm and ampm.lower().startswith("a") and hour == 12:
        return 0
    return hour


def _zone(value: str | None) -> timezone | None:
    if not value:
        return None
    digits = value.replace(":", "")
    sign = -1 if digits[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5])))


def parse_printed_date(value: str) -> tuple[str | None, bool]:
    """(UTC ISO date, whether the printout gave a time zone) from a printed Sent/Date value in
    the usual English and Chinese forms. A time without a zone is taken as UTC."""
    value = (value or "").strip()
    if not value:
        return None, False
    dt: datetime | None = None
    zone: timezone | None = None
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), True
    except (TypeError, ValueError, IndexError):
        pass
    try:
        m = _ZH.search(value)
        if m:
            hour = _hour(int(m.group(5) or 0), m.group(4))
            dt = datetime(
                int(m.group(1)),
                int(m.group(2)),
                int(m.group(3)),
                hour,
                int(m.group(6) or 0),
                int(m.group(7) or 0),
            )
        elif m := _NUMERIC.search(value):
            hour = _hour(int(m.group(4) or 0), m.group(7))
            dt = datetime(
                int(m.group(1)),
                int(m.group(2)),
                int(m.group(3)),
                hour,
                int(m.group(5) or 0),
                int(m.group(6) or 0),
            )
            zone = _zone(m.group(8))
        else:
            for pattern, day_first in ((_EN_DMY, True), (_EN_MDY, False)):
                m = pattern.search(value)
                if not m:
                    continue
                day, month_name = (m.group(1), m.group(2)) if day_first else (m.group(2), m.group(1))
                month = _MONTHS.get(month_name.lower())
                if month is None:
                    continue
                hour = _hour(int(m.group(4) or 0), m.group(7))
                dt = datetime(
                    int(m.group(3)), month, int(day), hour, int(m.group(5) or 0), int(m.group(6) or 0)
                )
                zone = _zone(m.group(8))
                break
    except ValueError:  # 31 February, hour 25: an OCR misreading
        return None, False
    if dt is None:
        return None, False
    dt = dt.replace(tzinfo=zone or UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), zone is not None


_NAME_ADDR = re.compile(r"^(.*?)\s*<([^<>]+)>$")
_MAILTO = re.compile(r"\[\s*mailto:\s*([^\]\s]+)\s*\]", re.I)


def parse_printed_addresses(value: str) -> list[dict[str, str]]:
    """Name and address pairs from a printed To/From line: "Name <a@b>", "Name [mailto:a@b]",
    "a@b", several separated by ';' or ','."""

    value = _MAILTO.sub(r"<\1>", value or "")
    value = re.sub(r"\s*@\s*", "@", value).strip()  # OCR spaces around '@'
    if not value:
        return []
    # Outlook separates recipients with ';' and writes names as "Last, First": a comma separates
    # only when there are several addresses.
    if ";" in value or "；" in value:
        parts = re.split(r"[;；]", value)
    elif value.count("@") > 1:
        parts = re.split(r",(?=[^,]*@)", value)
    else:
        parts = [value]
    out: list[dict[str, str]] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        m = _NAME_ADDR.match(part)
        if m:
            name = m.group(1).strip().strip('"').strip()
            address = m.group(2).strip()
            out.append({"name": name, "address": address.lower() if "@" in address else address})
        elif "@" in part:
            out.extend(parse_address_list([part]))
        else:
            out.append({"name": part.strip('"').strip(), "address": ""})
    return out


def message_mail(msg: dict[str, Any]) -> dict[str, Any]:
    """metadata["mail"] for one split message, shaped like a native message's."""
    sender = parse_printed_addresses(msg.get("from", ""))
    date_utc, zoned = parse_printed_date(msg.get("date", ""))
    return {
        "from": sender[0] if sender else None,
        "to": parse_printed_addresses(msg.get("to", "")),
        "cc": parse_printed_addresses(msg.get("cc", "")),
        "bcc": [],
        "subject": (msg.get("subject") or "").strip(),
        "date": (msg.get("date") or "").strip() or None,
        "date_utc": date_utc,
        "date_has_zone": zoned,
        "message_id": None,
        "in_reply_to": None,
        "references": [],
        "printed": True,
        "pages": list(msg["pages"]),
    }


def write_printed_child(folder: Path, index: int, msg: dict[str, Any]) -> ChildFile:
    """The child file of one split message, in the JSON form the printed_mail extractor reads."""
    mail = message_mail(msg)
    record = {
        "mail": mail,
        "body": msg.get("body", ""),
        "raw": {k: msg.get(k, "") for k in ("from", "to", "cc", "date", "subject")},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"printed-{index:04d}.json"
    path.write_text(PRINTED_MAGIC + ", " + json.dumps(record, ensure_ascii=False)[1:], encoding="utf-8")
    first, last = mail["pages"]
    pages = f"page {first}" if first == last else f"pages {first}-{last}"
    return ChildFile(
        name=f"message {index} ({pages}).json", path=path, meta={"printed_in": {"pages": [first, last]}}
    )


class PrintedMailStep:
    """Runs on PDFs, scans and text files whose pages contain e-mail header blocks."""

    name = "printed_mail"

    def __init__(self, archive: StepContext | None = None):
        self.archive = archive

    def needed(self, work: DocWork) -> bool:
        ex = work.extraction
        if ex is None or ex.kind == "email":
            return False
        return any(_HEADER_LINE.search(p.text or "") or _ORIGINAL.search(p.text or "") for p in work.pages)

    def run(self, work: DocWork) -> None:
        assert work.extraction is not None
        found = split_messages([p.text for p in work.pages])[:MAX_PRINTED_MESSAGES]
        if not found:
            return
        work.extraction.metadata["printed_messages"] = [
            {k: v for k, v in m.items() if k != "body"} for m in found
        ]
        folder = Path(work.ctx.workdir) / "printed"
        for n, msg in enumerate(found, 1):
            if any(
                msg.get(k) for k in ("from", "date", "subject")
            ):  # headers wholly unread: no message to show
                work.extraction.children.append(write_printed_child(folder, n, msg))
