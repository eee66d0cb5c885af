"""Saved searches matched as documents arrive: what 1,000 of them add to indexing, per backend, in
one run beside indexing without saved searches.

    .venv/bin/python bench/bench_alerts.py [--searches 1000] [--batch 1000] [--rounds 3] [--stream 4]
        [--stream-rounds 3] [--sqlite-rounds 1] [--sqlite-stream 2] [--url URL]

Setup (not timed): an archive whose store holds a back catalogue of generated pages (English and
Chinese, mail senders, three collections), indexed; 1,000 saved searches, a mix of words, phrases,
Chinese terms, OR / NOT and filters (collection, lang, sender, dates), most of them specific (a
name, a reference: they match a few pages of a batch), a few broad (they match many).

What "indexing" is here: making a batch of newly stored pages searchable, as ingest does it. Per
document the index analysis of its pages (`Archive.store_analysis`: the terms the engine indexes,
jieba's segmentation and the Traditional/Simplified folding; the indexer's own work, which a stock
Elasticsearch does inside `_bulk` with its analyzers, and which the indexer does itself for any
page not analysed yet), then `Archive.index_document` (the indexer sends batches of
`--batch` pages), then `Archive.catch_up_index()` (which waits for the matcher) and a refresh
(searchable). Timed without saved searches, with them (the indexer hands every batch to the
matcher, which runs every saved search over the documents just indexed and records the hits;
their words and snippets are made later, by delivery), and with them and the prefilter of
archive/search/prefilter.py (the batch's analysed terms handed to the backend, so that a saved
search none of whose words is in the batch is not sent; off by default, FOI_MATCH_PREFILTER=1;
Elasticsearch only). Rounds rotate the order. Printed per variant: median seconds,
pages/s, the added share, the seconds spent in matching and in how many matches (batches handed
over while one waits are matched together: archive/index_matching.py), hits recorded, and the CPU
seconds of this process and of the Elasticsearch node (from /proc when it runs here) with the added
share.

Timed first, per backend: a stream of `--stream` batches (`--sqlite-stream` on SQLite) indexed back
to back, what an ingest of that many pages pays; then a single batch, which has nothing to be
matched with; then (Elasticsearch) a single batch whose analysis was made beforehand, so that only
sending is timed: the narrower figure, printed for comparison. Target: matching adds at most 20%
on each backend, judged on the stream (the exit status).

Elasticsearch runs when a node answers at --url (FOI_ELASTICSEARCH_URL, default
http://127.0.0.1:9200), on fresh index names it deletes afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_elasticsearch import EN_WORDS, SENDERS, ZH_SENTENCES  # noqa: E402

from archive import Archive  # noqa: E402
from archive.models import PageResult  # noqa: E402
from archive.search.base import IndexRecord  # noqa: E402
from archive.store import Store  # noqa: E402

# Specific terms: each page carries a few, so a search for one finds a handful of pages per batch.
RARE_EN = [f"ref{n:04d}" for n in range(3000)]
RARE_ZH = [a + b for a in "甲乙丙丁戊己庚辛壬癸" for b in "东南西北中山海河湖港"]  # 100 two-character names
COLLECTIONS = ("release-0", "release-1", "release-2")


class Pages:
    """Generated documents written to the store, done and index-pending, analysis kept."""

    def __init__(self, seed: int = 7):
        self.rnd = random.Random(seed)
        self.made = 0

    def add(self, archive: Archive, n_pages: int, analyse: bool = True) -> list[int]:
        """Store `n_pages` new pages in whole documents; `analyse`: make their index analysis
        now (ingest's store step), else the timed indexing makes it."""
        rnd, store = self.rnd, archive.store
        ids: list[int] = []
        pages_made = 0
        with store.transaction():
            while pages_made < n_pages:
                n = rnd.choice((1, 1, 2, 3, 5))
                zh = rnd.random() < 0.3
                pages = []
                for number in range(1, n + 1):
                    if zh:
                        text = "".join(rnd.choice(ZH_SENTENCES) for _ in range(8))
                        text += "".join(rnd.choice(RARE_ZH) + "。" for _ in range(2))
                    else:
                        text = " ".join(rnd.choice(EN_WORDS) for _ in range(150))
                    text += " " + " ".join(rnd.choice(RARE_EN) for _ in range(3))
                    pages.append(PageResult(number=number, text=text, lang="zh-Hans" if zh else "en"))
                self.made += 1
                k = self.made
                collection = COLLECTIONS[k % 3]
                store.ensure_collection(collection)
                year = rnd.choice((2018, 2019, 2020, 2021))
                doc_id = store.create_document(
                    collection=collection,
                    sha256=f"{k:064x}",
                    filename=f"document-{k}.txt",
                    mime="text/plain",
                    size=1,
                    status="done",
                    kind=rnd.choice(("pdf", "email", "text")),
                    title=f"document {k}",
                    lang="zh-Hans" if zh else "en",
                    page_count=n,
                    date=f"{year}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T09:00:00Z",
                    index_pending=1,
                    metadata={
                        "mail": {
                            "from": {"address": rnd.choice(SENDERS)},
                            "to": [{"address": rnd.choice(SENDERS)}],
                        }
                    },
                )
                store.replace_pages(doc_id, pages)
                ids.append(doc_id)
                pages_made += n
            if analyse:
                for doc_id in ids:
                    archive.store_analysis(doc_id)
        return ids


def saved_queries(n: int, seed: int = 11) -> list[tuple[str, dict[str, list[str]]]]:
    rnd = random.Random(seed)
    out: list[tuple[str, dict[str, list[str]]]] = []
    for i in range(n):
        kind = i % 20
        en, zh = rnd.choice(RARE_EN), rnd.choice(RARE_ZH)
        if kind < 7:
            out.append((en, {}))
        elif kind < 9:
            out.append((f'"{rnd.choice(EN_WORDS)} {en}" OR {rnd.choice(RARE_EN)}', {}))
        elif kind < 12:
            out.append((zh, {}))
        elif kind == 12:
            out.append((f"{zh} 军事基地", {}))
        elif kind == 13:
            out.append((f"{en} collection:{rnd.choice(COLLECTIONS)}", {}))
        elif kind == 14:
            out.append((f"{en} OR {rnd.choice(RARE_EN)}", {"lang": ["en"]}))
        elif kind == 15:
            out.append((f"{en} -{rnd.choice(EN_WORDS)}", {}))
        elif kind == 16:
            out.append((en, {"sender": [rnd.choice(SENDERS)]}))
        elif kind == 17:
            out.append((f"from:2019-01-01 to:2020-12-31 {en}", {}))
        elif kind == 18:
            out.append((f"ref{rnd.randint(0, 299):03d}*", {}))  # a prefix: ten refs
        else:
            # A few broad ones, as investigators keep: they match most pages of a batch.
            out.append(
                (rnd.choice(('"naval base"', "海洋", "exemption AND withheld", "budget")), {"year": ["2020"]})
            )
    return out


# The timed variants: without saved searches, with them (as an archive matches by default), and
# with them and the batch's terms handed to the backend (archive/search/prefilter.py).
VARIANTS = ("without", "with", "with prefilter")


def time_batch(archive: Archive, pages: Pages, batch: int, variant: str, analysed: bool = False) -> Timed:
    """One batch of `batch` new pages: see `time_indexing`."""
    return time_indexing(archive, pages.add(archive, batch, analyse=analysed), variant, analysed)


def time_stream(archive: Archive, pages: Pages, batches: int, batch: int, variant: str) -> Timed:
    """`batches` batches of `batch` pages indexed back to back, as an ingest of that many pages
    sends them (on Elasticsearch the match of batch N runs while batch N+1 is analysed and sent)."""
    return time_indexing(archive, pages.add(archive, batches * batch, analyse=False), variant, False)


class Timed(NamedTuple):
    seconds: float
    hits: int  # recorded
    matching: float  # seconds in matching (on the matcher's thread)
    cpu: float  # CPU seconds of this process (all its threads) and of the node, if any
    matches: int  # how many times the saved searches ran (batches waiting together run once)


def node_cpu(archive: Archive) -> float:
    """CPU seconds the Elasticsearch node's process has used so far (0 on SQLite): from /proc when
    the node runs on this machine (to the clock tick), else from its own count (about once a
    second)."""
    es = getattr(archive.backend, "es", None)
    if es is None:
        return 0.0
    pids = _NODE_PIDS.get(id(es))
    if pids is None:
        info = es.nodes.info(metric="process", filter_path="nodes.*.process.id")
        pids = _NODE_PIDS[id(es)] = [n["process"]["id"] for n in info.get("nodes", {}).values()]
    stats = [Path(f"/proc/{pid}/stat") for pid in pids]
    if pids and all(p.exists() for p in stats):
        tick = os.sysconf("SC_CLK_TCK")
        # utime and stime: fields 14 and 15, counted after the command's closing parenthesis.
        return sum(sum(map(int, p.read_text().rsplit(")", 1)[1].split()[11:13])) / tick for p in stats)
    got = es.nodes.stats(metric="process", filter_path="nodes.*.process.cpu.total_in_millis")
    return float(sum(n["process"]["cpu"]["total_in_millis"] for n in got["nodes"].values())) / 1000


_NODE_PIDS: dict[int, list[int]] = {}


def time_indexing(archive: Archive, ids: list[int], variant: str, analysed: bool) -> Timed:
    """Index `ids` as ingest does and time it until they are searchable: per document the index
    analysis of its pages (`store_analysis`: the terms the engine indexes, jieba's segmentation
    and the folding; what a stock Elasticsearch does inside `_bulk` with its own analyzers), then
    `index_document` (batched by the indexer), then catch-up (which waits for the matcher) and a
    refresh (the pages searchable). `analysed`: the analysis was made beforehand, so only sending
    is timed (the narrower figure)."""
    matching = [0.0]
    matches = [0]

    def after_index(doc_ids: list[int], records: list[IndexRecord] | None, store: Store) -> object:
        matches[0] += 1
        started = time.perf_counter()
        try:
            return archive.alerts.match_documents(doc_ids, records, store)
        finally:
            matching[0] += time.perf_counter() - started

    archive.indexer.after_index = None if variant == "without" else after_index
    archive.alerts.prefilter = variant == "with prefilter"
    before = archive.store.db.execute("SELECT count(*) FROM alert_hits").fetchone()[0]
    cpu = time.process_time() + node_cpu(archive)
    started = time.perf_counter()
    for doc_id in ids:
        if not analysed:
            archive.store_analysis(doc_id)
        archive.index_document(doc_id)
    remaining = archive.catch_up_index()  # waits for the matcher to finish
    refresh = getattr(archive.backend, "refresh", None)
    if refresh is not None:
        refresh()  # searchable now (after matching, which refreshed first, nothing is left to do)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() + node_cpu(archive) - cpu
    assert remaining == 0 and not archive.store.indexed_unmatched()
    hits = archive.store.db.execute("SELECT count(*) FROM alert_hits").fetchone()[0] - before
    return Timed(elapsed, hits, matching[0], cpu, matches[0])


Figures = dict[str, tuple[float, float]]  # "batch" / "stream" -> (without, with) median seconds


def run_backend(name: str, config: dict[str, str], args: argparse.Namespace) -> Figures:
    with tempfile.TemporaryDirectory(prefix="foi-bench-alerts-") as tmp:
        root = Path(tmp) / "archive"
        archive = Archive(root, config)
        try:
            pages = Pages()
            archive.indexer.after_index = None
            back = pages.add(archive, args.catalogue)
            for doc_id in back:
                archive.index_document(doc_id)
            archive.catch_up_index()
            started = time.perf_counter()
            for i, (query, filters) in enumerate(saved_queries(args.searches)):
                archive.alerts.add(f"search {i}", query, filters=filters, cadence="instant")
            saving = time.perf_counter() - started
            es = archive.backend.name == "elasticsearch"
            print(
                f"{name:14} catalogue {args.catalogue} pages; {args.searches} saved searches saved in {saving:.1f} s"
            )
            if not es:
                archive.close()
                return run_sqlite(name, root, config, pages.made, args)
            out: Figures = {}
            if args.stream:
                pages_n = args.stream * args.batch
                out["stream"] = measure(
                    name,
                    f"stream of {args.stream} batches of {args.batch} pages ({pages_n} pages, matcher drained)",
                    pages_n,
                    VARIANTS,
                    args.stream_rounds,
                    lambda v, _r: time_stream(archive, pages, args.stream, args.batch, v),
                )
            if args.rounds:
                out["batch"] = measure(
                    name,
                    f"one batch of {args.batch} pages",
                    args.batch,
                    VARIANTS,
                    args.rounds,
                    lambda v, _r: time_batch(archive, pages, args.batch, v),
                )
                # The narrower figure: the pages analysed beforehand, only their sending timed.
                out["sending"] = measure(
                    name,
                    f"one batch of {args.batch} pages analysed beforehand (sending only)",
                    args.batch,
                    VARIANTS,
                    args.rounds,
                    lambda v, _r: time_batch(archive, pages, args.batch, v, analysed=True),
                )
            return out
        finally:
            if config.get("search") == "elasticsearch":
                archive.backend.drop()  # type: ignore[attr-defined]
            archive.close()


def run_sqlite(name: str, root: Path, config: dict[str, str], made: int, args: argparse.Namespace) -> Figures:
    """SQLite's runs are paired: each starts from a copy of the same archive (catalogue and saved
    searches) and indexes the same new pages, so that work FTS5 and the ranking tables do when the
    index crosses a threshold (a word becoming common, the average page length drifting) falls
    alike on both variants instead of on whichever runs when it happens. (It does not use the
    batch's terms: its third variant would time the second again.)"""
    runs = iter(range(1_000_000))

    def paired(variant: str, round_no: int, batches: int) -> Timed:
        copy = root.with_name(f"run-{next(runs)}")
        shutil.copytree(root, copy)
        try:
            with Archive(copy, config) as archive:
                pages = Pages(seed=1000 + round_no)
                pages.made = made  # new documents after the catalogue's, the same in both variants
                ids = pages.add(archive, batches * args.batch, analyse=False)
                return time_indexing(archive, ids, variant, False)
        finally:
            shutil.rmtree(copy, ignore_errors=True)

    out: Figures = {}
    if args.sqlite_stream:
        pages_n = args.sqlite_stream * args.batch
        out["stream"] = measure(
            name,
            f"stream of {args.sqlite_stream} batches of {args.batch} pages ({pages_n} pages, paired runs)",
            pages_n,
            VARIANTS[:2],
            args.stream_rounds,
            lambda v, r: paired(v, r, args.sqlite_stream),
        )
    if args.sqlite_rounds:
        out["batch"] = measure(
            name,
            f"one batch of {args.batch} pages (paired runs)",
            args.batch,
            VARIANTS[:2],
            args.sqlite_rounds,
            lambda v, r: paired(v, 100 + r, 1),
        )
    return out


def measure(
    name: str,
    what: str,
    n_pages: int,
    variants: tuple[str, ...],
    rounds: int,
    timed: Callable[[str, int], Timed],
) -> tuple[float, float]:
    """Run `timed` per variant for `rounds` rounds (each variant first in turn), print medians;
    returns (without, with) medians."""
    times: dict[str, list[float]] = {v: [] for v in variants}
    matching: dict[str, list[float]] = {v: [] for v in variants}
    hits: dict[str, list[int]] = {v: [] for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    matches: dict[str, list[int]] = {v: [] for v in variants}
    for r in range(rounds):
        k = r % len(variants)
        for variant in variants[k:] + variants[:k]:
            got = timed(variant, r)
            times[variant].append(got.seconds)
            matching[variant].append(got.matching)
            hits[variant].append(got.hits)
            cpu[variant].append(got.cpu)
            matches[variant].append(got.matches)
    base = statistics.median(times["without"])
    base_cpu = statistics.median(cpu["without"])
    runs = ", ".join(f"{t:.2f}" for t in times["without"])
    print(
        f"{'':14} {what}: without saved searches {base:.2f} s ({n_pages / base:.0f} pages/s; runs {runs}; "
        f"CPU {base_cpu:.2f} s)"
    )
    for variant in variants[1:]:
        t = statistics.median(times[variant])
        print(
            f"{'':14}   {variant:20} {t:.2f} s ({n_pages / t:.0f} pages/s): matching adds "
            f"{100 * (t / base - 1):+.1f}% (matching itself {statistics.median(matching[variant]):.2f} s in "
            f"{statistics.median(matches[variant]):.0f} match(es); "
            f"hits {statistics.median(hits[variant]):.0f}; runs {', '.join(f'{x:.2f}' for x in times[variant])}; "
            f"CPU {statistics.median(cpu[variant]):.2f} s, {100 * (statistics.median(cpu[variant]) / base_cpu - 1):+.1f}%)"
        )
    return base, statistics.median(times["with"])


def es_reachable(url: str) -> bool:
    from archive.search.elastic import ElasticBackend

    backend = ElasticBackend(url, "unused", request_timeout=5, max_retries=0)
    try:
        backend.es.cluster.health(timeout="5s")
        return True
    except Exception:
        return False
    finally:
        backend.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=1000, help="pages per indexed batch")
    parser.add_argument("--catalogue", type=int, default=5000, help="pages indexed before the timed batches")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the single batch (Elasticsearch)")
    parser.add_argument("--stream", type=int, default=4, help="batches per stream (Elasticsearch; 0: none)")
    parser.add_argument("--stream-rounds", type=int, default=3)
    # SQLite indexes about 50 pages/s here: its default run is kept under ~4 minutes.
    parser.add_argument("--sqlite-rounds", type=int, default=1, help="rounds of the single batch (SQLite)")
    parser.add_argument("--sqlite-stream", type=int, default=2, help="batches per stream (SQLite; 0: none)")
    parser.add_argument("--backends", default="sqlite,elasticsearch")
    parser.add_argument("--url", default=os.environ.get("FOI_ELASTICSEARCH_URL", "http://127.0.0.1:9200"))
    args = parser.parse_args()
    backends = args.backends.split(",")
    results = {"sqlite": run_backend("sqlite", {}, args)} if "sqlite" in backends else {}
    if "elasticsearch" not in backends:
        pass
    elif es_reachable(args.url):
        index = f"foi-bench-alerts-{uuid.uuid4().hex[:8]}"
        es = {
            "search": "elasticsearch",
            "elasticsearch_url": args.url,
            "elasticsearch_index": index,
            "index_batch_pages": str(args.batch),
        }
        results["elasticsearch"] = run_backend("elasticsearch", es, args)
    else:
        print(f"elasticsearch  no node at {args.url}: skipped")
    ok = True
    for what in ("stream", "batch", "sending"):
        for backend, figures in results.items():
            if what in figures:
                without, with_ = figures[what]
                met = with_ <= 1.2 * without
                ok = ok and (met or what == "batch")
                print(
                    f"target (matching adds at most 20%), {backend}, {what}: "
                    f"{100 * (with_ / without - 1):+.1f}% {'met' if met else 'NOT met'}"
                )
    # The stream is what an ingest pays; the single batch (nothing to overlap with) is shown beside it.
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
