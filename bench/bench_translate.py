"""Translation throughput: `foi translate` against raw CTranslate2 on the same sentences and model.

    .venv/bin/python bench/bench_translate.py [--model PATH.argosmodel] [--docs 200] [--pages 5]
        [--sentences-per-page 4] [--rounds 3] [--threads N]

An archive of many small pages (--docs text files of --pages pages each, every page a few Chinese
sentences, every sentence distinct so the translation cache is cold) is ingested once with no
model, so every page is translation-pending. Each round then, alternating which goes first:

- foi: a fresh copy of that archive, and `foi translate` run in-process through the CLI: it opens
  the archive, loads the model, reads the pending pages, batches their sentences across pages,
  translates, writes pages, cache and stages, and re-indexes every document (SQLite search);
- raw: `ctranslate2.Translator.translate_batch` on the same sentences with the same model, the
  same threads and the same options (max_batch_size, beam_size, replace_unknowns), with
  SentencePiece encode/decode around it (any caller needs them); the model is loaded once,
  before the rounds, so the raw figure has no load time and foi's has. ctranslate2 is imported
  the way foi imports it (OpenMP told to wait passively), so both run the same runtime.

Both translations must agree exactly. Printed: sentences/second of each, per round and the
median, and the ratio foi/raw (target >= 0.8). Without --model the tiny copy model of the tests
(../shared/tools/make_tiny_argos_package.py) is built: its model cost is tiny, so the figure
measures foi's overhead against almost nothing; pass a real zh->en .argosmodel (or an installed
package folder) with --model for a figure that reflects real translation cost.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SUBJECTS = ["我们", "研究所", "帝国理工学院", "郭教授", "公司", "大学", "代表团"]
VERBS = ["签署了", "讨论了", "开发了", "测试了", "希望测试"]
OBJECTS = ["协议", "软件", "资金", "数据", "海洋传感器", "合同"]


def sentences(n: int) -> list[str]:
    rng = random.Random(0)
    return [f"{rng.choice(SUBJECTS)}{rng.choice(VERBS)}{rng.choice(OBJECTS)}{i}号。" for i in range(n)]


def build_archive(root: Path, files: Path, data: list[str], docs: int, pages: int, per_page: int) -> None:
    """`docs` text files of `pages` pages (form feeds) each, `per_page` sentences a page; ingested
    with no model installed, so every page is translation-pending."""
    from archive import Archive

    files.mkdir(parents=True)
    paths = []
    it = iter(data)
    for d in range(docs):
        body = "\f".join("".join(next(it) for _ in range(per_page)) for _ in range(pages))
        path = files / f"doc{d:05d}.txt"
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    with Archive(root) as archive:
        report = archive.ingest(paths)
        assert report.ingested == docs, report
        pending = archive.store.db.execute("SELECT count(*) FROM pages WHERE translation_status='pending'")
        assert pending.fetchone()[0] == docs * pages


def install(root: Path, model: Path) -> Path:
    """Install the model into the archive (a .argosmodel file, or an unpacked package folder)."""
    from archive.translate import argos_home, install_from_file

    if model.is_dir():
        target = argos_home(root) / "packages" / model.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(model, target)
        return target
    return Path(install_from_file(root, model).package_path)


def run_foi(root: Path) -> tuple[float, list[str]]:
    """Seconds for `foi translate` on the archive at `root`, and its translations in order."""
    import sqlite3

    from click.testing import CliRunner

    from archive.cli import cli

    runner = CliRunner()
    start = time.perf_counter()
    result = runner.invoke(cli, ["--archive", str(root), "translate"], catch_exceptions=False)
    seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    import json

    db = sqlite3.connect(root / "foi.sqlite3")
    out = []
    for (segments,) in db.execute(
        "SELECT p.segments FROM pages p JOIN documents d ON d.id = p.document_id "
        "WHERE p.translation_status='done' ORDER BY d.filename, p.number"
    ):
        out.extend(target for _, target in json.loads(segments))
    db.close()
    return seconds, out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "--model", type=Path, help="a zh->en .argosmodel file or package folder (default: tiny copy model)"
    )
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--pages", type=int, default=5)
    ap.add_argument("--sentences-per-page", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--threads", type=int, default=0, help="CTranslate2 intra_threads for both (default: all cores)"
    )
    args = ap.parse_args()
    if args.threads:
        os.environ["FOI_TRANSLATE_THREADS"] = str(args.threads)

    import sentencepiece

    from archive.translate import ArgosTranslator, import_ctranslate2

    ctranslate2 = import_ctranslate2()  # as foi imports it (OpenMP waits passively)

    n = args.docs * args.pages * args.sentences_per_page
    data = sentences(n)
    with tempfile.TemporaryDirectory(prefix="foi-bench-tr-") as tmp:
        tmpdir = Path(tmp)
        model = args.model
        if model is None:
            model = tmpdir / "translate-zh_en-tiny.argosmodel"
            subprocess.run(
                [sys.executable, str(ROOT.parent / "shared/tools/make_tiny_argos_package.py"), str(model)],
                check=True,
                capture_output=True,
            )
        template = tmpdir / "template"
        t0 = time.perf_counter()
        build_archive(template, tmpdir / "files", data, args.docs, args.pages, args.sentences_per_page)
        ingest_s = time.perf_counter() - t0
        pkg_path = install(template, model)

        # Raw CTranslate2 with foi's own model and call options (threads included).
        settings = ArgosTranslator(template)
        assert settings.available() and settings.package_path == pkg_path
        options = settings.translate_options()
        t0 = time.perf_counter()
        raw_model = ctranslate2.Translator(str(pkg_path / "model"), **settings.model_options())
        load_s = time.perf_counter() - t0
        sp = sentencepiece.SentencePieceProcessor(model_file=str(pkg_path / "sentencepiece.model"))
        prefix = getattr(settings._package, "target_prefix", "") or ""
        raw_model.translate_batch([sp.encode(data[0], out_type=str)], **options)  # warm-up

        def run_raw() -> tuple[float, float, list[str]]:
            start = time.perf_counter()
            tokens = sp.encode(data, out_type=str)
            t_batch = time.perf_counter()
            results = raw_model.translate_batch(
                tokens, target_prefix=[[prefix]] * len(tokens) if prefix else None, **options
            )
            batch_s = time.perf_counter() - t_batch
            hyps = [
                r.hypotheses[0][1:] if prefix and r.hypotheses[0][:1] == [prefix] else r.hypotheses[0]
                for r in results
            ]
            out = [s.strip() for s in sp.decode(hyps)]
            return time.perf_counter() - start, batch_s, out

        raw_rates, batch_rates, foi_rates, ratios = [], [], [], []
        for r in range(args.rounds):
            root = tmpdir / f"round{r}"
            shutil.copytree(template, root)
            order = ("raw", "foi") if r % 2 == 0 else ("foi", "raw")
            for which in order:
                if which == "raw":
                    raw_s, batch_s, raw_out = run_raw()
                else:
                    foi_s, foi_out = run_foi(root)
            assert foi_out == raw_out, "foi and raw translations differ"
            raw_rates.append(n / raw_s)
            batch_rates.append(n / batch_s)
            foi_rates.append(n / foi_s)
            ratios.append(raw_s / foi_s)
            print(
                f"round {r + 1} ({order[0]} first): raw {raw_s:6.3f} s {n / raw_s:9.0f}/s "
                f"(translate_batch alone {batch_s:6.3f} s {n / batch_s:9.0f}/s) | "
                f"foi translate {foi_s:6.3f} s {n / foi_s:9.0f}/s | ratio {raw_s / foi_s:.2f}"
            )
            shutil.rmtree(root)

    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
        "(other processes make wall-clock figures noisy: compare the rounds)"
    )
    print(
        f"model: {pkg_path.name} (load {load_s:.3f} s, counted in foi's time only); threads: "
        f"{settings.threads}; options: {options}"
    )
    print(
        f"archive: {args.docs} documents x {args.pages} pages x {args.sentences_per_page} sentences = {n} "
        f"sentences on {args.docs * args.pages} pages (ingest, not timed: {ingest_s:.1f} s)"
    )
    print(
        f"median raw ctranslate2 (encode+translate_batch+decode): {statistics.median(raw_rates):9.0f} sentences/s"
    )
    print(
        f"median raw translate_batch alone:                       {statistics.median(batch_rates):9.0f} sentences/s"
    )
    print(
        f"median foi translate (whole command):                   {statistics.median(foi_rates):9.0f} sentences/s"
    )
    print(
        f"ratio foi / raw: median {statistics.median(ratios):.2f}, best {max(ratios):.2f}, rounds "
        f"{', '.join(f'{x:.2f}' for x in ratios)}  (target >= 0.8)"
    )


if __name__ == "__main__":
    main()
