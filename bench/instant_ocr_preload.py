"""A Dask preload for bench/bench_cluster_memory.py (`foi worker --preload bench/instant_ocr_preload.py`):
the worker's page OCR answers at once instead of running Tesseract, so that the cluster is much
faster than the coordinator can store, the case back-pressure is for. Pages are still rendered
from the original by pdfium on the worker, hashed, sent through the coordinator's window, and
their redaction boxes found; only the reading is a stand-in: one line of words laid out across
the image, named after the image's hash (pages differ, so the OCR cache saves none).

The coordinator names `ocr.tesseract._run_job` by reference, so the worker runs this one. Never
imported by the coordinator (it would patch its own module)."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import ocr.tesseract
from ocr.tesseract import OcrResult, OcrWord

_run_job = getattr(ocr.tesseract._run_job, "unpatched", ocr.tesseract._run_job)  # preloads may run twice


def _instant_reading(image: Any, languages: Any, hint: Any, chinese_engine: str = "auto") -> OcrResult:
    from PIL import Image

    data = image if isinstance(image, bytes) else open(image, "rb").read()  # noqa: SIM115 (read at once)
    with Image.open(io.BytesIO(data)) as im:
        width, height = im.size
    tag = hashlib.sha256(data).hexdigest()[:10]
    texts = ["Ledger", "line", tag, "paid"]
    step = max(1, width // (len(texts) + 1))
    words = [
        OcrWord(t, 20 + i * step, height // 4, step - 10, height // 2, 96.0) for i, t in enumerate(texts)
    ]
    return OcrResult(
        " ".join(texts), 96.0, words, "+".join(languages or ("eng",)), width=width, height=height
    )


_instant_reading.unpatched = _run_job  # type: ignore[attr-defined]
ocr.tesseract._run_job = _instant_reading


def dask_setup(worker: Any) -> None:
    """Nothing more to set up (Dask calls it on every preload)."""
