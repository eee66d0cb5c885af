"""The Elasticsearch backend on a real node: ingest, versioned rebuilds, back-pressure, faults.

Needs the node from `scripts/elasticsearch.sh start && scripts/elasticsearch.sh wait` (see
tests/es_fixtures.py for how a missing node fails in CI and skips locally). Each test uses its own
index name and deletes it afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import subprocess
import threading
import time
from pathlib import Path

import es_fixtures
import pytest

from archive.analysis import index_text
from archive.indexing import _analysed
from archive.search import IndexRecord, QueryError, SearchError, SearchQuery, get_backend
from archive.search import elastic as elastic_module
from archive.search.elastic import ElasticBackend
from conftest import corpus_file

pytestmark = pytest.mark.elasticsearch
ROOT = Path(__file__).resolve().parents[1]
es_url = es_fixtures.es_url  # fixtures: the node's URL, a fresh index name per test
es_index = es_fixtures.es_index

ZH_TEXT = "南海海洋研究所在军事基地附近进行海洋调查。调查报告由国防部发布。"
EN_TEXT = "Minutes: the naval base at Portsmouth asked for a harbour survey in August."


def _es_config(url: str, index: str) -> dict[str, str]:
    return {"search": "elasticsearch", "elasticsearch_url": url, "elasticsearch_index": index}


def _write_files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "survey-zh.txt").write_text(ZH_TEXT, encoding="utf-8")
    (folder / "minutes.txt").write_text(EN_TEXT, encoding="utf-8")
    return [folder / "survey-zh.txt", folder / "minutes.txt", corpus_file("pdf-text/alaveteli_psni.pdf")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _names(results) -> set[tuple[str, int]]:
    return {(h.filename, h.page) for h in results.hits}


def _record(page_id: int, doc_id: int, text: str, number: int = 1, **kw) -> IndexRecord:
    return IndexRecord(
        page_id=page_id,
        doc_id=doc_id,
        number=number,
        collection=kw.pop("collection", "c"),
        kind="text",
        lang=kw.pop("lang", "en"),
        title=f"doc {doc_id}",
        body=index_text(text),
        **kw,
    )


def test_configuration_selects_the_backend(monkeypatch, es_url, es_index, tmp_path):
    monkeypatch.setenv("FOI_SEARCH", "elasticsearch")
    monkeypatch.setenv("FOI_ELASTICSEARCH_URL", es_url)
    monkeypatch.setenv("FOI_ELASTICSEARCH_INDEX", es_index)
    backend = get_backend(tmp_path / "unused.sqlite3")
    try:
        assert isinstance(backend, ElasticBackend)
        assert (backend.name, backend.url, backend.alias) == ("elasticsearch", es_url, es_index)
        # Nothing indexed yet: an empty answer, not an error.
        assert backend.count() == 0
        assert backend.search(SearchQuery("naval", facets=("lang",))).total == 0
    finally:
        backend.close()


def test_ingest_indexes_into_a_versioned_index_behind_the_alias(es_url, es_index, tmp_path):
    from archive import Archive

    with Archive(tmp_path / "archive", _es_config(es_url, es_index)) as a:
        report = a.ingest(_write_files(tmp_path / "files"), collection="release")
        assert report.ingested == 3 and report.index_pending == 0
        assert a.status()["indexed_pages"] == 4  # psni has two pages
        assert a.status()["search_backend"] == "elasticsearch"
        assert _names(a.search(SearchQuery("F-2010-00325"))) == {("alaveteli_psni.pdf", 1)}
        assert _names(a.search(SearchQuery("海洋"))) == {("survey-zh.txt", 1)}
        assert _names(a.search(SearchQuery('"naval base" lang:en'))) == {("minutes.txt", 1)}
        hit = a.search(SearchQuery("基地")).hits[0]
        assert "<mark>基地</mark>" in hit.snippet or "<mark>军事基地</mark>" in hit.snippet
        targets = a.backend._alias_targets()
        assert len(targets) == 1 and targets[0].startswith(es_index + "-v")


def test_reindex_swaps_the_alias_and_drops_the_old_version(es_url, es_index, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from archive import Archive
    from archive.cli import cli

    root = tmp_path / "archive"
    with Archive(root, _es_config(es_url, es_index)) as a:
        a.ingest(_write_files(tmp_path / "files"), collection="release")
        before = a.backend._alias_targets()
        found_before = _names(a.search(SearchQuery("naval OR 海洋 OR psni")))
    monkeypatch.setenv("FOI_SEARCH", "elasticsearch")
    monkeypatch.setenv("FOI_ELASTICSEARCH_URL", es_url)
    monkeypatch.setenv("FOI_ELASTICSEARCH_INDEX", es_index)
    result = CliRunner().invoke(cli, ["--archive", str(root), "reindex"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "reindexed 3 documents" in result.output
    with Archive(root, _es_config(es_url, es_index)) as a:
        after = a.backend._alias_targets()
        assert len(after) == 1 and after != before
        assert not a.backend.es.indices.exists(index=before[0])
        assert _names(a.search(SearchQuery("naval OR 海洋 OR psni"))) == found_before
        assert found_before == {
            ("minutes.txt", 1),
            ("survey-zh.txt", 1),
            ("alaveteli_psni.pdf", 1),
            ("alaveteli_psni.pdf", 2),
        }


def test_rebuild_keeps_serving_the_old_version_until_the_swap(es_url, es_index):
    writer = ElasticBackend(es_url, es_index)
    reader = ElasticBackend(es_url, es_index)
    try:
        writer.index([_record(1, 1, "old harbour survey"), _record(2, 2, "old naval base")])
        assert writer.count() == 2  # (refreshes: the reader is another client)
        seen_during: list[int] = []

        def records():
            yield [_record(10, 1, "new harbour survey")]
            # Half-way through the rebuild: searchers still see the complete old index.
            seen_during.append(reader.search(SearchQuery("old")).total)
            yield [_record(20, 2, "new naval base"), _record(21, 2, "new naval base page two", number=2)]

        assert writer.rebuild(records(), 2) == 3
        assert seen_during == [2]
        assert reader.search(SearchQuery("old")).total == 0
        assert {h.page_id for h in reader.search(SearchQuery("new")).hits} == {10, 20, 21}
    finally:
        writer.close()
        reader.close()


def test_failed_rebuild_leaves_the_old_index_in_service(es_url, es_index):
    backend = ElasticBackend(es_url, es_index)
    try:
        backend.index([_record(1, 1, "harbour survey")])
        before = backend._alias_targets()

        def broken():
            yield [_record(2, 2, "partial")]
            raise RuntimeError("store went away")

        with pytest.raises(RuntimeError):
            backend.rebuild(broken(), 2)
        assert backend._alias_targets() == before
        assert backend.es.indices.get(index=f"{es_index}-v*").body.keys() == set(before)
        assert backend.search(SearchQuery("harbour")).total == 1
    finally:
        backend.close()


def test_reindexing_a_document_replaces_its_pages(es_url, es_index):
    backend = ElasticBackend(es_url, es_index)
    try:
        backend.index([_record(i, 7, f"page {i} harbour", number=i) for i in (1, 2, 3)])
        backend.index([_record(8, 9, "another document harbour")])
        # Re-extracted with two pages and new page ids: the three old pages go.
        backend.index([_record(i, 7, f"page {i} harbour", number=i - 3) for i in (4, 5)])
        assert backend.count() == 3
        assert {h.page_id for h in backend.search(SearchQuery("harbour")).hits} == {4, 5, 8}
        backend.delete_document(7)
        assert [h.page_id for h in backend.search(SearchQuery("harbour")).hits] == [8]
        backend.clear()
        assert backend.count() == 0
    finally:
        backend.close()


def test_bulk_rejections_are_retried_with_backoff(es_url, es_index):
    """429s from a busy (here: write-blocked) node are retried until the node takes the pages."""
    backend = ElasticBackend(es_url, es_index, initial_backoff=0.25, max_backoff=2.0)
    try:
        backend.ensure_index()
        (name,) = backend._alias_targets()
        block = {"index.blocks.read_only_allow_delete": True}
        backend.es.indices.put_settings(index=name, settings=block)
        unblocked = threading.Timer(
            1.5,
            lambda: backend.es.indices.put_settings(
                index=name, settings={"index.blocks.read_only_allow_delete": None}
            ),
        )
        unblocked.start()
        started = time.monotonic()
        backend.index([_record(i, i, f"survey {i}") for i in range(1, 101)])
        unblocked.join()
        assert time.monotonic() - started >= 1.4  # it waited for the node rather than failing
        assert backend.count() == 100
    finally:
        backend.es.indices.put_settings(
            index=f"{es_index}-v*", settings={"index.blocks.read_only_allow_delete": None}
        )
        backend.close()


def test_dead_node_keeps_documents_pending_until_reindex(es_url, es_index, tmp_path):
    from archive import Archive

    root = tmp_path / "archive"
    dead = f"http://127.0.0.1:{_free_port()}"
    files = _write_files(tmp_path / "files")
    started = time.monotonic()
    with Archive(root, _es_config(dead, es_index)) as a:
        report = a.ingest(files, collection="release")
        elapsed = time.monotonic() - started
        # Everything is stored; only indexing waits.
        assert report.ingested == 3 and report.index_pending == 3
        docs = a.store.documents()
        assert all(d["index_pending"] == 1 and d["status"] == "done" for d in docs)
        assert {d["filename"] for d in docs} == {"survey-zh.txt", "minutes.txt", "alaveteli_psni.pdf"}
        stages = a.store.stages(docs[0]["id"])
        assert stages["index"]["status"] == "pending" and "unreachable" in stages["index"]["reason"]
        status = a.status()
        assert status["indexed_pages"] is None and dead in status["search_error"]
        with pytest.raises(SearchError, match="unreachable"):
            a.search(SearchQuery("naval"))
        assert "F-2010-00325" in a.document(docs[-1]["id"])["pages"][0]["text"]
    assert elapsed < 60  # a dead node must not hang ingest (connection refused fails fast)

    # The node is back: the next ingest catches up on the pending documents...
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "late.txt").write_text("A late memo about the harbour.", encoding="utf-8")
    with Archive(root, _es_config(es_url, es_index)) as a:
        report = a.ingest([tmp_path / "more" / "late.txt"], collection="release")
        assert report.index_pending == 0
        assert not a.store.documents("index_pending=1")
        assert _names(a.search(SearchQuery("harbour"))) == {("minutes.txt", 1), ("late.txt", 1)}
        assert _names(a.search(SearchQuery("F-2010-00325"))) == {("alaveteli_psni.pdf", 1)}
        # ... and `reindex` rebuilds everything from the store with nothing lost.
        assert a.reindex() == 4
        assert a.backend.count() == 5
        assert _names(a.search(SearchQuery("海洋"))) == {("survey-zh.txt", 1)}


def test_rejected_bulk_marks_documents_pending(es_url, es_index, tmp_path):
    from archive import Archive

    root = tmp_path / "archive"
    with Archive(root, _es_config(es_url, es_index)) as a:
        a.backend.ensure_index()
        (name,) = a.backend._alias_targets()
        a.backend.bulk_retries = 1
        a.backend.initial_backoff = 0.05
        a.backend.es.indices.put_settings(index=name, settings={"index.blocks.read_only_allow_delete": True})
        try:
            report = a.ingest(_write_files(tmp_path / "files")[:2], collection="release")
        finally:
            a.backend.es.indices.put_settings(
                index=name, settings={"index.blocks.read_only_allow_delete": None}
            )
        assert report.ingested == 2 and report.index_pending == 2
        reason = a.store.stages(a.store.documents()[0]["id"])["index"]["reason"]
        assert "rejected" in reason and "429" in reason
        assert a.catch_up_index() == 0
        assert _names(a.search(SearchQuery("海洋 OR naval"))) == {("survey-zh.txt", 1), ("minutes.txt", 1)}


def test_dead_node_fails_fast_with_a_clear_error():
    backend = ElasticBackend(f"http://127.0.0.1:{_free_port()}", "foi-test-dead")
    try:
        started = time.monotonic()
        with pytest.raises(SearchError, match=r"Elasticsearch at http://127\.0\.0\.1:\d+ is unreachable"):
            backend.index([_record(1, 1, "harbour")])
        with pytest.raises(SearchError, match="unreachable"):
            backend.search(SearchQuery("harbour"))
        assert time.monotonic() - started < 15
    finally:
        backend.close()


def test_raw_mode_passes_lucene_syntax_and_reports_bad_syntax(es_url, es_index):
    backend = ElasticBackend(es_url, es_index)
    try:
        backend.index(
            [_record(1, 1, "naval base survey"), _record(2, 2, "harbour base"), _record(3, 3, "海洋 基地")]
        )
        assert {h.page_id for h in backend.search(SearchQuery("base AND NOT naval", raw=True)).hits} == {2}
        assert {h.page_id for h in backend.search(SearchQuery("body:HARB*", raw=True)).hits} == {2}
        assert {h.page_id for h in backend.search(SearchQuery("Naval OR gloss:harbour", raw=True)).hits} == {
            1
        }
        assert {h.page_id for h in backend.search(SearchQuery("海洋", raw=True)).hits} == {3}
        with pytest.raises(QueryError, match="query not understood"):
            backend.search(SearchQuery("base AND (", raw=True))
    finally:
        backend.close()


def test_deep_pagination_uses_search_after(es_url, es_index, monkeypatch):
    """Past index.max_result_window offsets are refused with a pointer to the cursor; the cursor
    walks on. (The window is lowered to 50 here to keep the test small.)"""
    backend = ElasticBackend(es_url, es_index, chunk_size=40)
    try:
        backend.ensure_index()
        backend.es.indices.put_settings(index=es_index, settings={"index.max_result_window": 50})
        monkeypatch.setattr(elastic_module, "MAX_WINDOW", 50)
        backend.index([_record(i, i // 3, f"harbour report {i}", number=i % 3 + 1) for i in range(1, 131)])
        with pytest.raises(QueryError, match="next_cursor"):
            backend.search(SearchQuery("harbour", offset=45, limit=10))
        seen: list[int] = []
        cursor = None
        while True:
            res = backend.search(SearchQuery("harbour", limit=20, search_after=cursor))
            assert res.total == 130
            seen += [h.page_id for h in res.hits]
            cursor = res.next_cursor
            if cursor is None:
                break
        assert sorted(seen) == list(range(1, 131)) and len(seen) == 130
        with pytest.raises(QueryError, match="cursor"):  # a cursor from another search, or made up
            backend.search(SearchQuery("harbour", search_after=["made-up"]))
    finally:
        backend.close()


def test_keyword_filters_ignore_case_and_facets_keep_the_spelling(es_url, es_index):
    backend = ElasticBackend(es_url, es_index)
    try:
        backend.index(
            [
                _record(
                    1,
                    1,
                    "memo",
                    keywords={"sender": ["Alice Smith", "alice@example.org"]},
                    date="2020-02-01T10:00:00Z",
                ),
                _record(
                    2, 2, "memo", keywords={"sender": ["Bob Jones"], "entity": ["Hainan"]}, lang="zh-Hans"
                ),
                _record(3, 3, "memo", keywords={"sender": ["Alice Smith"], "exemption": ["FOIA s40(2)"]}),
            ]
        )
        res = backend.search(SearchQuery("memo sender:ALICE", facets=("sender",)))
        assert res.total == 0  # whole values only, like SQLite
        res = backend.search(SearchQuery('memo sender:"ALICE SMITH"', facets=("sender", "exemption", "year")))
        assert {h.page_id for h in res.hits} == {1, 3}
        assert res.facets["sender"] == [("Alice Smith", 2), ("alice@example.org", 1)]
        assert res.facets["exemption"] == [("FOIA s40(2)", 1)]
        assert res.facets["year"] == [("2020", 1)]
        assert {h.page_id for h in backend.search(SearchQuery("memo entity:hainan lang:zh")).hits} == {2}
    finally:
        backend.close()


def test_concurrent_first_writes_share_one_index(es_url, es_index):
    """Several processes (here: clients) writing to a new archive at once create one version."""
    backends = [ElasticBackend(es_url, es_index) for _ in range(4)]
    errors: list[Exception] = []

    def write(backend: ElasticBackend, n: int) -> None:
        try:
            backend.index([_record(n, n, f"harbour report {n}")])
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(b, i + 1)) for i, b in enumerate(backends)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert len(backends[0]._alias_targets()) == 1
        assert backends[0].es.indices.get(index=f"{es_index}-v*").body.keys() == set(
            backends[0]._alias_targets()
        )
        assert backends[0].count() == 4
    finally:
        for b in backends:
            b.close()


class _Outage:
    """A TCP forwarder in front of the node that can go down and come back on the same port:
    what the client sees when a node dies (connections reset, then refused) and restarts."""

    def __init__(self, target_url: str):
        host, port = target_url.rsplit("//", 1)[1].rstrip("/").split(":")
        self.target = (host, int(port))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            if self._listener is not None:
                # shutdown() wakes the thread blocked in accept(); close() alone would not.
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for c in self._conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
                c.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


class _Node:
    """A second real node run by scripts/elasticsearch.sh on its own port (its transport port is
    the HTTP port + 100), to be killed (SIGKILL, data kept) and restarted on the same data."""

    def __init__(self) -> None:
        self.port = _free_port_pair()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "FOI_ES_PORT": str(self.port),
            "FOI_ES_HEAP": "256m",
            "FOI_ES_TIMEOUT": "90",
        }

    def run(self, command: str) -> None:
        result = subprocess.run(
            [str(ROOT / "scripts" / "elasticsearch.sh"), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=150,
        )
        assert result.returncode == 0, f"elasticsearch.sh {command} failed:\n{result.stderr[-3000:]}"

    def start(self) -> None:
        self.run("start")
        self.run("wait")


def _free_port_pair() -> int:
    """A port free for HTTP with port + 100 free for the node's transport."""
    rnd = random.Random()
    for _ in range(200):
        port = rnd.randrange(20000, 29000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 100))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair")


@pytest.fixture
def spare_node(es_url):  # es_url: only where the node can run (and required in CI)
    node = _Node()
    node.start()
    try:
        yield node
    finally:
        node.run("stop")


def test_node_killed_mid_ingest_loses_nothing(spare_node, tmp_path):
    """A real node killed (SIGKILL) after the first document: the rest are stored and pending
    with a clear error; after a restart on the same data, catch-up and reindex find everything."""
    from archive import Archive

    files = _write_files(tmp_path / "files")
    index = es_fixtures.new_index_name("kill")
    # One page per batch, so the first document is sent before the node dies.
    config = {**_es_config(spare_node.url, index), "index_batch_pages": 1}
    done: list[str] = []

    archive: list[Archive] = []

    def after_each_file(path: Path) -> None:
        done.append(path.name)
        if len(done) == 1:
            archive[0].flush_index()  # the first document's bulk (sent in the background) is in
            spare_node.run("kill")

    with Archive(tmp_path / "archive", config) as a:
        archive.append(a)
        report = a.ingest(files, collection="release", progress=after_each_file)
        assert report.ingested == 3 and report.index_pending == 2
        assert report.index_error and "unreachable" in report.index_error
        assert spare_node.url in report.index_error
        pending = {d["filename"] for d in a.store.documents("index_pending=1")}
        assert pending == {"minutes.txt", "alaveteli_psni.pdf"}
        assert all(d["status"] == "done" and d["page_count"] for d in a.store.documents())
        psni = next(d for d in a.store.documents() if d["filename"] == "alaveteli_psni.pdf")
        assert "F-2010-00325" in a.document(psni["id"])["pages"][0]["text"]
        assert a.store.stages(psni["id"])["index"]["status"] == "pending"
        assert "unreachable" in (a.last_index_error() or "")

        spare_node.start()  # the same data: the first document is still indexed
        assert a.catch_up_index() == 0
        everything = "harbour OR 海洋 OR F-2010-00325"
        expected = {("survey-zh.txt", 1), ("minutes.txt", 1), ("alaveteli_psni.pdf", 1)}
        assert _names(a.search(SearchQuery(everything))) == expected
        assert a.backend.count() == 4
        assert a.reindex() == 3
        assert _names(a.search(SearchQuery(everything))) == expected
        assert a.backend.count() == 4 and a.last_index_error() is None


class _Blackhole:
    """Accepts connections and never answers: a hanging node."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for c in self._held:
            c.close()


def test_hanging_node_costs_one_timeout_not_one_per_document(tmp_path):
    from archive import Archive

    hole = _Blackhole()
    try:
        with Archive(tmp_path / "archive", _es_config(hole.url, "foi-test-hang")) as a:
            a.backend.close()
            a.backend = a.indexer.backend = ElasticBackend(
                hole.url, "foi-test-hang", request_timeout=1, max_retries=0
            )
            a.config["index_batch_pages"] = 1  # every document would be its own request
            started = time.monotonic()
            report = a.ingest(_write_files(tmp_path / "files"), collection="release")
            elapsed = time.monotonic() - started
            assert report.ingested == 3 and report.index_pending == 3
            assert "unreachable" in report.index_error and "timed out" in report.index_error.lower()
            # One timed-out request during the ingest, one more at its catch-up: then it stops.
            assert hole.connections <= 2
            assert elapsed < 8
            assert all(d["index_pending"] for d in a.store.documents())
    finally:
        hole.close()


def test_reindex_during_an_ingest_loses_nothing(es_url, es_index, tmp_path):
    """Another process ingests while `foi reindex` rebuilds: its pages go to the old version, which
    the swap drops, so reindex indexes documents changed since it read them again."""
    from archive import Archive

    root = tmp_path / "archive"
    config = _es_config(es_url, es_index)
    files = _write_files(tmp_path / "files")
    with Archive(root, config) as a:
        a.ingest(files[:2], collection="release")
    late = tmp_path / "late.txt"
    late.write_text("A late memo about the lighthouse.", encoding="utf-8")
    with Archive(root, config) as rebuilder, Archive(root, config) as ingester:
        read = rebuilder.indexer.records_for_many
        seen: list[int] = []

        def records_for_many(doc_ids):
            if not seen:
                seen.extend(doc_ids)
                # The rebuild has begun (its new index exists, its first read is under way): an
                # ingest now indexes into the old version and marks its document indexed.
                before = rebuilder.backend._alias_targets()
                report = ingester.ingest([late], collection="release")
                assert report.index_pending == 0
                assert ingester.backend._alias_targets() == before
            return read(doc_ids)

        rebuilder.indexer.records_for_many = records_for_many  # type: ignore[method-assign]
        assert rebuilder.reindex() == 2
        assert seen  # the ingest ran while the rebuild read the store
        assert _names(rebuilder.search(SearchQuery("lighthouse"))) == {("late.txt", 1)}
        assert _names(ingester.search(SearchQuery("lighthouse OR harbour OR 海洋"))) == {
            ("late.txt", 1),
            ("minutes.txt", 1),
            ("survey-zh.txt", 1),
        }
        assert not rebuilder.store.documents("index_pending=1")


def test_queued_documents_stay_pending_until_the_node_has_them(es_url, es_index, tmp_path):
    from archive import Archive

    root = tmp_path / "archive"
    config = _es_config(es_url, es_index)
    with Archive(root, config) as a:
        a.ingest(_write_files(tmp_path / "files")[:2], collection="release")
        ids = [d["id"] for d in a.store.documents()]
        a.reindex()
        a.backend.clear()
        for doc_id in ids:
            a.store.update_document(doc_id, index_pending=0)
        # Re-indexed (as after translation): queued, pending again until sent.
        assert all(a.index_document(i) for i in ids)
        assert all(d["index_pending"] for d in a.store.documents())
        assert a.backend.es.count(index=es_index)["count"] == 0  # not sent yet
        # A read through the backend sends the queue first: the archive reads its own writes.
        assert _names(a.search(SearchQuery("harbour OR 海洋"))) == {("minutes.txt", 1), ("survey-zh.txt", 1)}
        assert not any(d["index_pending"] for d in a.store.documents())
        # Queued, then the process dies before the flush: the documents stay pending...
        for doc_id in ids:
            a.index_document(doc_id)
        a.indexer._queue().docs.clear()
        a.backend.set_before_read(None)
    with Archive(root, config) as b:
        assert {d["id"] for d in b.store.documents("index_pending=1")} == set(ids)
        assert b.catch_up_index() == 0  # ... and the next catch-up sends them


def test_a_document_queued_again_while_in_flight_stays_pending_until_its_new_version_is_in(
    es_url, es_index, tmp_path
):
    """The batch in flight carries an older version of a document queued again since: its
    acknowledgement must not mark the document indexed (a kill before the next batch would lose
    the new version)."""
    from archive import Archive

    with Archive(tmp_path / "archive", _es_config(es_url, es_index)) as a:
        a.ingest(_write_files(tmp_path / "files")[:1], collection="release")
        doc_id = a.store.documents()[0]["id"]
        queue = a.indexer._queue()
        assert queue is not None
        a.store.update_page(a.store.pages(doc_id)[0]["id"], translation="first version")
        a.index_document(doc_id)
        queue.flush(wait=False)  # in flight
        a.store.update_page(a.store.pages(doc_id)[0]["id"], translation="second version")
        a.index_document(doc_id)  # queued again
        queue.flush(wait=False)  # collects the first batch, sends the second
        assert a.store.document(doc_id)["index_pending"]
        a.flush_index()
        assert not a.store.document(doc_id)["index_pending"]
        assert a.search(SearchQuery("second")).total == 1


def test_a_document_that_cannot_be_read_holds_up_no_other(es_url, es_index, tmp_path):
    """A damaged row fails the batch read; the batch is then read document by document: the
    others are sent, the damaged one stays index-pending with the reason, nothing leaves the queue
    unaccounted."""
    from archive import Archive

    with Archive(tmp_path / "archive", _es_config(es_url, es_index)) as a:
        a.ingest(_write_files(tmp_path / "files")[:2], collection="release")
        a.backend.clear()
        docs = {d["filename"]: d["id"] for d in a.store.documents()}
        bad, good = docs["minutes.txt"], docs["survey-zh.txt"]
        a.store.db.execute("UPDATE documents SET metadata=? WHERE id=?", ('{"mail": {"from": ', bad))
        for doc_id in (bad, good):
            a.index_document(doc_id)
        a.flush_index()
        pending = dict(a.store.db.execute("SELECT id, index_pending FROM documents").fetchall())
        assert pending == {bad: 1, good: 0}  # (Store.document would parse the damaged row too)
        stage = a.store.stages(bad)["index"]
        assert stage["status"] == "pending" and "could not be read for indexing" in stage["reason"]
        assert _names(a.search(SearchQuery("harbour OR 海洋"))) == {("survey-zh.txt", 1)}


def test_a_document_reindexed_with_fewer_pages_loses_the_old_ones(es_url, es_index, tmp_path):
    """Documents sent before get the stale-page look-up in a batch; new ones skip it."""
    from archive import Archive
    from archive.models import PageResult

    with Archive(tmp_path / "archive", _es_config(es_url, es_index)) as a:
        a.ingest(_write_files(tmp_path / "files"), collection="release")
        psni = next(d for d in a.store.documents() if d["filename"] == "alaveteli_psni.pdf")
        assert a.backend.count() == 4
        with a.store.transaction():
            a.store.replace_pages(
                psni["id"], [PageResult(number=1, text="re-extracted lighthouse", lang="en")]
            )
            a.store.update_document(psni["id"], page_count=1, index_pending=1)
        assert a.catch_up_index() == 0
        assert a.backend.count() == 3
        assert _names(a.search(SearchQuery("lighthouse"))) == {("alaveteli_psni.pdf", 1)}
        assert a.search(SearchQuery("F-2010-00325")).total == 0


@pytest.mark.parametrize(
    "text",
    [
        "Minutes: the Naval BASE at Portsmouth, 3rd_floor; e-mail foo@example.org",
        "Straße ΟΔΟΣ İstanbul ﬁnance Ⅻ ｆｕｌｌｗｉｄｔｈ ①②",
        "南海海洋研究所在军事基地附近进行海洋调查。",
        "mixed 军事基地 and English, 國防部 traditional",
        "compatibility ideographs ㈱ ㍿ 丽",
        "",
        "   \n\t  ",
    ],
)
def test_fast_analysis_matches_index_text(text):
    assert _analysed(text) == index_text(text)


def test_fast_analysis_matches_index_text_on_the_corpus_texts(corpus):
    paths = sorted(corpus.rglob("*.txt")) + sorted(corpus.rglob("*.eml"))
    assert len(paths) > 10
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert _analysed(text) == index_text(text), path.name


def test_node_going_down_mid_rebuild_keeps_the_old_version(es_url, es_index):
    outage = _Outage(es_url)
    outage.up()
    backend = ElasticBackend(outage.url, es_index, chunk_size=2, max_retries=0)
    try:
        backend.index([_record(1, 1, "old harbour survey"), _record(2, 2, "old naval base")])
        before = backend._alias_targets()

        def records():
            yield [_record(10, 1, "new harbour survey"), _record(11, 1, "new page", number=2)]
            outage.down()
            yield [_record(20, 2, "new naval base")]

        with pytest.raises(SearchError, match="unreachable"):
            backend.rebuild(records(), 2)
        outage.up()
        assert backend._alias_targets() == before
        assert backend.search(SearchQuery("old")).total == 2
        assert backend.search(SearchQuery("new")).total == 0
        # The unfinished version could not be deleted while the node was away; the next rebuild does.
        assert len(backend.es.indices.get(index=f"{es_index}-v*").body) == 2
        assert backend.rebuild([[_record(30, 3, "fresh")]], 1) == 1
        assert list(backend.es.indices.get(index=f"{es_index}-v*").body) == backend._alias_targets()
        assert backend.search(SearchQuery("fresh")).total == 1
    finally:
        outage.down()
        backend.close()


def test_cli_says_why_documents_wait_for_the_index(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from archive.cli import cli

    dead = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("FOI_SEARCH", "elasticsearch")
    monkeypatch.setenv("FOI_ELASTICSEARCH_URL", dead)
    files = _write_files(tmp_path / "files")
    root = str(tmp_path / "archive")
    runner = CliRunner()
    out = runner.invoke(cli, ["--archive", root, "ingest", *map(str, files[:2])])
    assert out.exit_code == 0, out.output
    assert "2 documents wait for the search index" in out.output
    assert "search index: " in out.output and dead in out.output and "unreachable" in out.output
    data = json.loads(runner.invoke(cli, ["--archive", root, "ingest", str(files[2]), "--json"]).output)
    assert data["index_pending"] == 3 and dead in data["index_error"]
    status = runner.invoke(cli, ["--archive", root, "status"]).output
    assert "index pending: 3" in status and "last indexing error" in status and dead in status


def test_analysis_is_kept_and_reused_until_the_text_changes(tmp_path, monkeypatch):
    """Re-indexing reads the stored token streams instead of running jieba again."""
    import archive.indexing as core
    from archive import Archive

    files = _write_files(tmp_path / "files")
    with Archive(tmp_path / "archive") as a:
        a.ingest(files[:1], collection="release")
        doc_id = a.store.documents()[0]["id"]
        first = a.index_records(doc_id)
        calls: list[str] = []
        real = core._analysed
        monkeypatch.setattr(core, "_analysed", lambda text: calls.append(text or "") or real(text))
        again = a.index_records(doc_id)
        assert again == first and calls == []  # from the store
        page = a.store.pages(doc_id)[0]
        assert "analysed" not in page  # internal to indexing
        a.store.update_page(page["id"], translation="A survey near the naval base.")
        changed = a.index_records(doc_id)
        assert len(calls) == 3 and "naval" in changed[0].translation.split()
        assert changed[0].body == first[0].body
