"""Sentences longer than the model can take (issue #20): split at clause punctuation, then by
length, translated in parts with the tiny copy model; a sentence the model still fails on is
recorded on its page and never stops the run."""

from __future__ import annotations

import pytest

from archive import Archive
from archive.translate import ArgosTranslator, backfill, install_from_file
from archive.translate.engine import split_long

CLAUSE = "江苏自动化研究所签署了协议"


def test_split_long_cuts_after_clause_punctuation_then_by_length():
    def fits(s: str) -> bool:
        return len(s) <= 10

    assert split_long("短句。", fits) == ["短句。"]
    # Clauses are joined back while they fit, cut after ，；, never inside a clause that fits.
    assert split_long("甲乙丙，丁戊己；庚辛壬癸，子丑", fits) == ["甲乙丙，丁戊己；", "庚辛壬癸，子丑"]
    # A clause with no punctuation is cut by length (at a space when there is one).
    assert split_long("x" * 25, fits) == ["x" * 6, "x" * 6, "x" * 6, "x" * 7]
    assert split_long("alpha beta gamma delta", fits) == ["alpha ", "beta ", "gamma ", "delta"]
    for text in ("，".join([CLAUSE] * 9), "y" * 101, "a, b; c: d（e）f" * 5):
        parts = split_long(text, fits)
        assert "".join(parts) == text and all(fits(p) for p in parts)


@pytest.fixture
def translator(tmp_path, tiny_model):
    root = tmp_path / "archive"
    root.mkdir()
    install_from_file(root, tiny_model)
    t = ArgosTranslator(root)
    assert t.available()
    return t


def test_a_sentence_over_the_limit_is_translated_in_parts(translator, monkeypatch):
    # A lower limit than the model's 512 positions keeps the test fast; the cut is the same.
    translator.max_source_tokens = 40
    sentence = "，".join([CLAUSE] * 12) + "。"
    translator._load()
    assert len(translator._sp.encode(sentence)) > 40
    sent: list[list[str]] = []
    batch = translator._translate_batch
    monkeypatch.setattr(
        translator, "_translate_batch", lambda parts: sent.append(list(parts)) or batch(parts)
    )
    [english] = translator.translate_segments([sentence, "短句。"])[:1]
    # The copy model gives each part back: joined, the parts are the whole sentence.
    assert english.replace(" ", "") == sentence and " " in english
    assert len(sent) == 1 and len(sent[0]) > 3 and all(len(translator._sp.encode(p)) <= 40 for p in sent[0])
    assert sent[0][-1] == "短句。" and translator.failures == {}


def test_one_bad_sentence_is_recorded_on_its_page_and_the_run_goes_on(tmp_path, tiny_model):
    # Characters outside the tiny model's vocabulary cost three byte tokens each: 300 of them,
    # with no punctuation to cut at, are more than the model's 512 positions. Told it may take
    # any length, the translator sends it whole and the model fails on it, as a real model did.
    bad = "鑫" * 300
    files = []
    for i, text in enumerate((f"{CLAUSE}。{bad}。\n第二句。", f"{CLAUSE}。第三句。")):
        path = tmp_path / f"page{i}.txt"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    with Archive(tmp_path / "archive") as archive:
        archive.ingest(files)
        install_from_file(archive.root, tiny_model)
        translator = ArgosTranslator(archive.root)
        translator.max_source_tokens = 100_000
        assert backfill(archive, translator=translator) == {"pages": 2, "documents": 2}
        pages = [archive.document(d["id"])["pages"][0] for d in archive.store.documents()]
        first, second = pages if "鑫" in pages[0]["text"] else pages[::-1]
        assert first["translation_status"] == second["translation_status"] == "done"
        assert [CLAUSE + "。", CLAUSE + "。"] in first["segments"] and [bad + "。", ""] in first["segments"]
        errors = first["meta"]["translation_errors"]
        assert len(errors) == 1 and errors[0]["sentence"].startswith("鑫" * 50)
        assert "position" in errors[0]["reason"]
        assert "translation_errors" not in second["meta"] and ["第三句。", "第三句。"] in second["segments"]
        # The failed sentence is not cached: a later run tries it again.
        cached = archive.store.db.execute("SELECT count(*) FROM translation_cache").fetchone()[0]
        assert cached == 3  # the clause, 第二句 and 第三句, not the bad one
