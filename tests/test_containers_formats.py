"""Tar, 7z and RAR read like zip, under the same limits; office properties read from the package
(tracked changes). Fast: the extractors alone, on files made here."""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

import pytest

from archive.extractors import ExtractContext, choose, make_source
from archive.limits import TreeBudget, TreeLimits
from archive.models import StageError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from make_format_fixtures import _rar  # noqa: E402


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]], mode: str = "w:gz") -> None:
    with tarfile.open(path, mode) as tf:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tf.addfile(info, io.BytesIO(data) if info.isfile() else None)


def _extract(path: Path, ctx: ExtractContext | None = None):
    source = make_source(path)
    extractor = choose(source)
    assert extractor is not None
    return extractor.extract(source, ctx or ExtractContext(workdir=path.parent / "work"))


def test_tar_names_are_made_safe_and_links_never_followed(tmp_path):
    evil = tarfile.TarInfo("../../etc/cron.d/evil.txt")
    link = tarfile.TarInfo("secret")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    fifo = tarfile.TarInfo("pipe")
    fifo.type = tarfile.FIFOTYPE
    _tar(tmp_path / "t.tgz", [(evil, b"escaped?"), (link, b""), (fifo, b"")])
    ex = _extract(tmp_path / "t.tgz")
    assert [c.name for c in ex.children] == ["etc/cron.d/evil.txt"]
    assert ex.children[0].path.is_relative_to(tmp_path / "work")
    assert ex.children[0].path.read_bytes() == b"escaped?"
    assert "secret: link to /etc/passwd not followed" in ex.warnings
    assert "pipe: device or FIFO not followed" in ex.warnings


def test_tar_over_the_trees_byte_budget_is_refused(tmp_path):
    big = tarfile.TarInfo("big.txt")
    _tar(tmp_path / "big.tar.xz", [(big, b"x" * 5000)], "w:xz")
    ctx = ExtractContext(workdir=tmp_path / "w", budget=TreeBudget(TreeLimits(bytes=1000)))
    with pytest.raises(StageError, match="would expand to 5000 bytes"):
        _extract(tmp_path / "big.tar.xz", ctx)


def test_tar_members_past_the_document_budget_are_listed_not_read(tmp_path):
    members = [(tarfile.TarInfo(f"m{n}.txt"), b"member %d" % n) for n in range(5)]
    _tar(tmp_path / "many.tar", members, "w")
    budget = TreeBudget(TreeLimits(documents=3))
    budget.documents = 1  # the tar itself
    ex = _extract(tmp_path / "many.tar", ExtractContext(workdir=tmp_path / "w", budget=budget))
    assert len(ex.children) == 2
    assert ex.metadata["limits"].endswith("3 of 5 members not read")
    assert "m4.txt" in ex.pages[0].text  # listed all the same


def test_encrypted_7z_needs_and_takes_a_password(tmp_path):
    import py7zr

    with py7zr.SevenZipFile(tmp_path / "locked.7z", "w", password="pw") as z:
        z.writestr("Locked minutes on the pier repairs.", "minutes.txt")
    with pytest.raises(StageError, match="encrypted 7z archive: password required"):
        _extract(tmp_path / "locked.7z")
    with pytest.raises(StageError, match="none of the 1 passwords"):
        _extract(tmp_path / "locked.7z", ExtractContext(workdir=tmp_path / "w1", passwords=("nope",)))
    ex = _extract(tmp_path / "locked.7z", ExtractContext(workdir=tmp_path / "w2", passwords=("nope", "pw")))
    assert ex.children[0].path.read_text() == "Locked minutes on the pier repairs."
    assert ex.children[0].meta["archive"]["decrypted"] is True


def test_rar_members_are_read_with_safe_names(tmp_path):
    _rar(tmp_path / "b.rar", [("../up/notes.txt", b"RAR notes on the ferry"), ("docs/a.txt", b"second")])
    ex = _extract(tmp_path / "b.rar")
    assert ex.metadata["archive"]["format"] == "RAR archive"
    assert [(c.name, c.path.read_bytes()) for c in ex.children] == [
        ("up/notes.txt", b"RAR notes on the ferry"),
        ("docs/a.txt", b"second"),
    ]


def test_damaged_archives_fail_saying_what_they_are(tmp_path):
    (tmp_path / "bad.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\x00" * 30)
    with pytest.raises(StageError, match="damaged 7z archive"):
        _extract(tmp_path / "bad.7z")
    (tmp_path / "bad.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 30)
    with pytest.raises(StageError, match=r"damaged (gzip file|compressed tar archive)"):
        _extract(tmp_path / "bad.tar.gz")


def test_tracked_changes_and_comments_are_read_from_a_docx(tmp_path):
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    from archive.extractors.office.detect import DOCX
    from archive.extractors.office.properties import properties_text, read_properties

    d = docx.Document()
    p = d.add_paragraph("The budget is ")
    p._p.append(
        parse_xml(
            f'<w:del {nsdecls("w")} w:id="1" w:author="Dan Editor" w:date="2024-01-02T00:00:00Z">'
            "<w:r><w:delText>four million</w:delText></w:r></w:del>"
        )
    )
    p._p.append(
        parse_xml(
            f'<w:ins {nsdecls("w")} w:id="2" w:author="Dan Editor" w:date="2024-01-02T00:00:00Z">'
            "<w:r><w:t>two million</w:t></w:r></w:ins>"
        )
    )
    d.save(str(tmp_path / "changes.docx"))
    props = read_properties(tmp_path / "changes.docx", DOCX)
    changes = props["tracked_changes"]
    assert changes["insertions"] == 1 and changes["deletions"] == 1
    assert changes["authors"] == ["Dan Editor"] and changes["deleted_text"] == "four million"
    text = properties_text(props)
    assert (
        "Deleted text: four million" in text
        and "Tracked changes: 1 insertions, 1 deletions by Dan Editor" in text
    )


def test_file_dates_are_stored_as_utc():
    from archive.extractors.dates import utc_from_iso

    assert utc_from_iso("2018-05-10T16:58:10.713936969") == "2018-05-10T16:58:10Z"  # OpenDocument
    assert utc_from_iso("2024-03-05T14:00:00+01:00") == "2024-03-05T13:00:00Z"
    assert utc_from_iso("2016-08-02") == "2016-08-02T00:00:00Z"
    assert utc_from_iso("1601-01-01T00:00:00") is None  # OLE's "never"
    assert utc_from_iso("last Tuesday") is None
