"""Redactions as data: the boxes found on each page (drawn on a scan, or filled rectangles and
annotations of a PDF), the share of the page they withhold, the text left readable under a box
(kept apart, never indexed) and the exemption cited on or beside each box.

    image.find_image_boxes   solid (and white-out) boxes on a page image (the one OCR rendered)
    vector.find_pdf_boxes    filled rectangles and annotations of a text-layer PDF page
    step.RedactionStep       the pipeline step that runs them after OCR and stores what it finds
    records                  the store side: the `redactions` table, summaries, CSV rows
    check.check_collection   the publication check (bad redactions, personal data left readable)
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("image", "vector", "annotation")


@dataclass
class Box:
    """One redaction on a page, in pixels of the page image (the space of the page's word boxes:
    the OCR image, or the text layer rendered at its `dpi`), top-left origin."""

    kind: str  # image | vector | annotation
    left: int
    top: int
    width: int
    height: int
    hidden_text: str = ""  # characters still in the text layer under the box (a bad redaction)
    label: str = ""  # text printed on the box (e.g. "s.40(2)")
    exemption: str | None = None

    @property
    def area(self) -> int:
        return self.width * self.height

    @property
    def bad(self) -> bool:
        return bool(self.hidden_text.strip())

    def overlap(self, left: float, top: float, width: float, height: float) -> float:
        """The share of the given rectangle that this box covers."""
        dx = min(self.left + self.width, left + width) - max(self.left, left)
        dy = min(self.top + self.height, top + height) - max(self.top, top)
        if dx <= 0 or dy <= 0 or width <= 0 or height <= 0:
            return 0.0
        return dx * dy / (width * height)


__all__ = ["KINDS", "Box"]
