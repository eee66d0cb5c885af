"""Precision and recall of each entity extractor on a labelled set.

    .venv/bin/python eval/entities_eval.py [--verbose] [--json] [--write-gold eval/gold/generated.jsonl]

The labelled set has two parts:
  * eval/gold/corpus.jsonl: pages of real corpus files (UK FOI letters, a court judgment, a
    Chinese contract, Chinese prose with transliterated names), labelled by hand, plus whole
    documents that must yield no exemption and no watchlist hit (the 18-page DMCA statute, full of
    "section 12" and "exempt"; a 10-page Chinese Wikipedia article on China), scored for those two
    extractors only; the text comes from the project's own extractors;
  * generated FOI response letters (UK FOIA, FOISA, EIR, US FOIA), e-mail printouts and Chinese
    meeting notes from eval/foi_letters.py, labelled by construction.

Every page goes through `archive.entities.extract_page` with all available extractors, exactly
as the ingest step runs them. A mention counts as a true positive when an unmatched gold label of
the same extractor family has the same type and text (whitespace-insensitive); exemptions and
watchlist hits must also carry the gold norm (canonical code / watchlist name). Targets: patterns,
exemptions and watchlist precision >= 0.95. NER figures are printed as they come.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from foi_letters import generate  # noqa: E402

from archive.entities import PageTexts, default_extractors, extract_page  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
TARGETS = {"patterns": 0.95, "exemptions": 0.95, "watchlist": 0.95}
FAMILIES = ("patterns", "exemptions", "watchlist", "ner_en", "ner_zh")
_NER_TYPES = {"person", "org", "place"}


def _key(type_: str, text: str) -> tuple[str, str]:
    return type_, " ".join(text.split())


def corpus_pages(corpus: Path) -> list[dict[str, Any]]:
    """The hand-labelled corpus pages with their text from the project's extractor."""
    from archive.extractors import ExtractContext, choose, make_source

    out = []
    with open(Path(__file__).with_name("gold") / "corpus.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        for row in rows:
            path = corpus / row["file"]
            source = make_source(path, path.name)
            extractor = choose(source)
            assert extractor is not None, path
            extraction = extractor.extract(source, ExtractContext(workdir=Path(tmp)))
            if row.get("attachment"):  # a labelled attachment of an e-mail (or member of a zip)
                child = next(c for c in extraction.children if c.name == row["attachment"])
                source = make_source(child.path, child.name)
                extractor = choose(source)
                assert extractor is not None, child.name
                extraction = extractor.extract(source, ExtractContext(workdir=Path(tmp)))
            numbers = range(1, len(extraction.pages) + 1) if row["page"] == "all" else [row["page"]]
            for number in numbers:
                text = extraction.pages[number - 1].text
                if row.get("until"):  # a labelled stretch of a long page
                    text = text[: text.index(row["until"]) + len(row["until"])]
                if row.get("from"):
                    text = text[text.index(row["from"]) :]
                han = sum("\u4e00" <= c <= "\u9fff" for c in text)
                lang = "zh-Hans" if han and han > len(text) / 10 else "en"
                gold = []
                for ent in row["entities"]:
                    by = ent.get("by") or ("ner_en" if ent["type"] in _NER_TYPES else "patterns")
                    for _ in range(ent.get("count", 1)):
                        gold.append(
                            {"type": ent["type"], "text": ent["text"], "norm": ent.get("norm"), "by": by}
                        )
                tag = f"@{row['from'][:6]}" if row.get("from") else ""
                member = f"/{row['attachment']}" if row.get("attachment") else ""
                out.append(
                    {
                        "id": f"{row['file']}{member}#p{number}{tag}",
                        "text": text,
                        "lang": lang,
                        "entities": gold,
                        "only": row.get("only"),
                    }
                )
    return out


def generated_pages(seed: int) -> list[dict[str, Any]]:
    return [d.as_dict() for d in generate(seed)]


def evaluate(pages: list[dict[str, Any]], extractors: list[Any]) -> dict[str, Any]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    by_type: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    errors: list[dict[str, Any]] = []
    active = {e.name for e in extractors}
    for page in pages:
        mentions = extract_page(PageTexts(1, page["text"], lang=page["lang"]), extractors)
        if page.get("only"):  # a page labelled for some extractor families only (a negative sample)
            mentions = [m for m in mentions if m.source in page["only"]]
        pool: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for g in page["entities"]:
            pool[g["by"]].append(g)
        for m in mentions:
            candidates = pool[m.source]
            hit = None
            for g in candidates:
                if _key(g["type"], g["text"]) == _key(m.type, m.text) and (
                    not g.get("norm") or m.source not in {"exemptions", "watchlist"} or g["norm"] == m.norm
                ):
                    hit = g
                    break
            if hit is not None:
                candidates.remove(hit)
                counts[m.source]["tp"] += 1
                by_type[(m.source, m.type)]["tp"] += 1
            else:
                counts[m.source]["fp"] += 1
                by_type[(m.source, m.type)]["fp"] += 1
                errors.append(
                    {
                        "page": page["id"],
                        "kind": "fp",
                        "source": m.source,
                        "type": m.type,
                        "text": m.text,
                        "norm": m.norm,
                    }
                )
        for family, left in pool.items():
            for g in left:
                counts[family]["fn"] += 1
                by_type[(family, g["type"])]["fn"] += 1
                errors.append(
                    {
                        "page": page["id"],
                        "kind": "fn",
                        "source": family,
                        "type": g["type"],
                        "text": g["text"],
                        "norm": g.get("norm"),
                    }
                )
    rows = []
    for fam in FAMILIES:
        c = counts.get(fam, Counter())
        rows.append(_row(fam, c, fam in active))
    type_rows = [_row(f"{fam}/{t}", c, fam in active) for (fam, t), c in sorted(by_type.items())]
    return {"extractors": rows, "by_type": type_rows, "errors": errors}


def _row(name: str, c: Counter[str], available: bool) -> dict[str, Any]:
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    return {
        "extractor": name,
        "available": available,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": p,
        "recall": r,
    }


def _fmt(v: float | None) -> str:
    return "  n/a" if v is None else f"{v:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--verbose", action="store_true", help="List every false positive and false negative.")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--write-gold", type=Path, help="Also write the generated labelled texts as JSONL.")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    extractors = default_extractors()
    t_load = time.perf_counter() - t0
    sets = {"corpus": corpus_pages(args.corpus), "generated": generated_pages(args.seed)}
    if args.write_gold:
        with open(args.write_gold, "w", encoding="utf-8") as fh:
            for d in sets["generated"]:
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    results = {}
    t1 = time.perf_counter()
    for name, pages in [*sets.items(), ("all", sets["corpus"] + sets["generated"])]:
        results[name] = evaluate(pages, extractors)
    t_run = time.perf_counter() - t1
    if args.json:
        print(
            json.dumps(
                {k: {"extractors": v["extractors"], "by_type": v["by_type"]} for k, v in results.items()},
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    n_gold = {k: sum(len(p["entities"]) for p in v) for k, v in sets.items()}
    print(
        f"labelled set: {len(sets['corpus'])} corpus pages ({n_gold['corpus']} labels), "
        f"{len(sets['generated'])} generated letters/e-mails/notes ({n_gold['generated']} labels)"
    )
    print(
        f"extractors: {', '.join(e.name for e in extractors)} (loaded in {t_load:.1f}s; "
        f"3 passes over the set in {t_run:.1f}s)"
    )
    ok = True
    for name, res in results.items():
        print(f"\n== {name} ==")
        print(f"{'extractor':<22}{'tp':>6}{'fp':>6}{'fn':>6}{'precision':>11}{'recall':>9}  target")
        for row in res["extractors"]:
            target = TARGETS.get(row["extractor"])
            flag = ""
            if target is not None and row["precision"] is not None:
                met = row["precision"] >= target
                ok &= met or name != "all"
                flag = f"P>={target} {'met' if met else 'MISSED'}"
            if not row["available"]:
                flag = "not installed"
            print(
                f"{row['extractor']:<22}{row['tp']:>6}{row['fp']:>6}{row['fn']:>6}"
                f"{_fmt(row['precision']):>11}{_fmt(row['recall']):>9}  {flag}"
            )
        if name == "all":
            print("\nby type (all):")
            for row in res["by_type"]:
                print(
                    f"  {row['extractor']:<20}{row['tp']:>6}{row['fp']:>6}{row['fn']:>6}"
                    f"{_fmt(row['precision']):>11}{_fmt(row['recall']):>9}"
                )
        if args.verbose and name != "all":
            for e in res["errors"]:
                print(
                    f"  {e['kind']} {e['source']:<10} {e['type']:<9} {e['text']!r} {e['norm'] or ''}  [{e['page']}]"
                )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
