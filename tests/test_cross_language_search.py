"""English queries find Mandarin pages on both backends: through the dictionary gloss with no
model, and through the translation once a model is installed (ingest and `foi translate`).

The tiny Argos package copies its input, so its "translation" of a Chinese page is the Chinese
text: that is enough to show the translation field is indexed and searched (a query word from the
translation, a hit whose matched fields name `translation`). To show an English query reaching
the translation, one test maps the copy model's output to English as a real model would give it.
No connection is made except to the Elasticsearch node under test.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import es_fixtures
import pytest
from es_fixtures import drop_index, new_index_name

from archive import Archive, SearchQuery
from archive.translate import ArgosTranslator, backfill, install_from_file

es_url = es_fixtures.es_url  # fixture
SURVEY = "南海海洋研究所在军事基地附近进行海洋调查。江苏自动化研究所签署了协议。"
LETTER = "The naval base at Portsmouth replied to the request about the harbour survey."
ENGLISH = {  # what a real zh->en model would say
    "南海海洋研究所在军事基地附近进行海洋调查。": "The South China Sea Institute of Oceanology surveyed the ocean near the military base.",
    "江苏自动化研究所签署了协议。": "The Jiangsu Automation Research Institute signed the agreement.",
}


@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def config(request, monkeypatch) -> dict[str, str]:
    """The archive configuration of one backend; connections go to its node and nowhere else."""
    allowed: set[tuple[str, int]] = set()
    cfg: dict[str, str] = {}
    if request.param == "elasticsearch":
        url = request.getfixturevalue("es_url")
        index = new_index_name("xlang")
        request.addfinalizer(lambda: drop_index(url, index))
        parts = urlsplit(url)
        allowed.add((parts.hostname or "", parts.port or 9200))
        cfg = {"search": "elasticsearch", "elasticsearch_url": url, "elasticsearch_index": index}
    attempts: list[object] = []
    connect = socket.socket.connect

    def guarded(sock: socket.socket, address: object) -> None:
        if isinstance(address, tuple) and (address[0], address[1]) in allowed:
            return connect(sock, address)
        attempts.append(address)
        raise ConnectionRefusedError(111, "network access in an offline test")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield cfg
    assert attempts == [], f"connections attempted: {attempts}"


def _ingest(archive: Archive, tmp_path: Path) -> dict[str, int]:
    (tmp_path / "survey-zh.txt").write_text(SURVEY, encoding="utf-8")
    (tmp_path / "letter.txt").write_text(LETTER, encoding="utf-8")
    report = archive.ingest([tmp_path / "survey-zh.txt", tmp_path / "letter.txt"])
    assert report.ingested == 2
    return {d["filename"]: d["id"] for d in archive.store.documents()}


def _hits(archive: Archive, q: str, **filters: list[str]) -> dict[str, list[str]]:
    return {h.filename: sorted(h.matched) for h in archive.search(SearchQuery(q, filters=filters)).hits}


def test_english_query_finds_chinese_page_through_the_gloss(config, tmp_path):
    with Archive(tmp_path / "archive", config) as archive:
        _ingest(archive, tmp_path)
        assert archive.backend.name == (config.get("search") or "sqlite")
        hits = _hits(archive, "military base")
        assert hits["survey-zh.txt"] == ["gloss"]
        assert _hits(archive, '"military base"') == {"survey-zh.txt": ["gloss"]}
        assert _hits(archive, "military base", lang=["zh"]) == {"survey-zh.txt": ["gloss"]}
        assert _hits(archive, "军事基地") == {"survey-zh.txt": ["original"]}


def test_translation_from_the_model_is_indexed_and_searched(config, tmp_path, tiny_model):
    root = tmp_path / "archive"
    install_from_file(root, tiny_model)
    with Archive(root, config) as archive:
        docs = _ingest(archive, tmp_path)
        page = archive.document(docs["survey-zh.txt"])["pages"][0]
        assert page["translation_status"] == "done" and page["translation"] == SURVEY.replace(
            "。江", "。\n江"
        )
        # A word of the (copied) translation: found in the translation as well as the original.
        assert _hits(archive, "协议") == {"survey-zh.txt": ["original", "translation"]}
        # The English query still finds the page through the gloss with a model installed.
        assert _hits(archive, '"military base"') == {"survey-zh.txt": ["gloss"]}


def test_english_query_finds_chinese_page_through_the_translation(config, tmp_path, tiny_model, monkeypatch):
    real = ArgosTranslator.translate_segments

    def english(self, segments):
        copied = real(self, segments)  # the real tiny model runs, then says it in English
        assert copied == list(segments)
        return [ENGLISH.get(s, s) for s in copied]

    monkeypatch.setattr(ArgosTranslator, "translate_segments", english)
    root = tmp_path / "archive"
    with Archive(root, config) as archive:
        docs = _ingest(archive, tmp_path)  # no model yet: pending, found through the gloss only
        assert archive.document(docs["survey-zh.txt"])["pages"][0]["translation_status"] == "pending"
        assert _hits(archive, "surveyed") == {}
        install_from_file(root, tiny_model)
        assert backfill(archive) == {"pages": 1, "documents": 1}  # `foi translate` re-indexes the page
        assert _hits(archive, '"military base"') == {"survey-zh.txt": ["gloss", "translation"]}
        assert _hits(archive, "surveyed", lang=["zh"]) == {"survey-zh.txt": ["translation"]}
        hit = archive.search(SearchQuery("surveyed")).hits[0]
        assert hit.translation_snippet and "surveyed" in hit.translation_snippet.lower()
