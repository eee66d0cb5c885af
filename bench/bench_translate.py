"""Translation throughput: foi's path against raw CTranslate2 on the same sentences and model.

    .venv/bin/python bench/bench_translate.py [--model PATH.argosmodel] [--sentences N]

Without --model it builds the tiny offline test package (../shared/tools/make_tiny_argos_package.py),
so figures compare overheads, not translation quality. foi's figure runs ArgosTranslator through
translate_text (sentence splitting, cache lookups on a cold cache, batching, detokenising); the raw
figure is ctranslate2.Translator.translate_batch with SentencePiece encode/decode. Target: >= 0.8.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive.translate import ArgosTranslator, TranslationCache, install_from_file, translate_text  # noqa: E402

SUBJECTS = ["我们", "研究所", "帝国理工学院", "郭教授", "公司", "大学", "代表团"]
VERBS = ["签署了", "讨论了", "开发了", "测试了", "希望测试"]
OBJECTS = ["协议", "软件", "资金", "数据", "海洋传感器", "合同"]


def sentences(n: int) -> list[str]:
    rng = random.Random(0)
    return [f"{rng.choice(SUBJECTS)}{rng.choice(VERBS)}{rng.choice(OBJECTS)}{i}。" for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path)
    ap.add_argument("--sentences", type=int, default=4000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="foi-bench-tr-") as tmp:
        model = args.model
        if model is None:
            model = Path(tmp) / "tiny.argosmodel"
            subprocess.run([sys.executable, str(ROOT.parent / "shared/tools/make_tiny_argos_package.py"),
                            str(model)], check=True, capture_output=True)
        root = Path(tmp) / "archive"
        pkg = install_from_file(root, model)
        data = sentences(args.sentences)
        page_text = "".join(data)  # one long page: foi splits it itself

        import ctranslate2
        import sentencepiece

        path = Path(pkg.package_path)
        raw_model = ctranslate2.Translator(str(path / "model"), device="cpu")
        sp = sentencepiece.SentencePieceProcessor(model_file=str(path / "sentencepiece.model"))
        raw_model.translate_batch([sp.encode(data[0], out_type=str)])  # warm-up
        start = time.perf_counter()
        results = raw_model.translate_batch([sp.encode(s, out_type=str) for s in data], max_batch_size=32,
                                            beam_size=4)
        raw_out = [sp.decode(r.hypotheses[0]) for r in results]
        raw_s = time.perf_counter() - start

        translator = ArgosTranslator(root)
        translator.translate_segments([data[0]])  # load and warm up
        cache = TranslationCache(sqlite3.connect(":memory:"))
        start = time.perf_counter()
        _, pairs = translate_text(page_text, translator, cache)
        foi_s = time.perf_counter() - start
        assert [t for _, t in pairs] == raw_out, "foi and raw translations differ"
        start = time.perf_counter()
        translate_text(page_text, translator, cache)
        cached_s = time.perf_counter() - start
    n = len(data)
    print(f"sentences: {n}, model: {path.name}")
    print(f"raw ctranslate2 translate_batch: {raw_s:6.2f} s  {n / raw_s:8.0f} sentences/s")
    print(f"foi translate (cold cache):      {foi_s:6.2f} s  {n / foi_s:8.0f} sentences/s")
    print(f"foi translate (cached):          {cached_s:6.2f} s  {n / cached_s:8.0f} sentences/s")
    print(f"ratio foi / raw: {raw_s / foi_s:.2f}  (target >= 0.8)")


if __name__ == "__main__":
    main()
