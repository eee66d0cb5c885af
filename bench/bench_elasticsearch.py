"""Elasticsearch backend overhead against the raw client, in one run on the same node.

    scripts/elasticsearch.sh start && scripts/elasticsearch.sh wait
    .venv/bin/python bench/bench_elasticsearch.py [--url URL] [--pages N] [--rounds R]

Indexing: the same generated pages (English and Chinese, analysed once beforehand with
`archive.analysis.index_text`, not timed) go into fresh indices with the same mapping
  1. `elasticsearch.helpers.bulk(client, actions)` against `ElasticBackend.index(records)` on the
     same batches of ~500 pages (whole documents), alternating batch by batch so load on this
     shared machine falls on both alike (foi's stale-page lookup included);
  2. one raw `helpers.bulk` stream against `ElasticBackend.rebuild(records)` (new version, bulk,
     refresh, alias swap);
and, on a smaller sample, `ElasticBackend.index` once per document as an ingest calls it.
Search: the same queries through `ElasticBackend.search` (parse, compile, call, convert) and sent
raw with `client.search(**body)` using the body foi built, interleaved; p50/p99 latencies.
Rounds alternate raw and foi and the median round counts (JVM warm-up runs first, untimed).
Targets: foi >= 0.8 x raw pages/s; foi p50 and p99 within 1.5 x raw.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from elasticsearch import Elasticsearch, helpers  # noqa: E402

from archive.analysis import index_text  # noqa: E402
from archive.search import IndexRecord, SearchQuery  # noqa: E402
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


def make_records(n_pages: int, seed: int = 7) -> list[IndexRecord]:
    rnd = random.Random(seed)
    records = []
    page_id = 0
    doc_id = 0
    while page_id < n_pages:
        doc_id += 1
        pages = rnd.choice((1, 1, 2, 3, 5))
        zh = rnd.random() < 0.3
        date = f"{rnd.choice((2018, 2019, 2020, 2021))}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T09:00:00Z"
        sender = rnd.choice(SENDERS)
        for number in range(1, pages + 1):
            page_id += 1
            if zh:
                text = "".join(rnd.choice(ZH_SENTENCES) for _ in range(8))
            else:
                text = " ".join(rnd.choice(EN_WORDS) for _ in range(150))
            records.append(
                IndexRecord(
                    page_id=page_id,
                    doc_id=doc_id,
                    number=number,
                    collection=f"release-{doc_id % 3}",
                    kind=rnd.choice(("pdf", "email", "text")),
                    lang="zh-Hans" if zh else "en",
                    title=f"document {doc_id}",
                    body=index_text(text),
                    date=date,
                    keywords={"sender": [sender], "recipient": [rnd.choice(SENDERS)]},
                )
            )
    return records


def raw_client(url: str) -> Elasticsearch:
    # The same client settings foi uses; the transport only drops the 9.x client's
    # "compatible-with=9" media types, which an 8.x node refuses.
    return Elasticsearch(url, request_timeout=30, transport_class=_PlainJsonTransport)


def fresh_index(es: Elasticsearch, name: str) -> None:
    es.indices.delete(index=name, ignore_unavailable=True)
    es.indices.create(index=name, settings=SETTINGS, mappings=MAPPING)


def doc_batches(records: list[IndexRecord], size: int = 500) -> list[list[IndexRecord]]:
    """Batches of about `size` pages holding whole documents (index() replaces a document's pages)."""
    batches: list[list[IndexRecord]] = [[]]
    for r in records:
        if len(batches[-1]) >= size and r.doc_id != batches[-1][-1].doc_id:
            batches.append([])
        batches[-1].append(r)
    return batches


def time_index_interleaved(
    url: str, es: Elasticsearch, raw_name: str, alias: str, records: list[IndexRecord], flip: bool
) -> tuple[float, float]:
    """Raw helpers.bulk and ElasticBackend.index on the same batches, alternating batch by batch so
    node load (merges, other processes on the machine) falls on both alike. Returns (raw s, foi s)."""
    fresh_index(es, raw_name)
    backend = ElasticBackend(url, alias)
    backend.drop()
    backend.ensure_index()
    batches = doc_batches(records)
    raw_actions = [
        [{"_index": raw_name, "_id": str(r.page_id), "_source": _source(r)} for r in b] for b in batches
    ]
    raw_t = foi_t = 0.0
    for i, (batch, actions) in enumerate(zip(batches, raw_actions, strict=True)):
        for which in (0, 1) if (i % 2 == 0) != flip else (1, 0):
            started = time.perf_counter()
            if which == 0:
                ok, errors = helpers.bulk(es, actions, chunk_size=500)
                assert ok == len(actions) and not errors
                raw_t += time.perf_counter() - started
            else:
                backend.index(batch)
                foi_t += time.perf_counter() - started
    backend.refresh()
    es.indices.refresh(index=raw_name)
    assert backend.count() == len(records) == es.count(index=raw_name)["count"]
    backend.close()
    return raw_t, foi_t


def time_raw_stream(es: Elasticsearch, name: str, records: list[IndexRecord]) -> float:
    """Everything in one helpers.bulk stream (the baseline for rebuild)."""
    fresh_index(es, name)
    actions = [{"_index": name, "_id": str(r.page_id), "_source": _source(r)} for r in records]
    started = time.perf_counter()
    ok, errors = helpers.bulk(es, actions, chunk_size=500)
    elapsed = time.perf_counter() - started
    assert ok == len(records) and not errors
    return elapsed


def time_per_document(url: str, alias: str, records: list[IndexRecord]) -> float:
    backend = ElasticBackend(url, alias)
    backend.drop()
    backend.ensure_index()
    by_doc: dict[int, list[IndexRecord]] = {}
    for r in records:
        by_doc.setdefault(r.doc_id, []).append(r)
    started = time.perf_counter()
    for recs in by_doc.values():
        backend.index(recs)
    elapsed = time.perf_counter() - started
    backend.drop()
    backend.close()
    return elapsed


def time_rebuild(url: str, alias: str, records: list[IndexRecord]) -> float:
    backend = ElasticBackend(url, alias)
    started = time.perf_counter()
    backend.rebuild(iter(records), None)
    elapsed = time.perf_counter() - started
    assert backend.count() == len(records)
    backend.close()
    return elapsed


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def bench_search(url: str, alias: str, repeats: int) -> tuple[list[float], list[float]]:
    backend = ElasticBackend(url, alias)
    es = raw_client(url)
    backend.refresh()
    queries = [SearchQuery(q, facets=FACETS, limit=20) for q in QUERIES]
    bodies = [backend.build_request(q) for q in queries]
    for q, body in zip(queries, bodies, strict=True):  # warm caches on both paths
        backend.search(q)
        es.search(index=alias, **body)
    foi_ms: list[float] = []
    raw_ms: list[float] = []
    for rep in range(repeats):
        for q, body in zip(queries, bodies, strict=True):
            order = (0, 1) if rep % 2 == 0 else (1, 0)
            for which in order:
                started = time.perf_counter()
                if which == 0:
                    res = backend.search(q)
                    n_foi = res.total
                else:
                    resp = es.search(index=alias, **body)
                    n_raw = resp["hits"]["total"]["value"]
                (foi_ms if which == 0 else raw_ms).append((time.perf_counter() - started) * 1000)
            assert n_foi == n_raw, (q.text, n_foi, n_raw)
    backend.close()
    es.close()
    return foi_ms, raw_ms


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
    t0 = time.perf_counter()
    records = make_records(args.pages)
    print(
        f"generated and analysed {len(records)} pages of {records[-1].doc_id} documents in {time.perf_counter() - t0:.1f}s (not timed below)"
    )

    prefix = "foi-bench"
    raw_name, foi_alias, rebuild_alias = f"{prefix}-raw", f"{prefix}-foi", f"{prefix}-rebuild"
    try:
        # Warm-up (JIT, caches): a slice through both paths, not counted.
        time_index_interleaved(args.url, es, raw_name, foi_alias, records[:2000], False)
        raw_t: list[float] = []
        foi_t: list[float] = []
        stream_t: list[float] = []
        reb_t: list[float] = []
        for r in range(args.rounds):
            rt, ft = time_index_interleaved(args.url, es, raw_name, foi_alias, records, flip=r % 2 == 1)
            raw_t.append(rt)
            foi_t.append(ft)
            if r % 2 == 0:
                stream_t.append(time_raw_stream(es, raw_name, records))
                reb_t.append(time_rebuild(args.url, rebuild_alias, records))
            else:
                reb_t.append(time_rebuild(args.url, rebuild_alias, records))
                stream_t.append(time_raw_stream(es, raw_name, records))
        n = len(records)
        raw_rate = n / statistics.median(raw_t)
        foi_rate = n / statistics.median(foi_t)
        stream_rate = n / statistics.median(stream_t)
        reb_rate = n / statistics.median(reb_t)
        sample = records[:3000]
        per_doc_rate = len(sample) / time_per_document(args.url, f"{prefix}-perdoc", sample)
        print("\nindexing (pages/s, median of rounds)")
        print(
            f"  raw helpers.bulk, batches of ~500      {raw_rate:8.0f}   rounds {[round(t, 2) for t in raw_t]} s"
        )
        print(
            f"  ElasticBackend.index, same batches     {foi_rate:8.0f}   rounds {[round(t, 2) for t in foi_t]} s"
        )
        print(
            f"  raw helpers.bulk, one stream           {stream_rate:8.0f}   rounds {[round(t, 2) for t in stream_t]} s"
        )
        print(
            f"  ElasticBackend.rebuild, one stream     {reb_rate:8.0f}   rounds {[round(t, 2) for t in reb_t]} s"
        )
        print(
            f"  ElasticBackend.index per document      {per_doc_rate:8.0f}   ({len(sample)} pages; what ingest does)"
        )
        print(f"  ratio index/raw     {foi_rate / raw_rate:.2f}  (target >= 0.80)")
        print(
            f"  ratio rebuild/raw   {reb_rate / stream_rate:.2f}  (new index + refresh + alias swap included)"
        )

        foi_ms, raw_ms = bench_search(args.url, foi_alias, args.search_repeats)
        f50, f99 = percentile(foi_ms, 50), percentile(foi_ms, 99)
        r50, r99 = percentile(raw_ms, 50), percentile(raw_ms, 99)
        print(
            f"\nsearch latency over {len(QUERIES)} queries x {args.search_repeats} (facets {', '.join(FACETS)}; ms)"
        )
        print(f"  raw client.search      p50 {r50:7.2f}   p99 {r99:7.2f}")
        print(f"  ElasticBackend.search  p50 {f50:7.2f}   p99 {f99:7.2f}")
        print(f"  ratio p50 {f50 / r50:.2f}  p99 {f99 / r99:.2f}  (target <= 1.50)")
        ok = foi_rate / raw_rate >= 0.8 and f50 / r50 <= 1.5 and f99 / r99 <= 1.5
        print("\ntargets met" if ok else "\ntargets NOT met")
        return 0 if ok else 1
    finally:
        es.indices.delete(index=raw_name, ignore_unavailable=True)
        for alias in (foi_alias, rebuild_alias, f"{prefix}-perdoc"):
            b = ElasticBackend(args.url, alias)
            b.drop()
            b.close()
        es.close()


if __name__ == "__main__":
    sys.exit(main())
