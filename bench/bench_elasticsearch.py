"""foi's Elasticsearch indexing and search against the raw client, in one run on the same node.

    scripts/elasticsearch.sh start && scripts/elasticsearch.sh wait
    .venv/bin/python bench/bench_elasticsearch.py [--url URL] [--pages N] [--rounds R]

Setup (not timed): an archive folder whose store holds generated documents (English and Chinese
pages, mail senders and recipients), every one `done` and index-pending, as an ingest leaves them
just before indexing.

Indexing, pages/s, the median of rounds that alternate their order:
  raw         `helpers.bulk(client, actions, chunk_size=500)` of the final documents foi indexes
              (the same `_source` bodies, built beforehand), into a fresh index with the same
              mapping;
  foi ingest  what ingest does after storing a document: `Archive.index_document(id)` for every
              document, then `Archive.catch_up_index()` -- store reads (the token streams the
              persist step made and kept), queueing, bulk requests, marking the documents indexed;
  foi index   the same calls with the store reads taken out (records built beforehand);
  foi reindex `Archive.reindex()` (store reads, new index version, bulk, refresh, alias swap,
              marking), for comparison;
  analysis    what the persist step spends on search analysis (NFKC, case folding, jieba), made
              once per page and kept; printed on its own and added to indexing end to end (the
              raw baseline is handed analysed text, so that ratio is not like for like).

Search: the same queries (with five facets) through `Archive.search` (parse, compile, call, convert,
then snippets from the store), `ElasticBackend.search`, and sent raw with `client.search(**body)`
using the body foi built, interleaved; p50/p99 latencies.

Targets: foi ingest >= 0.8 x raw pages/s; search p50 and p99 within 1.5 x raw. The exit status is
0 when the ingest ratio and the Archive.search latencies meet them.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from elasticsearch import Elasticsearch, helpers  # noqa: E402

from archive import Archive  # noqa: E402
from archive.models import PageResult  # noqa: E402
from archive.search import SearchQuery  # noqa: E402
from archive.search.base import IndexRecord  # noqa: E402
from archive.search.elastic import MAPPING, SETTINGS, ElasticBackend, _PlainJsonTransport, _source  # noqa: E402

EN_WORDS = [
    "freedom",
    "information",
    "request",
    "naval",
    "base",
    "harbour",
    "survey",
    "budget",
    "minister",
    "department",
    "letter",
    "reply",
    "withheld",
    "section",
    "exemption",
    "report",
    "meeting",
    "minutes",
    "contract",
    "payment",
    "police",
    "officer",
    "training",
    "charity",
    "council",
    "review",
    "appeal",
    "commissioner",
    "decision",
    "public",
    "interest",
    "personal",
    "data",
    "email",
]
ZH_SENTENCES = [
    "南海海洋研究所在军事基地附近进行海洋调查。",
    "调查报告由国防部发布，有关部门正在审阅。",
    "关于军事基地扩建的会议纪要已经完成。",
    "中国饮料有限公司的合同已经签署。",
    "海洋环境保护计划需要更多预算。",
]
SENDERS = ["alice@example.org", "Bob Jones", "carol@example.org", "Dan Wu", "Eve Li"]

QUERIES = [
    "naval",
    "海洋",
    "基地",
    '"naval base"',
    "harbour AND budget",
    "survey OR minutes",
    "naval -budget",
    "harb*",
    "军事基地",
    "information lang:en",
    "海洋 lang:zh",
    "report collection:release-2",
    "sender:alice@example.org budget",
    "from:2019-01-01 to:2019-12-31 naval",
    "police OR 国防部",
]
FACETS = ("collection", "lang", "kind", "year", "sender")


def fill_store(archive: Archive, n_pages: int, seed: int = 7) -> list[int]:
    """Generated documents in the store, `done` and index-pending; returns their ids."""
    rnd = random.Random(seed)
    store = archive.store
    ids: list[int] = []
    pages_made = 0
    with store.transaction():
        while pages_made < n_pages:
            n = rnd.choice((1, 1, 2, 3, 5))
            zh = rnd.random() < 0.3
            date = f"{rnd.choice((2018, 2019, 2020, 2021))}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T09:00:00Z"
            pages = []
            for number in range(1, n + 1):
                if zh:
                    text = "".join(rnd.choice(ZH_SENTENCES) for _ in range(8))
                else:
                    text = " ".join(rnd.choice(EN_WORDS) for _ in range(150))
                pages.append(PageResult(number=number, text=text, lang="zh-Hans" if zh else "en"))
            k = len(ids) + 1
            store.ensure_collection(f"release-{k % 3}")
            doc_id = store.create_document(
                collection=f"release-{k % 3}",
                sha256=f"{k:064x}",
                filename=f"document-{k}.txt",
                mime="text/plain",
                size=1,
                status="done",
                kind=rnd.choice(("pdf", "email", "text")),
                title=f"document {k}",
                lang="zh-Hans" if zh else "en",
                page_count=n,
                date=date,
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
    return ids


def reset(archive: Archive) -> None:
    """Every document pending again and never indexed (as after an ingest's persist), no index."""
    db = archive.store.db
    with archive.store.transaction():
        db.execute("UPDATE documents SET index_pending=1")
        db.execute("DELETE FROM stages WHERE stage='index'")
    backend: ElasticBackend = archive.backend  # type: ignore[assignment]
    backend.drop()
    backend._unrefreshed_docs.clear()


def raw_client(url: str) -> Elasticsearch:
    # The same client settings foi uses; the transport only drops the 9.x client's
    # "compatible-with=9" media types, which an 8.x node refuses.
    return Elasticsearch(url, request_timeout=30, transport_class=_PlainJsonTransport)


def fresh_index(es: Elasticsearch, name: str) -> None:
    es.indices.delete(index=name, ignore_unavailable=True)
    es.indices.create(index=name, settings=SETTINGS, mappings=MAPPING)


def time_raw(es: Elasticsearch, name: str, records: list[IndexRecord]) -> float:
    fresh_index(es, name)
    actions = [{"_index": name, "_id": str(r.page_id), "_source": _source(r)} for r in records]
    started = time.perf_counter()
    ok, errors = helpers.bulk(es, actions, chunk_size=500)
    elapsed = time.perf_counter() - started
    assert ok == len(records) and not errors
    return elapsed


def time_analysis(archive: Archive, ids: list[int]) -> float:
    """What ingest's persist step adds for search: the token streams of every page (jieba for
    Chinese), made and stored once; indexing then reads them."""
    archive.store.db.execute("UPDATE pages SET analysed=NULL")
    started = time.perf_counter()
    with archive.store.transaction():
        for doc_id in ids:
            archive.store_analysis(doc_id)
    return time.perf_counter() - started


def time_ingest_path(archive: Archive, ids: list[int], n_pages: int) -> float:
    reset(archive)
    started = time.perf_counter()
    for doc_id in ids:
        archive.index_document(doc_id)
    remaining = archive.catch_up_index()
    elapsed = time.perf_counter() - started
    assert remaining == 0
    assert archive.backend.count() == n_pages
    return elapsed


def time_index_only(
    archive: Archive,
    ids: list[int],
    n_pages: int,
    prebuilt: dict[int, list[IndexRecord]],
) -> float:
    """The ingest path with the store reads and analysis replaced by a dictionary look-up."""
    real = archive.indexer.records_for_many
    archive.indexer.records_for_many = lambda doc_ids: {i: prebuilt[i] for i in doc_ids}  # type: ignore[method-assign]
    try:
        return time_ingest_path(archive, ids, n_pages)
    finally:
        archive.indexer.records_for_many = real  # type: ignore[method-assign]


def time_reindex(archive: Archive, n_docs: int, n_pages: int) -> float:
    started = time.perf_counter()
    assert archive.reindex() == n_docs
    elapsed = time.perf_counter() - started
    assert archive.backend.count() == n_pages
    return elapsed


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def bench_search(archive: Archive, url: str, repeats: int) -> dict[str, list[float]]:
    backend: ElasticBackend = archive.backend  # type: ignore[assignment]
    es = raw_client(url)
    backend.refresh()
    queries = [SearchQuery(q, facets=FACETS, limit=20) for q in QUERIES]
    bodies = [backend.build_request(q) for q in queries]
    paths = {
        "raw": lambda q, body: es.search(index=backend.alias, **body)["hits"]["total"]["value"],
        "backend": lambda q, body: backend.search(q).total,
        "archive": lambda q, body: archive.search(q).total,
    }
    for q, body in zip(queries, bodies, strict=True):  # warm caches on every path
        for fn in paths.values():
            fn(q, body)
    ms: dict[str, list[float]] = {k: [] for k in paths}
    names = list(paths)
    for rep in range(repeats):
        for q, body in zip(queries, bodies, strict=True):
            totals = set()
            order = names[rep % len(names) :] + names[: rep % len(names)]  # rotate who goes first
            for name in order:
                started = time.perf_counter()
                totals.add(paths[name](q, body))
                ms[name].append((time.perf_counter() - started) * 1000)
            assert len(totals) == 1, (q.text, totals)
    es.close()
    return ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default=os.environ.get("FOI_ELASTICSEARCH_URL", "http://127.0.0.1:9200"))
    ap.add_argument("--pages", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--search-repeats", type=int, default=30)
    args = ap.parse_args()

    es = raw_client(args.url)
    health = es.cluster.health(wait_for_status="yellow", timeout="30s")
    print(f"node {args.url}: {health['status']}; {args.pages} pages, {args.rounds} rounds")
    raw_name, alias = "foi-bench-raw", "foi-bench-foi"
    with tempfile.TemporaryDirectory(prefix="foi-bench-") as tmp:
        config = {"search": "elasticsearch", "elasticsearch_url": args.url, "elasticsearch_index": alias}
        archive = Archive(Path(tmp) / "archive", config)
        try:
            t0 = time.perf_counter()
            ids = fill_store(archive, args.pages)
            prebuilt = archive.indexer.records_for_many(ids)
            records = [r for i in ids for r in prebuilt[i]]
            n = len(records)
            zh_pages = sum(r.lang.startswith("zh") for r in records)
            print(
                f"stored {n} pages ({zh_pages} Chinese) of {len(ids)} documents in "
                f"{time.perf_counter() - t0:.1f}s (not timed)"
            )
            # Warm-up (JIT, caches): a slice through every path, not counted.
            time_raw(es, raw_name, records[:2000])
            time_index_only(archive, ids, n, prebuilt)

            times: dict[str, list[float]] = {
                "raw": [],
                "ingest": [],
                "index": [],
                "reindex": [],
                "analysis": [],
            }
            runs = {
                "raw": lambda: time_raw(es, raw_name, records),
                "ingest": lambda: time_ingest_path(archive, ids, n),
                "index": lambda: time_index_only(archive, ids, n, prebuilt),
                "reindex": lambda: time_reindex(archive, len(ids), n),
                "analysis": lambda: time_analysis(archive, ids),
            }
            order = list(runs)
            for r in range(args.rounds):
                for name in order if r % 2 == 0 else order[::-1]:
                    times[name].append(runs[name]())
            rate = {k: n / statistics.median(v) for k, v in times.items()}
            ratio_ingest = rate["ingest"] / rate["raw"]
            ratio_index = rate["index"] / rate["raw"]
            with_analysis = n / (statistics.median(times["ingest"]) + statistics.median(times["analysis"]))

            def line(label: str, key: str) -> str:
                return f"  {label:<52}{rate[key]:9.0f}   rounds {[round(t, 2) for t in times[key]]} s"

            print("\nindexing (pages/s, median of rounds)")
            print(line("raw helpers.bulk of the final documents", "raw"))
            print(line("foi indexing as ingest runs it (index_document+catch_up)", "ingest"))
            print(line("the same, records built beforehand (no store reads)", "index"))
            print(line("foi reindex (rebuild + alias swap)", "reindex"))
            print(line("analysis at persist (jieba etc., made and stored once)", "analysis"))
            print(f"  {'analysis + indexing, end to end':<52}{with_analysis:9.0f}")
            print(f"  ratio foi indexing / raw       {ratio_ingest:.2f}  (target >= 0.80)")
            print(f"  ratio without store reads      {ratio_index:.2f}")
            print(f"  ratio reindex / raw            {rate['reindex'] / rate['raw']:.2f}")
            print(
                f"  ratio analysis+indexing / raw  {with_analysis / rate['raw']:.2f}  (raw gets analysed text for free)"
            )

            ms = bench_search(archive, args.url, args.search_repeats)
            p = {k: (percentile(v, 50), percentile(v, 99)) for k, v in ms.items()}
            print(
                f"\nsearch latency over {len(QUERIES)} queries x {args.search_repeats} (facets {', '.join(FACETS)}; ms)"
            )
            print(f"  raw client.search            p50 {p['raw'][0]:7.2f}   p99 {p['raw'][1]:7.2f}")
            print(f"  ElasticBackend.search        p50 {p['backend'][0]:7.2f}   p99 {p['backend'][1]:7.2f}")
            print(f"  Archive.search (+snippets)   p50 {p['archive'][0]:7.2f}   p99 {p['archive'][1]:7.2f}")
            for key, label in (("backend", "ElasticBackend.search"), ("archive", "Archive.search")):
                print(
                    f"  ratio {label:<22} p50 {p[key][0] / p['raw'][0]:.2f}  p99 {p[key][1] / p['raw'][1]:.2f}"
                    "  (target <= 1.50)"
                )
            ok = (
                ratio_ingest >= 0.8
                and p["archive"][0] / p["raw"][0] <= 1.5
                and p["archive"][1] / p["raw"][1] <= 1.5
            )
            print("\ntargets met" if ok else "\ntargets NOT met")
            return 0 if ok else 1
        finally:
            es.indices.delete(index=raw_name, ignore_unavailable=True)
            archive.backend.drop()  # type: ignore[attr-defined]
            archive.close()
            es.close()


if __name__ == "__main__":
    sys.exit(main())
