"""Translation with a real (tiny, copying) Argos package, installed from file, with no network."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from archive import Archive, SearchQuery
from archive.translate import (
    ArgosTranslator,
    TranslationCache,
    split_sentences,
    translate_text,
)

TOOLS = Path(__file__).resolve().parents[2] / "shared" / "tools"
CHINESE = "我们在军事基地附近讨论了海洋数据。江苏自动化研究所签署了协议！\nThe draft is attached."


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("argos") / "translate-zh_en-tiny.argosmodel"
    subprocess.run([sys.executable, str(TOOLS / "make_tiny_argos_package.py"), str(out)], check=True,
                   capture_output=True)
    return out


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield
    assert attempts == [], "the translation code tried to reach the network"


def test_sentences_are_split_by_chinese_and_english_punctuation():
    assert split_sentences(CHINESE) == [
        "我们在军事基地附近讨论了海洋数据。",
        "江苏自动化研究所签署了协议！",
        "The draft is attached.",
    ]
    assert split_sentences("第一句；第二句\n\nDr. Smith wrote. Then left") == [
        "第一句；", "第二句", "Dr.", "Smith wrote.", "Then left"]


def test_pending_then_install_from_file_and_backfill(foi, archive_dir, tmp_path, tiny_model):
    note = tmp_path / "note.txt"
    note.write_text(CHINESE, encoding="utf-8")
    doc_id = json.loads(foi("ingest", str(note), "--json").output)["documents"][0]
    page = json.loads(foi("show", str(doc_id), "--json").output)["pages"][0]
    assert page["translation_status"] == "pending" and page["translation"] is None
    assert "no translation models installed" in foi("models", "list").output

    assert "installed zh->en" in foi("models", "install", "--file", str(tiny_model)).output
    listed = json.loads(foi("models", "list", "--json").output)
    assert listed == [{"from": "zh", "to": "en", "version": "0.0.1", "name": "translate-zh_en-tiny"}]
    assert (archive_dir / "models" / "argos" / "packages" / "translate-zh_en-tiny").is_dir()

    assert "translated 1 pages in 1 documents" in foi("translate").output
    page = json.loads(foi("show", str(doc_id), "--json").output)["pages"][0]
    assert page["translation_status"] == "done"
    # The copy model returns its input, so the alignment is checked exactly; English stays as is.
    assert page["segments"] == [
        ["我们在军事基地附近讨论了海洋数据。", "我们在军事基地附近讨论了海洋数据。"],
        ["江苏自动化研究所签署了协议！", "江苏自动化研究所签署了协议！"],
        ["The draft is attached.", "The draft is attached."],
    ]
    hits = json.loads(foi("search", "协议", "--json").output)["hits"]
    assert set(hits[0]["matched_fields"]) == {"original", "translation"}


def test_ingest_translates_when_a_model_is_installed_and_caches(tmp_path, tiny_model, monkeypatch):
    from archive.translate import install_from_file

    root = tmp_path / "archive"
    install_from_file(root, tiny_model)
    calls: list[list[str]] = []
    original = ArgosTranslator.translate_segments

    def counting(self, segments):
        calls.append(list(segments))
        return original(self, segments)

    monkeypatch.setattr(ArgosTranslator, "translate_segments", counting)
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(CHINESE, encoding="utf-8")
    b.write_text("江苏自动化研究所签署了协议！\n另一个句子。", encoding="utf-8")
    with Archive(root) as archive:
        archive.ingest([a, b])
        pages = {d["filename"]: archive.document(d["id"])["pages"][0] for d in archive.store.documents()}
        assert pages["a.txt"]["translation_status"] == "done"
        assert pages["b.txt"]["segments"][1] == ["另一个句子。", "另一个句子。"]
        # Only Chinese sentences go to the model, and a sentence seen before comes from the cache.
        assert calls == [
            ["我们在军事基地附近讨论了海洋数据。", "江苏自动化研究所签署了协议！"],
            ["另一个句子。"],
        ]
        translator = ArgosTranslator(root)
        cache = TranslationCache(archive.store.db)
        assert translate_text("另一个句子。", translator, cache)[0] == "另一个句子。"
        assert len(calls) == 2
        assert archive.search(SearchQuery("句子", filters={"lang": ["zh"]})).total == 1


def test_model_install_rejects_bad_files(foi, tmp_path):
    bad = tmp_path / "bad.argosmodel"
    bad.write_bytes(b"not a zip")
    result = foi("models", "install", "--file", str(bad), ok=False)
    assert result.exit_code == 2 and "not a valid Argos package" in result.output
    assert foi("translate", ok=False).exit_code == 2
