"""Redaction boxes on a page image: solid dark boxes, and white-out boxes (a thin frame with nothing
inside), as scanners and redaction tools leave them.

The page is read at about WORK_DPI (reduced from the OCR image, after undoing the skew OCR
measured). Solid boxes: the dark pixels are "opened" with a square a bit over a millimetre wide,
which removes text strokes and rules and keeps solid areas; each area left must then be a filled,
evenly dark rectangle with paper around it, away from the page edge (a scanner's black border),
and without light holes when it spans most of the page (a dark banner with a title in it). Photos
fail the evenness and paper tests, logos the fill test. White-out boxes: a frame of long dark
runs on all four sides that ends where the frame ends (a table's rules run on into their
neighbours) and holds almost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from PIL import Image

from . import Box

WORK_DPI = 100.0
DARK = 110  # grey level under which a pixel is ink
MIN_HEIGHT_MM = 2.0
MIN_WIDTH_MM = 3.0
OPEN_MM = 1.2  # text strokes (even bold headings at 100 dpi) are thinner than this
MIN_FILL = 0.8  # of the box's bounding rectangle covered by the opened area
MIN_INK = 0.88  # of the rectangle dark in the page itself (white labels on boxes are small)
MAX_SPREAD = 20.0  # standard deviation of the grey levels inside a box (scan noise, JPEG)
MIN_PAPER = 0.55  # of the ring around a box that is light
BANNER_WIDTH = 0.6  # a box this share of the page wide with light holes in it is a banner
FRAME_DARK = 170  # a frame's thin line, reduced and turned, is grey more than black
MIN_FRAME_MM = 6.0  # a white-out box is at least this wide (a word); shorter dark runs are strokes
MAX_RUNS = 400_000  # more dark runs than this after opening: a photo-like page, not read further

_Img = np.ndarray[Any, Any]


def find_image_boxes(image: Image.Image, dpi: float | None = None, skew: float = 0.0) -> list[Box]:
    """The redaction boxes on a page image, in its pixels. `dpi`: the image's resolution (guessed
    from an A4/Letter page when None); `skew`: degrees the page is turned (OCR's estimate)."""
    gray = image if image.mode == "L" else image.convert("L")
    width, height = gray.size
    if width < 20 or height < 20:
        return []
    dpi = dpi or max(width, height) / 11.0
    factor = max(1, int(dpi / WORK_DPI + 0.25))
    small = gray.reduce(factor) if factor > 1 else gray
    if abs(skew) >= 0.3:
        small = small.rotate(skew, resample=Image.Resampling.BILINEAR, fillcolor=255)
    arr = np.asarray(small)
    scale = dpi / factor / 25.4  # working pixels per millimetre
    found = _solid_boxes(arr, scale) + _frame_boxes(arr, scale)
    boxes = []
    sw, sh = small.size
    for left, top, right, bottom in found:
        x0, y0, x1, y1 = _back(left, top, right, bottom, skew, sw, sh)
        x0, y0 = max(0, x0 * factor), max(0, y0 * factor)
        x1, y1 = min(width, x1 * factor), min(height, y1 * factor)
        boxes.append(Box("image", round(x0), round(y0), round(x1 - x0), round(y1 - y0)))
    return sorted(boxes, key=lambda b: (b.top, b.left))


def _back(left: int, top: int, right: int, bottom: int, skew: float, w: int, h: int) -> tuple[float, ...]:
    """A rectangle of the deskewed image as the bounding box of its corners in the image as given."""
    if abs(skew) < 0.3:
        return float(left), float(top), float(right), float(bottom)
    from ocr.geometry import map_point_back

    pts = [map_point_back(x, y, skew, w, h) for x in (left, right) for y in (top, bottom)]
    # The corners of a turned rectangle stick out of it: shrink back by half the difference.
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    half_w, half_h = (right - left) / 2, (bottom - top) / 2
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


def _opened(mask: _Img, k: int) -> _Img:
    """Morphological opening by a k x k square (the union of the squares that fit in the mask),
    as shifted ANDs then ORs along each axis: a few passes over a boolean array."""
    h, w = mask.shape
    rows = mask[:, : w - k + 1].copy()
    for i in range(1, k):
        rows &= mask[:, i : w - k + 1 + i]
    fits = rows[: h - k + 1].copy()
    for i in range(1, k):
        fits &= rows[i : h - k + 1 + i]
    grown = np.zeros((h, w - k + 1), dtype=bool)
    for i in range(k):
        grown[i : i + h - k + 1] |= fits
    out = np.zeros((h, w), dtype=bool)
    for i in range(k):
        out[:, i : i + w - k + 1] |= grown
    return out


def _runs(mask: _Img) -> tuple[_Img, _Img, _Img]:
    """Row, start and end (exclusive) of each horizontal run of True."""
    edges = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    return rows, starts, ends


def _components(mask: _Img) -> list[tuple[int, int, int, int, int]]:
    """Connected areas of a mask as (left, top, right, bottom, pixels), from its runs joined to
    the overlapping runs of the row above (a union-find over runs, not pixels)."""
    rows, starts, ends = _runs(mask)
    n = len(rows)
    if n == 0 or n > MAX_RUNS:
        return []
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(rows, np.arange(int(rows[-1]) + 2))
    rl, sl, el = rows.tolist(), starts.tolist(), ends.tolist()
    for i in range(n):
        r = rl[i]
        if r == 0:
            continue
        j, stop = int(row_first[r - 1]), int(row_first[r])
        while j < stop:
            if sl[j] < el[i] and sl[i] < el[j]:
                a, b = find(i), find(j)
                if a != b:
                    parent[a] = b
            j += 1
    comps: dict[int, list[int]] = {}
    for i in range(n):
        root = find(i)
        c = comps.get(root)
        if c is None:
            comps[root] = [sl[i], rl[i], el[i], rl[i] + 1, el[i] - sl[i]]
        else:
            c[0], c[1] = min(c[0], sl[i]), min(c[1], rl[i])
            c[2], c[3] = max(c[2], el[i]), max(c[3], rl[i] + 1)
            c[4] += el[i] - sl[i]
    return [(c[0], c[1], c[2], c[3], c[4]) for c in comps.values()]


def _solid_boxes(arr: _Img, scale: float) -> list[tuple[int, int, int, int]]:
    h, w = arr.shape
    dark = arr < DARK
    k = max(3, round(OPEN_MM * scale))
    if h <= k or w <= k:
        return []
    opened = _opened(dark, k)
    margin = max(2, round(1.5 * scale))
    out = []
    for left, top, right, bottom, pixels in _components(opened):
        bw, bh = right - left, bottom - top
        if bw < MIN_WIDTH_MM * scale or bh < MIN_HEIGHT_MM * scale:
            continue
        if left < margin or top < margin or right > w - margin or bottom > h - margin:
            continue  # a scanner's border, a bleed
        if pixels < MIN_FILL * bw * bh:
            continue
        inside = arr[top:bottom, left:right]
        ink = float((inside < DARK).mean())
        if ink < MIN_INK:
            continue
        if bw > BANNER_WIDTH * w and ink < 0.97:
            continue  # a dark band with a title in it
        # Evenness inside the edges (a turned box's edges are every grey from black to paper).
        middle = inside[2:-2, 2:-2] if bw > 6 and bh > 6 else inside
        core = middle[middle < DARK]
        if core.size == 0 or float(core.std()) > MAX_SPREAD:
            continue  # texture: a photo's shadow
        if _paper_around(arr, left, top, right, bottom, max(2, round(0.8 * scale))) < MIN_PAPER:
            continue
        out.append((left, top, right, bottom))
    return out


def _paper_around(arr: _Img, left: int, top: int, right: int, bottom: int, ring: int) -> float:
    """The light share of a ring `ring` pixels wide just outside a rectangle (a gap of 1 pixel)."""
    h, w = arr.shape
    x0, y0 = max(0, left - ring - 1), max(0, top - ring - 1)
    x1, y1 = min(w, right + ring + 1), min(h, bottom + ring + 1)
    outer = arr[y0:y1, x0:x1]
    inner = arr[max(0, top - 1) : min(h, bottom + 1), max(0, left - 1) : min(w, right + 1)]
    light_outer = int((outer > 160).sum()) - int((inner > 160).sum())
    count = outer.size - inner.size
    return light_outer / count if count > 0 else 0.0


def _frame_boxes(arr: _Img, scale: float) -> list[tuple[int, int, int, int]]:
    """White-out boxes: closed thin frames whose sides end at the corners and that are empty."""
    dark = arr < FRAME_DARK
    h, w = dark.shape
    min_len = max(8, round(MIN_FRAME_MM * scale))
    rows, starts, ends = _runs(dark)
    keep = (ends - starts) >= min_len
    runs = zip(rows[keep].tolist(), starts[keep].tolist(), ends[keep].tolist(), strict=True)
    horizontal = _thin_lines(runs, max(3, round(1.0 * scale)))
    if len(horizontal) < 2 or len(horizontal) > 5000:
        return []
    tol = max(2, round(0.6 * scale))
    out = []
    for i, (r1, s1, e1) in enumerate(horizontal):
        for r2, s2, e2 in horizontal[i + 1 :]:
            if r2 - r1 < MIN_HEIGHT_MM * scale:
                continue
            if r2 - r1 > 40 * scale:
                break
            if abs(s1 - s2) > tol or abs(e1 - e2) > tol:
                continue
            left, right = min(s1, s2), max(e1, e2)
            if not (_side(dark, left, r1, r2, tol) and _side(dark, right - 1, r1, r2, tol)):
                continue
            inside = dark[r1 + tol + 1 : r2 - tol, left + tol + 1 : right - tol - 1]
            if inside.size == 0 or float(inside.mean()) > 0.02:
                continue
            if inside.mean(axis=0).max() > 0.5 or inside.mean(axis=1).max() > 0.5:
                continue  # a rule inside: a table's row, not a box
            out.append((left, r1, right, r2 + 1))
            break
    return _drop_nested(out)


def _thin_lines(runs: Iterable[tuple[int, int, int]], thickest: int) -> list[tuple[int, int, int]]:
    """Horizontal lines as (first row, start, end) from runs of consecutive rows with (almost) the
    same extent; lines thicker than `thickest` rows are solid areas, not frame sides."""
    open_lines: dict[tuple[int, int], tuple[int, int]] = {}  # (start, end) -> (first row, last row)
    lines: list[tuple[int, int, int, int]] = []  # first row, start, end, rows

    def close(key: tuple[int, int]) -> None:
        first, last = open_lines.pop(key)
        lines.append((first, key[0], key[1], last - first + 1))

    for row, start, end in runs:
        first = row
        for key in [(start + ds, end + de) for ds in (0, -1, 1) for de in (0, -1, 1)]:
            found = open_lines.get(key)
            if found is not None and found[1] == row - 1:
                first = found[0]
                del open_lines[key]
                break
        if (start, end) in open_lines:
            close((start, end))
        open_lines[(start, end)] = (first, row)
    for key in list(open_lines):
        close(key)
    return sorted((first, s, e) for first, s, e, n in lines if n <= thickest)


def _side(dark: _Img, x: int, top: int, bottom: int, tol: int) -> bool:
    """Whether a column near x is dark from top to bottom and stops there: light a little above
    the top and below the bottom (a table's rules run on into the next row)."""
    h, w = dark.shape
    x0, x1 = max(0, x - tol), min(w, x + tol + 1)
    columns = dark[top : bottom + 1, x0:x1]
    full = columns.mean(axis=0) >= 0.95
    if not full.any():
        return False
    above = dark[max(0, top - 2 * tol - 1) : max(0, top - tol), x0:x1][:, full]
    below = dark[bottom + tol + 1 : bottom + 2 * tol + 2, x0:x1][:, full]
    return bool((above.size == 0 or above.mean() < 0.5) and (below.size == 0 or below.mean() < 0.5))


def _drop_nested(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    out = []
    for b in boxes:
        if not any(o != b and o[0] <= b[0] and o[1] <= b[1] and o[2] >= b[2] and o[3] >= b[3] for o in boxes):
            out.append(b)
    return list(dict.fromkeys(out))
