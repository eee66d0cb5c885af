"""Search latency of /api/search (ranked, with snippets and facets) on a large generated archive.

    .venv/bin/python bench/bench_search_api.py [--docs 100000] [--requests 400] [--concurrency 8]

Builds an archive of generated documents with a Zipf-like English vocabulary plus Chinese words,
then sends a query mix (rare, medium and very common terms, phrases, Chinese words) at the given
concurrency to three targets on the same SQLite file, in one run:
  1. foi's /api/search (bm25-ranked top 20, snippets, facets collection/lang/kind/year);
  2. the raw FTS5 query (bm25-ranked top 20 rowids, no snippets, no facets), from Python;
  3. Datasette's `?_search=` in its fastest form (`_nocount=1&_nofacet=1`), when datasette is installed.
Prints p50/p99 per target and query class, and the ratios. Targets: p50 <= 20 ms, p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive  # noqa: E402
from archive.search.base import IndexRecord  # noqa: E402

CHINESE = ["海洋", "基地", "协议", "研究所", "军事", "数据", "合作", "大学"]


def vocabulary(size: int) -> list[str]:
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"the", "of", "and", "to", "in", "report", "information", "request", "university", "agreement"}
    while len(words) < size:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    return sorted(words, key=lambda w: (w not in {"the", "of", "and", "to", "in"}, w))


def build(root: Path, n_docs: int) -> dict[str, list[str]]:
    """Generate documents straight into the store and the FTS index; returns the query mix."""
    vocab = vocabulary(20000)
    weights = [1 / (r + 1) ** 1.05 for r in range(len(vocab))]
    rng = random.Random(7)
    with Archive(root) as archive:
        db = archive.store.db
        collections = ["release-2019", "release-2020", "leak-a", "leak-b"]
        records: list[IndexRecord] = []
        docs: list[tuple] = []
        pages: list[tuple] = []
        for i in range(1, n_docs + 1):
            words = rng.choices(vocab, weights, k=rng.randint(80, 250))
            zh = rng.random() < 0.15
            if zh:
                words += rng.choices(CHINESE, k=5)
            text = " ".join(words)
            coll = collections[i % 4]
            year = str(2015 + i % 8)
            docs.append(
                (i, coll, f"{i:064x}", f"doc-{i}.txt", "text", f"Document {i}", "zh-Hans" if zh else "en", 1,
                 "done", 0, f"{year}-06-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"))
            pages.append((i, i, 1, text, "zh-Hans" if zh else "en"))
            records.append(IndexRecord(i, i, 1, coll, "text", "zh-Hans" if zh else "en", f"Document {i}",
                                       body=text, date=f"{year}-06-01T00:00:00Z"))
            if len(records) >= 5000 or i == n_docs:
                with archive.store.transaction():
                    db.executemany(
                        "INSERT INTO documents(id, collection, sha256, filename, kind, title, lang, page_count, status, "
                        "index_pending, date, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", docs)
                    db.executemany("INSERT INTO pages(id, document_id, number, text, lang) VALUES (?,?,?,?,?)", pages)
                archive.backend.index(records)
                docs, pages, records = [], [], []
        archive.backend.db.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
    return {
        "common": ["the", "of", "information"],
        "medium": [vocab[300], vocab[800], vocab[1500]],
        "rare": [vocab[15000], vocab[18000], vocab[19990]],
        "phrase": [f'"{vocab[5]} {vocab[6]}"', '"the of"', f'"{vocab[40]} the"'],
        "chinese": ["海洋", "基地", "研究所"],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed_get(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as resp:
        resp.read()
    return (time.perf_counter() - start) * 1000


def run_load(urls: list[tuple[str, str]], concurrency: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    with ThreadPoolExecutor(concurrency) as pool:
        for cls, ms in zip([c for c, _ in urls], pool.map(timed_get, [u for _, u in urls]), strict=True):
            out.setdefault(cls, []).append(ms)
    return out


def raw_fts(db_path: Path, mix: list[tuple[str, str]], concurrency: int) -> dict[str, list[float]]:
    local = threading.local()

    def one(item: tuple[str, str]) -> float:
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(db_path, check_same_thread=False)
        term = item[1] if item[1].startswith('"') else f'"{item[1]}"'
        start = time.perf_counter()
        local.db.execute(
            "SELECT rowid, bm25(search_fts) AS r FROM search_fts WHERE search_fts MATCH ? ORDER BY r LIMIT 20", (term,)
        ).fetchall()
        return (time.perf_counter() - start) * 1000

    out: dict[str, list[float]] = {}
    with ThreadPoolExecutor(concurrency) as pool:
        for (cls, _), ms in zip(mix, pool.map(one, mix), strict=True):
            out.setdefault(cls, []).append(ms)
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def report(name: str, timings: dict[str, list[float]]) -> tuple[float, float]:
    every = [v for vs in timings.values() for v in vs]
    parts = ", ".join(f"{cls} {statistics.median(v):.1f}" for cls, v in sorted(timings.items()))
    print(f"{name:<28} p50 {pct(every, 50):7.1f} ms  p99 {pct(every, 99):7.1f} ms   (p50 by class: {parts})")
    return pct(every, 50), pct(every, 99)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--keep", type=Path, help="build (or reuse) the archive here instead of a temp folder")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="foi-bench-search-")
    root = args.keep or Path(tmp.name) / "archive"
    t0 = time.perf_counter()
    if not (root / "foi.sqlite3").exists():
        queries = build(root, args.docs)
        (root / "bench-queries.json").write_text(json.dumps(queries))
    queries = json.loads((root / "bench-queries.json").read_text())
    print(f"archive: {args.docs} documents ready in {time.perf_counter() - t0:.0f} s")
    rng = random.Random(3)
    mix = [(cls, rng.choice(qs)) for cls, qs in sorted(queries.items()) for _ in range(args.requests // len(queries))]
    rng.shuffle(mix)

    from werkzeug.serving import make_server

    from web import create_app

    app = create_app({"ARCHIVE_DIR": str(root)})
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/api/search?"
    facets = "&".join(f"facet={f}" for f in ("collection", "lang", "kind", "year"))
    foi_urls = [(cls, base + urllib.parse.urlencode({"q": q}) + "&" + facets) for cls, q in mix]
    run_load(foi_urls[:40], args.concurrency)  # warm-up
    foi = report("foi /api/search", run_load(foi_urls, args.concurrency))
    raw = report("raw FTS5 bm25 top-20", raw_fts(root / "foi.sqlite3", mix, args.concurrency))
    ds = None
    try:
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "datasette", "serve", "-i", str(root / "foi.sqlite3"), "-p",
                                 str(port), "--setting", "sql_time_limit_ms", "60000"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                timed_get(f"http://127.0.0.1:{port}/-/versions.json")
                break
            except OSError:
                time.sleep(0.2)
        ds_base = f"http://127.0.0.1:{port}/foi/search_fts.json?_nocount=1&_nofacet=1&"
        ds_urls = [(cls, ds_base + urllib.parse.urlencode({"_search": q})) for cls, q in mix]
        run_load(ds_urls[:40], args.concurrency)
        ds = report("datasette ?_search= fastest", run_load(ds_urls, args.concurrency))
        proc.terminate()
    except Exception as exc:  # datasette is an optional extra
        print(f"datasette not measured: {exc}")
    server.shutdown()
    print(f"ratio foi/raw p50: {foi[0] / raw[0]:.1f}x  p99: {foi[1] / raw[1]:.1f}x")
    if ds:
        print(f"ratio foi/datasette p50: {foi[0] / ds[0]:.2f}  p99: {foi[1] / ds[1]:.2f}  (target <= 1)")
    print("targets: p50 <= 20 ms, p99 <= 100 ms")


if __name__ == "__main__":
    main()
