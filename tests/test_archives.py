"""ZIP archives from the corpus through the real pipeline: member names, nesting, hostile members."""

from __future__ import annotations

import json
import zipfile

import pytest

from archive.extractors import ExtractContext, make_source
from archive.extractors.archives import MAX_COMPRESSION_RATIO, ZipExtractor, member_name, safe_member_path
from archive.models import StageError
from conftest import corpus_file


@pytest.fixture(scope="module")
def zip_archive(tmp_path_factory):
    from archive import Archive

    root = tmp_path_factory.mktemp("zip-archive")
    files = [
        corpus_file(f"archives/{n}")
        for n in (
            "tika_gbk.zip",
            "tika_test-zip-of-zip.zip",
            "tika_testZipEncrypted.zip",
            "ingest-file_badzip.zip",
            "perceval_groupsio_messages.zip",
        )
    ]
    with Archive(root) as a:
        yield a, a.ingest(files, collection="zips")


def _doc(archive, filename):
    docs = archive.store.documents("filename=? AND parent_id IS NULL", (filename,))
    assert docs, filename
    return archive.document(docs[0]["id"])


def test_gbk_member_names(zip_archive):
    archive, _ = zip_archive
    doc = _doc(archive, "tika_gbk.zip")
    names = [c["filename"] for c in doc["children"]]
    assert names == ["审计压缩包文件检索测试/集团邮件审计系统2021年自动巡检需求文档_V4.0.doc"]
    assert "集团邮件审计系统2021年自动巡检需求文档_V4.0.doc" in doc["pages"][0]["text"]


def test_zip_of_zip_recursive(zip_archive):
    archive, _ = zip_archive
    doc = _doc(archive, "tika_test-zip-of-zip.zip")
    assert [c["filename"] for c in doc["children"]] == ["html-within-zip.zip"]
    inner = doc["children"][0]
    assert inner["kind"] == "archive"
    assert len(inner["children"]) == 1
    assert inner["children"][0]["filename"].endswith(".html")


def test_encrypted_member_warned_and_skipped(zip_archive):
    archive, _ = zip_archive
    doc = _doc(archive, "tika_testZipEncrypted.zip")
    assert [c["filename"] for c in doc["children"]] == ["unencrypted.txt"]
    assert any("encrypted.txt" in w and "encrypted" in w for w in doc["metadata"]["warnings"])
    assert doc["status"] == "done"


def test_symlink_member_read_not_followed(zip_archive, tmp_path):
    archive, _ = zip_archive
    doc = _doc(archive, "ingest-file_badzip.zip")
    assert [c["filename"] for c in doc["children"]] == ["secret.txt"]
    child = archive.document(doc["children"][0]["id"])
    assert child["metadata"]["archive"]["symlink"] is True
    # The member's bytes are the link target's path, not the target file's contents.
    with zipfile.ZipFile(corpus_file("archives/ingest-file_badzip.zip")) as zf:
        target = zf.read("secret.txt").decode()
    assert child["pages"][0]["text"].strip() == target.strip()


def test_groupsio_zip_mbox_messages(zip_archive, runner):
    from archive.cli import cli

    archive, _ = zip_archive
    doc = _doc(archive, "perceval_groupsio_messages.zip")
    assert [c["filename"] for c in doc["children"]] == ["messages.mbox"]
    mbox = doc["children"][0]
    assert len(mbox["children"]) == 49
    first = archive.document(mbox["children"][0]["id"])
    assert first["kind"] == "email"
    assert first["title"].startswith("Introducing Groups.io")
    out = runner.invoke(cli, ["--archive", str(archive.root), "show", str(doc["id"]), "--json"])
    shown = json.loads(out.output)
    assert len(shown["children"][0]["children"]) == 49


def test_large_member_streamed(tmp_path):
    src = make_source(corpus_file("archives/alaveteli_example.zip"))
    ex = ZipExtractor().extract(src, ExtractContext(workdir=tmp_path))
    assert [c.name for c in ex.children] == ["FOI.txt"]
    assert ex.children[0].path.stat().st_size == 15_715_107
    assert tmp_path in ex.children[0].path.parents


def test_bomb_and_slip_refused(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (8 * 1024 * 1024))
        zf.writestr("../../etc/evil.txt", b"escape")
    work = tmp_path / "work"
    ex = ZipExtractor().extract(make_source(bomb), ExtractContext(workdir=work))
    assert any("compression ratio" in w and str(MAX_COMPRESSION_RATIO) in w for w in ex.warnings)
    assert [c.name for c in ex.children] == ["etc/evil.txt"]
    assert work in ex.children[0].path.parents
    assert safe_member_path("/abs/../x\\y") == "abs/x/y"


def test_depth_limit(tmp_path):
    src = make_source(corpus_file("archives/tika_test-zip-of-zip.zip"))
    with pytest.raises(StageError, match="nested"):
        ZipExtractor().extract(src, ExtractContext(workdir=tmp_path, depth=99))


def test_utf8_flag_respected():
    info = zipfile.ZipInfo("数据.txt")
    info.flag_bits |= 0x800
    assert member_name(info) == "数据.txt"
