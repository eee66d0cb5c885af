"""Chinese OCR: Tesseract, RapidOCR and `auto` (RapidOCR where Tesseract reads poorly), in one run.

    .venv/bin/python bench/bench_ocr_chinese.py [--corpus DIR] [--repeat N]

Pages: the corpus's Chinese scans and images (found through MANIFEST.tsv by their language), and
three hard pages made here from known text (samples/hard_pages.py: two over a textured background,
one with inline formulas). Ground truth: the generated pages' own text; for corpus files, every
quoted string of MANIFEST's known facts, each matched against the best-aligned stretch of the
reading (so a file whose facts quote only part of its text is judged on that part).

Each page is read by the per-page OCR function the pool runs (`ocr.tesseract._run_job`, no cache)
with the setting `tesseract`, `auto` and `rapidocr`, one page after another on one core. Time is
CPU seconds (this process, where RapidOCR runs, plus the Tesseract processes it waited for), so
other load on the machine does not blur the ratio; wall seconds are printed too.

Hard pages are the ones the issue names: text over a texture, inline formulas, and scene text
(the two RapidOCR photos of signs and adverts). Targets: `auto` CER on the hard pages at most half
of Tesseract's; `auto` at most 15 % slower than Tesseract alone over the corpus's pages.
"""

from __future__ import annotations

import argparse
import csv
import re
import resource
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "samples"))

from hard_pages import FORMULA_LINES, formula_page, textured_page  # noqa: E402

from ocr import OCR_FORMAT, page_count, render_pdf_page  # noqa: E402
from ocr.tesseract import CHINESE_ENGINES, _run_job  # noqa: E402

HARD_CORPUS = {"images/pix2text_zh6.jpg", "images/rapidocr_ch_en_num.jpg", "images/rapidocr_text_rec.jpg"}
TEXTURED_TWO = [
    "根据信息公开条例现将有关材料提供如下",
    "大学与造船集团签订的研究合同共三份",
    "其中涉及个人信息的部分已经依法删除",
]


@dataclass
class Page:
    name: str
    image: bytes
    truth: list[str]  # known text: whole lines, or quoted fragments
    hard: bool
    corpus: bool


@dataclass
class Tally:
    errors: float = 0.0
    chars: int = 0
    cpu: float = 0.0
    wall: float = 0.0
    pages: int = 0
    rapid: int = 0
    per_page: dict[str, float] = field(default_factory=dict)

    @property
    def cer(self) -> float:
        return self.errors / self.chars if self.chars else 0.0


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def fragment_errors(fragment: str, text: str) -> int:
    """Edit distance from `fragment` to the stretch of `text` that matches it best (free start
    and end in `text`: semi-global alignment)."""
    prev = [0] * (len(text) + 1)  # an empty fragment matches anywhere for free
    for i, f in enumerate(fragment, 1):
        cur = [i] + [0] * len(text)
        for j, t in enumerate(text, 1):
            cur[j] = min(prev[j - 1] + (f != t), prev[j] + 1, cur[j - 1] + 1)
        prev = cur
    return min(prev)


def corpus_pages(corpus: Path) -> list[Page]:
    pages: list[Page] = []
    with open(corpus / "MANIFEST.tsv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    seen: set[str] = set()
    for row in rows:
        rel, kind = row["file"], row["kind"]
        if kind not in ("image", "pdf-scanned") or not row["languages"].startswith("zh") or rel in seen:
            continue
        seen.add(rel)
        truth = [q for q in re.findall(r'"([^"]+)"', row["known_facts"]) if _norm(q)]
        path = corpus / rel
        if kind == "image":
            images = [path.read_bytes()]
        else:
            images = [render_pdf_page(path, i, image_format=OCR_FORMAT).data for i in range(page_count(path))]
        for i, image in enumerate(images):
            name = rel if len(images) == 1 else f"{rel}#{i + 1}"
            # A multi-page file's facts are about the file: judged on its pages read together.
            pages.append(Page(name, image, truth if i == 0 else [], rel in HARD_CORPUS, True))
    return pages


def generated_pages() -> list[Page]:
    import io

    def png(image) -> bytes:  # type: ignore[no-untyped-def]
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue()

    from hard_pages import TEXTURED_LINES

    return [
        Page("generated: textured background", png(textured_page()[0]), TEXTURED_LINES, True, False),
        Page(
            "generated: textured, 2nd", png(textured_page(TEXTURED_TWO, seed=5)[0]), TEXTURED_TWO, True, False
        ),
        Page("generated: inline formulas", png(formula_page()[0]), FORMULA_LINES, True, False),
    ]


def read_all(pages: list[Page], mode: str) -> tuple[Tally, dict[str, str]]:
    tally = Tally()
    texts: dict[str, str] = {}
    for page in pages:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = _run_job(page.image, None, None, mode)
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time() - cpu0
        cpu += (children_after.ru_utime + children_after.ru_stime) - (children.ru_utime + children.ru_stime)
        tally.cpu += cpu
        tally.wall += time.perf_counter() - wall0
        tally.pages += 1
        tally.rapid += result.engine == "rapidocr"
        tally.per_page[page.name] = cpu
        texts[page.name] = result.text
        print(f"  {mode}: {page.name} {cpu:.2f} s {result.engine}", file=sys.stderr, flush=True)
    return tally, texts


def score(pages: list[Page], texts: dict[str, str], tally: Tally, hard: bool | None) -> tuple[float, int]:
    """(errors, characters) over the chosen pages; a multi-page file's fragments against all its pages."""
    errors, chars = 0.0, 0
    by_file: dict[str, str] = {}
    for page in pages:
        by_file[page.name.split("#")[0]] = by_file.get(page.name.split("#")[0], "") + _norm(texts[page.name])
    for page in pages:
        if hard is not None and page.hard != hard:
            continue
        text = by_file[page.name.split("#")[0]]
        for fragment in page.truth:
            f = _norm(fragment)
            errors += fragment_errors(f, text)
            chars += len(f)
    return errors, chars


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = ap.parse_args()
    import os

    os.environ["OMP_THREAD_LIMIT"] = "1"  # as in the pool's workers
    tempfile.tempdir = tempfile.mkdtemp(prefix="foi-bench-zh-")
    pages = corpus_pages(args.corpus) + generated_pages()
    # Warm up what each worker loads once (RapidOCR's models, the dictionaries), untimed.
    from ocr.rapid import _engine
    from ocr.words import chinese_words, english_words

    _engine(), chinese_words(), english_words()
    results: dict[str, tuple[Tally, dict[str, str]]] = {}
    for mode in CHINESE_ENGINES:
        results[mode] = read_all(pages, mode)

    corpus = [p for p in pages if p.corpus]
    print(
        f"pages: {len(corpus)} from the corpus ({sum(p.hard for p in corpus)} hard), {len(pages) - len(corpus)} generated hard"
    )
    print(
        f"{'engine':<10} {'CER hard':>9} {'CER clean':>10} {'CER all':>8}  {'corpus CPU s':>12} {'pages/s':>8} {'wall s':>7}  rapid pages"
    )
    figures: dict[str, dict[str, float]] = {}
    for mode, (tally, texts) in results.items():
        hard_e, hard_n = score(pages, texts, tally, True)
        clean_e, clean_n = score(pages, texts, tally, False)
        corpus_cpu = sum(tally.per_page[p.name] for p in corpus)
        figures[mode] = {
            "hard": hard_e / hard_n,
            "clean": clean_e / clean_n if clean_n else 0.0,
            "cpu": corpus_cpu,
        }
        print(
            f"{mode:<10} {hard_e / hard_n:9.3f} {figures[mode]['clean']:10.3f} "
            f"{(hard_e + clean_e) / (hard_n + clean_n):8.3f}  {corpus_cpu:12.2f} {len(corpus) / corpus_cpu:8.3f} "
            f"{tally.wall:7.1f}  {tally.rapid}/{tally.pages}"
        )
    t, a = figures["tesseract"], figures["auto"]
    print(f"auto CER on hard pages / Tesseract's: {a['hard'] / t['hard']:.2f}   (target <= 0.5)")
    print(f"auto CPU time / Tesseract's over the corpus: {a['cpu'] / t['cpu']:.2f}   (target <= 1.15)")
    print("per page, CPU s (tesseract / auto / rapidocr):")
    for page in pages:
        cells = " / ".join(f"{results[m][0].per_page[page.name]:.2f}" for m in CHINESE_ENGINES)
        print(f"  {'H' if page.hard else ' '} {page.name:<45} {cells}")


if __name__ == "__main__":
    main()
