"""Audio and video: stored with what is known of them and marked as having no text (a recorded
skip, not a failure)."""

from __future__ import annotations

import wave
from typing import Any

from ...models import Extraction, PageResult, Source
from .. import ExtractContext


class MediaExtractor:
    name = "media"

    def score(self, source: Source) -> int | None:
        return 50 if source.mime.startswith(("audio/", "video/")) else None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        kind = "audio" if source.mime.startswith("audio/") else "video"
        media: dict[str, Any] = {"type": source.mime, "bytes": source.path.stat().st_size}
        if source.head[:4] == b"RIFF" and source.head[8:12] == b"WAVE":
            try:
                with wave.open(str(source.path)) as w:
                    media.update(
                        seconds=round(w.getnframes() / max(w.getframerate(), 1), 2),
                        channels=w.getnchannels(),
                        rate=w.getframerate(),
                    )
            except (wave.Error, EOFError):
                pass
        note = f"{kind} recording: stored with its metadata; no text to read (speech is not transcribed)"
        return Extraction(
            kind=kind,
            title=source.filename,
            pages=[PageResult(number=1, text="", lang="und")],
            metadata={"media": media, "no_text": note},
        )
