"""Cost of the entity step per extractor, against text extraction of the same files (the baseline).

    .venv/bin/python eval/entities_bench.py [--repeat 3]

Reads text-layer PDFs and Chinese prose from the shared corpus, extracts their pages once with the
project's extractors (timed: the baseline), then runs each entity extractor alone and all of them
together (as the ingest step does) over the same pages. Prints ms per page, characters per second
and the ratio to extraction time. Model loading (spaCy, jieba, CC-CEDICT) is timed separately.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive.entities import PageTexts, default_extractors, extract_page  # noqa: E402
from archive.extractors import ExtractContext, choose, make_source  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
FILES = [
    "pdf-text/alaveteli_tfl.pdf",
    "pdf-text/alaveteli_psni.pdf",
    "pdf-text/ingest-file_106972554.pdf",
    "pdf-text/pdfminer_dmca.pdf",
    "pdf-text/pdfminer_issue_566_test_2.pdf",
    "other/kreuzberg_china_chinese.html",
    "other/tika_zh_langdetect.txt",
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    args = ap.parse_args(argv)

    pages: list[PageTexts] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for rel in FILES:
            path = args.corpus / rel
            source = make_source(path, path.name)
            extractor = choose(source)
            assert extractor is not None, rel
            for p in extractor.extract(source, ExtractContext(workdir=Path(tmp))).pages:
                han = sum("\u4e00" <= c <= "\u9fff" for c in p.text)
                pages.append(PageTexts(p.number, p.text, lang="zh-Hans" if han > len(p.text) / 5 else "en"))
    t_extract = time.perf_counter() - t0
    chars = sum(len(p.original) for p in pages)

    t0 = time.perf_counter()
    extractors = default_extractors()
    for page in pages[:3]:  # first use loads spaCy, jieba and the character tables
        extract_page(page, extractors)
    extract_page(PageTexts(1, "中国饮料有限公司", lang="zh-Hans"), extractors)
    t_load = time.perf_counter() - t0

    print(f"{len(pages)} pages, {chars:,} characters from {len(FILES)} files")
    print(
        f"baseline: text extraction {t_extract * 1000:.0f} ms ({t_extract / len(pages) * 1000:.1f} ms/page)"
    )
    print(f"loading extractors and models: {t_load:.2f} s (once per process)")
    print(f"{'extractor':<12}{'ms/page':>10}{'kchars/s':>10}{'x extraction':>14}")
    runs = [(e.name, [e]) for e in extractors] + [("all (step)", extractors)]
    for name, exs in runs:
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for page in pages:
                extract_page(page, exs)
            best = min(best, time.perf_counter() - t0)
        print(
            f"{name:<12}{best / len(pages) * 1000:>10.2f}{chars / best / 1000:>10.0f}{best / t_extract:>14.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
