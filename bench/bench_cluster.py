"""Ingest on a Dask cluster against the local pool, on this machine, in one run.

    .venv/bin/python bench/bench_cluster.py [--corpus DIR] [--files N]

The corpus's scanned PDFs are ingested four times, each into a fresh archive (empty OCR cache):
1. the local process pool, 2 processes;
2. a real cluster (`dask scheduler` + `foi worker` processes on 127.0.0.1) of one worker, 1 thread;
3. the same with two workers of 1 thread each;
4. the local pool with 1 process (the baseline of the cluster of one).
Each coordinator is this process, warmed first (spaCy and the language models loaded by an English
document; on a cluster, every worker runs the analysis steps once on a short English and Chinese
document, `ClusterOcrEngine.warm_workers`, as the local coordinator's models are loaded), so that its CPU time (`time.process_time`) over the run, divided by the pages, is what
one coordinator spends per page whatever the cluster: rendering, OCR, redaction boxes, language,
glosses, entities and (on a cluster) the PDF's extraction are on the workers; the coordinator
checks the OCR cache, translates (a model, when one is installed), stores and indexes, and runs the
Dask client (its other threads: the CPU not in "its ingest thread"). `--profile` prints where its time goes. The workers' CPU per page (their processes and the Tesseract runs they wait for, read
with `client.run`) divided by the coordinator's is how many worker cores one coordinator feeds.
The four runs' stored pages (texts, word boxes, languages, OCR details) are compared: they must be equal.
Targets: two one-thread workers >= 1.8 x one; the cluster >= 0.95 x the local pool on the same
cores; the coordinator under 20 ms of CPU a page (>= 50 worker cores fed).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cluster_fixtures import Cluster  # noqa: E402

from archive.core import Archive  # noqa: E402

WARM_UP = "pdf-text/alaveteli_psni.pdf"  # an English letter: loads the models the steps use (spaCy too)


def worker_cpu() -> float:
    """CPU seconds of this worker process and of the Tesseract runs it has waited for."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cluster_cpu(archive: Archive) -> float | None:
    client = getattr(archive.ocr_engine(), "client", None)
    return None if client is None else sum(client.run(worker_cpu).values())


def pages_of(archive: Archive) -> dict[str, list[dict[str, Any]]]:
    keys = ("number", "text", "words", "lang", "ocr", "confidence", "width", "height", "dpi", "meta")
    return {
        doc["filename"]: [{k: p[k] for k in keys} for p in archive.store.pages(doc["id"], with_words=True)]
        for doc in archive.store.documents()
        if doc["kind"] == "pdf"
    }


def run(
    name: str,
    folder: Path,
    files: list[Path],
    corpus: Path,
    config: dict[str, Any],
    profile: Path | None = None,
) -> dict[str, Any]:
    with Archive(folder, config) as archive:
        archive.ingest([corpus / WARM_UP], collection="warm-up")
        engine = archive.ocr_engine()  # the pool or the client started before the clock
        if hasattr(engine, "warm_workers"):  # the workers' models loaded too, as the coordinator's
            recipes = tuple(r for s in archive.steps() if (r := getattr(s, "recipe", lambda: None)()))
            engine.warm_workers(recipes)
        # What earlier runs left in this process (the local runs load spaCy and jieba here, which
        # a cluster's coordinator never holds) is kept out of the timed run's full collections:
        # one full collection of it costs about 0.2 s, 7 ms a page when it falls in a cluster run.
        gc.collect()
        gc.freeze()
        workers = cluster_cpu(archive)
        profiler = cProfile.Profile() if profile else None
        cpu, wall, own = time.process_time(), time.perf_counter(), time.thread_time()
        if profiler:
            profiler.enable()
        report = archive.ingest(files)
        if profiler:
            profiler.disable()
        wall, cpu, own = time.perf_counter() - wall, time.process_time() - cpu, time.thread_time() - own
        if profiler and profile:
            profiler.dump_stats(profile)
        if workers is not None:
            workers = cluster_cpu(archive) - workers  # type: ignore[operator]
        pages = pages_of(archive)
    ocr_pages = sum(1 for doc in pages.values() for p in doc if p["ocr"])
    if report.failed:
        print(f"  {name}: failures {report.failures}", file=sys.stderr)
    on_workers = f"  workers' CPU {workers / ocr_pages:5.2f} s/page" if workers is not None else ""
    print(
        f"{name:<34} {ocr_pages:4d} pages  {wall:7.1f} s  {ocr_pages / wall:5.2f} pages/s  "
        f"coordinator CPU {1000 * cpu / ocr_pages:6.1f} ms/page (its ingest thread {1000 * own / ocr_pages:.1f})"
        f"{on_workers}",
        flush=True,
    )
    return {
        "pps": ocr_pages / wall,
        "cpu_page": cpu / ocr_pages,
        "worker_page": None if workers is None else workers / ocr_pages,
        "pages": pages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", type=Path, default=Path(os.environ.get("FOI_CORPUS", ROOT.parent / "shared" / "corpus"))
    )
    parser.add_argument("--files", type=int, default=0, help="only the first N scanned PDFs (0: all)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the coordinator of the two-worker run (cProfile; its clock runs slower) and print "
        "where its time goes",
    )
    args = parser.parse_args()
    files = sorted((args.corpus / "pdf-scanned").glob("*.pdf"))
    files = files[: args.files] if args.files else files
    print(f"{len(files)} scanned PDFs of {args.corpus}; {os.cpu_count()} cores on this machine (shared)")
    with tempfile.TemporaryDirectory(prefix="foi-bench-cluster-") as tmp:
        base = Path(tmp)
        results = {
            "local2": run("local pool, 2 processes", base / "l2", files, args.corpus, {"ocr_workers": 2})
        }
        with Cluster(base / "c1", workers=1, nthreads=1) as one:
            results["one"] = run(
                "cluster, 1 worker x 1 thread", base / "a1", files, args.corpus, {"cluster": one.address}
            )
        with Cluster(base / "c2", workers=2, nthreads=1) as two:
            results["two"] = run(
                "cluster, 2 workers x 1 thread",
                base / "a2",
                files,
                args.corpus,
                {"cluster": two.address},
                profile=base / "coordinator.prof" if args.profile else None,
            )
            if args.profile:
                stats = pstats.Stats(str(base / "coordinator.prof"))
                print("\nthe coordinator of the two-worker run, by cumulative time (waits included):")
                stats.sort_stats("cumulative").print_stats(
                    r"archive/(pipeline|steps|portable|indexing|store|cluster)", 25
                )
        results["local1"] = run("local pool, 1 process", base / "l1", files, args.corpus, {"ocr_workers": 1})
    same = all(r["pages"] == results["local2"]["pages"] for r in results.values())
    one, two, local2, local1 = (results[k] for k in ("one", "two", "local2", "local1"))
    cpu_page = max(one["cpu_page"], two["cpu_page"])
    # CPU seconds a worker spends on a page (the machine is shared: its wall time per page is longer).
    worker_page = (one["worker_page"] + two["worker_page"]) / 2
    print()
    print(f"stored pages identical in all four runs: {'yes' if same else 'NO'}")
    print(
        f"2 workers / 1 worker: {two['pps'] / one['pps']:.2f}x (target >= 1.8; scaling efficiency {two['pps'] / one['pps'] / 2:.0%})"
    )
    print(f"cluster of 2 / local pool of 2: {two['pps'] / local2['pps']:.2f} (target >= 0.95)")
    print(f"cluster of 1 / local pool of 1: {one['pps'] / local1['pps']:.2f}")
    print(f"coordinator CPU per page on the cluster: {1000 * cpu_page:.1f} ms (target < 20 ms)")
    print(
        f"a worker spends {worker_page:.2f} s of CPU on a page: one coordinator feeds "
        f"{worker_page:.2f} / {cpu_page:.4f} = {worker_page / cpu_page:.0f} worker cores (target >= 50)"
    )
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
