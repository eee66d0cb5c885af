"""Translation on a real Dask cluster's workers: the coordinator sends its installed model once
per worker (a Dask worker plugin), the workers translate, and the archive stores what the local
pool stores. The model is the tiny offline copy model (its output equals its input)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from cluster_fixtures import Cluster

from conftest import corpus_file

CHINESE = {
    "mail.eml": "email-eml/demisto_chinese_email_test.eml",
    "gb2312.eml": "email-eml/demisto_chinese_gb2312_encoding.eml",
}


def _translations(archive_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Each document's pages as translation left them, by file name."""
    from archive.core import Archive

    out: dict[str, list[dict[str, Any]]] = {}
    with Archive(archive_dir) as archive:
        for doc in archive.store.documents():
            stages = archive.store.stages(doc["id"])
            assert doc["status"] == "done", (doc["filename"], doc["error_stage"], doc["error_reason"])
            pages = [
                {
                    "text": p["text"],
                    "translation": p["translation"],
                    "status": p["translation_status"],
                    "segments": p["segments"],
                    "entities": p["meta"].get("entities"),
                }
                for p in archive.store.pages(doc["id"])
            ]
            pages.append({"stage": (stages["translate"]["status"], stages["translate"]["reason"])})
            out[(doc["path_in_parent"] or "") + "@" + doc["filename"]] = pages
    return out


@pytest.mark.tesseract
@pytest.mark.slow
def test_translation_runs_on_the_workers_with_the_model_sent_once_and_equals_the_local_pool(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client

    from archive.core import Archive
    from archive.translate import ArgosTranslator, install_from_file
    from archive.translate.remote import models_unpacked, pages_translated

    release = tmp_path / "release"
    release.mkdir()
    for name, rel in CHINESE.items():
        shutil.copy(corpus_file(rel), release / name)
    local_dir, remote_dir = tmp_path / "local", tmp_path / "remote"
    for folder in (local_dir, remote_dir):
        install_from_file(folder, tiny_model)
    with Archive(local_dir, {"ocr_workers": 2}) as local:
        assert local.ingest([release]).failed == {}

    # From here on the coordinator must not translate: any call of the model in this process is seen.
    here: list[int] = []
    translate = ArgosTranslator.translate_segments
    monkeypatch.setattr(
        ArgosTranslator,
        "translate_segments",
        lambda self, segments: here.append(len(segments)) or translate(self, segments),
    )
    with Cluster(tmp_path / "cluster", workers=1) as cluster:
        with Archive(remote_dir, {"cluster": cluster.address}) as remote:
            report = remote.ingest([release])
            assert report.failed == {} and report.ingested == len(CHINESE)
        with Client(cluster.address, timeout=30, set_as_default=False) as client:  # type: ignore[no-untyped-call]
            done = client.run(pages_translated)
            folders = client.run(models_unpacked)
            # A worker that joins later gets the model too (Dask hands it the plugin).
            cluster.add_worker()
            client.wait_for_workers(2, timeout=90)
            later = client.run(models_unpacked)
    assert here == []  # nothing translated by the coordinator
    there = _translations(remote_dir)
    chinese_pages = sum(1 for pages in there.values() for p in pages[:-1] if p["status"] == "done")
    assert chinese_pages >= len(CHINESE) and sum(done.values()) == chinese_pages
    # Each worker holds one unpacked copy of the one model; so does the one that came later.
    assert all(len(names) == 1 for names in folders.values()) and len(later) == 2
    assert all(names == next(iter(folders.values())) for names in later.values())
    assert there == _translations(local_dir)  # byte for byte: translations, aligned sentences, entities
    mail = next(pages for name, pages in there.items() if name.endswith("@mail.eml"))
    assert mail[-1]["stage"] == ("ok", None)
    assert mail[0]["translation"] and "中文" in mail[0]["translation"]  # the copy model: target = source


def test_the_package_sent_unpacks_as_the_same_model_and_a_worker_without_it_leaves_pages_pending(
    tmp_path: Path, tiny_model: Path
) -> None:
    from archive.extractors import ExtractContext
    from archive.models import Extraction, PageResult, Source, StageError
    from archive.steps import DocWork
    from archive.translate import ArgosTranslator, install_from_file
    from archive.translate.remote import WorkerTranslateStep, pack_package, unpack_package

    package = install_from_file(tmp_path / "archive", tiny_model)
    data, digest = pack_package(Path(package.package_path))
    assert pack_package(Path(package.package_path)) == (data, digest)  # the same folder, the same bytes
    root = unpack_package(data, digest, tmp_path / "worker")
    assert unpack_package(data, digest, tmp_path / "worker") == root  # once per folder
    here, there = ArgosTranslator(tmp_path / "archive"), ArgosTranslator(root)
    assert there.available() and there.model_id == here.model_id  # the cache key and stored model id agree
    assert there.translate_segments(["你好，世界。"]) == here.translate_segments(["你好，世界。"])

    # A worker the model never reached: the stage fails with the reason, the pages wait for `foi translate`.
    source = Source(path=tmp_path / "a.txt", filename="a.txt", mime="text/plain", head=b"")
    page = PageResult(number=1, text="这是一个示例邮件。")
    work = DocWork(
        1, source, ExtractContext(workdir=tmp_path), Extraction(kind="text", title="", pages=[page])
    )
    step = WorkerTranslateStep("0" * 64)
    assert step.needed(work)
    with pytest.raises(StageError, match="not installed on this worker"):
        step.run(work)
    assert page.meta["translation_status"] == "pending"
