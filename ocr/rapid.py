"""RapidOCR (PP-OCRv4 on ONNX Runtime) behind one module: the second engine for Chinese pages.

The detection and recognition models ship in the `rapidocr-onnxruntime` wheel, so nothing is
downloaded. The engine is made once per process (in the OCR pool's workers, beside Tesseract) and
runs on one thread, as Tesseract does: N single-threaded workers use N cores best.

RapidOCR gives a box per text line and, from the recognizer's column positions, a box per
character (per Latin letter); Latin letters, digits and signs in a row are joined back into
words here, so the words come out as Tesseract's do for Chinese: a word per Han character (and
per Chinese punctuation mark), a word per run of Latin text.

The recognizer often drops the spaces between Latin words on small print (about 20 px lines:
"ThePermanentSecretary"). Its character boxes are too coarse to tell a word gap from a letter
gap, so the page's pixels decide: between two Latin characters the recognizer did not part, a
run of ink-free columns at least WORD_GAP of the line's height wide (letters in a word leave at
most about 0.2, a word space at least about 0.25) starts a new word.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

DETECT_SIDE = 480.0
WORD_GAP = 0.25  # a blank run this share of the line's height wide parts two Latin words


class RapidOcrUnavailable(Exception):
    """rapidocr-onnxruntime is not installed, or its models cannot be loaded."""


@dataclass(frozen=True)
class RapidWord:
    """A word (a Han character, or a run of other characters without a space) with its box in pixels of
    the image given, and the recognizer's confidence 0-100."""

    text: str
    left: int
    top: int
    width: int
    height: int
    conf: float


@functools.cache
def _engine() -> Any:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:  # pragma: no cover - a dependency; kept for a clear message
        raise RapidOcrUnavailable(f"rapidocr-onnxruntime is not installed: {exc}") from exc
    try:
        # One thread per run: the pool gives the parallelism (see the module docstring). Text is
        # looked for on the image scaled so its short side is at least DETECT_SIDE: RapidOCR's
        # default (736) blows a one-line crop up tenfold (6 s on one core for a 362x78 crop,
        # 0.5 s at 480 with the same reading); less than 480 misses lines on small images.
        return RapidOCR(
            intra_op_num_threads=1,
            inter_op_num_threads=1,
            det_limit_type="min",
            det_limit_side_len=DETECT_SIDE,
        )
    except Exception as exc:
        raise RapidOcrUnavailable(f"RapidOCR cannot load its models: {exc}") from exc


def _is_han(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\uffef" or "\u3000" <= ch <= "\u303f"


def _bounds(points: Sequence[Sequence[float]]) -> tuple[int, int, int, int]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    left, top = int(min(xs)), int(min(ys))
    return left, top, max(1, int(round(max(xs))) - left), max(1, int(round(max(ys))) - top)


def _blank_columns(gray: np.ndarray, bounds: tuple[int, int, int, int]) -> np.ndarray:
    """For each pixel column of a line's box: whether it holds no ink (dark pixels after Otsu's
    threshold on the box alone, so a tinted or textured background is not ink)."""
    import cv2

    left, top, width, height = bounds
    crop = np.ascontiguousarray(gray[max(0, top) : top + height, max(0, left) : left + width])
    if crop.size == 0:
        return np.zeros(0, dtype=bool)
    _, ink = cv2.threshold(crop, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    blank: np.ndarray = ink.sum(axis=0) == 0
    return blank


def _longest_run(flags: np.ndarray) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def _line_words(line: Sequence[Any], gray: np.ndarray | None = None) -> list[RapidWord]:
    """The words of one recognized line: [box, text, score, char boxes, chars, char scores];
    with the page in grey (`gray`), Latin words the recognizer ran together are parted."""
    box, text, score = line[0], str(line[1]), float(line[2])
    chars: list[str] = list(line[4]) if len(line) > 4 else []
    char_boxes: list[Any] = list(line[3]) if len(line) > 3 else []
    confs: list[float] = [float(c) for c in line[5]] if len(line) > 5 else []
    if not chars or len(chars) != len(char_boxes):
        # No character positions: the line as one word, its characters spread evenly over it.
        left, top, width, height = _bounds(box)
        visible = [c for c in text if not c.isspace()]
        step = width / max(1, len(visible))
        return [
            RapidWord(c, left + int(i * step), top, max(1, int(step)), height, round(score * 100, 2))
            for i, c in enumerate(visible)
        ]
    if len(confs) != len(chars):
        confs = [score] * len(chars)
    words: list[RapidWord] = []
    run: list[tuple[str, tuple[int, int, int, int], float]] = []

    def flush() -> None:
        if not run:
            return
        left = min(b[0] for _, b, _ in run)
        top = min(b[1] for _, b, _ in run)
        right = max(b[0] + b[2] for _, b, _ in run)
        bottom = max(b[1] + b[3] for _, b, _ in run)
        conf = sum(c for _, _, c in run) / len(run)
        words.append(
            RapidWord(
                "".join(t for t, _, _ in run), left, top, right - left, bottom - top, round(conf * 100, 2)
            )
        )
        run.clear()

    line_left, _, _, line_height = line_bounds = _bounds(box)
    blank = _blank_columns(gray, line_bounds) if gray is not None else None
    gap = max(2, round(WORD_GAP * line_height))

    def parted(before: tuple[int, int, int, int], after: tuple[int, int, int, int]) -> bool:
        """Whether the page shows a word space between two characters' centres."""
        if blank is None:
            return False
        start = before[0] + before[2] // 2 - line_left
        end = after[0] + after[2] // 2 - line_left
        return _longest_run(blank[max(0, start) : max(0, end)]) >= gap

    for ch, points, conf in zip(chars, char_boxes, confs, strict=True):
        ch = str(ch)
        if not ch.strip():
            flush()
            continue
        bounds = _bounds(points)
        if _is_han(ch):
            flush()
            words.append(RapidWord(ch, *bounds, round(conf * 100, 2)))
        else:
            if run and parted(run[-1][1], bounds):
                flush()
            run.append((ch, bounds, conf))
    flush()
    return words


def read_lines(image: Image.Image) -> list[list[RapidWord]]:
    """The text lines RapidOCR finds on `image` (top to bottom), each as its words."""
    engine = _engine()
    array = np.asarray(image.convert("RGB"))[:, :, ::-1]  # RapidOCR takes OpenCV's BGR order
    try:
        found, _elapsed = engine(np.ascontiguousarray(array), return_word_box=True)
    except Exception as exc:
        raise RapidOcrUnavailable(f"RapidOCR failed: {type(exc).__name__}: {exc}") from exc
    gray = np.asarray(image.convert("L"))
    return [words for words in (_line_words(line, gray) for line in found or []) if words]
