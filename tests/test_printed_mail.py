"""Printed e-mail chains: header blocks split page text into messages (text, then a real OCR'd scan)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from archive.printed_mail import split_messages

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


@pytest.mark.tesseract
@pytest.mark.slow
def test_scanned_chain_through_pipeline(tmp_path):
    from archive import Archive

    sys.path.insert(0, str(SAMPLES))
    try:
        import make_sample
    finally:
        sys.path.pop(0)
    pdf = tmp_path / "chain.pdf"
    make_sample.save_pdf(
        [make_sample.render_page(p, seed=i) for i, p in enumerate(make_sample.EMAIL_CHAIN_PAGES)], pdf
    )
    with Archive(tmp_path / "archive") as a:
        report = a.ingest([pdf])
        doc = a.document(report.documents[0])
    msgs = doc["metadata"]["printed_messages"]
    assert len(msgs) == 2
    assert "a.morgan@example.ac.uk" in msgs[0]["from"]
    assert "marine sensors" in msgs[0]["subject"]
    # The quoted message's Chinese labels may be garbled by OCR on an English page: the
    # "Original Message" separator still starts it, and it runs on to the Chinese page 2.
    assert msgs[1]["pages"] == [1, 2]
    assert doc["stages"]["printed_mail"]["status"] == "ok"
