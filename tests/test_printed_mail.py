"""Printed e-mail chains: header blocks split page text into messages (text, then a real OCR'd scan)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from archive import SearchQuery
from archive.printed_mail import message_mail, parse_printed_addresses, parse_printed_date, split_messages

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _chain_pages() -> list[list[str]]:
    sys.path.insert(0, str(SAMPLES))
    try:
        import make_sample
    finally:
        sys.path.pop(0)
    return make_sample.EMAIL_CHAIN_PAGES


def test_split_text_english_and_chinese_headers():
    pages = ["\n".join(p) for p in _chain_pages()]
    msgs = split_messages(pages)
    assert len(msgs) == 2
    first, second = msgs
    assert first["from"] == "Dr Alice Morgan <a.morgan@example.ac.uk>"
    assert first["date"] == "12 November 2018 09:14"
    assert first["to"] == "郭教授 <guo@jsai.example.cn>"
    assert first["subject"] == "Joint research agreement - marine sensors"
    assert first["pages"] == [1, 1]
    assert second["from"] == "郭教授 <guo@jsai.example.cn>"
    assert second["date"] == "2018年11月10日 16:02"
    assert second["subject"] == "合作研究协议"
    assert second["pages"] == [1, 2]


def test_on_wrote_and_cc():
    text = (
        "From: Bob <bob@example.org>\nTo: Ann <ann@example.org>\nCc: Carl <carl@example.org>\n"
        "Date: 1 May 2020\nSubject: Budget\n\nFine by me.\n\nOn 30 April 2020, Ann wrote:\n> Can we agree?\n"
    )
    msgs = split_messages([text, "More quoted text"])
    assert [m["from"] for m in msgs] == ["Bob <bob@example.org>", "Ann"]
    assert msgs[0]["cc"] == "Carl <carl@example.org>"
    assert msgs[1]["date"] == "30 April 2020"
    assert msgs[1]["pages"] == [1, 2]
    assert split_messages(["Dear Sir, from: the council we received nothing."]) == []


def test_body_kept_per_message():
    pages = ["\n".join(p) for p in _chain_pages()]
    first, second = split_messages(pages)
    assert first["body"].startswith("Dear Professor Guo,")
    assert "clause 4 attached" in first["body"]
    assert "Original Message" not in first["body"]
    assert second["body"].startswith("尊敬的Morgan博士")
    assert second["body"].endswith("江苏自动化研究所")


def test_subject_and_date_before_from():
    text = (
        "Subject: Site visit\nDate: Monday, 4 March 2019 14:05\nFrom: Carol Hughes <c.hughes@example.gov.uk>\n"
        "To: Dan Li <dan.li@example.cn>\n\nSee you there.\n"
    )
    [msg] = split_messages([text])
    assert (msg["from"], msg["to"], msg["subject"], msg["date"]) == (
        "Carol Hughes <c.hughes@example.gov.uk>",
        "Dan Li <dan.li@example.cn>",
        "Site visit",
        "Monday, 4 March 2019 14:05",
    )
    assert msg["body"] == "See you there."


def test_spaced_chinese_labels():
    text = "发 件 人: 王芳 <wang@example.cn>\n发送 时间：2019年3月5日 星期二 下午 3:20\n收 件 人: Tom <tom@example.org>\n主 题: 会议\n\n好的。"
    [msg] = split_messages([text])
    assert msg["from"] == "王芳 <wang@example.cn>"
    assert msg["subject"] == "会议"
    mail = message_mail(msg)
    assert mail["date_utc"] == "2019-03-05T15:20:00Z"
    assert mail["to"] == [{"name": "Tom", "address": "tom@example.org"}]


def test_labels_and_values_in_columns():
    """Outlook's print layout through a PDF text layer: all labels, then all values (the corpus PDF
    attached to tika_testMSG_att_msg.msg)."""
    text = "Nick Booth\nFrom:\nSent:\nTo:\nSubject:\nBlah blah blah \nNick Booth\nFriday, 18 June 2010 9:52 AM\nNick Booth\nTest Attachment\n1"
    [msg] = split_messages([text])
    assert (msg["from"], msg["date"], msg["to"], msg["subject"]) == (
        "Nick Booth",
        "Friday, 18 June 2010 9:52 AM",
        "Nick Booth",
        "Test Attachment",
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        ("12 November 2018 09:14", ("2018-11-12T09:14:00Z", False)),
        ("Monday, November 12, 2018 9:14 PM", ("2018-11-12T21:14:00Z", False)),
        ("Tue, 13 Nov 2018 10:30:00 +0800", ("2018-11-13T02:30:00Z", True)),
        ("2018年11月10日 16:02", ("2018-11-10T16:02:00Z", False)),
        ("2018/11/10 8:02", ("2018-11-10T08:02:00Z", False)),
        ("30 April 2020", ("2020-04-30T00:00:00Z", False)),
        ("31 February 2020", (None, False)),
        ("soon", (None, False)),
    ],
)
def test_printed_dates(value, expected):
    assert parse_printed_date(value) == expected


def test_printed_addresses():
    assert parse_printed_addresses(
        "ZIEMSKI, Michal <Michal.Ziemski@wipo.int>; Bob [mailto:bob@example.org]; Ann"
    ) == [
        {"name": "ZIEMSKI, Michal", "address": "michal.ziemski@wipo.int"},
        {"name": "Bob", "address": "bob@example.org"},
        {"name": "Ann", "address": ""},
    ]
    assert parse_printed_addresses("a@example.org, b @ example.org") == [
        {"name": "", "address": "a@example.org"},
        {"name": "", "address": "b@example.org"},
    ]


def _native_reply(path: Path) -> None:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "Dr Alice Morgan <a.morgan@example.ac.uk>"
    msg["To"] = "郭教授 <guo@jsai.example.cn>"
    msg["Subject"] = "Re: 合作研究协议"
    msg["Date"] = "Tue, 13 Nov 2018 10:30:00 +0000"
    msg.set_content("谢谢您的来信。")
    path.write_bytes(msg.as_bytes())


def _check_printed_children(a, doc: dict, reply_id: int, exact: bool) -> None:
    from archive.threads import thread_of

    kids = [a.document(c["id"]) for c in doc["children"]]
    assert [k["kind"] for k in kids] == ["email", "email"]
    first, second = (k["metadata"]["mail"] for k in kids)
    assert first["printed"] is True and second["printed"] is True
    assert first["pages"] == [1, 1]
    assert second["pages"] == [1, 2]
    assert first["from"]["address"] == "a.morgan@example.ac.uk"
    assert "marine sensors" in first["subject"]
    assert kids[0]["date"] == "2018-11-12T09:14:00Z"
    assert second["from"]["address"] == "guo@jsai.example.cn"
    assert second["to"][0]["address"] == "a.morgan@example.ac.uk"
    if exact:  # text, not OCR: every header exactly
        assert first["from"] == {"name": "Dr Alice Morgan", "address": "a.morgan@example.ac.uk"}
        assert first["to"] == [{"name": "郭教授", "address": "guo@jsai.example.cn"}]
        assert second["from"] == {"name": "郭教授", "address": "guo@jsai.example.cn"}
        assert second["subject"] == "合作研究协议"
        assert kids[1]["date"] == "2018-11-10T16:02:00Z"
        assert "海洋传感器项目" in kids[1]["pages"][0]["text"]
        # The printed Chinese message and the native reply to it are one thread.
        assert [m["id"] for m in thread_of(a, reply_id)] == [kids[1]["id"], reply_id]
    # Printed messages are found by the mail filters like native ones.
    res = a.search(
        SearchQuery(
            text="marine",
            filters={"sender": ["a.morgan@example.ac.uk"]},
            date_from="2018-11-12",
            date_to="2018-11-12",
        )
    )
    assert kids[0]["id"] in {h.doc_id for h in res.hits}
    res = a.search(
        SearchQuery(text="marine", filters={"sender": ["a.morgan@example.ac.uk"]}, date_from="2018-11-13")
    )
    assert kids[0]["id"] not in {h.doc_id for h in res.hits}


def test_printed_messages_are_email_documents(tmp_path, runner):
    from archive import Archive
    from archive.cli import cli

    chain = tmp_path / "chain.txt"
    chain.write_text(
        "Printed by the records office\n\n" + "\f".join("\n".join(p) for p in _chain_pages()),
        encoding="utf-8",
    )
    reply = tmp_path / "reply.eml"
    _native_reply(reply)
    with Archive(tmp_path / "archive") as a:
        report = a.ingest([chain, reply])
        doc = a.document(report.documents[0])
        reply_id = a.store.documents("filename='reply.eml'")[0]["id"]
        assert doc["kind"] == "text"
        assert len(doc["metadata"]["printed_messages"]) == 2
        _check_printed_children(a, doc, reply_id, exact=True)
        res = a.search(SearchQuery(text="海洋", filters={"recipient": ["a.morgan@example.ac.uk"]}))
        assert doc["children"][1]["id"] in {h.doc_id for h in res.hits}
        child_id = doc["children"][0]["id"]
    out = runner.invoke(
        cli, ["--archive", str(tmp_path / "archive"), "show", str(child_id)], catch_exceptions=False
    )
    assert "From: Dr Alice Morgan <a.morgan@example.ac.uk>" in out.output
    assert "Printed: page 1 of the parent document" in out.output
    assert f"parent: {doc['id']}" in out.output


SCANS = {
    "clean": {"noisy": False, "redact": None},
    "noisy": {"noisy": True, "redact": None},
    # Redaction boxes over the second half of body lines on page 1 and the signature on page 2.
    "redacted": {"noisy": False, "redact": [6, 7]},
}


@pytest.mark.tesseract
@pytest.mark.slow
@pytest.mark.parametrize("scan", list(SCANS))
def test_scanned_chain_through_pipeline(tmp_path, scan):
    from archive import Archive

    sys.path.insert(0, str(SAMPLES))
    try:
        import make_sample
    finally:
        sys.path.pop(0)
    pdf = tmp_path / "chain.pdf"
    opts = SCANS[scan]
    make_sample.save_pdf(
        [
            make_sample.render_page(p, seed=i, noisy=opts["noisy"], redact=opts["redact"])
            for i, p in enumerate(make_sample.EMAIL_CHAIN_PAGES)
        ],
        pdf,
    )
    reply = tmp_path / "reply.eml"
    _native_reply(reply)
    with Archive(tmp_path / "archive") as a:
        report = a.ingest([pdf, reply])
        doc = a.document(report.documents[0])
        reply_id = a.store.documents("filename='reply.eml'")[0]["id"]
        msgs = doc["metadata"]["printed_messages"]
        assert len(msgs) == 2
        assert "a.morgan@example.ac.uk" in msgs[0]["from"]
        assert "marine sensors" in msgs[0]["subject"]
        # The quoted message's Chinese labels may be garbled by OCR on an English page: the
        # "Original Message" separator still starts it, and it runs on to the Chinese page 2.
        assert msgs[1]["pages"] == [1, 2]
        assert doc["stages"]["printed_mail"]["status"] == "ok"
        _check_printed_children(a, doc, reply_id, exact=False)
