"""Images (PNG, JPEG, TIFF including multi-page, GIF, BMP, WebP): every frame becomes a page to OCR."""

from __future__ import annotations

from PIL import Image, UnidentifiedImageError

from ..models import Extraction, OcrRequest, PageResult, Source, StageError
from . import ExtractContext, register

_IMAGE_MIMES = {"image/png", "image/jpeg", "image/tiff", "image/gif", "image/bmp", "image/webp"}


class ImageExtractor:
    name = "image"

    def score(self, source: Source) -> int | None:
        if source.mime in _IMAGE_MIMES:
            return 100
        if source.mime.startswith("image/"):
            return 20
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        try:
            with Image.open(source.path) as im:
                frames = getattr(im, "n_frames", 1)
                size = im.size
                fmt = im.format
        except (UnidentifiedImageError, OSError) as exc:
            raise StageError("extract", f"unreadable image: {exc}") from exc
        pages = [
            PageResult(number=i + 1, text="", needs_ocr=OcrRequest("image", source.path, i))
            for i in range(frames)
        ]
        meta = {"image": {"format": fmt, "width": size[0], "height": size[1], "frames": frames}}
        return Extraction(kind="image", title=source.filename, pages=pages, metadata=meta)


register(ImageExtractor())
