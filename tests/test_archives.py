"""ZIP archives from the corpus through the real pipeline: member names, nesting, hostile members."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

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
    # The refused member is content the archive holds and nobody can read: a recorded cut.
    assert "zip bomb" in ex.metadata["limits"] and "zeros.bin" in ex.metadata["limits"]
    assert [c.name for c in ex.children] == ["etc/evil.txt"]
    assert work in ex.children[0].path.parents
    assert safe_member_path("/abs/../x\\y") == "abs/x/y"


def test_depth_limit(tmp_path):
    src = make_source(corpus_file("archives/tika_test-zip-of-zip.zip"))
    # Listed, not opened: the cut is on the extraction, for the ingester to record.
    ex = ZipExtractor().extract(src, ExtractContext(workdir=tmp_path, depth=99))
    assert ex.children == [] and "nested deeper than" in ex.metadata["limits"]


def test_utf8_flag_respected():
    info = zipfile.ZipInfo("数据.txt")
    info.flag_bits |= 0x800
    assert member_name(info) == "数据.txt"


# -- member names: CP437, GBK, UTF-8 flag, Info-ZIP Unicode Path field --------------------------


class _RawNameInfo(zipfile.ZipInfo):
    """Writes the name as CP437 bytes without the UTF-8 flag, as DOS and Windows tools do
    (zipfile itself writes any non-ASCII name as flagged UTF-8)."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("cp437"), self.flag_bits & ~0x800


def _raw_name_zip(path, raw_names, extra=b""):
    """A zip whose member names are the given raw bytes with the UTF-8 flag unset."""
    with zipfile.ZipFile(path, "w") as zf:
        for raw in raw_names:
            info = _RawNameInfo(raw.decode("cp437"))
            info.extra = extra
            zf.writestr(info, b"x")
    with zipfile.ZipFile(path) as zf:
        return zf.infolist()


def test_cp437_gbk_and_big5_names(tmp_path):
    infos = _raw_name_zip(
        tmp_path / "names.zip",
        [
            "Müller.txt".encode("cp437"),
            "Æble Café Größe.txt".encode("cp437"),
            "审计报告.doc".encode("gbk"),
            "會議記錄.txt".encode("big5"),
        ],
    )
    assert all(not i.flag_bits & 0x800 for i in infos)
    assert [member_name(i) for i in infos] == [
        "Müller.txt",
        "Æble Café Größe.txt",
        "审计报告.doc",
        "會議記錄.txt",
    ]


def test_unicode_path_extra_field(tmp_path):
    import struct
    import zlib

    raw = "Zurich.txt".encode("cp437")
    utf8 = "Zürich ünd 北京.txt".encode()
    field = struct.pack("<BI", 1, zlib.crc32(raw)) + utf8
    [info] = _raw_name_zip(tmp_path / "u.zip", [raw], struct.pack("<HH", 0x7075, len(field)) + field)
    assert member_name(info) == "Zürich ünd 北京.txt"
    stale = struct.pack("<BI", 1, zlib.crc32(b"other")) + utf8  # written for another name: ignored
    [info] = _raw_name_zip(tmp_path / "s.zip", [raw], struct.pack("<HH", 0x7075, len(stale)) + stale)
    assert member_name(info) == "Zurich.txt"


def test_utf8_names_written_by_zipfile(tmp_path):
    path = tmp_path / "utf8.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("报告/Müller.txt", b"x")
    ex = ZipExtractor().extract(make_source(path), ExtractContext(workdir=tmp_path / "w"))
    assert [c.name for c in ex.children] == ["报告/Müller.txt"]


# -- limits ----------------------------------------------------------------------------------------


def test_member_count_limit(tmp_path, monkeypatch):
    from archive.extractors import archives

    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(6):
            zf.writestr(f"f{i}.txt", b"x")
    monkeypatch.setattr(archives, "MAX_MEMBERS", 5)
    with pytest.raises(StageError, match="6 members"):
        ZipExtractor().extract(make_source(path), ExtractContext(workdir=tmp_path / "w"))


def test_total_size_limit_shared_by_nested_archives(tmp_path, monkeypatch):
    from archive import Archive, limits

    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("b.txt", b"b" * 600)
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.txt", b"a" * 600)
        zf.write(inner, "inner.zip")
    monkeypatch.setattr(limits, "MAX_TOTAL_UNCOMPRESSED", 1600)
    # On its own the inner zip fits easily; inside the outer one, the tree's budget is spent.
    alone = ZipExtractor().extract(make_source(inner), ExtractContext(workdir=tmp_path / "w"))
    assert [c.name for c in alone.children] == ["b.txt"]
    with Archive(tmp_path / "archive") as a:
        report = a.ingest([outer])
        doc = a.document(report.documents[0])
        assert doc["status"] == "done"
        nested = a.document(next(c["id"] for c in doc["children"] if c["filename"] == "inner.zip"))
    assert nested["status"] == "failed"
    assert "limit 1600" in nested["error_reason"]
    with pytest.raises(StageError, match="would expand"):
        monkeypatch.setattr(limits, "MAX_TOTAL_UNCOMPRESSED", 500)
        ZipExtractor().extract(make_source(outer), ExtractContext(workdir=tmp_path / "w2"))


def test_self_containing_zip_refused(tmp_path, monkeypatch):
    """A zip whose member is the zip itself (droste.zip style): the copy is recorded as failed and
    not opened again, instead of recursing to the depth limit."""
    import shutil

    from archive import Archive
    from archive.extractors import archives
    from archive.models import ChildFile

    path = tmp_path / "droste.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", b"look inside")
    original = archives.ZipExtractor.extract

    def extract_with_self(self, source, ctx):
        ex = original(self, source, ctx)
        copy = Path(ctx.workdir) / "self.zip"
        shutil.copyfile(source.path, copy)  # a member byte-identical to its archive
        ex.children.append(ChildFile(name="droste.zip", path=copy))
        return ex

    monkeypatch.setattr(archives.ZipExtractor, "extract", extract_with_self)
    with Archive(tmp_path / "archive") as a:
        report = a.ingest([path])
        top = a.document(report.documents[0])
        assert sorted(c["filename"] for c in top["children"]) == ["droste.zip", "readme.txt"]
        loop = next(c for c in top["children"] if c["filename"] == "droste.zip")
        assert loop["status"] == "failed"
        assert "contains itself" in loop["error_reason"]
        assert loop["children"] == []
        assert a.store.documents("filename='droste.zip'").__len__() == 2  # the file and its one copy
    assert report.failed["extract"] == 1


@pytest.mark.skipif(shutil.which("zip") is None, reason="needs Info-ZIP's zip to write an encrypted member")
def test_encrypted_member_opened_with_password(tmp_path):
    import subprocess

    (tmp_path / "secret.txt").write_text("the minutes of the meeting")
    path = tmp_path / "enc.zip"
    subprocess.run(["zip", "-q", "-P", "s3cret", str(path), "secret.txt"], cwd=tmp_path, check=True)
    src = make_source(path)
    ex = ZipExtractor().extract(src, ExtractContext(workdir=tmp_path / "w1", passwords=("wrong", "s3cret")))
    assert [c.name for c in ex.children] == ["secret.txt"]
    assert ex.children[0].path.read_text() == "the minutes of the meeting"
    assert ex.children[0].meta["archive"]["decrypted"] is True
    ex = ZipExtractor().extract(src, ExtractContext(workdir=tmp_path / "w2", passwords=("wrong",)))
    assert ex.children == []
    assert any("none of the passwords" in w for w in ex.warnings)


def test_scratch_files_stay_in_archive_folder(tmp_path, monkeypatch):
    import tempfile

    from archive import Archive

    systmp = tmp_path / "systmp"
    systmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(systmp))
    monkeypatch.setenv("TMPDIR", str(systmp))  # what OCR workers would inherit
    root = tmp_path / "archive"
    (root / "tmp" / "run-999999999-dead").mkdir(parents=True)  # left by a killed run
    with Archive(root) as a:
        report = a.ingest(
            [
                corpus_file("archives/tika_test-zip-of-zip.zip"),
                corpus_file("email-msg/tika_testMSG_att_msg.msg"),
                corpus_file("images/ocrmypdf_linn.png"),  # OCR'd: Tesseract's files too
            ]
        )
        assert "LinnSequencer" in a.store.pages(report.documents[-1])[0]["text"].replace(" ", "")
    assert report.failed.get("extract", 0) == 0
    # multiprocessing keeps its forkserver socket in a `pymp-*` folder of its own: no document data.
    assert [p for p in systmp.iterdir() if not p.name.startswith("pymp-")] == []
    leftovers = [p for p in (root / "tmp").rglob("*") if not p.is_dir()]
    assert leftovers == [] and {p.name for p in (root / "tmp").iterdir()} <= {"ocr"}
