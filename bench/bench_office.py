"""What reading office files costs: converting them to PDF through one long-lived LibreOffice
(archive/extractors/office/uno_bridge.py over UNO, the default) against the baseline of one
`soffice --convert-to` start per file with the same reused profile (the path taken where the
system Python has no UNO bindings).

    .venv/bin/python bench/bench_office.py [--files N]

Converts the corpus's word processor files and decks (and copies of them, up to N) both ways in
one run and prints seconds per file and the ratio against the one-start-per-file baseline. The
first conversion of each way (the profile made, soffice started) is timed apart.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from archive.extractors.office.convert import OfficeConverter

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "office"


def _run(conv: OfficeConverter, files: list[Path], out: Path) -> tuple[float, float]:
    """Seconds of the first conversion, then seconds per file over `files`."""
    began = time.monotonic()
    conv.convert(files[0], out / "first")
    first = time.monotonic() - began
    began = time.monotonic()
    for n, f in enumerate(files):
        conv.convert(f, out / str(n))
    return first, (time.monotonic() - began) / len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=16)
    args = parser.parse_args()
    files = sorted(
        p for p in CORPUS.iterdir() if p.suffix in {".doc", ".docx", ".odt", ".rtf", ".ppt", ".pptx"}
    )
    files = (files * (args.files // max(len(files), 1) + 1))[: args.files]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        per_file = OfficeConverter(work / "per-file-profile", long_lived=False)
        long_lived = OfficeConverter(work / "long-lived-profile")
        try:
            first_per_file, baseline = _run(per_file, files, work / "per-file")
            first_long, long = _run(long_lived, files, work / "long-lived")
        finally:
            per_file.close()
            long_lived.close()
        assert long_lived.per_file_reason is None, long_lived.per_file_reason
    print(f"files                               {len(files)}")
    print(f"first conversion, one start a file  {first_per_file:.2f} s (the profile made)")
    print(f"first conversion, long-lived        {first_long:.2f} s (the profile made, soffice started)")
    print(f"one soffice start per file          {baseline:.3f} s/file (baseline, {per_file.starts} starts)")
    print(
        f"one long-lived soffice              {long:.3f} s/file  ratio {long / baseline:.3f}"
        f"  ({long_lived.starts} start, {long_lived.retried_alone} tried alone)"
    )


if __name__ == "__main__":
    main()
