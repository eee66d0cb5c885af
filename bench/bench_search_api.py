"""Search latency of /api/search (ranked, with snippets and the UI's facets) on a large generated archive.

    .venv/bin/python bench/bench_search_api.py [--docs 100000] [--per-class 200] [--concurrency 8]
        [--keep .cache/bench-search-100k] [--verify 40]

Builds an archive of generated documents (a Zipf-like English vocabulary, Chinese pages, mail with
senders, entities and exemption codes on pages) through the real indexing code, then draws many
distinct queries per class from the built index:

    rare      one word in at most 0.05% of pages    medium   one word in 0.1%-2% of pages
    common    one word in at least 10% of pages      phrase   two adjacent words sampled from pages
    chinese   one Chinese word (Zipf-weighted, in 0.05%-10% of pages)

and sends them, shuffled, at the given concurrency over HTTP, in one run, to:
  1. foi's /api/search served the way foi ships it for production, `foi serve --workers N --threads T`
     (gunicorn, N processes, default one per core, 4 threads each): bm25-ranked top 20, snippets,
     the 7 UI facets; with the result cache OFF (FOI_SEARCH_CACHE=0: the primary figure) and ON
     (the same queries sent a second time; the cache is per process, so with N workers a repeat
     is a hit only when it reaches the worker that answered it first);
  2. Datasette's `?_search=` on the same SQLite file, in its fastest form
     (`_nocount=1&_nofacet=1`, 20 rows, immutable mode);
  3. the raw FTS5 query (bm25-ranked top 20 rowids with foi's column weights, no snippets, no facets),
     from Python threads on their own connections.
Prints p50/p99 per class and overall, and the ratios. Targets: p50 <= 20 ms, p99 <= 100 ms, no slower
than Datasette. `--verify N` first checks, for N common terms, that the heavy-term path gives the same
hits, total and facets as a full evaluation, and for N phrases that the pair-token path (common grams)
gives what the words' phrase gives in search_fts.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive  # noqa: E402
from archive.search.base import FACETS, IndexRecord, SearchQuery  # noqa: E402

CLASSES = ("rare", "medium", "common", "phrase", "chinese")
CHINESE = [
    "海洋",
    "基地",
    "协议",
    "研究所",
    "军事",
    "数据",
    "合作",
    "大学",
    "技术",
    "项目",
    "国防",
    "实验室",
    "船舶",
    "卫星",
    "导弹",
    "雷达",
    "通信",
    "电子",
    "材料",
    "工程",
    "科学",
    "中心",
    "学院",
    "委员会",
    "部门",
    "人员",
    "设备",
    "系统",
    "网络",
    "安全",
    "情报",
    "港口",
    "舰队",
    "潜艇",
    "航空",
    "航天",
    "核能",
    "能源",
    "交流",
    "访问",
]
KINDS = ("text", "pdf", "mail", "html")
EXEMPTIONS = ("s.40(2)", "s.43(2)", "s.27(1)(a)", "s.24(1)", "s.35(1)(a)")


def vocabulary(size: int) -> list[str]:
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    head = ["the", "of", "and", "to", "in", "report", "information", "request", "university", "agreement"]
    words = set(head)
    while len(words) < size:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    rest = sorted(words - set(head))
    rng.shuffle(rest)
    return head + rest


def zipf_weights(n: int, s: float = 1.05) -> list[float]:
    return [1 / (r + 1) ** s for r in range(n)]


def build(root: Path, n_docs: int, collections: list[str] | None = None) -> None:
    """Generate documents into the store and, through the backend's own index(), the search index
    (documents spread over `collections` in turn)."""
    vocab = vocabulary(20000)
    weights = zipf_weights(len(vocab))
    zh_weights = zipf_weights(len(CHINESE), 1.0)
    people = [
        f"{a} {b}"
        for a in ("Alice", "Bob", "Chen", "Dana", "Eve", "Fang", "Li", "Wang", "Zhou", "Yusuf")
        for b in ("Smith", "Jones", "Wei", "Ng", "Brown", "Liu", "Khan", "Ma", "Patel", "Xu")
    ]
    entities = [f"Org {i}" for i in range(2000)]
    ent_weights = zipf_weights(len(entities))
    rng = random.Random(7)
    collections = collections or ["release-2019", "release-2020", "leak-a", "leak-b", "foi-2023-0457"]
    with Archive(root) as archive:
        for name in collections:
            archive.store.ensure_collection(name)
        db = archive.store.db
        records: list[IndexRecord] = []
        docs: list[tuple] = []
        pages: list[tuple] = []
        for i in range(1, n_docs + 1):
            words = rng.choices(vocab, weights, k=rng.randint(80, 250))
            zh = rng.random() < 0.15
            if zh:
                for _ in range(rng.randint(3, 12)):
                    words.insert(rng.randrange(len(words)), rng.choices(CHINESE, zh_weights)[0])
            text = " ".join(words)
            coll = collections[i % len(collections)]
            kind = rng.choices(KINDS, (4, 3, 2, 1))[0]
            date = f"{2012 + i % 12}-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z"
            lang = "zh-Hans" if zh else "en"
            keywords: dict[str, list[str]] = {}
            if kind == "mail":
                keywords["sender"] = [rng.choice(people)]
                keywords["recipient"] = rng.sample(people, 2)
            keywords["entity"] = list(set(rng.choices(entities, ent_weights, k=rng.randint(0, 4))))
            if rng.random() < 0.1:
                keywords["exemption"] = [rng.choice(EXEMPTIONS)]
            docs.append(
                (
                    i,
                    coll,
                    f"{i:064x}",
                    f"doc-{i}.txt",
                    kind,
                    f"Document {i}",
                    lang,
                    1,
                    "done",
                    0,
                    date,
                    "2026-01-01T00:00:00Z",
                    "2026-01-01T00:00:00Z",
                )
            )
            pages.append((i, i, 1, text, lang))
            records.append(
                IndexRecord(
                    i, i, 1, coll, kind, lang, f"Document {i}", body=text, date=date, keywords=keywords
                )
            )
            if len(records) >= 5000 or i == n_docs:
                with archive.store.transaction():
                    db.executemany(
                        "INSERT INTO documents(id, collection, sha256, filename, kind, title, lang, page_count, status, "
                        "index_pending, date, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        docs,
                    )
                    db.executemany(
                        "INSERT INTO pages(id, document_id, number, text, lang) VALUES (?,?,?,?,?)", pages
                    )
                archive.backend.index(records)
                docs, pages, records = [], [], []
                print(f"  indexed {i} documents", file=sys.stderr)
        for table in ("search_fts", "search_bigram"):
            archive.backend.db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")


def query_pools(db_path: Path, per_class: int) -> dict[str, list[str]]:
    """Distinct queries per class, chosen by their real document frequency in the built index."""
    db = sqlite3.connect(db_path)
    n = db.execute("SELECT count(*) FROM search_page").fetchone()[0]
    df = dict(db.execute("SELECT term, df FROM search_df"))
    rng = random.Random(11)
    latin = [t for t in df if t.isascii() and "_" not in t]  # (not the pair tokens of common words)

    def pick(pred) -> list[str]:
        terms = sorted(t for t in latin if pred(df[t]))
        rng.shuffle(terms)
        return terms[:per_class]

    pools = {
        "rare": pick(lambda d: d <= max(5, n * 0.0005)),
        "medium": pick(lambda d: n * 0.001 <= d <= n * 0.02),
        "common": pick(lambda d: d >= n * 0.10),
        "chinese": [t for t in CHINESE if t in df],
    }
    phrases: set[str] = set()
    ids = [r[0] for r in db.execute("SELECT rowid FROM search_fts")]
    while len(phrases) < per_class:
        (body,) = db.execute("SELECT body FROM search_fts WHERE rowid=?", (rng.choice(ids),)).fetchone()
        words = body.split()
        k = rng.randrange(len(words) - 1)
        phrases.add(f'"{words[k]} {words[k + 1]}"')
    pools["phrase"] = sorted(phrases)
    db.close()
    return pools


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed_get(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as resp:
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{url}: HTTP {resp.status}")
    return (time.perf_counter() - start) * 1000


def wait_for(url: str, proc: subprocess.Popen) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            timed_get(url)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def run_load(items: list[tuple[str, str]], fn, concurrency: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    with ThreadPoolExecutor(concurrency) as pool:
        for (cls, _), ms in zip(items, pool.map(fn, [x for _, x in items]), strict=True):
            out.setdefault(cls, []).append(ms)
    return out


def serve_foi(root: Path, cache: bool, workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    """`foi serve --workers N --threads T`: the form foi ships for production (gunicorn)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-c",
        "from archive.cli import main; main()",
        "--archive",
        str(root),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    env = dict(os.environ, FOI_SEARCH_CACHE="1" if cache else "0", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    wait_for(f"http://127.0.0.1:{port}/api/collections", proc)
    return proc, f"http://127.0.0.1:{port}"


def foi_urls(base: str, mix: list[tuple[str, str]]) -> list[tuple[str, str]]:
    facets = "&".join(f"facet={f}" for f in FACETS)
    return [(cls, f"{base}/api/search?" + urllib.parse.urlencode({"q": q}) + "&" + facets) for cls, q in mix]


def raw_fts(db_path: Path, mix: list[tuple[str, str]], concurrency: int) -> dict[str, list[float]]:
    from archive.search.query import parse
    from archive.search.sqlite import compile_fts

    local = threading.local()
    sql = (
        "SELECT rowid, bm25(search_fts, 1.0, 0.7, 0.4) AS r FROM search_fts WHERE search_fts MATCH ? "
        "ORDER BY r LIMIT 20"
    )

    def one(expr: str) -> float:
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(db_path, check_same_thread=False)
        start = time.perf_counter()
        local.db.execute(sql, (expr,)).fetchall()
        return (time.perf_counter() - start) * 1000

    items = [(cls, compile_fts(parse(q).tree)) for cls, q in mix]
    one(items[0][1])
    return run_load(items, one, concurrency)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def report(name: str, timings: dict[str, list[float]]) -> dict[str, tuple[float, float]]:
    every = [v for vs in timings.values() for v in vs]
    out = {cls: (pct(timings[cls], 50), pct(timings[cls], 99)) for cls in CLASSES if cls in timings}
    out["overall"] = (pct(every, 50), pct(every, 99))
    cells = "  ".join(f"{out[c][0]:6.1f} {out[c][1]:6.1f}" for c in (*CLASSES, "overall"))
    print(f"{name:<34} {cells}", flush=True)
    return out


def verify_phrases(root: Path, phrases: list[str]) -> int:
    """Phrases through search() (pair tokens, and the heavy-term tables for heavy pairs) against the
    words' phrase evaluated in search_fts."""
    from archive.search.query import parse
    from archive.search.sqlite import compile_fts

    bad = paired = 0
    with Archive(root) as archive:
        backend = archive.backend
        for text in phrases:
            tree = parse(text).tree
            paired += backend._phrase_pairs(tree.terms) is not None
            q = SearchQuery(text, facets=FACETS, facet_size=10)
            fast, full = backend.search(q), backend._full_search(q, compile_fts(tree), [], [])
            if not _same_results(fast, full):
                bad += 1
                print(f"  verify: {text!r} differs: total {fast.total} vs {full.total}")
    print(
        f"verify: {len(phrases) - bad}/{len(phrases)} phrases identical to the words' phrase in search_fts "
        f"({paired} on the pair-token path)"
    )
    return bad


def _same_results(fast: Any, full: Any) -> bool:
    """The same hits in the same order, total and facets, and scores equal to rounding."""
    return (
        [h.page_id for h in fast.hits] == [h.page_id for h in full.hits]
        and fast.total == full.total
        and fast.facets == full.facets
        and all(
            abs(a.score - b.score) <= 1e-9 * max(1.0, abs(b.score))
            for a, b in zip(fast.hits, full.hits, strict=True)
        )
    )


def verify(root: Path, terms: list[str]) -> int:
    """The heavy-term path against a full evaluation of the same query."""
    bad = 0
    with Archive(root) as archive:
        backend = archive.backend
        for term in terms:
            q = SearchQuery(term, facets=FACETS, facet_size=10)
            fast = backend._heavy_search(term, q)
            if fast is None:
                print(f"  verify: {term!r} not on the heavy path")
                continue
            full = backend._full_search(q, f'"{term}"', [], [])
            if not _same_results(fast, full):
                bad += 1
                print(f"  verify: {term!r} differs: total {fast.total} vs {full.total}")
    print(
        f"verify: {len(terms) - bad}/{len(terms)} common terms identical on the heavy path and a full evaluation"
    )
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--per-class", type=int, default=200, help="distinct queries per class")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="foi serve --workers (gunicorn processes; default: one per core)",
    )
    ap.add_argument("--threads", type=int, default=4, help="foi serve --threads (per worker)")
    ap.add_argument("--keep", type=Path, help="build (or reuse) the archive here instead of a temp folder")
    ap.add_argument(
        "--verify",
        type=int,
        default=0,
        help="check the heavy-term path on N common terms and the pair path on N phrases",
    )
    ap.add_argument("--skip", default="", help="comma-separated targets to skip: cacheon,datasette,raw")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    tmp = tempfile.TemporaryDirectory(prefix="foi-bench-search-")
    root = (args.keep or Path(tmp.name) / "archive").resolve()
    db_path = root / "foi.sqlite3"
    t0 = time.perf_counter()
    if not db_path.exists():
        build(root, args.docs)
    n_pages = sqlite3.connect(db_path).execute("SELECT count(*) FROM search_page").fetchone()[0]
    print(f"archive: {n_pages} pages ready in {time.perf_counter() - t0:.0f} s ({db_path})")
    pools = query_pools(db_path, args.per_class)
    print("distinct queries: " + ", ".join(f"{c} {len(pools[c])}" for c in CLASSES))
    with Archive(root):
        pass  # an index from an older version is upgraded here, not in the first request
    if args.verify:
        verify(root, [t for t in pools["common"]][: args.verify])
        verify_phrases(root, pools["phrase"][: args.verify])
    rng = random.Random(3)
    n_each = args.per_class
    mix = [(cls, q) for cls in CLASSES for q in (pools[cls] * (n_each // len(pools[cls]) + 1))[:n_each]]
    rng.shuffle(mix)
    print(f"{len(mix)} requests, concurrency {args.concurrency}; p50 p99 in ms per class:")
    print(f"{'':<34} " + "  ".join(f"{c:>13}" for c in (*CLASSES, "overall")))
    results: dict[str, dict[str, tuple[float, float]]] = {}

    proc, base = serve_foi(root, cache=False, workers=args.workers, threads=args.threads)
    try:
        urls = foi_urls(base, mix)
        run_load(urls[:20], timed_get, args.concurrency)  # connections, imports, page cache
        results["foi"] = report("foi /api/search, cache off", run_load(urls, timed_get, args.concurrency))
    finally:
        proc.terminate()
        proc.wait()
    if "cacheon" not in skip:
        proc, base = serve_foi(root, cache=True, workers=args.workers, threads=args.threads)
        try:
            urls = foi_urls(base, mix[:250])  # the result cache keeps 256 entries
            report("foi /api/search, cache on, 1st", run_load(urls, timed_get, args.concurrency))
            results["foi-cached"] = report(
                "foi /api/search, cache on, repeat", run_load(urls, timed_get, args.concurrency)
            )
        finally:
            proc.terminate()
            proc.wait()
    if "datasette" not in skip:
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "datasette",
                "serve",
                "-i",
                str(db_path),
                "-p",
                str(port),
                "--setting",
                "sql_time_limit_ms",
                "60000",
                "--setting",
                "num_sql_threads",
                "8",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/-/versions.json", proc)
            ds_base = f"http://127.0.0.1:{port}/foi/search_fts.json?_nocount=1&_nofacet=1&_size=20&"
            ds_urls = [(cls, ds_base + urllib.parse.urlencode({"_search": q})) for cls, q in mix]
            run_load(ds_urls[:20], timed_get, args.concurrency)
            results["datasette"] = report(
                "datasette ?_search= fastest", run_load(ds_urls, timed_get, args.concurrency)
            )
        finally:
            proc.terminate()
            proc.wait()
    if "raw" not in skip:
        results["raw"] = report("raw FTS5 bm25 top-20", raw_fts(db_path, mix, args.concurrency))
    foi = results["foi"]["overall"]
    for other in ("datasette", "raw", "foi-cached"):
        if other in results:
            o = results[other]["overall"]
            print(f"ratio foi(cache off)/{other}: p50 {foi[0] / o[0]:.2f}  p99 {foi[1] / o[1]:.2f}")
    ok = foi[0] <= 20 and foi[1] <= 100
    if "datasette" in results:
        ok = ok and foi[0] <= results["datasette"]["overall"][0]
    print(f"targets (p50 <= 20 ms, p99 <= 100 ms, no slower than Datasette): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
