"""Precision and recall of the redaction detectors on labelled pages (issue #18).

    .venv/bin/python eval/redactions_eval.py [DIR] [--corpus /work/shared/corpus]

DIR holds pages made by eval/make_redactions.py (made into a temporary folder when not given).
A box found counts as right when it overlaps a labelled box of its page with IoU >= 0.5 (each
label matched once). Bad-redaction flags are scored on the text PDFs' boxes the same way. The
text PDFs of the corpus have no redactions known to be bad: every bad flag there is a false
positive (target: none). Prints one line per kind and a timing per page.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive.extractors.pdf import find_pdf_boxes  # noqa: E402
from archive.redactions import Box  # noqa: E402
from archive.redactions.image import find_image_boxes  # noqa: E402
from ocr.geometry import estimate_skew  # noqa: E402

TARGETS = {"vector": 0.99, "flat": 0.95, "scan": 0.95}


def iou(a: list[int], b: list[int]) -> float:
    dx = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    dy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if dx <= 0 or dy <= 0:
        return 0.0
    inter = dx * dy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def match(found: list[list[int]], labelled: list[list[int]]) -> list[tuple[int, int]]:
    """Pairs (found index, label index), greedily by IoU, each at least 0.5."""
    pairs = sorted(
        ((iou(f, lab), i, j) for i, f in enumerate(found) for j, lab in enumerate(labelled)), reverse=True
    )
    used_f: set[int] = set()
    used_l: set[int] = set()
    out = []
    for score, i, j in pairs:
        if score < 0.5:
            break
        if i in used_f or j in used_l:
            continue
        used_f.add(i)
        used_l.add(j)
        out.append((i, j))
    return out


def _boxes_of(path: Path, kind: str, page_index: int, dpi: float | None) -> tuple[list[Box], float]:
    """The boxes found on a page and the seconds the detector took (not the loading, rendering
    or skew estimate, which an ingest has from OCR; for text PDFs the parse of the page, which
    an ingest's extractor does anyway: bench/bench_ocr.py measures what detection adds)."""
    if kind == "vector":
        start = time.perf_counter()
        return find_pdf_boxes(path, page_index), time.perf_counter() - start
    if kind == "flat":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            img = pdf[page_index].render(scale=(dpi or 150) / 72, grayscale=True).to_pil().convert("L")
        finally:
            pdf.close()
    else:
        with Image.open(path) as im:
            img = im.convert("L")
    skew = estimate_skew(img)  # in an ingest, the skew OCR measured
    start = time.perf_counter()
    return find_image_boxes(img, dpi, skew), time.perf_counter() - start


def evaluate(folder: Path) -> dict[str, dict[str, Any]]:
    labels = json.loads((folder / "labels.json").read_text())
    stats: dict[str, dict[str, Any]] = {}
    for name, pages in labels.items():
        for index, page in enumerate(pages):
            kind = page["kind"]
            s = stats.setdefault(
                kind,
                {
                    "tp": 0,
                    "fp": 0,
                    "fn": 0,
                    "bad_tp": 0,
                    "bad_fp": 0,
                    "bad_fn": 0,
                    "pages": 0,
                    "seconds": 0.0,
                },
            )
            found, seconds = _boxes_of(folder / name, kind, index, page.get("dpi"))
            s["seconds"] += seconds
            s["pages"] += 1
            rects = [[b.left, b.top, b.width, b.height] for b in found]
            pairs = match(rects, page["boxes"])
            s["tp"] += len(pairs)
            s["fp"] += len(found) - len(pairs)
            s["fn"] += len(page["boxes"]) - len(pairs)
            matched = dict(pairs)
            for i, box in enumerate(found):
                label_bad = page["bad"][matched[i]] if i in matched else False
                if box.bad and label_bad:
                    s["bad_tp"] += 1
                elif box.bad:
                    s["bad_fp"] += 1
            flagged = {matched[i] for i, b in enumerate(found) if b.bad and i in matched}
            s["bad_fn"] += sum(1 for j, bad in enumerate(page["bad"]) if bad and j not in flagged)
    return stats


def corpus_false_flags(corpus: Path) -> tuple[int, int, int, float]:
    """(pages, boxes found, bad flags, ms a page) over the corpus's text PDFs."""
    import pypdfium2 as pdfium

    pages = boxes = bad = 0
    seconds = 0.0
    for path in sorted((corpus / "pdf-text").glob("*.pdf")):
        try:
            pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError:
            continue  # encrypted or broken: the extractor reports those
        count = len(pdf)
        pdf.close()
        for i in range(count):
            start = time.perf_counter()
            found = find_pdf_boxes(path, i)
            seconds += time.perf_counter() - start
            pages += 1
            boxes += len(found)
            bad += sum(b.bad for b in found)
            for b in found:
                if b.bad:
                    print(f"  false bad flag: {path.name} p{i + 1}: {b.hidden_text[:60]!r}")
    return pages, boxes, bad, 1000 * seconds / max(pages, 1)


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--corpus", type=Path, default=Path("/work/shared/corpus"))
    parser.add_argument("--pages", type=int, default=12)
    args = parser.parse_args()
    folder = args.folder
    if folder is None:
        from make_redactions import make

        folder = Path(tempfile.mkdtemp(prefix="redactions-"))
        make(folder, args.pages, 18)
    stats = evaluate(folder)
    print(
        f"{'kind':8} {'pages':>5} {'boxes':>5} {'precision':>9} {'recall':>6} {'target':>6}  bad P/R      ms/page"
    )
    for kind, s in stats.items():
        p, r = _ratio(s["tp"], s["tp"] + s["fp"]), _ratio(s["tp"], s["tp"] + s["fn"])
        bp, br = (
            _ratio(s["bad_tp"], s["bad_tp"] + s["bad_fp"]),
            _ratio(s["bad_tp"], s["bad_tp"] + s["bad_fn"]),
        )
        bad = f"{bp:.3f}/{br:.3f}" if kind == "vector" else "  -  "
        print(
            f"{kind:8} {s['pages']:>5} {s['tp'] + s['fn']:>5} {p:>9.3f} {r:>6.3f} {TARGETS[kind]:>6.2f}  "
            f"{bad:12} {1000 * s['seconds'] / s['pages']:.1f}"
        )
    if args.corpus.is_dir():
        pages, boxes, bad, ms = corpus_false_flags(args.corpus)
        print(
            f"corpus text PDFs: {pages} pages, {boxes} boxes, {bad} bad-redaction flags (target 0), {ms:.2f} ms/page"
        )


if __name__ == "__main__":
    main()
