"""Redaction boxes drawn in a PDF page (filled rectangles and small solid images in its content,
form XObjects included; redaction, square and highlight annotations) and the text still in the
text layer under them.

The draw-order rule (as the x-ray tool reads PDFs): a box hides the characters drawn before it
whose centres it covers; those characters are still in the file, so the redaction is bad and
they are recovered. Characters drawn after a box are printed on it (a label such as "s.40(2)").
Annotations are drawn over all the content: every character under one is still there.

Read while the text extractor interprets the page (extractors/pdf.py uses `DrawingAggregator`
and `DrawingInterpreter` in place of pdfminer's own): the page is parsed once, the characters
are the extractor's, and a page with no filled shape costs nothing per character. Coordinates are pdfminer's layout space (media box corner at the origin, /Rotate
applied); `page_boxes` turns them into pixels of the page rendered at the text layer's dpi,
the space of its word boxes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LTChar, LTFigure
from pdfminer.pdfinterp import PDFGraphicState, PDFPageInterpreter, PDFStackT
from pdfminer.pdfpage import PDFPage
from pdfminer.pdftypes import PDFStream, dict_value, resolve1
from pdfminer.psparser import literal_name
from pdfminer.utils import Matrix, PathSegment, apply_matrix_pt

from . import Box

DARK_LEVEL = 90  # each of r, g, b at most this (0-255): a dark fill (a black box, a dark grey one)
MIN_SIDE_PT = 4.0  # thinner is a rule or an underline
MAX_SEGMENTS = 12  # a rectangle (or a rounded one) has few; glyph outlines and logos have many
MAX_SHAPES = 5_000  # more filled shapes on a page is a plot or hostile: the step notes it unread
MAX_LABEL = 24  # non-space characters printed on a dark box; more is a dark banner with a title
MAX_IMAGE_PIXELS = 64  # a solid box stamped as an image is a few pixels scaled up


@dataclass
class Shape:
    """A filled area in layout coordinates; `order` is the number of characters drawn before it
    (0 when not known: then nothing counts as under it)."""

    order: int
    left: float
    bottom: float
    right: float
    top: float
    dark: bool
    kind: str  # vector | annotation


@dataclass
class Drawing:
    """What the page drew that redaction detection needs: its candidate shapes (filled, opaque,
    few segments, not thin) and, when it has any, its characters in drawing order."""

    chars: list[LTChar] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)
    annotations: list[Shape] = field(default_factory=list)  # read once, at the end of the page
    too_many: bool = False
    page_ctm: Matrix = (1, 0, 0, 1, 0, 0)


class _GraphicState(PDFGraphicState):
    """pdfminer's graphics state with what `gs` sets that matters here: fill alpha, blend, soft
    mask (pdfminer ignores `gs`)."""

    def __init__(self) -> None:
        super().__init__()
        self.fill_alpha = 1.0
        self.blended = False

    def copy(self) -> _GraphicState:
        obj = _GraphicState()
        obj.__dict__.update(self.__dict__)
        return obj


class DrawingInterpreter(PDFPageInterpreter):
    """pdfminer's interpreter reading `gs` transparency and letting a form XObject start from
    the graphics state it is drawn in (its fill colour included), as the PDF says."""

    _inherited: _GraphicState | None = None

    def subinterp(self) -> PDFPageInterpreter:
        interp = super().subinterp()
        if isinstance(interp, DrawingInterpreter) and isinstance(self.graphicstate, _GraphicState):
            interp._inherited = self.graphicstate.copy()
        return interp

    def init_state(self, ctm: Matrix) -> None:
        super().init_state(ctm)
        self.graphicstate = self._inherited.copy() if self._inherited is not None else _GraphicState()

    def do_gs(self, name: PDFStackT) -> None:
        state = self.graphicstate
        if not isinstance(state, _GraphicState):
            return
        try:
            params = dict_value(dict_value(self.resources.get("ExtGState")).get(literal_name(name)))
        except Exception:  # an undefined or broken ExtGState: nothing changes, as in pdfminer
            return
        alpha = resolve1(params.get("ca"))
        if isinstance(alpha, int | float):
            state.fill_alpha = float(alpha)
        blend = resolve1(params.get("BM"))
        if blend is not None:
            if isinstance(blend, list):
                blend = blend[0] if blend else None
            state.blended = blend is not None and literal_name(blend) not in ("Normal", "Compatible")
        mask = resolve1(params.get("SMask"))
        if mask is not None and literal_name(mask) != "None":
            state.blended = True


class DrawingAggregator(PDFPageAggregator):
    """pdfminer's layout device that also keeps the page's `Drawing` (read it after each page).

    Candidate shapes are noted as they are painted, each anchored to the layout object pdfminer
    made of it; only on a page with one are its characters listed, in drawing order, from the
    layout tree as drawn (before pdfminer's analysis regroups it). A page without costs a test
    per filled path and nothing per character."""

    drawing: Drawing
    _in_path = False

    def begin_page(self, page: PDFPage, ctm: Matrix) -> None:
        super().begin_page(page, ctm)
        self.drawing = Drawing(page_ctm=ctm)
        self._anchors: dict[int, Shape] = {}

    def end_page(self, page: PDFPage) -> None:
        # Annotations are drawn over everything: a page whose only box is one (a black
        # highlight) needs its characters listed too.
        if page.annots:
            self.drawing.annotations = annotation_shapes(page, self.drawing.page_ctm)
        if self.drawing.shapes or self.drawing.annotations:
            self._list_chars(self.cur_item)
        self._anchors = {}
        super().end_page(page)

    def _list_chars(self, container: Any) -> None:
        chars, anchors = self.drawing.chars, self._anchors
        for obj in container:
            if type(obj) is LTChar:
                chars.append(obj)
            elif isinstance(obj, LTFigure):
                self._list_chars(obj)
            elif anchors:
                shape = anchors.pop(id(obj), None)
                if shape is not None:
                    shape.order = len(chars)

    def paint_path(
        self,
        gstate: PDFGraphicState,
        stroke: bool,
        fill: bool,
        evenodd: bool,
        path: Sequence[PathSegment],
    ) -> None:
        if self._in_path or not fill or len(path) > MAX_SEGMENTS:
            super().paint_path(gstate, stroke, fill, evenodd, path)
            return
        shape = self._filled_shape(gstate, path)
        before = len(self.cur_item._objs)
        self._in_path = True  # pdfminer calls back for each subpath of the one path
        try:
            super().paint_path(gstate, stroke, fill, evenodd, path)
        finally:
            self._in_path = False
        if shape is not None and len(self.cur_item._objs) > before:
            self._anchor(shape, self.cur_item._objs[before])

    def _filled_shape(self, gstate: PDFGraphicState, path: Sequence[PathSegment]) -> Shape | None:
        if isinstance(gstate, _GraphicState) and (gstate.fill_alpha < 1.0 or gstate.blended):
            return None  # a highlighter's blend: the text shows through
        rgb = _rgb(gstate.ncolor)
        if rgb is None:
            return None
        points = [
            apply_matrix_pt(self.ctm, (float(seg[i]), float(seg[i + 1])))
            for seg in path
            for i in range(1, len(seg) - 1, 2)
        ]
        return _shape(points, max(rgb) <= DARK_LEVEL) if points else None

    def render_image(self, name: str, stream: PDFStream) -> None:
        super().render_image(name, stream)
        if _solid_dark_image(stream) and self.cur_item._objs:
            x0, y0, x1, y1 = self.cur_item.bbox
            shape = _shape([(x0, y0), (x1, y1)], True)
            if shape is not None:
                self._anchor(shape, self.cur_item._objs[-1])

    def _anchor(self, shape: Shape, obj: Any) -> None:
        if len(self.drawing.shapes) >= MAX_SHAPES:
            self.drawing.too_many = True
            return
        self.drawing.shapes.append(shape)
        self._anchors[id(obj)] = shape


def _shape(points: list[tuple[float, float]], dark: bool) -> Shape | None:
    """A shape around the points, None when it is too thin to be a box; its order is set when
    the page's characters are listed."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    left, right, bottom, top = min(xs), max(xs), min(ys), max(ys)
    if right - left < MIN_SIDE_PT or top - bottom < MIN_SIDE_PT:
        return None
    return Shape(0, left, bottom, right, top, dark, "vector")


def _rgb(color: Any) -> tuple[float, ...] | None:
    """A fill colour as 0-255 RGB (None: a pattern or something unknown)."""
    if isinstance(color, int | float):
        return (255 * float(color),) * 3
    if isinstance(color, tuple | list) and all(isinstance(c, int | float) for c in color):
        if len(color) == 1:
            return (255 * float(color[0]),) * 3
        if len(color) == 3:
            return tuple(255 * float(c) for c in color)
        if len(color) == 4:
            c, m, y, k = (float(v) for v in color)
            return tuple(255 * (1 - min(1.0, v + k)) for v in (c, m, y))
    return None


def _solid_dark_image(stream: PDFStream) -> bool:
    """A tiny 8-bit grey or RGB image with every sample dark (a box stamped as an image)."""
    try:
        # An inline image (BI ... ID ... EI) has the abbreviated keys and names.
        width = int(resolve1(stream.get("Width", stream.get("W"))))
        height = int(resolve1(stream.get("Height", stream.get("H"))))
        bits = resolve1(stream.get("BitsPerComponent", stream.get("BPC")))
        if width * height > MAX_IMAGE_PIXELS or bits != 8:
            return False
        space = literal_name(resolve1(stream.get("ColorSpace", stream.get("CS"))))
        channels = {"DeviceGray": 1, "G": 1, "DeviceRGB": 3, "RGB": 3}.get(space)
        if channels is None or stream.get("SMask") is not None or stream.get("Mask") is not None:
            return False
        data = stream.get_data()
        return len(data) >= width * height * channels and max(data[: width * height * channels]) <= DARK_LEVEL
    except Exception:  # a broken or filtered stream we don't read: not a box
        return False


def annotation_shapes(page: PDFPage, page_ctm: Matrix) -> list[Shape]:
    """Redaction annotations, and square or highlight annotations in a dark colour, in layout
    coordinates (drawn over all the content)."""
    out: list[Shape] = []
    annots = resolve1(page.annots)
    if not isinstance(annots, list):
        return out
    for ref in annots:
        try:
            annot = dict_value(ref)
            subtype = literal_name(resolve1(annot.get("Subtype")))
            if subtype == "Redact":
                keep = True
            elif subtype == "Square":
                keep = _dark_colour(annot.get("IC"))
            elif subtype == "Highlight":
                keep = _dark_colour(annot.get("C"))
            else:
                keep = False
            if not keep:
                continue
            rect = [float(resolve1(v)) for v in resolve1(annot.get("Rect"))]
            corners = [apply_matrix_pt(page_ctm, (x, y)) for x in rect[0::2] for y in rect[1::2]]
        except Exception:  # a malformed annotation is not a box
            continue
        xs, ys = [p[0] for p in corners], [p[1] for p in corners]
        if max(xs) - min(xs) >= MIN_SIDE_PT and max(ys) - min(ys) >= MIN_SIDE_PT / 2:
            out.append(Shape(1 << 62, min(xs), min(ys), max(xs), max(ys), True, "annotation"))
    return out


def _dark_colour(value: Any) -> bool:
    colour = resolve1(value)
    if not isinstance(colour, list) or not colour:
        return False
    rgb = _rgb(tuple(resolve1(c) for c in colour))
    return rgb is not None and max(rgb) <= DARK_LEVEL


PixelRect = Callable[[float, float, float, float], tuple[float, float, float, float]]


def page_boxes(drawing: Drawing, to_pixels: PixelRect) -> list[Box]:
    """The redaction boxes of a page read by `DrawingAggregator` (see the module docstring).
    `to_pixels(x0, y0, x1, y1)` maps a layout rectangle to (left, top, right, bottom) pixels."""
    if drawing.too_many:
        raise ValueError(f"more than {MAX_SHAPES} filled shapes on the page: not read")
    shapes = drawing.shapes + drawing.annotations
    if not shapes:
        return []
    chars = drawing.chars
    # Centres of the characters that are not spaces, with their drawing positions.
    marks = [(i, c) for i, c in enumerate(chars) if c.get_text().strip()]
    order = np.fromiter((i for i, _ in marks), dtype=np.int64, count=len(marks))
    cx = np.fromiter(((c.x0 + c.x1) / 2 for _, c in marks), dtype=np.float64, count=len(marks))
    cy = np.fromiter(((c.y0 + c.y1) / 2 for _, c in marks), dtype=np.float64, count=len(marks))
    boxes = []
    for shape in shapes:
        inside = (
            (cx >= shape.left - 0.5)
            & (cx <= shape.right + 0.5)
            & (cy >= shape.bottom - 0.5)
            & (cy <= shape.top + 0.5)
        )
        before = order < shape.order
        hidden_at = order[inside & before]
        label_at = order[inside & ~before]
        if not shape.dark and len(hidden_at) < 2:
            continue  # a light fill hiding nothing: a background (before reading any text)
        hidden_text, label_text = _joined(chars, hidden_at), _joined(chars, label_at)
        if shape.dark:
            if len("".join(label_text.split())) > MAX_LABEL:
                continue  # a dark heading band or table header with its text on it
        elif len("".join(hidden_text.split())) < 2:
            continue
        left, top, right, bottom = to_pixels(shape.left, shape.bottom, shape.right, shape.top)
        boxes.append(
            Box(
                shape.kind,
                round(left),
                round(top),
                max(1, round(right - left)),
                max(1, round(bottom - top)),
                hidden_text,
                label_text,
            )
        )
    return boxes


def _joined(chars: list[LTChar], positions: np.ndarray) -> str:
    """Characters in drawing order, a space where the page has one between them (a space
    character drawn, or a gap of more than a quarter of the font size)."""
    out: list[str] = []
    last: LTChar | None = None
    last_at = -2
    for at in positions.tolist():
        ch = chars[at]
        if last is not None and (at > last_at + 1 or ch.x0 - last.x1 > 0.25 * max(last.size, 1.0)):
            out.append(" ")
        out.append(ch.get_text())
        last, last_at = ch, at
    return "".join(out).strip()


def pixel_rect(origin_x: float, origin_top: float, dpi: float) -> PixelRect:
    """Layout rectangles to pixels of the page rendered at `dpi`, the visible (crop) box's
    top-left corner at (`origin_x`, `origin_top`) in layout coordinates."""
    scale = dpi / 72.0

    def to_pixels(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (
            (x0 - origin_x) * scale,
            (origin_top - y1) * scale,
            (x1 - origin_x) * scale,
            (origin_top - y0) * scale,
        )

    return to_pixels
