"""Back-pressure on a cluster: the coordinator's memory on a long scan, against a short one.

    .venv/bin/python bench/bench_cluster_memory.py [--pages 2000] [--short 200] [--workers 2] [--ocr instant]

Two scanned PDFs of cheap pages (a small image with one line each) are generated, `--short` and
`--pages` pages long, and each is ingested by its own coordinator process (a fresh coordinator) on
a real cluster on 127.0.0.1 (`dask scheduler` and `foi worker`s of one thread). Printed: each
run's time, pages per second and the coordinator's peak RSS (from `wait4`), and the ratio of the
two peaks.

The point is a cluster much faster than the store. With `--ocr instant` (the default) the workers
render, hash and find the redaction boxes of every page for real but answer its OCR at once
(bench/instant_ocr_preload.py), so the coordinator is the bottleneck and pages would pile up on
it without the window; 2,000 pages take about two minutes. `--ocr tesseract` reads them with
Tesseract: then the cluster, not the store, is the slow side (about 1.7 pages a second on this
2-core machine shared by others: 2,200 pages took over 20 minutes), which tests less. With a bounded number of pages in flight
(`FOI_CLUSTER_PAGES_IN_FLIGHT`, by default three per worker thread) the long scan's pages wait as
page numbers, not as rendered images or tasks: what still grows with the length is the document's
own results (its page texts and word boxes, stored when the document is done). Target: the long
scan's peak within 1.5 x the short one's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cluster_fixtures import Cluster  # noqa: E402


def make_long_scan(path: Path, pages: int) -> None:
    """An image-only PDF of `pages` small pages, one short line on each."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 28)
    images = []
    for n in range(1, pages + 1):
        image = Image.new("L", (520, 70), 255)
        ImageDraw.Draw(image).text((20, 18), f"Ledger line {n} paid", fill=0, font=font)
        images.append(image)
    images[0].save(path, save_all=True, append_images=images[1:], resolution=150.0)


CHILD = """
import json, sys
from pathlib import Path
from archive.core import Archive
with Archive(Path(sys.argv[1]), {"cluster": sys.argv[3], "ocr_languages": ("eng",)}) as archive:
    report = archive.ingest([Path(sys.argv[2])]).as_dict()
    report["most_in_flight"] = archive.ocr_engine().most_in_flight
print(json.dumps(report))
"""


def ingest(folder: Path, scan: Path, address: str) -> dict[str, float]:
    """One coordinator process (English pages: no language choice per page) ingesting `scan`."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    started = time.perf_counter()
    args = [sys.executable, "-c", CHILD, str(folder), str(scan), address]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    report = json.loads(out)
    if status != 0 or report["ingested"] != 1:
        raise SystemExit(f"the ingest of {scan.name} failed: {report.get('failures')}")
    return {
        "wall": wall,
        "rss_mb": usage.ru_maxrss / 1024,
        "cpu": usage.ru_utime + usage.ru_stime,
        "in_flight": report["most_in_flight"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--short", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--ocr",
        choices=("instant", "tesseract"),
        default="instant",
        help="instant: workers answer OCR at once (a cluster faster than the store); tesseract: real OCR",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="foi-bench-backpressure-") as tmp:
        base = Path(tmp)
        runs = {}
        preload = (str(ROOT / "bench" / "instant_ocr_preload.py"),) if args.ocr == "instant" else ()
        with Cluster(base / "cluster", workers=args.workers, nthreads=1, preload=preload) as cluster:
            for pages in (args.short, args.pages):
                scan = base / f"scan-{pages}.pdf"
                make_long_scan(scan, pages)
                runs[pages] = run = ingest(base / f"archive-{pages}", scan, cluster.address)
                print(
                    f"{pages:5d} pages: {run['wall']:6.1f} s  {pages / run['wall']:5.1f} pages/s  "
                    f"coordinator peak RSS {run['rss_mb']:6.1f} MB  CPU {1000 * run['cpu'] / pages:5.1f} ms/page  "
                    f"most pages in flight {run['in_flight']:.0f}",
                    flush=True,
                )
    short, long = runs[args.short], runs[args.pages]
    print(f"OCR on the workers: {args.ocr}")
    print(
        f"peak RSS, {args.pages} pages / {args.short} pages: {long['rss_mb']:.1f} / {short['rss_mb']:.1f} = "
        f"{long['rss_mb'] / short['rss_mb']:.2f}x for {args.pages / args.short:.0f}x the pages (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
