"""Shared fixtures: the real corpus, a fresh archive folder, the CLI runner."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

CORPUS = Path(os.environ.get("FOI_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"))
FONT_CJK = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
TOOLS = Path(__file__).resolve().parents[2] / "shared" / "tools"  # fixture makers shared with the corpus


def corpus_file(rel: str) -> Path:
    path = CORPUS / rel
    if not path.exists():
        raise FileNotFoundError(f"corpus file missing: {path} (set FOI_CORPUS)")
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny valid zh->en Argos package (a copy model: its output equals its input), built offline."""
    out = tmp_path_factory.mktemp("argos") / "translate-zh_en-tiny.argosmodel"
    subprocess.run(
        [sys.executable, str(TOOLS / "make_tiny_argos_package.py"), str(out)], check=True, capture_output=True
    )
    return out


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the test corpus is not at {CORPUS}; set FOI_CORPUS")
    return CORPUS


@pytest.fixture(scope="session")
def manifest(corpus: Path) -> dict[str, dict[str, str]]:
    with open(corpus / "MANIFEST.tsv", encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)}


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    return tmp_path / "archive"


@pytest.fixture
def archive(archive_dir: Path):
    from archive import Archive

    with Archive(archive_dir) as a:
        yield a


@pytest.fixture
def pool_breaks_after_first_pages(monkeypatch):
    """The OCR pool breaks (as when a worker dies) once a document's first page is read: its
    later pages (started with the languages that page chose) can't be started."""
    from concurrent.futures.process import BrokenProcessPool

    from ocr import tesseract

    started = tesseract.TesseractEngine._start_job

    def start(self, key, image, languages, hint):
        if hint is not None:
            raise BrokenProcessPool("a worker died")
        return started(self, key, image, languages, hint)

    monkeypatch.setattr(tesseract.TesseractEngine, "_start_job", start)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def foi(runner: CliRunner, archive_dir: Path):
    """Run `foi --archive <tmp> ARGS...` and return the click Result."""
    from archive.cli import cli

    def run(*args: str, ok: bool = True):
        result = runner.invoke(cli, ["--archive", str(archive_dir), *args], catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"foi {' '.join(args)} exited {result.exit_code}:\n{result.output}")
        return result

    return run


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: edit distance over the reference length, whitespace ignored."""
    ref = "".join(reference.split())
    hyp = "".join(hypothesis.split())
    prev = list(range(len(hyp) + 1))
    for i, rc in enumerate(ref, 1):
        cur = [i]
        for j, hc in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rc != hc)))
        prev = cur
    return prev[-1] / max(len(ref), 1)
