"""What access control costs a search: anonymous search over the published half of the archive
against unfiltered search, on the embedded backend, in one run.

    .venv/bin/python bench/bench_access.py [--docs 100000] [--per-class 100] [--keep .cache/bench-access-100k]

Builds (or reuses) the generated archive of bench_search_api.py with its documents spread over two
collections, publishes one, then runs the same queries (the five classes of bench_search_api.py,
ranked top 20 with snippets and the 7 UI facets, result cache off) through `Archive.search` as the
local investigator (no filter) and as an anonymous visitor (`PUBLIC`: the readable collections go
into the SQL query), alternating the two for each query so both see the same warm caches. Prints
p50/p99 per class and overall and the ratios; the target is at most 1.10 for both.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_search_api import CLASSES, build, pct, query_pools  # noqa: E402

from archive import LOCAL, PUBLIC, Archive, ResultCache, SearchQuery  # noqa: E402
from archive.search.base import FACETS  # noqa: E402

COLLECTIONS = ["published", "private"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--per-class", type=int, default=100, help="distinct queries per class")
    ap.add_argument("--keep", type=Path, help="build (or reuse) the archive here instead of a temp folder")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="foi-bench-access-")
    root = (args.keep or Path(tmp.name) / "archive").resolve()
    db_path = root / "foi.sqlite3"
    t0 = time.perf_counter()
    if not db_path.exists():
        build(root, args.docs, COLLECTIONS)
    n_pages = sqlite3.connect(db_path).execute("SELECT count(*) FROM search_page").fetchone()[0]
    print(
        f"archive: {n_pages} pages in {len(COLLECTIONS)} collections, ready in {time.perf_counter() - t0:.0f} s"
    )
    pools = query_pools(db_path, args.per_class)
    mix = [(cls, q) for cls in CLASSES for q in pools[cls]]
    random.Random(5).shuffle(mix)
    timings: dict[str, dict[str, list[float]]] = {"unfiltered": {}, "anonymous": {}}
    totals = {"unfiltered": 0, "anonymous": 0}
    with Archive(root, {"result_cache": ResultCache(0)}) as archive:
        archive.publish("published", force=True)
        for _cls, q in mix[:20]:  # warm the page cache and the statistics
            archive.search(SearchQuery(q, facets=FACETS), PUBLIC)
            archive.search(SearchQuery(q, facets=FACETS), LOCAL)
        for i, (cls, q) in enumerate(mix):
            order = [("unfiltered", LOCAL), ("anonymous", PUBLIC)]
            for name, viewer in order if i % 2 else order[::-1]:
                start = time.perf_counter()
                results = archive.search(SearchQuery(q, facets=FACETS), viewer)
                elapsed = (time.perf_counter() - start) * 1000
                timings[name].setdefault(cls, []).append(elapsed)
                timings[name].setdefault("overall", []).append(elapsed)
                totals[name] += results.total
                if name == "anonymous":
                    assert {h.collection for h in results.hits} <= {"published"}, q
    print(
        f"{len(mix)} queries each way; matching pages: unfiltered {totals['unfiltered']}, anonymous {totals['anonymous']}"
    )
    print(f"{'p50 / p99 ms':<14}" + "".join(f"{c:>18}" for c in (*CLASSES, "overall")))
    for name in ("unfiltered", "anonymous"):
        cells = [
            f"{pct(timings[name][c], 50):7.1f} /{pct(timings[name][c], 99):7.1f}"
            for c in (*CLASSES, "overall")
        ]
        print(f"{name:<14}" + "".join(f"{cell:>18}" for cell in cells))
    ratios = []
    for c in (*CLASSES, "overall"):
        r50 = pct(timings["anonymous"][c], 50) / pct(timings["unfiltered"][c], 50)
        r99 = pct(timings["anonymous"][c], 99) / pct(timings["unfiltered"][c], 99)
        ratios.append((c, r50, r99))
    print("ratio anonymous/unfiltered: " + "  ".join(f"{c} p50 {a:.2f} p99 {b:.2f}" for c, a, b in ratios))
    _, r50, r99 = ratios[-1]
    print(f"target (overall p50 and p99 at most 1.10): {'met' if r50 <= 1.10 and r99 <= 1.10 else 'NOT met'}")


if __name__ == "__main__":
    main()
