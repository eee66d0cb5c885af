"""Redaction boxes drawn in a PDF page (filled rectangles in its content, redaction, square and
highlight annotations) and the text still in the text layer under them.

The draw-order rule (as the x-ray tool reads PDFs): a box hides the characters drawn before it
whose centres it covers; those characters are still in the file, so the redaction is bad and
they are recovered. Characters drawn after a box are printed on it (a label such as "s.40(2)").
Annotations are drawn over all the content: every character under one is still there.

Read with pdfium's object list (the content in drawing order), not a layout analysis: a page
with no filled shape costs well under a millisecond. Boxes come out in pixels of the page
rendered at `dpi` (the space of the text layer's word boxes, see extractors/pdf.py).
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as raw

from . import Box

DARK_LEVEL = 90  # each of r, g, b at most this: a dark fill (a black box, a dark grey one)
MIN_SIDE_PT = 4.0  # thinner is a rule or an underline
MAX_SEGMENTS = 12  # a rectangle (or a rounded one) has few; glyph outlines and logos have many
MAX_OBJECTS = 200_000  # a page drawn with more is hostile or a plot: the step notes it unread
MAX_LABEL = 24  # non-space characters printed on a dark box; more is a dark banner with a title


@dataclass
class _Shape:
    order: int
    left: float
    bottom: float
    right: float
    top: float
    dark: bool
    kind: str  # vector | annotation


def find_pdf_boxes(
    path: Path | str, page_index: int, password: str | None = None, dpi: float = 100.0
) -> list[Box]:
    """The redaction boxes of one page of a PDF (see the module docstring)."""
    pdf = pdfium.PdfDocument(str(path), password=password)
    try:
        return page_boxes(pdf[page_index], dpi)
    finally:
        pdf.close()


def page_boxes(page: pdfium.PdfPage, dpi: float = 100.0) -> list[Box]:
    shapes, text_bounds = _shapes(page)
    shapes += _annotation_shapes(page)
    if not shapes:
        return []
    # Characters are read (slow: a call per character) only when a shape covers text objects
    # drawn before it, or a dark shape has text on it; a light fill under its text (a table's
    # background) is dropped without reading them.
    bounds = np.array([b[1:] for b in text_bounds], dtype=np.float64).reshape(-1, 4)
    orders = np.array([b[0] for b in text_bounds], dtype=np.int64)
    kept = []
    for shape in shapes:
        near = (
            (bounds[:, 0] < shape.right)
            & (bounds[:, 2] > shape.left)
            & (bounds[:, 1] < shape.top)
            & (bounds[:, 3] > shape.bottom)
        )
        under = bool((near & (orders < shape.order)).any())
        if shape.dark or under:
            kept.append((shape, bool(near.any())))
    if not kept:
        return []
    chars = _chars(page) if any(touching for _, touching in kept) else []
    boxes = []
    for shape, _ in kept:
        hidden: list[tuple[int, str]] = []
        label: list[tuple[int, str]] = []
        for index, ch, cx, cy, order in chars:
            if shape.left - 0.5 <= cx <= shape.right + 0.5 and shape.bottom - 0.5 <= cy <= shape.top + 0.5:
                if shape.kind == "annotation" or (order is not None and order < shape.order):
                    hidden.append((index, ch))
                elif order is not None:
                    label.append((index, ch))
        hidden_text, label_text = _joined(hidden), _joined(label)
        if shape.dark:
            if len("".join(label_text.split())) > MAX_LABEL:
                continue  # a dark heading band or table header with its text on it
        elif len("".join(hidden_text.split())) < 2:
            continue  # a light fill hiding nothing: a background
        left, top = _to_pixels(page, shape.left, shape.top, dpi)
        right, bottom = _to_pixels(page, shape.right, shape.bottom, dpi)
        x0, x1 = sorted((left, right))
        y0, y1 = sorted((top, bottom))
        boxes.append(
            Box(
                shape.kind,
                round(x0),
                round(y0),
                max(1, round(x1 - x0)),
                max(1, round(y1 - y0)),
                hidden_text,
                label_text,
            )
        )
    return boxes


def _shapes(
    page: pdfium.PdfPage,
) -> tuple[list[_Shape], list[tuple[int, float, float, float, float]]]:
    """Filled, opaque, rectangle-like paths of the page content (in drawing order) and the text
    objects' bounds (drawing position, left, bottom, right, top)."""
    shapes: list[_Shape] = []
    text_bounds: list[tuple[int, float, float, float, float]] = []
    count = raw.FPDFPage_CountObjects(page)
    if count > MAX_OBJECTS:
        raise ValueError(f"{count} drawing objects on the page (more than {MAX_OBJECTS}): not read")
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    for order in range(count):
        obj = raw.FPDFPage_GetObject(page, order)
        kind = raw.FPDFPageObj_GetType(obj)
        if kind == raw.FPDF_PAGEOBJ_TEXT:
            if raw.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
                text_bounds.append((order, left.value, bottom.value, right.value, top.value))
            continue
        if kind != raw.FPDF_PAGEOBJ_PATH:
            continue
        if not raw.FPDFPath_GetDrawMode(obj, fill, stroke) or fill.value == 0:
            continue
        if raw.FPDFPath_CountSegments(obj) > MAX_SEGMENTS:
            continue
        if not raw.FPDFPageObj_GetFillColor(obj, r, g, b, a) or a.value < 255:
            continue
        if raw.FPDFPageObj_HasTransparency(obj):
            continue  # a highlighter's blend: the text shows through
        if not raw.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            continue
        if right.value - left.value < MIN_SIDE_PT or top.value - bottom.value < MIN_SIDE_PT:
            continue
        dark = max(r.value, g.value, b.value) <= DARK_LEVEL
        shapes.append(_Shape(order, left.value, bottom.value, right.value, top.value, dark, "vector"))
    return shapes, text_bounds


def _annotation_shapes(page: pdfium.PdfPage) -> list[_Shape]:
    """Redaction annotations, and square or highlight annotations in a dark colour."""
    out = []
    count = raw.FPDFPage_GetAnnotCount(page)
    rect = raw.FS_RECTF()
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    for i in range(count):
        annot = raw.FPDFPage_GetAnnot(page, i)
        if not annot:
            continue
        try:
            subtype = raw.FPDFAnnot_GetSubtype(annot)
            if subtype == raw.FPDF_ANNOT_REDACT:
                keep = True
            elif subtype == raw.FPDF_ANNOT_SQUARE:
                keep = bool(raw.FPDFAnnot_GetColor(annot, raw.FPDFANNOT_COLORTYPE_InteriorColor, r, g, b, a))
                keep = keep and max(r.value, g.value, b.value) <= DARK_LEVEL and a.value > 200
            elif subtype == raw.FPDF_ANNOT_HIGHLIGHT:
                keep = bool(raw.FPDFAnnot_GetColor(annot, raw.FPDFANNOT_COLORTYPE_Color, r, g, b, a))
                keep = keep and max(r.value, g.value, b.value) <= DARK_LEVEL
            else:
                keep = False
            if keep and raw.FPDFAnnot_GetRect(annot, rect):
                lo_y, hi_y = sorted((rect.bottom, rect.top))
                lo_x, hi_x = sorted((rect.left, rect.right))
                if hi_x - lo_x >= MIN_SIDE_PT and hi_y - lo_y >= MIN_SIDE_PT / 2:
                    out.append(_Shape(1 << 30, lo_x, lo_y, hi_x, hi_y, True, "annotation"))
        finally:
            raw.FPDFPage_CloseAnnot(annot)
    return out


def _chars(
    page: pdfium.PdfPage,
) -> list[tuple[int, str, float, float, int | None]]:
    """(index, character, centre x, centre y, drawing position of its text object or None: a
    text object inside a form, whose order against the page's shapes is not known)."""
    text_objects: dict[int, int] = {}
    for position in range(raw.FPDFPage_CountObjects(page)):
        obj = raw.FPDFPage_GetObject(page, position)
        if raw.FPDFPageObj_GetType(obj) == raw.FPDF_PAGEOBJ_TEXT:
            text_objects[ctypes.cast(obj, ctypes.c_void_p).value or 0] = position
    textpage = page.get_textpage()
    try:
        out: list[tuple[int, str, float, float, int | None]] = []
        left, right, bottom, top = (ctypes.c_double() for _ in range(4))
        for i in range(raw.FPDFText_CountChars(textpage)):
            code = raw.FPDFText_GetUnicode(textpage, i)
            if code in (0, 0xFFFE, 0xFFFF) or chr(code).isspace():
                continue
            if not raw.FPDFText_GetCharBox(textpage, i, left, right, bottom, top):
                continue
            obj = raw.FPDFText_GetTextObject(textpage, i)
            order = text_objects.get(ctypes.cast(obj, ctypes.c_void_p).value or 0) if obj else None
            out.append((i, chr(code), (left.value + right.value) / 2, (bottom.value + top.value) / 2, order))
        return out
    finally:
        textpage.close()


def _joined(chars: list[tuple[int, str]]) -> str:
    """Characters in text order, a space where the text layer has a gap between them."""
    out: list[str] = []
    last = None
    for index, ch in chars:
        if last is not None and index > last + 1:
            out.append(" ")
        out.append(ch)
        last = index
    return "".join(out).strip()


def _to_pixels(page: pdfium.PdfPage, x: float, y: float, dpi: float) -> tuple[float, float]:
    """A point of the page (PDF units) in pixels of the page rendered at `dpi` (crop box and
    /Rotate applied, as pdfium renders it)."""
    width, height = page.get_size()
    scale = dpi / 72.0
    size_x, size_y = math.ceil(width * scale - 1e-6), math.ceil(height * scale - 1e-6)
    dx, dy = ctypes.c_int(), ctypes.c_int()
    # Scaled up 8 times for a finer rounding than pdfium's integer device pixels.
    raw.FPDF_PageToDevice(page, 0, 0, size_x * 8, size_y * 8, 0, x, y, dx, dy)
    return dx.value / 8, dy.value / 8
