"""Skew estimation and the coordinate mapping between a corrected image and the original."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

MAX_SKEW = 5.0  # degrees searched either side
MIN_SKEW = 0.3  # below this, rotating costs more than it gains


def _gray_at_most(image: Image.Image, side: int) -> Image.Image:
    """Grayscale, box-filtered down so that its longer side is at most `side` pixels."""
    gray = image.convert("L")
    scale = side / max(gray.size)
    if scale < 1:
        gray = gray.resize(
            (max(1, int(gray.width * scale)), max(1, int(gray.height * scale))), Image.Resampling.BOX
        )
    return gray


def estimate_skew(image: Image.Image) -> float:
    """Skew angle in degrees (positive: text lines rise to the right), by projection profiles.

    Dark pixels of a downscaled copy are projected onto rows for each candidate angle; the angle
    whose profile is sharpest (largest sum of squares) aligns the text lines.
    """
    small = _gray_at_most(image, 1000)
    arr = np.asarray(small, dtype=np.uint8)
    ys, xs = np.nonzero(arr < 128)
    if len(ys) < 200:
        return 0.0
    if len(ys) > 60000:
        pick = np.random.default_rng(0).choice(len(ys), 60000, replace=False)
        ys, xs = ys[pick], xs[pick]
    height = arr.shape[0]

    def sharpness(angle: float) -> float:
        shifted = ys - xs * math.tan(math.radians(angle))
        hist = np.bincount(
            np.clip((shifted + height).astype(np.int64), 0, 3 * height), minlength=3 * height + 1
        )
        return float(np.dot(hist, hist))

    coarse = np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 0.5)
    best = max(coarse, key=sharpness)
    fine = np.arange(best - 0.5, best + 0.51, 0.1)
    best = max(fine, key=sharpness)
    return float(round(best, 2))


def deskew(image: Image.Image, angle: float) -> Image.Image:
    """Rotate so that lines skewed by `angle` become level (same size, white fill)."""
    return image.rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255 if image.mode == "L" else None
    )


def map_point_back(x: float, y: float, angle: float, width: int, height: int) -> tuple[float, float]:
    """A point of the deskewed image back in the skewed image (rotation about the centre)."""
    cx, cy = width / 2, height / 2
    rad = math.radians(-angle)
    # deskew() turned the image counter-clockwise by `angle` about its centre; turn the point back.
    dx, dy = x - cx, y - cy
    ox = cx + dx * math.cos(rad) + dy * math.sin(rad)
    oy = cy - dx * math.sin(rad) + dy * math.cos(rad)
    return ox, oy


def unrotate_box(
    left: int, top: int, width: int, height: int, rotation: int, orig_w: int, orig_h: int
) -> tuple[int, int, int, int]:
    """A box found on an image turned `rotation` degrees clockwise, in the original's pixels."""
    right, bottom = left + width, top + height
    if rotation == 0:
        return left, top, width, height
    if rotation == 90:  # upright = original turned 90 clockwise: x_u = H - 1 - y_o, y_u = x_o
        return top, orig_h - right, height, width
    if rotation == 180:
        return orig_w - right, orig_h - bottom, width, height
    if rotation == 270:  # x_u = y_o, y_u = W - 1 - x_o
        return orig_w - bottom, left, height, width
    raise ValueError(f"rotation must be 0, 90, 180 or 270, not {rotation}")


def sideways_score(image: Image.Image) -> float:
    """How much more the ink varies along the width than along the height (line by line).

    Lines of text running across the page make the row profile of ink jump at every line, the
    column profile smooth; a page turned by 90 degrees swaps the two. Upright pages measured
    here score 0.03-1.7 (multi-column and skewed pages included), sideways ones about 15.
    """
    gray = _gray_at_most(image, 800)
    a = np.asarray(gray, dtype=np.float32)
    ink = (a < a.mean() - a.std()).astype(np.float32)

    def roughness(profile: np.ndarray) -> float:
        trim = profile.size // 20
        core = profile[trim : profile.size - trim] if trim else profile
        if core.size < 3:
            return 0.0
        return float((np.diff(core) ** 2).mean() / (core.mean() ** 2 + 1e-9))

    return roughness(ink.sum(0)) / (roughness(ink.sum(1)) + 1e-9)


@dataclass(frozen=True)
class LineProfile:
    """What the rows of ink say about a page's text lines, without OCR.

    `lines`: line pieces found (the page is cut into vertical strips, so a skew of a degree or
    two still leaves each piece level). `asymmetry`: ink above each line's core (its x-height
    band) minus ink below it, over both. Latin print has far more ascenders and capitals than
    descenders, so upright Latin scores well above zero and the same page upside down well
    below. `core`: the median share of a line's height that its core takes; Chinese fills the
    line (0.83 and up measured here), Latin leaves room for ascenders and descenders (0.59-0.80).
    """

    lines: int
    asymmetry: float
    core: float

    def latin_like(self) -> bool:
        return self.lines >= LINES_NEEDED and self.core < LATIN_CORE

    def upright_latin(self) -> bool:
        return self.latin_like() and self.asymmetry >= ASYMMETRY

    def upside_down_latin(self) -> bool:
        return self.latin_like() and self.asymmetry <= -ASYMMETRY

    def han_like(self) -> bool:
        """Lines filled the way Chinese fills them (turned or not: the core doesn't say which way)."""
        return self.lines >= LINES_NEEDED and self.core >= HAN_CORE

    def plainly_upside_down_latin(self) -> bool:
        """So lopsided, over so many line pieces, that no OSD is needed to turn it."""
        return self.upside_down_latin() and self.lines >= SURE_LINES and self.asymmetry <= -SURE_ASYMMETRY


LINES_NEEDED = 20  # fewer line pieces (a heading, a logo: four big words made 11) say nothing reliable
LATIN_CORE = 0.82
HAN_CORE = 0.83  # Chinese book pages measure 0.83-0.86; upright Latin pages 0.56-0.80
# Measured: upright Latin pages 0.21-0.98, the same pages turned 180 degrees -0.23 to -0.92;
# Greek (many descenders) about 0.1, Chinese between -0.35 and 0.28 (not used for Chinese).
ASYMMETRY = 0.2
SURE_LINES, SURE_ASYMMETRY = 30, 0.3  # beyond these a page is taken as upside down without OSD
_STRIP = 160  # pixels of the downscaled page per strip


def line_profile(image: Image.Image) -> LineProfile:
    gray = _gray_at_most(image, 1800)
    a = np.asarray(gray, dtype=np.float32)
    ink = a < min(160.0, float(a.mean() - a.std()))
    height, width = ink.shape
    above = below = 0.0
    cores: list[float] = []
    for x0 in range(0, max(1, width - _STRIP // 2), _STRIP):
        rows = ink[:, x0 : x0 + _STRIP].sum(1).astype(np.float64)
        on = np.concatenate(([False], rows > max(1.0, 0.02 * _STRIP), [False]))
        edges = np.flatnonzero(np.diff(on.astype(np.int8)))
        for y0, y1 in zip(edges[::2], edges[1::2], strict=True):
            piece = rows[y0:y1]
            # A text line: a few pixels to a heading's height, and more than specks of ink.
            if not 6 <= y1 - y0 <= 120 or piece.sum() <= 0.05 * _STRIP * (y1 - y0):
                continue
            band = np.flatnonzero(piece >= 0.5 * piece.max())
            b0, b1 = int(band[0]), int(band[-1])
            above += float(piece[:b0].sum())
            below += float(piece[b1 + 1 :].sum())
            cores.append((b1 - b0 + 1) / (y1 - y0))
    asymmetry = (above - below) / (above + below) if above + below > 0 else 0.0
    return LineProfile(len(cores), round(asymmetry, 3), round(float(np.median(cores)), 2) if cores else 0.0)
