"""What reading office files costs: LibreOffice conversion per file with this module's reused
profile, against the baseline of a fresh profile per file (what `soffice --convert-to` does when
run bare), and against one batch call converting all files at once (the floor: one start).

    .venv/bin/python bench/bench_office.py [--files N]

Converts the corpus's office files (and copies of them, up to N) to PDF three ways in one run and
prints seconds per file and the ratios against the fresh-profile baseline.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from archive.extractors.office.convert import OfficeConverter

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "office"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=8)
    args = parser.parse_args()
    files = sorted(
        p for p in CORPUS.iterdir() if p.suffix in {".doc", ".docx", ".odt", ".rtf", ".ppt", ".pptx"}
    )
    files = (files * (args.files // max(len(files), 1) + 1))[: args.files]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        conv = OfficeConverter(work / "profile")
        began = time.monotonic()
        conv.convert(files[0], work / "warm")  # makes the profile
        first = time.monotonic() - began
        began = time.monotonic()
        for n, f in enumerate(files):
            conv.convert(f, work / f"reused-{n}")
        reused = (time.monotonic() - began) / len(files)
        began = time.monotonic()
        for n, f in enumerate(files[: max(2, len(files) // 4)]):
            fresh = OfficeConverter(work / f"fresh-{n}")
            fresh.convert(f, work / f"fresh-out-{n}")
        baseline = (time.monotonic() - began) / max(2, len(files) // 4)
        batch_dir = work / "batch"
        batch_dir.mkdir()
        inputs = []
        for n, f in enumerate(files):
            inputs.append(batch_dir / f"{n}{f.suffix}")
            shutil.copyfile(f, inputs[-1])
        began = time.monotonic()
        subprocess.run(
            ["soffice", f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless", "--norestore",
             "--convert-to", "pdf", "--outdir", str(batch_dir / "out"), *map(str, inputs)],
            capture_output=True, check=True,
        )  # fmt: skip
        batch = (time.monotonic() - began) / len(files)
    print(f"files                         {len(files)}")
    print(f"first conversion (profile)    {first:.2f} s")
    print(f"fresh profile per file        {baseline:.2f} s/file (baseline)")
    print(f"reused profile (this module)  {reused:.2f} s/file  ratio {reused / baseline:.2f}")
    print(f"one batch call (floor)        {batch:.2f} s/file  ratio {batch / baseline:.2f}")


if __name__ == "__main__":
    main()
