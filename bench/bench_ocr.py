"""OCR throughput on the corpus's scanned PDFs, three ways in one run.

    .venv/bin/python bench/bench_ocr.py [--corpus DIR] [--jobs N]

1. `foi ingest` of the scanned PDFs into a fresh archive (empty OCR cache): pages per second.
2. The limit: the raw `tesseract` CLI over the same pages, rendered at their native resolution beforehand
   in the format foi hands Tesseract (rendering not timed), with the same languages foi chose per page, N processes in parallel.
   Printed twice: text only (the issue's limit), and with word boxes (TSV), which foi needs.
3. `ocrmypdf --sidecar --jobs N --force-ocr` over the same files: the tool a user would pick instead.
Then a second ingest of the same pages inside new files shows the OCR cache (identical pages OCR'd once).
Prints pages/s for each and the ratios (targets: foi >= 0.95 x the limit, and faster than ocrmypdf).

Redaction detection (issue #18) beside it: the image detector's time on every OCR'd page of the
ingest (each page rendered again as OCR rendered it, untimed, with the skew OCR measured) as a share
of the ingest's time (target <= 5%), and on the corpus's text PDFs (MANIFEST.tsv) the PDF
extractor's time a page alone and with redaction detection (read in the extractor's own pass over
the page), the median of `--repeats` runs, with the load average (target: <= 5 ms a page added).
`--redactions-only` skips the Tesseract limit, ocrmypdf and the cached ingest.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ocr import OCR_FORMAT, render_pdf_page  # noqa: E402


def scanned_pdfs(corpus: Path) -> list[Path]:
    return sorted((corpus / "pdf-scanned").glob("*.pdf"))


def run_foi(archive: Path, files: list[Path], workers: int) -> float:
    env = dict(os.environ, FOI_OCR_WORKERS=str(workers))
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "archive.cli",
            "--archive",
            str(archive),
            "ingest",
            *map(str, files),
            "--json",
        ],
        check=False,
        capture_output=True,
        env=env,
        text=True,
    )
    elapsed = time.perf_counter() - start
    # Exit code 1 means some documents failed (recorded); anything else means no figure.
    if done.returncode not in (0, 1):
        raise SystemExit(f"foi ingest failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    if report["failed"]:
        print(f"note: {report['failed']} document(s) failed: {report['failures']}", file=sys.stderr)
    return elapsed


def ocr_pages(archive: Path) -> list[tuple[str, int, str]]:
    """(original path, page index, languages) of every OCR'd page, as foi chose them."""
    con = sqlite3.connect(archive / "foi.sqlite3")
    rows = con.execute(
        "SELECT d.source_path, p.number, p.meta FROM pages p JOIN documents d ON d.id = p.document_id "
        "WHERE p.ocr = 1 ORDER BY d.id, p.number"
    ).fetchall()
    con.close()
    return [(r[0], r[1] - 1, json.loads(r[2])["ocr"]["languages"]) for r in rows]


def time_image_redactions(archive: Path) -> tuple[float, int, int]:
    """(seconds, pages, boxes) of the image redaction detector over the ingest's OCR'd pages."""
    from PIL import Image

    from archive.redactions.image import find_image_boxes

    con = sqlite3.connect(archive / "foi.sqlite3")
    rows = con.execute(
        "SELECT d.sha256, p.number, p.dpi, p.meta FROM pages p JOIN documents d ON d.id = p.document_id "
        "WHERE p.ocr = 1 AND d.mime = 'application/pdf' ORDER BY d.id, p.number"
    ).fetchall()
    con.close()
    seconds, boxes = 0.0, 0
    for sha, number, dpi, meta in rows:
        blob = archive / "originals" / sha[:2] / sha[2:4] / sha
        rendered = render_pdf_page(str(blob), number - 1, dpi=dpi, image_format=OCR_FORMAT)
        skew = float((json.loads(meta).get("ocr") or {}).get("skew") or 0.0)
        with Image.open(io.BytesIO(rendered.data)) as im:
            im.load()
            start = time.perf_counter()
            boxes += len(find_image_boxes(im, dpi, skew))
            seconds += time.perf_counter() - start
    return seconds, len(rows), boxes


def text_pdfs(corpus: Path) -> list[tuple[Path, str]]:
    """The corpus's text PDFs (MANIFEST.tsv kind `pdf-text`) with the password its facts give."""
    out = []
    with open(corpus / "MANIFEST.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["kind"] == "pdf-text":
                password = re.search(r'password "([^"]*)"', row["known_facts"])
                out.append((corpus / row["file"], password.group(1) if password else ""))
    return out


def time_text_pdfs(corpus: Path, repeats: int, budget: float = 3.0) -> dict[str, float]:
    """CPU time a text-layer page (of this process, so that other load on the machine counts
    less) on the corpus's text PDFs:

    - the extractor alone, up to `repeats` runs a file (fewer once a file has used `budget`
      seconds: pdfminer's layout analysis takes 30 s on one rotated table of the corpus);
    - what redaction detection adds to it: the page's drawing is read in the extractor's own
      parse, so it is measured there: `repeats` pairs of runs with and without, the median of
      their differences; the layout analysis after the parse is the same either way and would
      only add its noise.

    Each figure is the median per file, summed over the files, divided by the text-layer pages."""
    from archive.extractors import ExtractContext, make_source
    from archive.extractors import pdf as pdf_extractor
    from archive.models import StageError

    extractor = pdf_extractor.PdfExtractor(find_redactions=False)
    files, pages, boxes = 0, 0, 0
    alone: list[float] = []
    parse: list[float] = []
    added: list[float] = []

    def parse_only(path: Path, password: str, on: bool, text_pages: set[int]) -> tuple[float, int]:
        start = time.process_time()
        found = 0
        for number, (page, _layout, drawn) in enumerate(
            pdf_extractor._layouts(path, password, None, drawing=on), start=1
        ):
            if drawn is not None and number in text_pages:
                found += len(pdf_extractor.redaction_boxes(page, drawn))
        return time.process_time() - start, found

    with tempfile.TemporaryDirectory(prefix="foi-bench-textpdf-") as tmp:
        for path, password in text_pdfs(corpus):
            source = make_source(path)
            ctx = ExtractContext(workdir=Path(tmp), passwords=(password,) if password else ())
            runs: list[float] = []
            try:
                while len(runs) < repeats and sum(runs) <= budget:
                    start = time.process_time()
                    result = extractor.extract(source, ctx)
                    runs.append(time.process_time() - start)
            except StageError:
                continue  # not a PDF one can read: no page to time
            text_pages = {p.number for p in result.pages if p.needs_ocr is None}
            files += 1
            pages += len(text_pages)
            alone.append(statistics.median(runs))
            # Pairs run back to back, in alternating order: the median of the pairs' differences
            # is what detection adds, free of the machine's drift between pairs.
            without, differences = [], []
            for r in range(repeats):
                timed = {}
                for on in (False, True) if r % 2 == 0 else (True, False):
                    timed[on], found = parse_only(path, password, on, text_pages)
                without.append(timed[False])
                differences.append(timed[True] - timed[False])
            boxes += found
            parse.append(statistics.median(without))
            added.append(statistics.median(differences))
    per_page = 1000 / max(pages, 1)
    return {
        "files": files,
        "pages": pages,
        "boxes": boxes,
        "alone": sum(alone) * per_page,
        "with": (sum(alone) + sum(added)) * per_page,
        "parse": sum(parse) * per_page,
        "added": sum(added) * per_page,
    }


def redaction_lines(foi_s: float, archive: Path, corpus: Path, repeats: int) -> list[str]:
    image_s, image_pages, image_boxes = time_image_redactions(archive)
    load = os.getloadavg()[0]
    t = time_text_pdfs(corpus, repeats)
    load = max(load, os.getloadavg()[0])
    return [
        f"redactions on OCR'd pages: {image_s:6.2f} s for {image_pages} pages ({1000 * image_s / max(image_pages, 1):.0f} ms a page, "
        f"{image_boxes} boxes) = {100 * image_s / foi_s:.1f}% of the ingest time   (target <= 5%)",
        f"text PDFs ({t['files']:.0f} files, {t['pages']:.0f} text-layer pages, {t['boxes']:.0f} boxes; "
        f"median of up to {repeats} runs each, load average {load:.1f} on {os.cpu_count()} cores):",
        f"  extraction alone:                 {t['alone']:8.2f} ms CPU a page",
        f"  extraction + redaction detection: {t['with']:8.2f} ms CPU a page",
        f"  added by detection:               {t['added']:8.2f} ms CPU a page   (target <= 5 ms; "
        f"measured in the parse, {t['parse']:.2f} ms a page without it)",
    ]


def run_tesseract_limit(
    pages: list[tuple[str, int, str]], workers: int, tmp: Path, tsv: bool = False
) -> float:
    """Raw `tesseract` over the rendered pages; with `tsv`, asked for word boxes too (as foi needs
    them for highlighting), which costs Tesseract itself about 5 % more than text alone."""
    jobs = []
    for i, (path, index, langs) in enumerate(pages):
        # In the format foi hands Tesseract, so the limit reads its files as fast as foi's.
        image = tmp / f"page-{i:03d}.tif"
        if not image.exists():
            image.write_bytes(render_pdf_page(path, index, image_format=OCR_FORMAT).data)
        jobs.append((image, langs))
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def one(job: tuple[Path, str]) -> None:
        formats = ["tsv"] if tsv else []
        subprocess.run(
            ["tesseract", str(job[0]), "stdout", "-l", job[1], *formats],
            check=True,
            capture_output=True,
            env=env,
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, jobs))
    return time.perf_counter() - start


def run_ocrmypdf(
    files: list[Path], langs_by_file: dict[str, str], workers: int, tmp: Path, per_file: bool
) -> float | None:
    """ocrmypdf over the files: one file after another with --jobs N (as its docs suggest), or
    (`per_file`) N files at a time with --jobs 1 each, which keeps every core busy on short files."""
    if not shutil.which("ocrmypdf"):
        return None
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    jobs = 1 if per_file else workers
    out = tmp / ("ocrmypdf-files" if per_file else "ocrmypdf-jobs")
    out.mkdir()

    def one(f: Path) -> None:
        langs = langs_by_file.get(str(f), "eng")
        subprocess.run(
            [
                "ocrmypdf",
                "--force-ocr",
                "--jobs",
                str(jobs),
                "--sidecar",
                str(out / (f.stem + ".txt")),
                "--output-type",
                "pdf",
                "-l",
                langs,
                "--quiet",
                str(f),
                str(out / (f.stem + ".out.pdf")),
            ],
            check=True,
            capture_output=True,
            env=env,
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(workers if per_file else 1) as pool:
        list(pool.map(one, files))
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument(
        "--redactions-only", action="store_true", help="Only the foi ingest and redaction figures."
    )
    ap.add_argument("--repeats", type=int, default=5, help="Runs of each text PDF (median taken).")
    args = ap.parse_args()
    files = scanned_pdfs(args.corpus)
    with tempfile.TemporaryDirectory(prefix="foi-bench-ocr-") as tmpdir:
        tmp = Path(tmpdir)
        archive = tmp / "archive"
        foi_s = run_foi(archive, files, args.jobs)
        pages = ocr_pages(archive)
        n = len(pages)
        if args.redactions_only:
            print(f"foi ingest (cold cache):      {foi_s:7.2f} s  {n / foi_s:6.2f} pages/s")
            print("\n".join(redaction_lines(foi_s, archive, args.corpus, args.repeats)))
            return
        redactions = redaction_lines(foi_s, archive, args.corpus, args.repeats)
        limit_s = run_tesseract_limit(pages, args.jobs, tmp)
        boxes_s = run_tesseract_limit(pages, args.jobs, tmp, tsv=True)
        langs_by_file: dict[str, str] = {}
        for path, _, langs in pages:
            langs_by_file.setdefault(path, langs)
        runs = [run_ocrmypdf(files, langs_by_file, args.jobs, tmp, per_file) for per_file in (False, True)]
        ocrmypdf_s = min((r for r in runs if r is not None), default=None)
        # The same pages again inside renamed copies: identical page images come from the cache.
        copies = tmp / "copies"
        copies.mkdir()
        for f in files:
            data = f.read_bytes() + b"\n% a different file with the same pages\n"
            (copies / f.name).write_bytes(data)
        cached_s = run_foi(archive, sorted(copies.iterdir()), args.jobs)

    print(f"scanned PDFs: {len(files)} files, {n} OCR'd pages, {args.jobs} parallel jobs")
    print(f"foi ingest (cold cache):      {foi_s:7.2f} s  {n / foi_s:6.2f} pages/s")
    print(f"raw tesseract limit:          {limit_s:7.2f} s  {n / limit_s:6.2f} pages/s")
    print(f"raw tesseract, word boxes:    {boxes_s:7.2f} s  {n / boxes_s:6.2f} pages/s")
    if ocrmypdf_s is not None:
        print(f"ocrmypdf --sidecar --jobs N:  {runs[0]:7.2f} s  {n / runs[0]:6.2f} pages/s")
        print(f"ocrmypdf, N files at a time:  {runs[1]:7.2f} s  {n / runs[1]:6.2f} pages/s")
    print(f"foi ingest (same pages again):{cached_s:7.2f} s  {n / cached_s:6.2f} pages/s")
    print(f"ratio foi / limit:    {limit_s / foi_s:.2f}   (target >= 0.95)")
    print(
        f"ratio foi / limit with word boxes: {boxes_s / foi_s:.2f}   (the same work Tesseract does for foi)"
    )
    if ocrmypdf_s is not None:
        print(f"ratio foi / ocrmypdf (its faster way): {ocrmypdf_s / foi_s:.2f}   (target > 1)")
    print("\n".join(redactions))


if __name__ == "__main__":
    main()
