"""E-mail (.eml, .mbox, .msg) from the corpus through the real pipeline: headers, bodies, charsets,
attachments and embedded messages as child documents, sender/recipient/date search filters."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import pytest

from archive import SearchQuery
from conftest import corpus_file

MAIL_FILES = [
    "email-eml/demisto_chinese_gb2312_encoding.eml",
    "email-eml/demisto_chinese_big5_encoding.eml",
    "email-eml/demisto_chinese_email_test.eml",
    "email-eml/alaveteli_no-part-charset-bad-utf8.eml",
    "email-eml/imap_tools_content_transfer_encoding_empty.eml",
    "email-eml/alaveteli_quoted-subject-iso8859-1.eml",
    "email-eml/alaveteli_rfc822-attachment.eml",
    "email-eml/alaveteli_multipart-no-final-boundary.eml",
    "email-mbox/tika_complex.mbox",
    "email-mbox/perceval_mbox_unknown_encoding.mbox",
    "email-mbox/perceval_mbox_iso8859_encoding.mbox",
    "email-msg/tika_testMSG_chinese.msg",
    "email-msg/tika_testMSG_att_msg.msg",
    "email-msg/demisto_msg_contains_eml.msg",
    "email-msg/demisto_Phishing_TEST.msg",
    "email-msg/ingest-file_fnf.msg",
]


def _make_simplified_msg(path: Path) -> None:
    sys.path.insert(0, "/work/shared/tools")
    try:
        from make_msg import make_msg
    finally:
        sys.path.pop(0)
    make_msg(
        str(path),
        "关于智慧海洋项目的合作",
        "我们希望测试数据科学研究所开发的软件。\r\nRegards",
        "李明",
        "liming@example.cn",
        [("数据科学研究所", "dsi@example.ac.uk")],
        datetime.datetime(2018, 11, 13, 10, 42, tzinfo=datetime.UTC),
        attachment=("合同.txt", "协议全文".encode()),
    )


@pytest.fixture(scope="module")
def mail_archive(tmp_path_factory):
    from archive import Archive

    root = tmp_path_factory.mktemp("mail-archive")
    extra = tmp_path_factory.mktemp("mail-extra") / "simplified.msg"
    _make_simplified_msg(extra)
    with Archive(root) as a:
        report = a.ingest([corpus_file(rel) for rel in MAIL_FILES] + [extra], collection="mail")
        yield a, report


def _doc(archive, filename: str) -> dict:
    docs = archive.store.documents("filename=?", (filename,))
    assert docs, f"no document named {filename}"
    return archive.document(docs[0]["id"])


def _child(archive, parent: dict, filename: str) -> dict:
    for c in parent["children"]:
        if c["filename"] == filename:
            return archive.document(c["id"])
    raise AssertionError(f"{filename} not among {[c['filename'] for c in parent['children']]}")


def test_nothing_failed(mail_archive):
    _, report = mail_archive
    assert report.failed.get("extract", 0) == 0, report.failures


@pytest.mark.parametrize(
    "filename, subject, sender, date, body",
    [
        (
            "demisto_chinese_gb2312_encoding.eml",
            "Greeting in Chinese",
            "sender@example.com",
            "2023-03-06T17:47:06Z",
            "你好，我是程序员，很高兴认识你",
        ),
        ("demisto_chinese_big5_encoding.eml", "Hello from China", "sender@example.com", None, "圖形碼"),
        (
            "demisto_chinese_email_test.eml",
            "示例邮件",
            "test@test.com",
            "2019-01-23T17:55:56Z",
            "这是一个示例邮件",
        ),
        (
            "alaveteli_multipart-no-final-boundary.eml",
            "an acknowledgement email",
            "foo@bar",
            "2012-09-13T09:08:03Z",
            "",
        ),
        (
            "ingest-file_fnf.msg",
            "Innovationskongress 2017 - Do., 29. Juni - 09 Uhr",
            "noreply@freiheit.org",
            "2017-06-06T15:24:50Z",
            "",
        ),
    ],
)
def test_eml_headers_and_body(mail_archive, filename, subject, sender, date, body):
    archive, _ = mail_archive
    doc = _doc(archive, filename)
    assert doc["kind"] == "email"
    assert doc["title"] == subject
    mail = doc["metadata"]["mail"]
    assert mail["from"]["address"] == sender
    assert doc["date"] == date
    text = doc["pages"][0]["text"]
    assert text.startswith("From: ")
    assert f"Subject: {subject}" in text
    assert body in text


def test_fnf_msg_is_read_as_rfc822(mail_archive):
    archive, _ = mail_archive
    doc = _doc(archive, "ingest-file_fnf.msg")
    assert doc["mime"] == "message/rfc822"
    assert doc["kind"] == "email"
    assert doc["stages"]["extract"]["status"] == "ok"
    assert doc["metadata"]["mail"]["from"]["name"] == "Friedrich-Naumann-Stiftung für die Freiheit"


def test_undeclared_gb2312_body_and_encoded_headers(mail_archive):
    archive, _ = mail_archive
    doc = _doc(archive, "alaveteli_no-part-charset-bad-utf8.eml")
    assert doc["title"] == "任乐松"
    assert doc["metadata"]["mail"]["from"]["name"] == "温Jian Bing"


def test_double_encoded_big5_subject_repaired(mail_archive):
    archive, _ = mail_archive
    doc = _doc(archive, "imap_tools_content_transfer_encoding_empty.eml")
    assert "大家說英語" in doc["title"]
    assert "繁體中文光碟版" in doc["title"]


def test_latin1_words_not_mistaken_for_mojibake(mail_archive):
    archive, _ = mail_archive
    doc = _doc(archive, "alaveteli_quoted-subject-iso8859-1.eml")
    assert doc["title"].startswith("Câmara Responde")
    assert doc["metadata"]["mail"]["from"]["name"].startswith("Coordenação de Relacionamento")


def test_rfc822_attachment_is_a_child_email(mail_archive):
    archive, _ = mail_archive
    doc = _doc(archive, "alaveteli_rfc822-attachment.eml")
    assert doc["metadata"]["mail"]["from"]["address"] == "foi.officer@example.com"
    assert len(doc["children"]) == 1
    child = archive.document(doc["children"][0]["id"])
    assert child["kind"] == "email"
    assert child["filename"].endswith(".eml")
    assert child["parent_id"] == doc["id"]


def test_mbox_split_into_messages(mail_archive):
    archive, _ = mail_archive
    box = _doc(archive, "tika_complex.mbox")
    assert box["metadata"]["mbox"]["messages"] == 3
    assert len(box["children"]) == 3
    senders = []
    for c in box["children"]:
        msg = archive.document(c["id"])
        assert msg["kind"] == "email"
        assert msg["title"] == "Re: question about when shuffle/sort start working"
        senders.append(msg["metadata"]["mail"]["from"]["address"])
    assert senders == ["jothipn@yahoo-inc.com", "jianmin_woo@yahoo.com", "jothipn@yahoo-inc.com"]


def test_mbox_separator_with_non_ascii_byte(mail_archive):
    archive, _ = mail_archive
    box = _doc(archive, "perceval_mbox_iso8859_encoding.mbox")
    assert len(box["children"]) == 1
    msg = archive.document(box["children"][0]["id"])
    assert msg["title"] == "[ovs-dev] Remittance Advice"


def test_double_encoded_gbk_display_name(mail_archive):
    archive, _ = mail_archive
    box = _doc(archive, "perceval_mbox_unknown_encoding.mbox")
    msg = archive.document(box["children"][0]["id"])
    assert msg["metadata"]["mail"]["from"]["name"] == "袁聪"
    assert msg["metadata"]["mail"]["from"]["address"] == "yuancong@example.com"


def test_msg_non_unicode_big5(mail_archive):
    archive, _ = mail_archive
    doc = _doc(archive, "tika_testMSG_chinese.msg")
    assert doc["title"] == "Alfresco MSG format testing ( MSG 格式測試 )"
    assert "中文測試" in doc["pages"][0]["text"]
    # MANIFEST: sender address found although the .msg stores an Exchange DN for the sender.
    assert doc["metadata"]["mail"]["from"] == {
        "name": "Tests Chang@FT (張毓倫)",
        "address": "tests.chang@fengttt.com",
    }
    assert doc["date"].startswith("2011-03-29")
    text = doc["pages"][0]["text"]
    assert "Search word testing by Lydia" in text
    assert "豐泰產業工會" in text


def test_msg_embedded_message_and_pdf_children(mail_archive):
    archive, _ = mail_archive
    doc = _doc(archive, "tika_testMSG_att_msg.msg")
    assert doc["metadata"]["mail"]["from"] == {"name": "Nick Booth", "address": "nick.booth@pof.com.au"}
    names = sorted(c["filename"] for c in doc["children"])
    assert names == ["Test Attachment.msg", "smbprn.00009008.KdcPjl.pdf"]
    inner = _child(archive, doc, "Test Attachment.msg")
    assert inner["kind"] == "email"
    assert inner["title"] == "Test Attachment"
    pdf = _child(archive, doc, "smbprn.00009008.KdcPjl.pdf")
    assert pdf["kind"] == "pdf"


def test_msg_with_eml_attachment(mail_archive):
    archive, _ = mail_archive
    doc = _doc(archive, "demisto_msg_contains_eml.msg")
    assert doc["title"] == "Fwd: test - inner attachment eml (base64)"
    assert doc["metadata"]["mail"]["from"]["address"] == "koko@demisto.com"
    assert "DONT REPLY - TEST EMAIL" in doc["pages"][0]["text"]
    inner = _child(archive, doc, "message.eml")
    assert inner["kind"] == "email"


def test_msg_russian(mail_archive):
    archive, _ = mail_archive
    doc = _doc(archive, "demisto_Phishing_TEST.msg")
    assert doc["title"] == "Опрос_Тестирование_Фишинг"
    assert doc["metadata"]["mail"]["from"]["name"] == "Юрий А. Леонов"
    assert doc["date"].startswith("2021-03-15")
    assert "Уважаемые коллеги" in doc["pages"][0]["text"]


def test_simplified_chinese_msg(mail_archive):
    archive, _ = mail_archive
    doc = _doc(archive, "simplified.msg")
    assert doc["title"] == "关于智慧海洋项目的合作"
    mail = doc["metadata"]["mail"]
    assert mail["from"]["name"] == "李明"
    assert mail["to"][0]["address"] == "dsi@example.ac.uk"
    assert doc["date"] == "2018-11-13T10:42:00Z"
    assert "数据科学研究所开发的软件" in doc["pages"][0]["text"]
    att = _child(archive, doc, "合同.txt")
    assert "协议全文" in att["pages"][0]["text"]


def test_search_filters_by_sender_recipient_and_date(mail_archive):
    archive, _ = mail_archive
    res = archive.search(SearchQuery(text="shuffle", filters={"sender": ["jianmin_woo@yahoo.com"]}))
    assert res.total == 1
    assert res.hits[0].title == "Re: question about when shuffle/sort start working"
    res = archive.search(SearchQuery(text="海洋", filters={"recipient": ["dsi@example.ac.uk"]}))
    assert [h.title for h in res.hits] == ["关于智慧海洋项目的合作"]
    res = archive.search(SearchQuery(text="海洋", filters={"sender": ["nobody@example.com"]}))
    assert res.total == 0


def test_cli_search_and_show(mail_archive, runner):
    from archive.cli import cli

    archive, _ = mail_archive
    root = str(archive.root)
    out = runner.invoke(
        cli,
        [
            "--archive",
            root,
            "search",
            "shuffle",
            "--sender",
            "jothipn@yahoo-inc.com",
            "--from",
            "2008-01-01",
            "--json",
        ],
        catch_exceptions=False,
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["total"] == 2
    out = runner.invoke(cli, ["--archive", root, "search", "shuffle", "--to", "2000-01-01", "--json"])
    assert json.loads(out.output)["total"] == 0
    doc = _doc(archive, "tika_testMSG_att_msg.msg")
    out = runner.invoke(cli, ["--archive", root, "show", str(doc["id"]), "--json"], catch_exceptions=False)
    shown = json.loads(out.output)
    assert sorted(c["filename"] for c in shown["children"]) == [
        "Test Attachment.msg",
        "smbprn.00009008.KdcPjl.pdf",
    ]


def test_threads_by_headers_and_subject(mail_archive, runner):
    from archive.cli import cli
    from archive.threads import normalize_subject

    archive, _ = mail_archive
    assert normalize_subject("答复：回复: Re: [list] Hello  World") == "hello world"
    box = _doc(archive, "tika_complex.mbox")
    ids = [c["id"] for c in box["children"]]
    infos = [archive.document(i)["metadata"]["mail"]["thread"] for i in ids]
    assert {t["id"] for t in infos} == {min(ids)}
    assert sorted(t["position"] for t in infos) == [1, 2, 3]
    assert all(t["size"] == 3 for t in infos)
    # An unrelated message stays alone.
    single = _doc(archive, "demisto_chinese_gb2312_encoding.eml")["metadata"]["mail"]["thread"]
    assert single["size"] == 1
    out = runner.invoke(
        cli, ["--archive", str(archive.root), "thread", str(ids[1]), "--json"], catch_exceptions=False
    )
    data = json.loads(out.output)
    assert data["size"] == 3
    assert [m["from"]["address"] for m in data["messages"]].count("jothipn@yahoo-inc.com") == 2
    assert [m["position"] for m in data["messages"]] == [1, 2, 3]
    out = runner.invoke(cli, ["--archive", str(archive.root), "thread", str(ids[1])], catch_exceptions=False)
    assert "Thread" in out.output and "Jianmin Woo" in out.output
    out = runner.invoke(cli, ["--archive", str(archive.root), "show", str(ids[0])], catch_exceptions=False)
    assert f"thread: {min(ids)} (message" in out.output


def test_subject_fallback_threads_need_a_shared_participant():
    from archive.threads import group_threads

    def doc(i, subject, sender, to, date):
        mail = {
            "subject": subject,
            "from": {"name": "", "address": sender},
            "to": [{"name": "", "address": to}],
            "cc": [],
            "message_id": None,
            "references": [],
        }
        return {"id": i, "date": date, "metadata": {"mail": mail}}

    docs = [
        doc(1, "合作研究协议", "guo@jsai.example.cn", "a.morgan@example.ac.uk", "2018-11-10T08:02:00Z"),
        doc(2, "答复: 合作研究协议", "a.morgan@example.ac.uk", "guo@jsai.example.cn", "2018-11-12T09:14:00Z"),
        doc(3, "RE: 合作研究协议", "someone@else.org", "other@else.org", "2018-11-13T09:14:00Z"),
    ]
    threads = sorted(group_threads(docs), key=len)
    assert [[d["id"] for d in t] for t in threads] == [[3], [1, 2]]


# -- more corpus files, asserting the facts MANIFEST.tsv gives -------------------------------------

MORE_FILES = [
    "email-eml/alaveteli_apple-mail-with-attachments.eml",
    "email-eml/alaveteli_incoming-request-pdf-attachment.eml",
    "email-eml/alaveteli_iso8859_2_raw_email.eml",
    "email-eml/alaveteli_many-attachments-date-header.eml",
    "email-eml/alaveteli_incoming-request-tnef-attachments.eml",
    "email-eml/tika_testRFC822-mixed-with-pdf-inline",
    "email-eml/demisto_containing_corrupted_eml.eml",
    "email-mbox/perceval_pipermail_2015_november.mbox",
    "email-mbox/perceval_mbox_multipart.mbox",
    "email-mbox/ingest-file_plan.mbox",
    "email-msg/demisto_msg_with_null_characters_in_ascii_decode.msg",
    "email-msg/tika_testMSG_att_doc.msg",
    "email-msg/demisto_utf_subject.msg",
    "email-msg/ingest-file_piste.msg",
    "email-msg/tika_test-outlook2003.msg",
    "email-eml/alaveteli_russian.eml",
]


@pytest.fixture(scope="module")
def more_mail(tmp_path_factory):
    from archive import Archive

    root = tmp_path_factory.mktemp("more-mail")
    with Archive(root) as a:
        report = a.ingest([corpus_file(rel) for rel in MORE_FILES], collection="more")
        yield a, report


def _all_text(doc: dict) -> str:
    return "\n".join(p["text"] for p in doc["pages"])


@pytest.mark.parametrize(
    "filename, sender, subject, date",
    [
        (
            "alaveteli_apple-mail-with-attachments.eml",
            {"name": "Ben Fairless", "address": "ben@righttoknow.org.au"},
            "Re: Freedom of Information request - Quick Request",
            "2014-04-14T06:25:09Z",  # Mon, 14 Apr 2014 15:55:09 +0930
        ),
        ("alaveteli_incoming-request-pdf-attachment.eml", None, "Hello", "2012-01-08T09:16:15Z"),
        (
            "alaveteli_iso8859_2_raw_email.eml",
            None,
            "RE: Freedom of Information request - Sasia e pulave të importuara gjatë vitit 2010",
            "2011-09-30T09:06:39Z",
        ),
        (
            "alaveteli_many-attachments-date-header.eml",
            None,
            "Fwd: Re: Freedom of Information request",
            "2010-04-14T10:22:47Z",
        ),
        (
            "alaveteli_incoming-request-tnef-attachments.eml",
            {"name": "", "address": "public@authority.gov.uk"},
            "Example of message with TNEF attachment",
            None,
        ),
        (
            "tika_testRFC822-mixed-with-pdf-inline",
            {"name": "John Smith", "address": "john.smith@domain.com"},
            'Re: Jane Doe Has Invited You to Team "Jane" at RealtimeBoard',
            "2017-05-29T23:55:27Z",
        ),
        ("demisto_containing_corrupted_eml.eml", None, "Non-Delivery Report", "2025-05-16T19:49:59Z"),
        (
            "demisto_msg_with_null_characters_in_ascii_decode.msg",
            {"name": "ZIEMSKI, Michal", "address": "michal.ziemski@wipo.int"},
            "RE: Test email for readpst and msg-extractor utility",
            "2019-02-19",
        ),
        (
            "ingest-file_piste.msg",
            {"name": "GMX Magazin", "address": "mailings@gmxnet.de"},
            "Ab auf die Piste!",
            "2010-11-28",
        ),
        (
            "demisto_utf_subject.msg",
            None,
            "[TESTING] 🔒 ✔ Votre colis est disponible chez votre commerçant Pickup !",
            None,
        ),
        ("tika_testMSG_att_doc.msg", None, "test pièce jointe 1", None),
        ("tika_test-outlook2003.msg", None, "Welcome to Microsoft Office Outlook 2003", None),
    ],
)
def test_manifest_headers(more_mail, filename, sender, subject, date):
    archive, _ = more_mail
    doc = _doc(archive, filename)
    assert doc["kind"] == "email"
    mail = doc["metadata"]["mail"]
    assert mail["subject"] == subject
    assert "\x00" not in json.dumps(mail)
    if sender is not None:
        assert mail["from"] == sender
    if date is not None:
        assert doc["date"].startswith(date)


def test_more_mail_no_mail_extraction_failed(more_mail):
    archive, report = more_mail
    # Word/Excel attachments have no extractor in this build, a macOS resource fork named .pdf is
    # no PDF, and MANIFEST says many-attachments' payloads are truncated: the only failures allowed.
    assert report.failures
    for f in report.failures:
        assert (
            f["path"].lower().endswith((".doc", ".xls"))
            or f["path"].startswith("__MACOSX/")
            or f["path"].split("#")[0] in {"image001.gif", "Information Pack.pdf"}
        ), f
    assert all(f["path"] != "alaveteli_many-attachments-date-header.eml" for f in report.failures)


def test_apple_mail_attachments_and_zip(more_mail):
    archive, _ = more_mail
    doc = _doc(archive, "alaveteli_apple-mail-with-attachments.eml")
    names = sorted(c["filename"] for c in doc["children"])
    assert names == ["2013-040 Decision.pdf", "2013-040 Decision.pdf.zip", "FOI Review Rights.pdf"]
    decision = _child(archive, doc, "2013-040 Decision.pdf")
    assert decision["page_count"] == 8
    assert "2013-040" in _all_text(decision)
    review = _child(archive, doc, "FOI Review Rights.pdf")
    assert review["page_count"] == 1
    zipped = _child(archive, doc, "2013-040 Decision.pdf.zip")
    assert zipped["kind"] == "archive"
    assert sorted(c["filename"] for c in zipped["children"]) == [
        "2013-040 Decision.pdf",
        "__MACOSX/._2013-040 Decision.pdf",
    ]


def test_pdf_attachment_text_is_found(more_mail):
    archive, _ = more_mail
    doc = _doc(archive, "alaveteli_incoming-request-pdf-attachment.eml")
    assert "PDF attachment enclosed." in doc["pages"][0]["text"]
    assert [c["filename"] for c in doc["children"]] == ["fs_50379341.pdf"]
    pdf = _child(archive, doc, "fs_50379341.pdf")
    assert pdf["page_count"] == 5
    text = _all_text(pdf)
    for phrase in ("FS50379341", "Decision notice", "Walberswick Parish Council", "10 November 2011"):
        assert phrase in text
    res = archive.search(SearchQuery(text="Walberswick"))
    assert pdf["id"] in {h.doc_id for h in res.hits}


def test_iso8859_2_body(more_mail):
    archive, _ = more_mail
    text = _doc(archive, "alaveteli_iso8859_2_raw_email.eml")["pages"][0]["text"]
    assert "I nderuari Besnik" in text
    assert "3,500,000" in text


def test_many_attachments_names(more_mail):
    archive, _ = more_mail
    doc = _doc(archive, "alaveteli_many-attachments-date-header.eml")

    def names(d: dict) -> list[str]:
        out = []
        for c in d["children"]:
            out.append(c["filename"].split("#")[0])
            out += names(c)
        return out

    found = names(doc)
    for name in (
        "participant list.xls",
        "Participant List.doc",
        "Information & Booking Form.doc",
        "Information Pack.pdf",
    ):
        assert name in found
    assert found.count("image001.gif") == 3


def test_tnef_attachments_unpacked(more_mail):
    archive, _ = more_mail
    doc = _doc(archive, "alaveteli_incoming-request-tnef-attachments.eml")
    assert doc["metadata"]["mail"]["to"][0]["address"] == "request@whatdotheyknow.com"
    assert "Message body" in doc["pages"][0]["text"]
    names = sorted(c["filename"] for c in doc["children"])
    # MANIFEST (from alaveteli's specs, which normalise names) writes "FOI 09 02976i.doc".
    assert [n.replace("-", " ") for n in names] == ["FOI 09 02976i.doc", "FOI 09 02976iii.doc"]
    assert all(c["filename"] != "winmail.dat" for c in doc["children"])


def test_pdf_inline_attachment(more_mail):
    archive, _ = more_mail
    doc = _doc(archive, "tika_testRFC822-mixed-with-pdf-inline")
    assert "Attachment in middle" in doc["pages"][0]["text"]
    # The corpus copy of the PDF part is empty: recorded, not made into a document.
    assert doc["children"] == []
    assert any(
        "tzora-titan-4-hummer-xl-manual.pdf" in w and "empty" in w for w in doc["metadata"]["warnings"]
    )


def test_corrupted_embedded_eml(more_mail):
    archive, _ = more_mail
    doc = _doc(archive, "demisto_containing_corrupted_eml.eml")
    assert [c["filename"] for c in doc["children"]] == ["original_message.eml"]


def test_mbox_manifest_facts(more_mail):
    archive, _ = more_mail
    pipermail = _doc(archive, "perceval_pipermail_2015_november.mbox")
    msgs = [archive.document(c["id"]) for c in pipermail["children"]]
    assert len(msgs) == 4
    assert {m["metadata"]["mail"]["subject"] for m in msgs} == {
        "[Metrics-grimoire] Docker and MetricsGrimoire"
    }
    # "andy at example.com (Andy Grunwald)": the obfuscated address is read back.
    assert msgs[0]["metadata"]["mail"]["from"] == {"name": "Andy Grunwald", "address": "andy@example.com"}
    assert msgs[0]["date"] == "2015-11-14T20:29:28Z"
    assert {m["metadata"]["mail"]["thread"]["id"] for m in msgs} == {min(m["id"] for m in msgs)}

    multipart = _doc(archive, "perceval_mbox_multipart.mbox")
    msgs = [archive.document(c["id"]) for c in multipart["children"]]
    assert [(m["title"], m["date"]) for m in msgs] == [
        ("[esl-dev] Committer vote for Chuwei Huang has concluded successfully", "2009-11-12T02:29:24Z"),
        ("[platform-dev] Removing standard menus and toolbar icons", "2003-01-29T23:02:30Z"),
    ]

    plan = _doc(archive, "ingest-file_plan.mbox")
    assert len(plan["children"]) == 1
    msg = archive.document(plan["children"][0]["id"])
    assert msg["metadata"]["mail"]["from"] == {
        "name": "Dzmitry Lahoda",
        "address": "dzmitry.lahoda@gmail.com",
    }
    assert msg["title"] == "Re: Our friends has a good plan"
    assert msg["date"] == "2017-02-21T06:55:09Z"


def test_msg_manifest_facts(more_mail):
    archive, _ = more_mail
    nul = _doc(archive, "demisto_msg_with_null_characters_in_ascii_decode.msg")
    # The recipient is stored as an Exchange DN; its SMTP address is found elsewhere in the message.
    assert nul["metadata"]["mail"]["to"] == [{"name": "DEWAN, Akshat", "address": "akshat.dewan@wipo.int"}]
    assert "From: DEWAN, Akshat" in nul["pages"][0]["text"]
    doc = _doc(archive, "tika_testMSG_att_doc.msg")
    assert [a["address"] for a in doc["metadata"]["mail"]["to"]] == ["nicolas1.23456@free.fr"]
    assert "contenu" in doc["pages"][0]["text"]
    assert sorted(c["filename"] for c in doc["children"]) == ["pj1.txt", "test-unicode.doc"]
    utf = _doc(archive, "demisto_utf_subject.msg")
    assert [a["address"] for a in utf["metadata"]["mail"]["to"]] == ["test.dude@demisto.com"]
    assert "This is a test email." in utf["pages"][0]["text"]
    piste = _doc(archive, "ingest-file_piste.msg")
    assert "Ausgabe: 47/2010" in piste["pages"][0]["text"]
    welcome = _doc(archive, "tika_test-outlook2003.msg")
    assert welcome["metadata"]["mail"]["from"]["name"] == "Microsoft Outlook 2003 Team"
    names = sorted(c["filename"] for c in welcome["children"])
    assert names == sorted(f"{i}.jpg" for i in range(1, 13) if i != 11)


def test_cyrillic_body_stored_as_double_mojibake_is_repaired(more_mail):
    archive, _ = more_mail
    doc = _doc(archive, "alaveteli_russian.eml")
    assert doc["title"] == "Re: Ваш сайт"
    assert doc["metadata"]["mail"]["from"]["address"] == "xx@xx.com"
    text = _all_text(doc)
    # MANIFEST: a naive decode starts "ÃÂ£ÃÂ²ÃÂ°"; one of its no-break spaces was lost too (Р = D0 A0).
    assert "\nУважаемая Оксана Позднякова,\n" in text and "РосОтвет" in text
    assert "Ã" not in text and doc["pages"][0]["lang"] == "ru"


def test_mojibake_repair_leaves_real_accents_alone():
    from archive.extractors.mail import repair_utf8_mojibake

    for text in ("Café crème brûlée, naïve façade — Müller Straße", "Ã is a letter; Â too", "日本語 ÃÂ"):
        assert repair_utf8_mojibake(text) == text
    assert repair_utf8_mojibake("rÃ©sumÃ© franÃ§ais Ã©tÃ©") == "résumé français été"
