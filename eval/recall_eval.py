"""Recall of known-item queries over the real corpus, on both search backends (issue #13).

    .venv/bin/python eval/recall_eval.py [--keep DIR] [--es URL | --no-es] [--json] [--gold FILE]

Ingests the shared corpus (or reuses the archive in DIR, see eval/make_recall_queries.py), indexes
it into SQLite FTS5 (the ingest does) and into a fresh Elasticsearch index (deleted at the end), and
runs every query of eval/gold/recall_queries.jsonl as `SearchQuery(query, limit=10)` through
`Archive.search`. A hit counts for the top-level document its page belongs to (an attachment or an
archive member counts for the file it came in), identified by sha256 and file name.

Per class and overall, for each backend: the number of queries, recall@10 (relevant documents in
the top 10 / min(relevant, 10), averaged over queries) and MRR (1 / the rank of the first relevant
document among the distinct documents of the hits, 0 when none); and the share of queries on which
the two backends return the same set of top-10 documents. Every query that misses a relevant
document (or raises) is listed with what came back. Targets: recall@10 = 1.0 on every class on
both backends, agreement >= 95%. Exit code 1 when a target is missed.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_recall_queries import CLASSES, GOLD, TOP, argument_parser, ingest_corpus  # noqa: E402

from archive import Archive, QueryError, SearchError, SearchQuery  # noqa: E402

DEFAULT_ES = "http://127.0.0.1:9200"
TARGET_RECALL = 1.0
TARGET_AGREEMENT = 0.95
DocKey = tuple[str, str]


@dataclass
class Outcome:
    """One query on one backend."""

    docs: list[DocKey]  # distinct top-level documents of the hits, in rank order
    hits: list[tuple[str, int]]  # (filename of the hit's own document, page)
    error: str | None = None

    def recall(self, relevant: list[DocKey]) -> float:
        found = len(set(relevant) & set(self.docs))
        return found / min(len(relevant), TOP) if relevant else 1.0

    def reciprocal_rank(self, relevant: list[DocKey]) -> float:
        wanted = set(relevant)
        for rank, doc in enumerate(self.docs, 1):
            if doc in wanted:
                return 1.0 / rank
        return 0.0


@dataclass
class Gold:
    cls: str
    query: str
    relevant: list[DocKey]
    results: dict[str, Outcome] = field(default_factory=dict)  # backend -> outcome


def load_gold(path: Path) -> list[Gold]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out.append(
                    Gold(row["class"], row["query"], [(d["sha256"], d["filename"]) for d in row["relevant"]])
                )
    return out


def top_documents(root: Path) -> dict[int, DocKey]:
    """Each stored document id to its top-level document's (sha256, filename)."""
    con = sqlite3.connect(f"file:{root / 'foi.sqlite3'}?mode=ro", uri=True)
    try:
        rows = {r[0]: r for r in con.execute("SELECT id, parent_id, sha256, filename FROM documents")}
    finally:
        con.close()
    out: dict[int, DocKey] = {}
    for doc_id in rows:
        at, seen = doc_id, set()
        while rows[at][1] is not None and at not in seen:
            seen.add(at)
            at = rows[at][1]
        out[doc_id] = (rows[at][2], rows[at][3])
    return out


def run_queries(archive: Archive, gold: list[Gold], tops: dict[int, DocKey]) -> None:
    name = archive.backend.name
    for g in gold:
        try:
            results = archive.search(SearchQuery(g.query, limit=TOP))
        except (QueryError, SearchError) as exc:
            g.results[name] = Outcome([], [], f"{type(exc).__name__}: {exc}")
            continue
        docs: list[DocKey] = []
        for h in results.hits:
            key = tops.get(h.doc_id, ("?", h.filename))
            if key not in docs:
                docs.append(key)
        g.results[name] = Outcome(docs, [(h.filename, h.page) for h in results.hits])


@contextmanager
def elasticsearch_archive(root: Path, url: str, index: str) -> Iterator[Archive]:
    """The archive at `root` searched through a new Elasticsearch index `index` holding every
    document with pages; the index is deleted afterwards."""
    config = {"search": "elasticsearch", "elasticsearch_url": url, "elasticsearch_index": index}
    try:
        with Archive(root, config) as archive:
            ids = [
                int(r[0]) for r in archive.store.db.execute("SELECT id FROM documents WHERE page_count > 0")
            ]
            refused = [i for i in ids if not archive.index_document(i)]
            archive.flush_index()
            pages = archive.store.db.execute("SELECT count(*) FROM pages").fetchone()[0]
            indexed = archive.backend.count()  # SearchError when the node is unreachable
            if refused or indexed != pages:
                raise SearchError(f"{indexed} of {pages} pages indexed: {archive.last_index_error()}")
            yield archive  # the backend refreshes before it reads its own writes
    finally:
        try:
            drop_index(url, index)
        except Exception as exc:  # don't hide why the run stopped behind a failed clean-up
            print(f"index {index} not deleted: {exc}", file=sys.stderr)


def drop_index(url: str, index: str) -> None:
    from archive.search.elastic import ElasticBackend

    backend = ElasticBackend(url, index)
    try:
        backend.drop()
    finally:
        backend.close()


def summarise(gold: list[Gold], backends: list[str]) -> dict[str, Any]:
    by_class: dict[str, list[Gold]] = defaultdict(list)
    for g in gold:
        by_class[g.cls].append(g)
    order = [c for c in CLASSES if c in by_class] + sorted(c for c in by_class if c not in CLASSES)

    def figures(rows: list[Gold]) -> dict[str, Any]:
        out: dict[str, Any] = {"queries": len(rows)}
        for b in backends:
            out[b] = {
                "recall@10": sum(g.results[b].recall(g.relevant) for g in rows) / len(rows),
                "mrr": sum(g.results[b].reciprocal_rank(g.relevant) for g in rows) / len(rows),
            }
        if len(backends) == 2:
            a, b = backends
            same = sum(set(g.results[a].docs) == set(g.results[b].docs) for g in rows)
            out["agreement"] = same / len(rows)
        return out

    classes = {c: figures(by_class[c]) for c in order}
    overall = figures(gold)
    failing = []
    for g in gold:
        for b in backends:
            o = g.results[b]
            if o.error or o.recall(g.relevant) < 1.0:
                failing.append(
                    {
                        "backend": b,
                        "class": g.cls,
                        "query": g.query,
                        "missing": [f for s, f in g.relevant if (s, f) not in set(o.docs)],
                        "relevant": [f for _, f in g.relevant],
                        "returned": [f for _, f in o.docs],
                        "hits": [f"{f} p{n}" for f, n in o.hits],
                        "error": o.error,
                    }
                )
    disagreeing = []
    if len(backends) == 2:
        a, b = backends
        for g in gold:
            if set(g.results[a].docs) != set(g.results[b].docs):
                disagreeing.append(
                    {
                        "class": g.cls,
                        "query": g.query,
                        a: [f for _, f in g.results[a].docs],
                        b: [f for _, f in g.results[b].docs],
                    }
                )
    missed = [
        f"{cls} {b} recall@10 {fig[b]['recall@10']:.3f}"
        for cls, fig in classes.items()
        for b in backends
        if fig[b]["recall@10"] < TARGET_RECALL
    ]
    if "agreement" in overall and overall["agreement"] < TARGET_AGREEMENT:
        missed.append(f"agreement {overall['agreement']:.3f}")
    return {
        "backends": backends,
        "classes": classes,
        "overall": overall,
        "targets": {"recall@10": TARGET_RECALL, "agreement": TARGET_AGREEMENT},
        "missed_targets": missed,
        "failing": failing,
        "disagreeing": disagreeing,
    }


def print_table(summary: dict[str, Any]) -> None:
    backends = summary["backends"]
    width = 16  # per backend: "  R@10   MRR" under its name
    top = f"{'':21}" + "".join(f"{b:^{width}}" for b in backends)
    head = f"{'class':16}{'n':>5}" + f"{'R@10':>8}{'MRR':>8}" * len(backends)
    if len(backends) == 2:
        head += f"{'agree':>9}"
    print(top)
    print(head)
    print("-" * len(head))
    rows = list(summary["classes"].items()) + [("overall", summary["overall"])]
    for cls, fig in rows:
        if cls == "overall":
            print("-" * len(head))
        line = f"{cls:16}{fig['queries']:>5}"
        for b in backends:
            line += f"{fig[b]['recall@10']:>8.3f}{fig[b]['mrr']:>8.3f}"
        if "agreement" in fig:
            line += f"{fig['agreement']:>9.1%}"
        print(line)
    print()
    if summary["failing"]:
        print(f"{len(summary['failing'])} failing queries:")
        for f in summary["failing"]:
            print(f"  [{f['backend']}] {f['class']}: {f['query']}")
            print(f"      missing {f['missing']}" + (f"; error {f['error']}" if f["error"] else ""))
            print(f"      returned {f['hits']}")
    else:
        print("no failing queries")
    if summary["disagreeing"]:
        a, b = backends
        print(f"{len(summary['disagreeing'])} queries where the backends' top-10 documents differ:")
        for d in summary["disagreeing"]:
            print(f"  {d['class']}: {d['query']}\n      {a}: {d[a]}\n      {b}: {d[b]}")
    print(
        "targets met"
        if not summary["missed_targets"]
        else "targets missed: " + "; ".join(summary["missed_targets"])
    )


def main(argv: list[str] | None = None) -> int:
    ap = argument_parser(__doc__)
    ap.add_argument("--gold", type=Path, default=GOLD)
    ap.add_argument(
        "--es", default=DEFAULT_ES, metavar="URL", help=f"Elasticsearch node (default {DEFAULT_ES})"
    )
    ap.add_argument("--no-es", action="store_true", help="SQLite only")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    gold = load_gold(args.gold)
    quiet = args.json
    with tempfile.TemporaryDirectory(prefix="foi-recall-") as tmp:
        root = (args.keep or Path(tmp) / "archive").resolve()
        ingest_corpus(root, args.corpus, quiet=quiet)
        tops = top_documents(root)
        known = set(tops.values())
        absent = sorted({d for g in gold for d in g.relevant} - known)
        if absent and not quiet:
            print(f"{len(absent)} relevant documents are not in the archive: {absent}", file=sys.stderr)
        backends = ["sqlite"]
        with Archive(root) as archive:
            archive.catch_up_index()  # documents a reused archive left index-pending
            started = time.monotonic()
            run_queries(archive, gold, tops)
            if not quiet:
                print(f"sqlite: {len(gold)} queries in {time.monotonic() - started:.1f} s", file=sys.stderr)
        if not args.no_es:
            index = f"foi-recall-{uuid.uuid4().hex[:10]}"
            started = time.monotonic()
            try:
                with elasticsearch_archive(root, args.es, index) as archive:
                    if not quiet:
                        print(
                            f"elasticsearch: indexed in {time.monotonic() - started:.0f} s", file=sys.stderr
                        )
                    started = time.monotonic()
                    run_queries(archive, gold, tops)
                    if not quiet:
                        print(
                            f"elasticsearch: queries in {time.monotonic() - started:.1f} s", file=sys.stderr
                        )
            except SearchError as exc:
                print(f"Elasticsearch at {args.es}: {exc} (start it, or run with --no-es)", file=sys.stderr)
                return 2
            backends.append("elasticsearch")
    summary = summarise(gold, backends)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print_table(summary)
    return 1 if summary["missed_targets"] else 0


if __name__ == "__main__":
    sys.exit(main())
