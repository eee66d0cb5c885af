"""Issue 19: office files are converted by one long-lived LibreOffice (archive/extractors/office/
uno_bridge.py through Debian's python3-uno), not one `soffice` start per file. On the real
LibreOffice: one soffice process converts file after file; a conversion that hangs fails that
document with the reason and the next one converts with a fresh soffice; a soffice killed in the
middle of a conversion costs that document one more try on its own; a spreadsheet whose formula
calls a document macro does not run it (while LibreOffice with macros allowed does); without UNO
bindings each file gets its own start, with the reason logged."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from archive.extractors.office.convert import DEFAULT_PYTHON, OfficeConverter
from archive.models import StageError
from conftest import corpus_file

pytestmark = [
    pytest.mark.slow,  # real LibreOffice, 4-11 s a test
    pytest.mark.skipif(
        not os.environ.get("CI")
        and subprocess.run([DEFAULT_PYTHON, "-c", "import uno"], capture_output=True).returncode != 0,
        reason="needs the system Python with LibreOffice's UNO bindings (python3-uno, scripts/setup.sh)",
    ),
]

# (corpus file, a phrase of its text in the PDF); the .docx has comments, which once aborted a
# hidden load over UNO on the no-GUI packages (loads now run on LibreOffice's main thread).
FILES = [
    ("office/tika_test.doc", "test"),
    ("office/tika_testComment.docx", "Here is some text."),
    ("office/tika_testPPT.pptx", "Attachment Test"),
    ("office/tika_testEXCEL_labels-govdocs-515858.xls", "Cabbage and other brassicas"),
    ("office/tika_testFooter.odt", "Here is some text on page 2"),
]


def _pdf_text(pdf: Path) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()


def _group(pgid: int | None) -> dict[int, str]:
    """The processes of a process group: pid -> command name."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found[int(entry.name)] = name
    return found


def _gone(pgid: int | None) -> bool:
    """Whether every process of the group has ended (a killed one takes a moment to go)."""
    deadline = time.monotonic() + 10
    while _group(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _group(pgid) == {}


def _soffice_bin(conv: OfficeConverter) -> int:
    """The one soffice.bin process of the converter's long-lived LibreOffice."""
    pids = [pid for pid, name in _group(conv.process_group).items() if name == "soffice.bin"]
    assert len(pids) == 1, pids
    return pids[0]


def test_one_soffice_converts_file_after_file(tmp_path):
    conv = OfficeConverter(tmp_path / "profile")
    seen = set()
    try:
        for n, (name, phrase) in enumerate(FILES):
            pdf = conv.convert(corpus_file(name), tmp_path / f"out{n}", "pdf", name)
            assert phrase in _pdf_text(pdf), name
            seen.add(_soffice_bin(conv))
        # A spreadsheet to xlsx (how .ods files are read cell by cell) through the same soffice.
        xlsx = conv.convert(corpus_file("office/tika_test-columnar.ods"), tmp_path / "xlsx", "xlsx")
        import openpyxl

        sheet = openpyxl.load_workbook(xlsx, read_only=True).worksheets[0]
        assert "Record Number" in [c for row in sheet.iter_rows(values_only=True) for c in row]
        seen.add(_soffice_bin(conv))
        assert len(seen) == 1 and conv.starts == 1 and conv.retried_alone == 0
        assert conv.per_file_reason is None and conv.conversions == len(FILES) + 1
        group = conv.process_group
    finally:
        conv.close()
    assert _gone(group)  # soffice and the bridge are gone after close


def test_a_hung_conversion_fails_that_document_and_the_next_converts(tmp_path, monkeypatch):
    conv = OfficeConverter(tmp_path / "profile")
    try:
        conv.convert(corpus_file("office/tika_test.doc"), tmp_path / "a")
        hung_group, hung = conv.process_group, _soffice_bin(conv)
        os.kill(hung, signal.SIGSTOP)  # LibreOffice stops answering: the next conversion hangs
        monkeypatch.setenv("FOI_OFFICE_TIMEOUT", "3")
        began = time.monotonic()
        with pytest.raises(StageError, match=r"^extract: Word document: LibreOffice took longer than 3 s"):
            conv.convert(corpus_file("office/tika_testComment.docx"), tmp_path / "b", "pdf", "Word document")
        assert time.monotonic() - began < 20
        assert _gone(hung_group)  # killed whole, soffice included
        monkeypatch.delenv("FOI_OFFICE_TIMEOUT")
        pdf = conv.convert(corpus_file("office/tika_testPPT.pptx"), tmp_path / "c")
        assert "Attachment Test" in _pdf_text(pdf)
        assert conv.starts == 2 and _soffice_bin(conv) != hung and conv.retried_alone == 0
    finally:
        conv.close()


def test_soffice_killed_mid_conversion_costs_that_document_one_try_alone(tmp_path):
    conv = OfficeConverter(tmp_path / "profile")
    try:
        conv.convert(corpus_file("office/tika_test.doc"), tmp_path / "a")
        first = _soffice_bin(conv)
        os.kill(first, signal.SIGSTOP)  # so that the conversion below is surely under way
        result: list[Path | BaseException] = []

        def convert() -> None:
            try:
                result.append(conv.convert(corpus_file("office/tika_testFooter.odt"), tmp_path / "b"))
            except BaseException as exc:
                result.append(exc)

        worker = threading.Thread(target=convert)
        worker.start()
        time.sleep(1.0)
        assert not result  # waiting on the stopped soffice
        os.kill(first, signal.SIGKILL)
        worker.join(60)
        assert isinstance(result[0], Path), result
        assert "Here is some text on page 2" in _pdf_text(result[0])
        assert conv.retried_alone == 1 and conv.starts == 2  # the long-lived one, then one alone
        # The next file goes through a fresh long-lived soffice.
        pdf = conv.convert(corpus_file("office/tika_testPPT.pptx"), tmp_path / "c")
        assert "Attachment Test" in _pdf_text(pdf)
        assert conv.starts == 3 and _soffice_bin(conv) != first
    finally:
        conv.close()


def _spreadsheet_calling_a_macro(path: Path, marker: Path) -> None:
    """An .ods whose only formula calls a Basic function of the document that writes `marker`;
    the cell has no stored value, so loading the file computes it."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
        ' xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.3">'
        '<office:body><office:spreadsheet><table:table table:name="Sheet1"><table:table-row>'
        '<table:table-cell office:value-type="string"><text:p>Dredging budget</text:p></table:table-cell>'
        '<table:table-cell table:formula="of:=MARK()"/></table:table-row></table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    module = (
        '<?xml version="1.0" encoding="UTF-8"?><script:module xmlns:script="http://openoffice.org/2000/script"'
        ' script:name="Module1" script:language="StarBasic">Function MARK\n'
        f'  Open "{marker}" For Output As #1\n  Print #1, "macro ran"\n  Close #1\n  MARK = 1\n'
        "End Function\n</script:module>"
    )
    library = (
        '<?xml version="1.0" encoding="UTF-8"?><library:library xmlns:library="http://openoffice.org/2000/library"'
        ' library:name="Standard" library:readonly="false" library:passwordprotected="false">'
        '<library:element library:name="Module1"/></library:library>'
    )
    libraries = (
        '<?xml version="1.0" encoding="UTF-8"?><library:libraries xmlns:library="http://openoffice.org/2000/library"'
        ' xmlns:xlink="http://www.w3.org/1999/xlink"><library:library library:name="Standard" library:link="false"/>'
        "</library:libraries>"
    )
    entries = [
        "content.xml",
        "Basic/script-lc.xml",
        "Basic/Standard/script-lb.xml",
        "Basic/Standard/Module1.xml",
    ]
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest'
        ' xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        + "".join(
            f'<manifest:file-entry manifest:full-path="{e}" manifest:media-type="text/xml"/>' for e in entries
        )
        + "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", manifest)
        for name, text in zip(entries, [content, libraries, library, module], strict=True):
            z.writestr(name, text)


def test_a_document_macro_never_runs(tmp_path):
    marker = tmp_path / "macro-ran.txt"
    sheet = tmp_path / "budget.ods"
    _spreadsheet_calling_a_macro(sheet, marker)
    # The control: the same conversion with macros allowed runs it (uno_macro_control.py).
    control = Path(__file__).with_name("uno_macro_control.py")
    allow = tmp_path / "allow"
    env = {**os.environ, "HOME": str(allow), "SAL_USE_VCLPLUGIN": "svp"}
    command = [DEFAULT_PYTHON, str(control), str(allow), str(sheet), str(tmp_path / "control.pdf")]
    subprocess.run(command, check=True, timeout=120, env=env)
    assert marker.read_text().strip() == "macro ran"
    marker.unlink()
    for long_lived in (True, False):
        conv = OfficeConverter(tmp_path / f"profile-{long_lived}", long_lived=long_lived)
        try:
            pdf = conv.convert(sheet, tmp_path / f"out-{long_lived}", "pdf", "OpenDocument spreadsheet")
        finally:
            conv.close()
        text = _pdf_text(pdf)  # the column is narrow: "Dredging bu"
        assert "Dredging bu" in text and "#VALUE!" in text  # the call to the macro was refused
        assert not marker.exists(), f"the macro ran (long_lived={long_lived})"
        assert conv.starts == 1 and (conv.per_file_reason is None) == long_lived


def test_without_uno_each_file_gets_its_own_start(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("FOI_OFFICE_PYTHON", sys.executable)  # the venv's Python: no uno
    conv = OfficeConverter(tmp_path / "profile")
    caplog.set_level(logging.WARNING, logger="archive.extractors.office.convert")
    try:
        for n, (name, phrase) in enumerate(FILES[:2]):
            pdf = conv.convert(corpus_file(name), tmp_path / f"out{n}", "pdf", name)
            assert phrase in _pdf_text(pdf)
    finally:
        conv.close()
    assert conv.starts == 2 and conv.process_group is None
    assert conv.per_file_reason is not None and "no UNO bindings" in conv.per_file_reason
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and said[0].startswith("LibreOffice starts once per file: no UNO bindings")


def test_refused_targets_say_why_without_a_path(tmp_path):
    conv = OfficeConverter(tmp_path / "profile")
    try:
        with pytest.raises(StageError) as raised:
            conv.convert(corpus_file("office/tika_test.doc"), tmp_path / "o", "xlsx", "Word document")
        assert str(raised.value) == (
            "extract: Word document: LibreOffice could not convert it to xlsx (not a document that converts to xlsx)"
        )
        garbage = tmp_path / "cut.doc"  # the first 3,000 bytes of a real .doc
        garbage.write_bytes(corpus_file("office/tika_test.doc").read_bytes()[:3000])
        with pytest.raises(
            StageError, match=r"could not convert it to pdf \(damaged, or not really this format\)$"
        ):
            conv.convert(garbage, tmp_path / "o", "pdf", "Word document")
        assert conv.starts == 1 and conv.retried_alone == 0  # refusals do not restart LibreOffice
    finally:
        conv.close()


def test_an_ingest_converts_its_office_files_through_one_soffice(tmp_path):
    from archive import Archive
    from archive.extractors.office.convert import converter
    from archive.search.base import SearchQuery

    folder = tmp_path / "release"
    folder.mkdir()
    documents = [name for name, _ in FILES if not name.endswith(".xls")]  # a sheet is read by cell
    for name in documents:
        (folder / Path(name).name).write_bytes(corpus_file(name).read_bytes())
    conv = converter()  # the ingest process's own
    starts, conversions = conv.starts, conv.conversions
    with Archive(tmp_path / "archive") as archive:
        report = archive.ingest([folder], collection="c")
        assert not report.failures
        hits = archive.search(SearchQuery(text='"Here is some text on page 2"', limit=5)).hits
        assert [(h.filename, h.page) for h in hits] == [("tika_testFooter.odt", 2)]
    assert conv.conversions - conversions == len(documents) == 4
    assert conv.starts - starts <= 1 and conv.process_group is not None  # kept for the next files


def test_a_libreoffice_that_does_not_start_fails_the_document_saying_so(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "soffice"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    conv = OfficeConverter(tmp_path / "profile")
    try:
        with pytest.raises(StageError) as raised:
            conv.convert(corpus_file("office/tika_test.doc"), tmp_path / "o", "pdf", "Word document")
    finally:
        conv.close()
    assert str(raised.value) == (
        "extract: Word document: LibreOffice did not start (soffice exited at start (status 3))"
    )
    assert conv.starts == 0 and conv.process_group is None
