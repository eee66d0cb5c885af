"""Apple Mail messages (.emlx): a byte count line, the RFC 822 message, then a property list."""

from __future__ import annotations

from ...models import Extraction, Source, StageError
from .. import ExtractContext
from ..text import _read


class EmlxExtractor:
    name = "emlx"

    def score(self, source: Source) -> int | None:
        first = source.head.split(b"\n", 1)[0].strip()
        if source.extension in {"emlx", "partial.emlx"} or (first.isdigit() and source.extension == "emlx"):
            return 95
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        from .rfc822 import extract_rfc822

        data = _read(source)
        first, _, rest = data.partition(b"\n")
        if not first.strip().isdigit():
            raise StageError("extract", "Apple Mail message (.emlx): no byte count on its first line")
        message = rest[: int(first.strip())]  # the Apple property list after it is not mail
        return extract_rfc822(message, ctx, {"emlx": True})
