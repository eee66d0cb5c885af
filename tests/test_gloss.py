"""Dictionary glosses (real CC-CEDICT) and English queries that find Chinese pages offline."""

from __future__ import annotations

from archive import SearchQuery
from archive.gloss import first_sense, gloss_text, load_dictionary

CHINESE = "我们在军事基地附近讨论了海洋数据。\n江苏自动化研究所签署了协议。"


def test_dictionary_keeps_every_entry_per_headword():
    table = load_dictionary()
    assert len(table) > 100_000
    assert len(table["了"]) >= 2  # le and liao are separate entries
    assert first_sense(table["基地"]) == "base"
    assert first_sense(table["军事基地"]) == "military base"
    assert table["軍事"] == table["军事"]  # traditional headwords too


def test_gloss_of_a_page_with_word_positions():
    gloss, words = gloss_text(CHINESE)
    assert "military base" in gloss and "ocean" in gloss and "agreement" in gloss
    by_word = {w[0]: w for w in words}
    word, start, end, pinyin, definition = by_word["海洋"]
    assert CHINESE[start:end] == "海洋" and pinyin == "hai3 yang2" and "ocean" in definition
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in gloss)


def test_english_query_finds_chinese_page_through_the_gloss(archive, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text(CHINESE, encoding="utf-8")
    english = tmp_path / "letter.txt"
    english.write_text("The ocean survey letter was signed in London by the university.", encoding="utf-8")
    archive.ingest([note, english])
    doc = archive.store.documents("filename='note.txt'")[0]
    page = archive.document(doc["id"])["pages"][0]
    assert "military base" in page["gloss"]
    assert any(w[0] == "军事基地" for w in page["meta"]["gloss_words"])

    hits = archive.search(SearchQuery('"military base"')).hits
    assert [h.filename for h in hits] == ["note.txt"]
    assert hits[0].matched == ["gloss"] and hits[0].lang == "zh-Hans"
    both = archive.search(SearchQuery("ocean")).hits
    assert {h.filename for h in both} == {"note.txt", "letter.txt"}
    zh_only = archive.search(SearchQuery("ocean", filters={"lang": ["zh"]})).hits
    assert [h.filename for h in zh_only] == ["note.txt"]
    # The Chinese query still finds the original text.
    assert archive.search(SearchQuery("基地")).hits[0].matched == ["original"]


def test_chinese_inside_an_english_page_is_glossed(archive, tmp_path):
    memo = tmp_path / "memo.txt"
    text = (
        "Dear Alice, the 海洋 survey is costed separately and the budget for next year is attached. "
        "Please see the note on 军事基地 access, which the board approved in March."
    )
    memo.write_text(text, encoding="utf-8")
    archive.ingest([memo])
    doc = archive.store.documents()[0]
    page = archive.document(doc["id"])["pages"][0]
    assert page["lang"] == "en"
    assert "ocean" in page["gloss"] and "military base" in page["gloss"]
    spans = {w[0]: (w[1], w[2]) for w in page["meta"]["gloss_words"]}
    assert text[slice(*spans["海洋"])] == "海洋" and text[slice(*spans["军事基地"])] == "军事基地"
    assert archive.store.stages(doc["id"])["gloss"]["status"] == "ok"
    hits = archive.search(SearchQuery('"military base"')).hits
    assert [h.filename for h in hits] == ["memo.txt"] and hits[0].matched == ["gloss"]


def test_gloss_step_skips_pages_without_chinese(archive, tmp_path):
    letter = tmp_path / "letter.txt"
    letter.write_text("An English letter with no Chinese in it.", encoding="utf-8")
    archive.ingest([letter])
    doc = archive.store.documents()[0]
    stage = archive.store.stages(doc["id"])["gloss"]
    assert (stage["status"], stage["reason"]) == ("skipped", "no Chinese text")
    assert archive.document(doc["id"])["pages"][0]["gloss"] is None


def test_dictionary_parses_lines_on_lookup_and_skips_malformed_ones():
    from archive.gloss import Dictionary, Entry

    table = Dictionary(
        [
            "# CC-CEDICT header",
            "海洋 海洋 [hai3 yang2] /ocean/CL:個|个[ge4]/",
            "軍事 军事 [jun1 shi4] /military affairs/",
            "軍事 军事 [jun1 shi4] broken: no slashes",
            "坏 坏 [",
            "残",
        ]
    )
    assert len(table) == 3 and "軍事" in table and "军事" in table and "海" not in table and "坏" not in table
    assert table["军事"] == [Entry("軍事", "军事", "jun1 shi4", ("military affairs",))]
    assert table["軍事"][0] is table["军事"][0]  # one entry under both headwords
    assert table.headwords == [("海洋", "海洋"), ("軍事", "军事")]
    assert dict(table.items()) == {"海洋": table["海洋"], "軍事": table["軍事"], "军事": table["军事"]}


def test_traditional_forms_map_to_their_standard_simplified_ones():
    from archive.entities.watchlist import traditional_to_simplified

    t2s = traditional_to_simplified()
    # Taken in dictionary order: the first entry that writes a character decides it.
    assert (t2s["國"], t2s["鏇"], t2s["讎"]) == ("国", "镟", "雠")
    assert "后" not in t2s and "发" not in t2s  # Simplified forms are never converted
