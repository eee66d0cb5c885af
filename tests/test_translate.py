"""Translation with a real (tiny, copying) Argos package, installed from file or from a local
package index, with no network."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from archive import Archive, SearchQuery
from archive.models import PageResult
from archive.translate import (
    NO_MODEL,
    ArgosTranslator,
    TranslateStep,
    TranslationCache,
    TranslationError,
    backfill,
    install_from_index,
    pending_count,
    split_sentences,
    translate_text,
)

ROOT = Path(__file__).resolve().parents[1]
CHINESE = "我们在军事基地附近讨论了海洋数据。江苏自动化研究所签署了协议！\nThe draft is attached."
MIXED = "The 海洋 survey is costed separately. The draft is attached."


class NetworkGuard:
    """Every connection attempt is refused (as a closed port would) and recorded; a test that
    expects one calls `expect_refused()` to check and clear them."""

    def __init__(self) -> None:
        self.attempts: list[tuple[object, ...]] = []

    def refuse(self, *args: object, **kwargs: object) -> None:
        self.attempts.append(args)
        raise ConnectionRefusedError(111, "Connection refused (network access in an offline test)")

    def expect_refused(self) -> list[tuple[object, ...]]:
        seen, self.attempts = self.attempts, []
        assert seen, "expected a (refused) connection attempt"
        return seen


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    guard = NetworkGuard()
    monkeypatch.setattr(socket.socket, "connect", guard.refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", guard.refuse)
    monkeypatch.setattr(socket, "create_connection", guard.refuse)
    monkeypatch.setattr(socket, "getaddrinfo", guard.refuse)
    monkeypatch.delenv("ARGOS_PACKAGE_INDEX", raising=False)
    yield guard
    assert guard.attempts == [], "the translation code tried to reach the network"


@pytest.fixture
def model_calls(monkeypatch) -> list[list[str]]:
    """The sentences each call of the model was given."""
    calls: list[list[str]] = []
    original = ArgosTranslator.translate_segments

    def counting(self, segments):
        calls.append(list(segments))
        return original(self, segments)

    monkeypatch.setattr(ArgosTranslator, "translate_segments", counting)
    return calls


def _ingest(foi, path: Path) -> int:
    return json.loads(foi("ingest", str(path), "--json").output)["documents"][0]


def _page(foi, doc_id: int, number: int = 1) -> dict:
    return json.loads(foi("show", str(doc_id), "--json").output)["pages"][number - 1]


def test_sentences_are_split_by_chinese_and_english_punctuation():
    assert split_sentences(CHINESE) == [
        "我们在军事基地附近讨论了海洋数据。",
        "江苏自动化研究所签署了协议！",
        "The draft is attached.",
    ]
    assert split_sentences("第一句；第二句\n\nDr. Smith wrote. Then left") == [
        "第一句；",
        "第二句",
        "Dr.",
        "Smith wrote.",
        "Then left",
    ]


def test_pending_then_install_from_file_and_backfill(foi, archive_dir, tmp_path, tiny_model):
    note = tmp_path / "note.txt"
    note.write_text(CHINESE, encoding="utf-8")
    doc_id = _ingest(foi, note)
    page = _page(foi, doc_id)
    assert page["translation_status"] == "pending" and page["translation"] is None
    assert "no translation models installed" in foi("models", "list").output

    assert "installed zh->en" in foi("models", "install", "--file", str(tiny_model)).output
    listed = json.loads(foi("models", "list", "--json").output)
    assert listed == [{"from": "zh", "to": "en", "version": "0.0.1", "name": "translate-zh_en-tiny"}]
    assert (archive_dir / "models" / "argos" / "packages" / "translate-zh_en-tiny").is_dir()

    assert "translated 1 pages in 1 documents" in foi("translate").output
    page = _page(foi, doc_id)
    assert page["translation_status"] == "done"
    # The copy model returns its input, so the alignment is checked exactly; English stays as is.
    assert page["segments"] == [
        ["我们在军事基地附近讨论了海洋数据。", "我们在军事基地附近讨论了海洋数据。"],
        ["江苏自动化研究所签署了协议！", "江苏自动化研究所签署了协议！"],
        ["The draft is attached.", "The draft is attached."],
    ]
    hits = json.loads(foi("search", "协议", "--json").output)["hits"]
    assert set(hits[0]["matched_fields"]) == {"original", "translation"}
    # Entities are read again once the translation exists (the copy model copies the watchlisted name).
    fields = {m["field"] for m in page["meta"]["entities"] if m["entity_id"] == "watchlist:jari"}
    assert fields == {"original", "translation"}
    assert "translated 0 pages in 0 documents" in foi("translate").output


def test_no_model_skips_the_stage_with_a_reason_and_backfill_completes_it(archive_dir, tmp_path, tiny_model):
    from archive.translate import install_from_file

    note = tmp_path / "note.txt"
    note.write_text(CHINESE, encoding="utf-8")
    english = tmp_path / "letter.txt"
    english.write_text("A letter in English only.", encoding="utf-8")
    with Archive(archive_dir) as archive:
        archive.ingest([note, english])
        docs = {d["filename"]: d["id"] for d in archive.store.documents()}
        stage = archive.store.stages(docs["note.txt"])["translate"]
        assert (stage["status"], stage["reason"]) == ("skipped", NO_MODEL)
        assert archive.store.stages(docs["letter.txt"])["translate"]["status"] == "skipped"
        assert archive.document(docs["note.txt"])["pages"][0]["translation_status"] == "pending"
        assert archive.document(docs["letter.txt"])["pages"][0]["translation_status"] is None
        assert pending_count(archive) == 1

        install_from_file(archive_dir, tiny_model)
        assert backfill(archive) == {"pages": 1, "documents": 1}
        stage = archive.store.stages(docs["note.txt"])["translate"]
        assert (stage["status"], stage["reason"]) == ("ok", None)
        assert archive.document(docs["note.txt"])["pages"][0]["translation_status"] == "done"
        assert pending_count(archive) == 0


def test_ingest_translates_when_a_model_is_installed_and_caches(tmp_path, tiny_model, model_calls):
    from archive.translate import install_from_file

    root = tmp_path / "archive"
    install_from_file(root, tiny_model)
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(CHINESE, encoding="utf-8")
    b.write_text("江苏自动化研究所签署了协议！\n另一个句子。", encoding="utf-8")
    with Archive(root) as archive:
        archive.ingest([a, b])
        pages = {d["filename"]: archive.document(d["id"])["pages"][0] for d in archive.store.documents()}
        assert pages["a.txt"]["translation_status"] == "done"
        assert pages["b.txt"]["segments"][1] == ["另一个句子。", "另一个句子。"]
        # Only Chinese sentences go to the model, and a sentence seen before comes from the cache.
        assert model_calls == [
            ["我们在军事基地附近讨论了海洋数据。", "江苏自动化研究所签署了协议！"],
            ["另一个句子。"],
        ]
        translator = ArgosTranslator(root)
        cache = TranslationCache(archive.store.db)
        assert translate_text("另一个句子。", translator, cache)[0] == "另一个句子。"
        assert len(model_calls) == 2
        assert archive.search(SearchQuery("句子", filters={"lang": ["zh"]})).total == 1


def test_chinese_inside_an_english_page_is_translated_by_sentence(tmp_path, tiny_model, model_calls):
    from archive.translate import install_from_file

    root = tmp_path / "archive"
    install_from_file(root, tiny_model)
    memo = tmp_path / "memo.txt"
    memo.write_text(MIXED, encoding="utf-8")
    with Archive(root) as archive:
        archive.ingest([memo])
        doc = archive.store.documents()[0]
        page = archive.document(doc["id"])["pages"][0]
        assert page["lang"] == "en"
        assert page["translation_status"] == "done"
        assert page["segments"] == [
            ["The 海洋 survey is costed separately.", "The 海洋 survey is costed separately."],
            ["The draft is attached.", "The draft is attached."],
        ]
        assert model_calls == [["The 海洋 survey is costed separately."]]
        assert archive.store.stages(doc["id"])["translate"]["status"] == "ok"


def test_mixed_page_without_a_model_is_pending(foi, tmp_path):
    memo = tmp_path / "memo.txt"
    memo.write_text(MIXED, encoding="utf-8")
    page = _page(foi, _ingest(foi, memo))
    assert page["lang"] == "en" and page["translation_status"] == "pending"


def test_chinese_pages_without_han_characters_do_not_stay_pending(archive, tmp_path, tiny_model):
    from archive.translate import install_from_file

    # The ingest step: a page said to be Chinese but with no Han characters has nothing to translate.
    step = TranslateStep(archive)
    work = SimpleNamespace(
        pages=[PageResult(1, "12 34 56", lang="zh-Hans"), PageResult(2, "Hello", lang="en")]
    )
    assert step.needed(work) is False  # type: ignore[arg-type]
    assert (
        work.pages[0].meta["translation_status"] == "skipped"
        and "translation_status" not in work.pages[1].meta
    )

    # Pages from before translation statuses (Chinese, untranslated, no status) are backfilled once.
    note = tmp_path / "note.txt"
    note.write_text("军事基地。\n\f第二页", encoding="utf-8")
    archive.ingest([note])
    doc = archive.store.documents()[0]
    archive.store.db.execute(
        "UPDATE pages SET lang='zh-Hans', translation_status=NULL, translation=NULL, text='2019 - 07' "
        "WHERE document_id=?",
        (doc["id"],),
    )
    assert pending_count(archive) >= 1
    install_from_file(archive.root, tiny_model)
    backfill(archive)
    statuses = {p["translation_status"] for p in archive.document(doc["id"])["pages"]}
    assert statuses == {"skipped"}
    assert pending_count(archive) == 0


def test_backfill_batches_sentences_across_pages_and_documents(archive, tmp_path, tiny_model, model_calls):
    from archive.translate import install_from_file

    files = []
    for i in range(6):
        path = tmp_path / f"note{i}.txt"
        path.write_text(f"第{i}份文件讨论了协议。\n签署了合同{i}号。\n这是同一句话。", encoding="utf-8")
        files.append(path)
    archive.ingest(files)
    assert pending_count(archive) == 6
    install_from_file(archive.root, tiny_model)
    assert backfill(archive) == {"pages": 6, "documents": 6}
    assert len(model_calls) == 1 and len(model_calls[0]) == 13  # one model call for every page

    # Small chunks (translated while the previous one is written) still translate everything,
    # each distinct sentence once, and every document is re-indexed.
    with Archive(tmp_path / "second") as other:
        other.ingest(files)
        install_from_file(other.root, tiny_model)
        model_calls.clear()
        assert backfill(other, chunk_sentences=4) == {"pages": 6, "documents": 6}
        assert len(model_calls) == 3
        sent = [s for call in model_calls for s in call]
        assert len(sent) == 13 and sent.count("这是同一句话。") == 1
        for doc in other.store.documents():
            page = other.document(doc["id"])["pages"][0]
            assert page["translation_status"] == "done" and page["segments"][2] == ["这是同一句话。"] * 2
            assert other.store.stages(doc["id"])["translate"]["status"] == "ok"
            assert other.store.document(doc["id"])["index_pending"] == 0
        assert other.search(SearchQuery("合同", filters={"lang": ["zh"]})).total == 6
        hit = other.search(SearchQuery("合同3号")).hits[0]
        assert "translation" in hit.matched


def test_model_install_rejects_bad_files(foi, tmp_path):
    bad = tmp_path / "bad.argosmodel"
    bad.write_bytes(b"not a zip")
    result = foi("models", "install", "--file", str(bad), ok=False)
    assert result.exit_code == 2 and "not a valid Argos package" in result.output
    assert foi("translate", ok=False).exit_code == 2


def test_reinstalling_the_same_model_reports_the_same_package(foi, tiny_model):
    first = foi("models", "install", "--file", str(tiny_model)).output
    again = foi("models", "install", "--file", str(tiny_model)).output
    assert first == again and "(translate-zh_en-tiny)" in again
    assert len(json.loads(foi("models", "list", "--json").output)) == 1


# -- the Argos package index -----------------------------------------------------------------


def test_install_from_the_index_offline_is_a_clear_error(foi, no_network):
    result = foi("models", "install", "zh", "en", ok=False)
    no_network.expect_refused()
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: cannot fetch the Argos package index https://")
    assert "Connection refused" in lines[0] and "--file" in lines[0]


def test_refused_connection_to_a_local_index_is_a_clear_error(archive_dir, monkeypatch, no_network):
    monkeypatch.setenv("ARGOS_PACKAGE_INDEX", "http://127.0.0.1:9/")
    with pytest.raises(
        TranslationError, match=r"cannot fetch the Argos package index http://127.0.0.1:9/index.json"
    ):
        install_from_index(archive_dir, "zh", "en")
    assert len(no_network.expect_refused()) == 1  # no retry loop, no recursion


def _local_index(tmp_path: Path, tiny_model: Path, links: list[str], **extra: str) -> Path:
    folder = tmp_path / "index"
    folder.mkdir(exist_ok=True)
    entry = {
        "package_version": "0.0.1",
        "argos_version": "1.9.0",
        "from_code": "zh",
        "from_name": "Chinese",
        "to_code": "en",
        "to_name": "English",
        "type": "translate",
        "links": links,
        **extra,
    }
    other = {
        **entry,
        "from_code": "de",
        "from_name": "German",
        "links": ["https://example.invalid/de.argosmodel"],
    }
    (folder / "index.json").write_text(json.dumps([other, entry]), encoding="utf-8")
    return folder


def test_install_from_a_local_index_then_translate(foi, tmp_path, tiny_model, monkeypatch):
    note = tmp_path / "note.txt"
    note.write_text(CHINESE, encoding="utf-8")
    doc_id = _ingest(foi, note)
    folder = _local_index(tmp_path, tiny_model, [tiny_model.as_uri()])
    monkeypatch.setenv("ARGOS_PACKAGE_INDEX", folder.as_uri() + "/")

    out = foi("models", "install", "zh", "en").output
    assert "installed zh->en 0.0.1 (translate-zh_en-tiny)" in out
    assert json.loads(foi("models", "list", "--json").output)[0]["name"] == "translate-zh_en-tiny"
    assert "translated 1 pages in 1 documents" in foi("translate").output
    page = _page(foi, doc_id)
    assert page["translation_status"] == "done"
    assert page["segments"][0] == ["我们在军事基地附近讨论了海洋数据。", "我们在军事基地附近讨论了海洋数据。"]


def test_local_index_with_relative_links_and_a_broken_mirror(archive_dir, tmp_path, tiny_model, monkeypatch):
    folder = _local_index(tmp_path, tiny_model, ["missing.argosmodel", "model.argosmodel"])
    (folder / "model.argosmodel").write_bytes(tiny_model.read_bytes())
    monkeypatch.setenv("ARGOS_PACKAGE_INDEX", (folder / "index.json").as_uri())
    pkg = install_from_index(archive_dir, "zh", "en")
    assert Path(pkg.package_path).name == "translate-zh_en-tiny"
    assert ArgosTranslator(archive_dir).translate_segments(["协议。"]) == ["协议。"]
    # The download is removed once installed; the fetched index is kept where argostranslate keeps it.
    argos = archive_dir / "models" / "argos"
    assert not list((argos / "cache" / "argos-translate" / "downloads").iterdir())
    assert json.loads((argos / "data" / "argos-translate" / "index.json").read_text())[1]["from_code"] == "zh"


def test_local_index_without_the_pair_or_unreadable(archive_dir, tmp_path, tiny_model, monkeypatch):
    folder = _local_index(tmp_path, tiny_model, [tiny_model.as_uri()])
    monkeypatch.setenv("ARGOS_PACKAGE_INDEX", folder.as_uri())
    with pytest.raises(TranslationError, match="no zh->fr model in the Argos index"):
        install_from_index(archive_dir, "zh", "fr")
    (folder / "index.json").write_text("<html>", encoding="utf-8")
    with pytest.raises(TranslationError, match="is not valid"):
        install_from_index(archive_dir, "zh", "en")
    bad = _local_index(tmp_path, tiny_model, [(tmp_path / "nowhere.argosmodel").as_uri()])
    monkeypatch.setenv("ARGOS_PACKAGE_INDEX", bad.as_uri())
    with pytest.raises(TranslationError, match="cannot fetch the model"):
        install_from_index(archive_dir, "zh", "en")


def test_argos_environment_does_not_leak(tmp_path):
    """argostranslate is imported with its folders under the archive, and the process keeps its
    own environment afterwards (children of `foi` do not inherit Argos's folders)."""
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import os, json, sys; from pathlib import Path;"
        "from archive.translate import use_argos, installed_packages;"
        "use_argos(Path(sys.argv[1])); installed_packages(Path(sys.argv[1]));"
        "import argostranslate.settings as s;"
        "print(json.dumps({k: os.environ.get(k) for k in "
        "('XDG_DATA_HOME', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'ARGOS_PACKAGES_DIR')} | "
        "{'data_dir': str(s.data_dir), 'package_dir': str(s.package_data_dir)}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ARGOS_"))}
    env["HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "archive")],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    ).stdout
    seen = json.loads(out)
    argos = (tmp_path / "archive" / "models" / "argos").resolve()
    assert seen["data_dir"] == str(argos / "data" / "argos-translate")
    assert seen["package_dir"] == str(argos / "packages")
    assert {
        k: seen[k] for k in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "ARGOS_PACKAGES_DIR")
    } == {"XDG_DATA_HOME": None, "XDG_CACHE_HOME": None, "XDG_CONFIG_HOME": None, "ARGOS_PACKAGES_DIR": None}
    assert list(home.iterdir()) == []  # nothing created under the user's home


def test_a_failing_model_leaves_pages_pending(foi, archive_dir, tmp_path, tiny_model, monkeypatch):
    from archive.translate import install_from_file

    def broken(self, segments):
        raise TranslationError("translate-zh_en-tiny: translation failed: out of memory")

    note = tmp_path / "note.txt"
    note.write_text(CHINESE, encoding="utf-8")
    doc_id = _ingest(foi, note)
    install_from_file(archive_dir, tiny_model)
    monkeypatch.setattr(ArgosTranslator, "translate_segments", broken)
    result = foi("translate", ok=False)
    assert result.exit_code == 2 and result.output.strip() == (
        "error: translate-zh_en-tiny: translation failed: out of memory"
    )
    assert _page(foi, doc_id)["translation_status"] == "pending"

    # At ingest the stage fails with the reason and the page stays pending for `foi translate`.
    other = tmp_path / "other.txt"
    other.write_text("另一个句子。", encoding="utf-8")
    with Archive(archive_dir) as archive:
        archive.ingest([other])
        doc = archive.store.documents("filename='other.txt'")[0]
        stage = archive.store.stages(doc["id"])["translate"]
        assert stage["status"] == "failed" and "out of memory" in stage["reason"]
        assert archive.document(doc["id"])["pages"][0]["translation_status"] == "pending"
