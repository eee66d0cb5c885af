"""What finding any Chinese substring costs: index size, indexing time and search latency with the
character stream (this version) against words only (the index before it), in the same run.

    .venv/bin/python bench/bench_chinese_index.py [--pages 20000] [--zh-share 0.4] [--queries 300]
        [--es http://127.0.0.1:9200]

Generates pages (Chinese ones from jieba's dictionary words, drawn by their corpus frequency, with
punctuation; English ones from a Zipf vocabulary) and indexes them twice through the real analysis
and SQLite backend: once with this version's token stream (words, then each text's Han characters),
once with the words alone (the baseline). With `--es`, the same two on Elasticsearch (store size
from the index stats). Then runs, on each index, the same query classes:

    zh-word      a 2-4 character dictionary word from the pages
    zh-char      a single Han character
    zh-substring a 2-3 character window of a page that crosses a word boundary
    en-word      an English word

through `backend.search` (ranked top 20 with facets), printing p50/p99 latency, pages found and the
ratios new/baseline. The baseline answers its queries as the index before this version did (words
only); its zh-substring column shows what it missed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jieba  # noqa: E402

import archive.search.query as query_module  # noqa: E402
from archive.analysis import index_text, index_words, tokenize  # noqa: E402
from archive.script import HAN, HAN_RUN  # noqa: E402
from archive.search.base import FACETS, IndexRecord, SearchQuery  # noqa: E402
from archive.search.sqlite import SqliteBackend  # noqa: E402

PUNCT = "，。、；："


def chinese_words() -> tuple[list[str], list[int]]:
    words, freqs = [], []
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as fh:
        for line in fh:
            word, freq, *_ = line.split()
            if HAN_RUN.fullmatch(word) and len(word) <= 4:
                words.append(word)
                freqs.append(int(freq))
    return words, freqs


def make_pages(n: int, zh_share: float, seed: int = 5) -> list[tuple[str, str]]:
    """(lang, text) of n generated pages."""
    rng = random.Random(seed)
    zh_words, zh_freqs = chinese_words()
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = sorted({"".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(20000)})
    en_weights = [1 / (r + 1) ** 1.05 for r in range(len(vocab))]
    pages = []
    for _ in range(n):
        if rng.random() < zh_share:
            words = rng.choices(zh_words, zh_freqs, k=rng.randint(150, 400))
            text = "".join(w + (rng.choice(PUNCT) if rng.random() < 0.08 else "") for w in words)
            pages.append(("zh-Hans", text))
        else:
            pages.append(("en", " ".join(rng.choices(vocab, en_weights, k=rng.randint(80, 250)))))
    return pages


def records(pages: list[tuple[str, str]], analyse: Callable[[str], str]) -> list[IndexRecord]:
    return [
        IndexRecord(i, i, 1, "bench", "text", lang, f"p{i}", analyse(text), date="2020-01-01")
        for i, (lang, text) in enumerate(pages, 1)
    ]


def queries(pages: list[tuple[str, str]], n: int, seed: int = 9) -> dict[str, list[str]]:
    rng = random.Random(seed)
    zh = [t for lang, t in pages if lang != "en"]
    en = [t for lang, t in pages if lang == "en"]
    out: dict[str, list[str]] = {"zh-word": [], "zh-char": [], "zh-substring": [], "en-word": []}
    while min(len(v) for v in out.values()) < n:
        text = rng.choice(zh)
        toks = [t for t in tokenize(text, for_index=False) if HAN_RUN.fullmatch(t.term)]
        tok = rng.choice(toks)
        if 2 <= len(tok.term) <= 4:
            out["zh-word"].append(tok.term)
        out["zh-char"].append(rng.choice(tok.term))
        # A window that starts inside one word and ends in the next.
        if len(tok.term) >= 2 and tok.end < len(text) and HAN.match(text[tok.end]):
            out["zh-substring"].append(text[tok.end - 1 : tok.end + rng.randint(1, 2)])
        out["en-word"].append(rng.choice(rng.choice(en).split()))
    return {k: v[:n] for k, v in out.items()}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def run_queries(base: Any, new: Any, pools: dict[str, list[str]]) -> tuple[dict, dict]:
    """Per class and index: p50 ms, p99 ms, mean pages found. The two indexes answer each query in
    turn (the baseline parsing as before this version), so a busy moment hits both alike."""
    out: tuple[dict, dict] = ({}, {})
    for cls, qs in pools.items():
        times: tuple[list[float], list[float]] = ([], [])
        found: tuple[list[int], list[int]] = ([], [])
        for q in qs:
            for side, backend in enumerate((base, new)):
                with words_only_queries() if side == 0 else contextlib.nullcontext():
                    t = time.perf_counter()
                    res = backend.search(SearchQuery(q, limit=20, facets=FACETS))
                    times[side].append((time.perf_counter() - t) * 1000)
                found[side].append(res.total)
        for side in (0, 1):
            out[side][cls] = (pct(times[side], 0.5), pct(times[side], 0.99), statistics.mean(found[side]))
    return out


class words_only_queries:
    """Queries parsed as before this version: Chinese text as words only (no character phrase)."""

    def __enter__(self) -> None:
        self._real = query_module.han_chars
        query_module.han_chars = lambda text: []

    def __exit__(self, *exc: object) -> None:
        query_module.han_chars = self._real


def sqlite_size(path: Path) -> int:
    return path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "-*"))


def bench_sqlite(folder: Path, name: str, recs: list[IndexRecord]) -> tuple[float, int, SqliteBackend]:
    path = folder / f"{name}.sqlite3"
    backend = SqliteBackend(path)
    t = time.perf_counter()
    for i in range(0, len(recs), 2000):
        backend.index(recs[i : i + 2000])
    took = time.perf_counter() - t
    for table in ("search_fts", "search_bigram"):
        backend.db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
    backend.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    backend.db.execute("VACUUM")
    return took, sqlite_size(path), backend


def bench_es(url: str, name: str, recs: list[IndexRecord]) -> tuple[float, int, Any]:
    from archive.search.elastic import ElasticBackend

    backend = ElasticBackend(url, f"foi-bench-zh-{name}-{os.getpid()}", request_timeout=60)
    t = time.perf_counter()
    backend.rebuild(recs[i : i + 1000] for i in range(0, len(recs), 1000))
    took = time.perf_counter() - t
    backend.es.indices.forcemerge(index=backend.alias, max_num_segments=1)
    backend.refresh()
    stats = backend.es.indices.stats(index=backend.alias, metric="store")
    size = int(stats["_all"]["primaries"]["store"]["size_in_bytes"])
    return took, size, backend


def report(engine: str, base: tuple, new: tuple) -> None:
    (bt, bs, bq), (nt, ns, nq) = base, new
    print(f"\n== {engine}")
    print(f"  index time   words only {bt:7.1f} s   with characters {nt:7.1f} s   ratio {nt / bt:.2f}")
    print(
        f"  index size   words only {bs / 1e6:7.1f} MB  with characters {ns / 1e6:7.1f} MB  ratio {ns / bs:.2f}"
    )
    print(
        f"  {'class':13} {'p50 ms (base/new)':>20} {'p99 ms (base/new)':>20} {'pages found (base/new)':>24}"
    )
    for cls in nq:
        b50, b99, bf = bq[cls]
        n50, n99, nf = nq[cls]
        print(
            f"  {cls:13} {b50:8.2f}/{n50:<8.2f}x{n50 / b50:4.2f} {b99:8.2f}/{n99:<8.2f}x{n99 / b99:4.2f}"
            f" {bf:10.1f}/{nf:<10.1f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=20000)
    ap.add_argument("--zh-share", type=float, default=0.4)
    ap.add_argument("--queries", type=int, default=300, help="queries per class")
    ap.add_argument("--es", help="also bench an Elasticsearch node at this URL")
    args = ap.parse_args()

    pages = make_pages(args.pages, args.zh_share)
    print(
        f"{len(pages)} pages, {sum(lang != 'en' for lang, _ in pages)} Chinese; "
        f"{sum(len(t) for _, t in pages) / 1e6:.1f} M characters"
    )
    index_text("预热 warm-up")  # jieba's dictionary and the folding table load once, outside the timings
    t = time.perf_counter()
    new_recs = records(pages, index_text)
    analyse_new = time.perf_counter() - t
    t = time.perf_counter()
    base_recs = records(pages, lambda text: " ".join(index_words(text)))
    analyse_base = time.perf_counter() - t
    print(
        f"analysis: words only {analyse_base:.1f} s, with characters {analyse_new:.1f} s "
        f"(ratio {analyse_new / analyse_base:.2f})"
    )
    pools = queries(pages, args.queries)

    engines: list[tuple[str, Callable[[str, list[IndexRecord]], tuple[float, int, Any]]]] = []
    with tempfile.TemporaryDirectory(prefix="foi-bench-zh-") as tmp:
        engines.append(("SQLite FTS5", lambda name, recs: bench_sqlite(Path(tmp), name, recs)))
        if args.es:
            engines.append(("Elasticsearch", lambda name, recs: bench_es(args.es, name, recs)))
        for engine, build in engines:
            bt, bs, base_backend = build("base", base_recs)
            nt, ns, new_backend = build("new", new_recs)
            run_queries(base_backend, new_backend, pools)  # warm
            bq, nq = run_queries(base_backend, new_backend, pools)
            report(engine, (bt, bs, bq), (nt, ns, nq))
            for b in (base_backend, new_backend):
                if hasattr(b, "drop"):
                    b.drop()
                b.close()


if __name__ == "__main__":
    main()
