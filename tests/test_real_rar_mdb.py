"""Issue 19: compressed RAR archives written by RAR itself (markokr/rarfile's test files) and real
Access databases (jackcess's test files), through the real ingest: RAR members become documents
whose text search finds, a password-protected RAR is tried with the given passwords like a zip,
and an Access table's rows are stored and found by a value in them. Sources and known facts:
tests/fixtures/rar/SOURCE.md and tests/fixtures/mdb/SOURCE.md."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archive.search.base import SearchQuery

FIXTURES = Path(__file__).parent / "fixtures"
NUMBERS = "".join(f"{n:03d}\n" for n in range(512)).encode()  # every member's content


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    from archive import Archive

    folder = tmp_path_factory.mktemp("release") / "release"
    folder.mkdir()
    for name in ("rar3-solid.rar", "rar5-solid-qo.rar", "rar5-psw.rar", "rar5-solid.rar"):
        shutil.copyfile(FIXTURES / "rar" / name, folder / name)
    for name in ("testV1997.mdb", "fixedTextTestV2000.mdb"):
        shutil.copyfile(FIXTURES / "mdb" / name, folder / name)
    with Archive(tmp_path_factory.mktemp("archive")) as archive:
        report = archive.ingest([folder], collection="release", passwords=("wrong", "password"))
        yield archive, report


def _top(archive, filename):
    docs = archive.store.documents("filename=? AND parent_id IS NULL", (filename,))
    assert len(docs) == 1, filename
    return archive.document(docs[0]["id"])


def _hit_ids(archive, text):
    return {h.doc_id for h in archive.search(SearchQuery(text=text, limit=100)).hits}


@pytest.mark.parametrize(
    ("filename", "members"),
    [
        ("rar3-solid.rar", ["stest1.txt", "stest2.txt"]),
        ("rar5-solid-qo.rar", ["somedir/stest1.txt", "stest1.txt", "somedir/stest2.txt", "stest2.txt"]),
        ("rar5-solid.rar", ["stest1.txt", "stest2.txt"]),
    ],
)
def test_compressed_rar_members_are_documents_found_by_search(ingested, filename, members):
    archive, _ = ingested
    rar = _top(archive, filename)
    assert rar["status"] == "done" and rar["metadata"]["archive"]["format"] == "RAR archive"
    assert [c["filename"] for c in rar["children"]] == members
    hits = _hit_ids(archive, '"509 510 511"')
    for child in rar["children"]:
        assert child["status"] == "done"
        stored = archive.document(child["id"])
        assert stored["pages"][0]["text"].split() == NUMBERS.decode().split()
        assert child["id"] in hits


def test_encrypted_rar_is_opened_with_the_passwords_given(ingested, tmp_path):
    from archive import Archive

    archive, _ = ingested
    rar = _top(archive, "rar5-psw.rar")
    assert [c["filename"] for c in rar["children"]] == ["stest1.txt", "stest2.txt"]
    for child in rar["children"]:
        stored = archive.document(child["id"])
        assert stored["metadata"]["archive"]["decrypted"] is True
        assert stored["pages"][0]["text"].split() == NUMBERS.decode().split()
    # Without the right password the members are recorded as skipped, not read and not lost.
    with Archive(tmp_path / "a") as other:
        other.ingest([FIXTURES / "rar" / "rar5-psw.rar"], collection="c", passwords=("wrong",))
        locked = _top(other, "rar5-psw.rar")
        assert locked["children"] == []
        warnings = locked["metadata"]["warnings"]
        assert warnings == [
            "stest1.txt: encrypted member skipped (none of the passwords opens it)",
            "stest2.txt: encrypted member skipped (none of the passwords opens it)",
        ]
        assert "stest1.txt" in locked["pages"][0]["text"]  # the listing still names them


def test_access_tables_are_read_as_rows_and_found_by_search(ingested):
    archive, _ = ingested
    jet3 = _top(archive, "testV1997.mdb")
    assert jet3["status"] == "done" and jet3["kind"] == "database"
    tables = {t["name"]: t["rows"] for t in jet3["metadata"]["tables"]}
    assert tables == {"Table1": 2, "Table2": 0, "Table3": 0, "Table4": 0}
    text = "\n".join(p["text"] for p in jet3["pages"])
    assert "Table1, row 2: A: abcdefg | B: hijklmnop | C: 2 | D: 222 | E: 333333333" in text
    assert jet3["id"] in _hit_ids(archive, "hijklmnop")
    jet4 = _top(archive, "fixedTextTestV2000.mdb")
    text = "\n".join(p["text"] for p in jet4["pages"])
    assert "users, row 2:" in text and "c_user_name: Admin User" in text
    hits = archive.search(SearchQuery(text='"Admin User"', limit=10)).hits
    hit = next(h for h in hits if h.doc_id == jet4["id"])
    assert "users, row 2" in hit.snippet.replace("<mark>", "").replace("</mark>", "")
    page = archive.page(hit.doc_id, hit.page)
    assert page["meta"]["sheet"] == "users" and page["meta"]["rows"][0] <= 2 <= page["meta"]["rows"][1]
