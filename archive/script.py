"""Scripts and character classes, defined once for every stage: what the index calls a Han
character is what language detection, entities, glossing, translation and the extractors call one.
Also the mapping of offsets found in NFKC text back to the text they came from.

ocr/ is a leaf package (it may not import archive) and keeps its own checks for Tesseract output.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

# Han ideographs:
#   U+3400-U+4DBF    CJK Unified Ideographs Extension A
#   U+4E00-U+9FFF    CJK Unified Ideographs
#   U+F900-U+FAFF    CJK Compatibility Ideographs (a dozen are unified ideographs; NFKC maps the
#                    rest to the main block, but extractors and OCR see them before normalising)
#   U+20000-U+3FFFF  the Supplementary and Tertiary Ideographic Planes: Extension B and every
#                    later one, and the compatibility supplement. Whole planes, because Unicode
#                    reserves both for ideographs: an extension added later is Han here without
#                    another edit (the widest of the definitions this replaces stopped at U+3134F).
# Ideographs only: radicals, 〇 and 々 stay other characters, as they always were in the index
# (changing them would change its terms). Kana and Hangul are in CJK_TEXT, not here.
HAN_RANGES = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
KANA_RANGES = r"\u3040-\u30ff"  # Hiragana and Katakana
HANGUL_RANGES = r"\uac00-\ud7af"  # Hangul syllables

HAN = re.compile(f"[{HAN_RANGES}]")
HAN_RUN = re.compile(f"[{HAN_RANGES}]+")
KANA = re.compile(f"[{KANA_RANGES}]")
HANGUL = re.compile(f"[{HANGUL_RANGES}]")
# Chinese, Japanese or Korean text is present: for decisions about layout and language that do not
# care which of the three it is (a PDF's characters as words of their own, whether a page's
# language needs telling).
CJK_TEXT = re.compile(f"[{KANA_RANGES}{HAN_RANGES}{HANGUL_RANGES}]")
# Latin letters, accented ones included, as language detection weighs them against Han characters.
LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def spans_in_original(text: str, find: Callable[[str], Iterable[tuple[int, int]]]) -> list[tuple[int, int]]:
    """Spans of `text` for the spans `find` reports in the NFKC form of the text it is given.

    `find` gets `text` itself when NFKC keeps its length (the offsets are then the same), else the
    character-by-character NFKC form (ligatures, compatibility forms) whose offsets map back to
    the characters they came from. Empty spans are dropped; nothing is found in a text whose
    characters compose across each other under NFKC."""
    if len(unicodedata.normalize("NFKC", text)) == len(text):
        return [(s, e) for s, e in find(text) if e > s]
    starts: list[int] = []
    pieces: list[str] = []
    for i, ch in enumerate(text):
        piece = unicodedata.normalize("NFKC", ch)
        starts.extend([i] * len(piece))
        pieces.append(piece)
    joined = "".join(pieces)
    if unicodedata.normalize("NFKC", joined) != joined:
        return []
    # An end maps to the character after the last one matched.
    return [(starts[s], starts[e - 1] + 1) for s, e in find(joined) if e > s]
