"""E-mails printed into PDFs and scans: split page text into messages by their header blocks.

FOI releases often print whole e-mail chains to PDF (or scan the printouts). This step finds the
header blocks (English From/Sent/To/Cc/Subject/Date, Outlook's Chinese 发件人/发送时间/收件人/抄送/主题,
"-----Original Message-----" and "On ... wrote:" lines) and stores one record per message in
metadata["printed_messages"] = [{"from", "to", "cc", "date", "subject", "pages": [first, last]}].
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .models import PageResult

if TYPE_CHECKING:
    from .core import Archive
    from .pipeline import DocWork

# Label -> field. Chinese labels are Outlook's Simplified and Traditional ones.
_LABELS = {
    "from": "from",
    "发件人": "from",
    "寄件者": "from",
    "寄件人": "from",
    "sent": "date",
    "date": "date",
    "发送时间": "date",
    "日期": "date",
    "時間": "date",
    "寄件日期": "date",
    "to": "to",
    "收件人": "to",
    "收件者": "to",
    "cc": "cc",
    "抄送": "cc",
    "副本": "cc",
    "subject": "subject",
    "主题": "subject",
    "主旨": "subject",
    "標題": "subject",
}
_HEADER_LINE = re.compile(
    r"(?m)^\s*(from|sent|date|to|cc|subject|发件人|寄件者|寄件人|发送时间|日期|時間|寄件日期|收件人|收件者|抄送|副本|主题|主旨|標題)\s*[:：]\s*(.*)$",
    re.I,
)
_ORIGINAL = re.compile(
    r"(?m)^\W*\w{0,6}\W*(original message|原始邮件|原始郵件|forwarded message|转发的邮件)\s*-{2,}\s*$", re.I
)
_WROTE = re.compile(r"^\s*On (.+?),\s*([^,]+?)\s+wrote:\s*$")
MAX_HEADER_GAP = 2  # lines between header lines of one block (OCR may leave blank lines)


def split_messages(pages: list[str]) -> list[dict[str, Any]]:
    """Messages found in page texts (page numbers 1-based)."""
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
            if m and _LABELS[m.group(1).lower()] == "from":
                block, end = _read_block(lines, i)
                if len(block) >= 2:  # From plus at least one more header: a message starts here
                    current = _start(messages, current, number, block)
                    i = end
                    continue
            w = _WROTE.match(line)
            if w:
                current = _start(
                    messages, current, number, {"from": w.group(2).strip(), "date": w.group(1).strip()}
                )
            elif _ORIGINAL.match(line):
                # A quoted message starts here even when OCR garbled its header labels.
                block, end = _read_block(lines, i + 1)
                current = _start(messages, current, number, block)
                i = end
                continue
            if current is not None and line.strip():
                current["pages"][1] = number
            i += 1
    if current is not None and last_content_page:
        current["pages"][1] = max(current["pages"][1], last_content_page)
    return messages


def _read_block(lines: list[str], start: int) -> tuple[dict[str, str], int]:
    block: dict[str, str] = {}
    i, gap = start, 0
    while i < len(lines) and gap <= MAX_HEADER_GAP:
        m = _HEADER_LINE.match(lines[i])
        if m:
            field = _LABELS[m.group(1).lower()]
            if field in block:
                break  # the next message's header
            block[field] = m.group(2).strip()
            gap = 0
        elif lines[i].strip():
            break
        else:
            gap += 1
        i += 1
    return block, i


def _start(
    messages: list[dict[str, Any]], current: dict[str, Any] | None, page: int, block: dict[str, str]
) -> dict[str, Any]:
    if current is not None and current["pages"][1] < page:
        pass  # the previous message ended on an earlier page
    msg = {
        "from": block.get("from", ""),
        "to": block.get("to", ""),
        "cc": block.get("cc", ""),
        "date": block.get("date", ""),
        "subject": block.get("subject", ""),
        "pages": [page, page],
    }
    messages.append(msg)
    return msg


class PrintedMailStep:
    """Runs on PDFs, scans and text files whose pages contain e-mail header blocks."""

    name = "printed_mail"

    def __init__(self, archive: Archive | None = None):
        self.archive = archive

    def needed(self, work: DocWork) -> bool:
        ex = work.extraction
        if ex is None or ex.kind == "email":
            return False
        return any(_HEADER_LINE.search(p.text or "") or _ORIGINAL.search(p.text or "") for p in work.pages)

    def run(self, work: DocWork) -> None:
        assert work.extraction is not None
        found = split_messages([p.text for p in work.pages])
        if found:
            work.extraction.metadata["printed_messages"] = found


def messages_in_pages(pages: list[PageResult]) -> list[dict[str, Any]]:
    return split_messages([p.text for p in pages])


def _register() -> None:
    from .core import register_step

    register_step(PrintedMailStep)


_register()
