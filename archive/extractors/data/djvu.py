"""DjVu scans: rendered to a PDF by djvulibre (stored as the page-image rendition), read from
their own text layer where they have one, else OCR'd."""

from __future__ import annotations

from pathlib import Path

from ...models import Extraction, Source
from .. import ExtractContext
from .common import run_tool


class DjvuExtractor:
    name = "djvu"

    def score(self, source: Source) -> int | None:
        if source.mime == "image/vnd.djvu" or source.head.startswith(b"AT&TFORM"):
            return 100
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        from .. import make_source
        from ..pdf import PdfExtractor, usable_text

        what = "DjVu document"
        pdf = Path(ctx.workdir) / "djvu" / "rendition.pdf"
        pdf.parent.mkdir(parents=True, exist_ok=True)
        run_tool(["ddjvu", "-format=pdf", "-quality=85", str(source.path), str(pdf)], what)
        pages = PdfExtractor().extract(make_source(pdf, "rendition.pdf"), ctx).pages
        layer = run_tool(["djvutxt", str(source.path)], what).decode("utf-8", "replace").split("\f")
        for page, text in zip(pages, layer, strict=False):
            if usable_text(text):
                page.text, page.needs_ocr = text.strip(), None  # its own text layer
                page.meta["djvu_text_layer"] = True
        return Extraction(
            kind="djvu",
            title=source.filename,
            pages=pages,
            metadata={"djvu": {"pages": len(pages)}},
            rendition=pdf,
        )
