"""Audio and video: stored with what is known of them and marked as having no text (a recorded
skip, not a failure). Duration, channels, sample rate, bit rate and tags (title, artist, album,
date, ...) come from mutagen, which reads MP3, MP4/M4A/M4V, Ogg, Opus, FLAC, WMA/ASF, AIFF and
WAV headers without decoding the sound; other video containers (AVI, MKV, WebM) keep only their
type and size (no ffprobe here). The tags are also the page's text, so a recording is found by
its title or artist."""

from __future__ import annotations

import wave
from typing import Any

from ...models import Extraction, PageResult, Source
from .. import ExtractContext

_INFO = (("length", "seconds"), ("channels", "channels"), ("sample_rate", "rate"), ("bitrate", "bitrate"))
MAX_TAG_CHARS = 2000  # one tag's text kept: a tag can hold a whole lyrics sheet or a picture


def _read_media(source: Source) -> dict[str, Any]:
    import mutagen

    found: dict[str, Any] = {}
    try:
        audio = mutagen.File(str(source.path), easy=True)
    except Exception:  # mutagen raises its own errors and plain ones on damaged headers
        audio = None
    if audio is not None:
        found["format"] = type(audio).__name__
        for attribute, key in _INFO:
            value = getattr(audio.info, attribute, None)
            if isinstance(value, int | float) and value > 0:
                found[key] = round(float(value), 2) if key == "seconds" else int(value)
        tags: dict[str, str] = {}
        for key, values in (audio.tags or {}).items():
            shown = "; ".join(str(v) for v in (values if isinstance(values, list) else [values]))
            if shown.strip():
                tags[str(key)] = " ".join(shown.split())[:MAX_TAG_CHARS]
        if tags:
            found["tags"] = tags
    elif source.head[:4] == b"RIFF" and source.head[8:12] == b"WAVE":
        try:
            with wave.open(str(source.path)) as w:
                found.update(
                    seconds=round(w.getnframes() / max(w.getframerate(), 1), 2),
                    channels=w.getnchannels(),
                    rate=w.getframerate(),
                )
        except (wave.Error, EOFError):
            pass
    return found


class MediaExtractor:
    name = "media"

    def score(self, source: Source) -> int | None:
        return 50 if source.mime.startswith(("audio/", "video/")) else None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        kind = "audio" if source.mime.startswith("audio/") else "video"
        media: dict[str, Any] = {"type": source.mime, "bytes": source.path.stat().st_size}
        media.update(_read_media(source))
        tags = media.get("tags", {})
        text = "\n".join(f"{key.capitalize()}: {value}" for key, value in tags.items())
        note = f"{kind} recording: stored with its metadata; no text to read (speech is not transcribed)"
        metadata: dict[str, Any] = {"media": media, "no_text": note}
        title = tags.get("title") or source.filename
        return Extraction(
            kind=kind,
            title=title,
            pages=[PageResult(number=1, text=text, lang=None if text else "und")],
            metadata=metadata,
        )
