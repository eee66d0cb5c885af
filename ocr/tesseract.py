"""Tesseract behind one module: orientation, deskew, per-page languages, a cache and a pool.

Every Tesseract run is one process limited to one thread (OMP_THREAD_LIMIT=1): on this class of
machine N single-threaded processes give far more throughput than one multi-threaded one.
Images are handed to Tesseract as files, never as PIL objects (re-encoding costs as much as OCR).
The same pool's workers run the second engine for Chinese pages (`ocr.rapid`), chosen per page
here by `chinese_engine`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

import pytesseract
from PIL import Image, UnidentifiedImageError

from .geometry import (
    MIN_SKEW,
    LineProfile,
    deskew,
    estimate_skew,
    line_profile,
    map_point_back,
    sideways_score,
    unrotate_box,
)
from .images import OCR_FORMAT, encode_image, usable_dpi
from .rapid import RapidOcrUnavailable
from .words import dictionary_words

# 2: turns, scripts and chi_tra decided from ink profiles and bands; 3: poor pages always get a
# turned pass, the second engine for Chinese
CACHE_VERSION = "3"
# Below this mean word confidence a first pass is suspect: check orientation and script.
GOOD_CONFIDENCE = 60.0
# Below this share of letters and characters in dictionary words (ocr.words) a reading is poor,
# once it holds at least DICTIONARY_UNITS of them. Upright pages measured here: English 0.8-0.97,
# Chinese book pages 0.65-0.76; pages read upside down or over a texture 0.1-0.4.
POOR_DICTIONARY_SHARE, DICTIONARY_UNITS = 0.45, 30
# From this mean confidence a reading is good whatever its dictionary words (the corpus's German
# letter reads at 88-91 with 6-9 % of its letters in English words).
SURE_CONFIDENCE = 85.0
# A Chinese reading is checked by the second engine below this confidence or dictionary share.
CHINESE_GOOD_CONFIDENCE, CHINESE_GOOD_SHARE = 70.0, 0.55
CHINESE_ENGINES = ("tesseract", "auto", "rapidocr")  # see _second_engine
# OSD's script confidence from which its script is believed (it names a script at 0.0 on scene
# text and textures; the corpus's Greek scan scores 1.6).
OSD_SURE_SCRIPT = 1.0
# Above this ink-profile score a page is turned by 90 degrees (see geometry.sideways_score).
SIDEWAYS_SCORE = 4.0
# Characters that only Traditional Chinese writes (frequent ones); many of them mean chi_tra.
_TRADITIONAL_MARKERS = set(
    "們這個說國來時會對於學與為無發經點體關開長門問間電話實現還進過頭見親覺讓論語請議讀變"
)

ImageInput = bytes | str | os.PathLike[str]


class OcrError(Exception):
    """Tesseract is missing, a language pack is missing, or the image cannot be read."""


class OcrWord(NamedTuple):
    """A word and its box in pixels of the image as given (before any rotation or deskew).

    A named tuple, not a dataclass: a page's few hundred words come back from every OCR task on
    a cluster, and its coordinator unpickles tuples about three times faster than dataclasses."""

    text: str
    left: int
    top: int
    width: int
    height: int
    conf: float


@dataclass
class OcrResult:
    text: str
    confidence: float  # mean word confidence 0-100; 0.0 without words
    words: list[OcrWord] = field(default_factory=list)
    languages: str = ""  # the -l string used
    rotation: int = 0  # degrees turned clockwise to make the page upright
    skew: float = 0.0  # degrees corrected after that
    width: int = 0
    height: int = 0
    engine: str = "tesseract"  # or "rapidocr": which engine's reading this is


_WORD_FIELDS = OcrWord._fields
_RESULT_FIELDS = tuple(f.name for f in fields(OcrResult))


def _as_record(result: OcrResult) -> dict[str, Any]:
    """`dataclasses.asdict(result)` (the OCR cache's JSON), without its deep copy of every word:
    that copy was most of the time a cluster's coordinator spent saving a page."""
    record = {name: getattr(result, name) for name in _RESULT_FIELDS}
    record["words"] = [dict(zip(_WORD_FIELDS, w, strict=True)) for w in result.words]
    return record


def _script_languages(script: str) -> list[str]:
    """Languages for an OSD script. Han goes to chi_sim (chi_tra is tried when it reads poorly);
    everything else to eng, the only other model we install."""
    # OSD calls Chinese pages Korean or Japanese as often as Han (as langdetect does); without
    # Korean or Japanese models installed, Chinese is the useful reading.
    if script in {"Han", "HanS", "HanT", "Korean", "Hangul", "Japanese", "Hiragana", "Katakana"}:
        return ["chi_sim"]
    return ["eng"]


def _parse_data(
    data: dict[str, list[Any]],
    rotation: int,
    skew: float,
    size: tuple[int, int],
    upright_size: tuple[int, int],
) -> tuple[str, list[OcrWord], float]:
    """Words (boxes mapped back to the original image) and text with line breaks."""
    words: list[OcrWord] = []
    lines: list[str] = []
    current_key: tuple[int, int, int] | None = None
    current: list[str] = []
    last_block: int | None = None
    for i, raw in enumerate(data["text"]):
        text = (raw or "").strip()
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        if key != current_key:
            if current:
                lines.append(_join_words(current))
            if last_block is not None and key[0] != last_block:
                lines.append("")
            current, current_key, last_block = [], key, key[0]
        current.append(text)
        box = tuple(int(data[k][i]) for k in ("left", "top", "width", "height"))
        words.append(OcrWord(text, *_box_back(box, rotation, skew, size, upright_size), round(conf, 2)))
    if current:
        lines.append(_join_words(current))
    mean = sum(w.conf for w in words) / len(words) if words else 0.0
    return "\n".join(lines).strip(), words, round(mean, 2)


def _box_back(
    box: tuple[int, ...], rotation: int, skew: float, size: tuple[int, int], upright_size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """A (left, top, width, height) box found on the page turned `rotation` degrees and deskewed
    by `skew` (`upright_size`), in pixels of the page as given (`size`), kept inside it."""
    left, top, width, height = box
    orig_w, orig_h = size
    if skew:
        cx, cy = map_point_back(left + width / 2, top + height / 2, skew, *upright_size)
        left, top = int(round(cx - width / 2)), int(round(cy - height / 2))
    left, top, width, height = unrotate_box(left, top, width, height, rotation, orig_w, orig_h)
    left, top = max(0, min(left, orig_w - 1)), max(0, min(top, orig_h - 1))
    return left, top, min(width, orig_w - left), min(height, orig_h - top)


def _is_cjk(ch: str) -> bool:
    # Han, CJK punctuation, full-width forms, and the curly quotes Chinese text uses.
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\uffef" or "\u2018" <= ch <= "\u201f"


def _join_words(words: list[str]) -> str:
    """Words of a line: Tesseract splits Chinese into words (often single characters); Chinese has
    no spaces, so only Latin neighbours get one."""
    out = words[0]
    for word in words[1:]:
        out += word if _is_cjk(out[-1]) and _is_cjk(word[0]) else " " + word
    return out


def _han_text(text: str) -> bool:
    return _han_count(text) >= max(3, 0.3 * len("".join(text.split())))


class _Page:
    """One image on disk, prepared lazily (rotated / deskewed copies written next to it)."""

    def __init__(self, path: str, workdir: str):
        self.path = path
        self.workdir = workdir
        self._gray: Image.Image | None = None
        self._profiles: dict[int, LineProfile] = {}
        self._osd: tuple[int, str] | None = None
        self._prepared_images: dict[tuple[int, float | None], tuple[str, float, Image.Image]] = {}
        self.first_turn = 0  # the turn of the first pass, chosen from the ink and OSD before reading
        self.osd_script_conf = 0.0  # how sure OSD was of its script
        try:
            with Image.open(path) as im:
                self.size = im.size
                dpi = im.info.get("dpi")
        except (UnidentifiedImageError, OSError) as exc:
            raise OcrError(f"cannot read image: {exc}") from exc
        self.dpi = usable_dpi(dpi)

    def gray(self) -> Image.Image:
        """The page in grayscale, read once for every check made on it."""
        if self._gray is None:
            try:
                with Image.open(self.path) as im:
                    self._gray = im.convert("L")
            except (OSError, ValueError) as exc:
                raise OcrError(f"cannot read image: {exc}") from exc
        return self._gray

    def ocr(self, langs: str, rotation: int = 0, skew: float | None = None) -> OcrResult:
        path, skew_used, upright_size = self._prepared(rotation, skew)
        text, words, conf = _parse_data(self._data(path, langs), rotation, skew_used, self.size, upright_size)
        return OcrResult(text, conf, words, langs, rotation, skew_used, *self.size)

    def crop_confidence(self, langs: str, top: int, bottom: int, skew: float = 0.0) -> float:
        """Mean word confidence of one horizontal band of the unturned page, deskewed by `skew`
        (rows of the deskewed image), read with `langs`."""
        _path, _skew, image = self._prepared_image(0, skew)
        band = image.crop((0, top, self.size[0], bottom))
        margin = 20  # Tesseract reads a band cut tight to the ink poorly without a white border
        canvas = Image.new("L", (band.width + 2 * margin, band.height + 2 * margin), 255)
        canvas.paste(band, (margin, margin))
        out = os.path.join(self.workdir, f"band-{top}-{bottom}.tif")
        self._save(canvas, out)
        _text, _words, conf = _parse_data(self._data(out, langs), 0, 0.0, canvas.size, canvas.size)
        return conf

    @staticmethod
    def _data(path: str, langs: str) -> dict[str, list[Any]]:
        try:
            data: dict[str, list[Any]] = pytesseract.image_to_data(
                path, lang=langs, config="--psm 3", output_type=pytesseract.Output.DICT
            )
            return data
        except pytesseract.TesseractError as exc:
            raise OcrError(f"tesseract failed: {exc.message}") from exc

    def looks_sideways(self) -> bool:
        try:
            return sideways_score(self.gray()) > SIDEWAYS_SCORE
        except (OcrError, ValueError):
            return False

    def profile(self, rotation: int = 0) -> LineProfile:
        """The ink profile of the page turned `rotation` degrees clockwise."""
        if rotation not in self._profiles:
            image = self.gray()
            self._profiles[rotation] = line_profile(
                image.rotate(-rotation, expand=True) if rotation else image
            )
        return self._profiles[rotation]

    def sideways_turn(self) -> int | None:
        """90 or 270 when the ink profiles of the two upright candidates disagree clearly."""
        cw, ccw = self.profile(90), self.profile(270)
        if cw.upright_latin() and ccw.upside_down_latin():
            return 90
        if ccw.upright_latin() and cw.upside_down_latin():
            return 270
        return None

    def osd(self) -> tuple[int, str]:
        """(clockwise rotation to upright, script) from Tesseract's OSD; (0, '') when it can't tell.
        Run at most once per page."""
        if self._osd is None:
            try:
                info = pytesseract.image_to_osd(
                    self.path, config="--psm 0", output_type=pytesseract.Output.DICT
                )
            except pytesseract.TesseractError:
                self._osd = (0, "")  # too little text to decide: assume upright
                return self._osd
            rotation = int(info.get("rotate", 0)) % 360
            # Below this OSD guesses (it turned a screenshot upside down at 4.8; real turns score 12+).
            if float(info.get("orientation_conf", 0)) < 6.0:
                rotation = 0
            self._osd = (rotation, str(info.get("script", "")))
            self.osd_script_conf = float(info.get("script_conf", 0) or 0)
        return self._osd

    def _prepared(self, rotation: int, skew: float | None) -> tuple[str, float, tuple[int, int]]:
        path, skew_used, image = self._prepared_image(rotation, skew)
        return path, skew_used, image.size

    def _prepared_image(self, rotation: int, skew: float | None) -> tuple[str, float, Image.Image]:
        """The page turned and deskewed (`skew` None: measured here), on disk and in memory; made
        once per page for each turn, so a second reading (chi_tra, a band) reuses it."""
        key = (rotation, skew)
        if key not in self._prepared_images:
            self._prepared_images[key] = made = self._prepare(rotation, skew)
            self._prepared_images[(rotation, made[1])] = made
        return self._prepared_images[key]

    def _prepare(self, rotation: int, skew: float | None) -> tuple[str, float, Image.Image]:
        image = self.gray()
        if rotation == 0 and skew is not None and not skew:
            return self.path, 0.0, image
        if rotation:
            image = image.rotate(-rotation, expand=True)
        if skew is None:
            skew = estimate_skew(image)
        if abs(skew) < MIN_SKEW:
            skew = 0.0
        if rotation == 0 and skew == 0.0:
            return self.path, 0.0, image
        if skew:
            image = deskew(image, skew)
        out = os.path.join(self.workdir, f"prep-{rotation}-{skew}.tif")
        self._save(image, out)
        return out, skew, image

    def _save(self, image: Image.Image, out: str) -> None:
        # In the hand-over format, with the page's resolution (see images.encode_image).
        with open(out, "wb") as fh:
            fh.write(encode_image(image, OCR_FORMAT, self.dpi))


def _recognize_file(
    path: str,
    languages: Sequence[str] | None,
    hint: Sequence[str] | None,
    chinese_engine: str = "auto",
) -> OcrResult:
    """Worker: OCR one image file, with `languages` fixed or chosen here.

    Before any OCR the ink profiles say whether the page is turned (sideways, or Latin print
    upside down) and whether it looks like Latin print at all. A page turned plainly is read
    once, upright, without OSD; an upright Latin page, or one that follows the languages earlier
    pages chose (`hint`), is read at once, and so is a document's first page whose lines are
    filled like Chinese (with chi_sim); a page that may be upside down, or a document's first
    page that looks neither Latin nor Chinese, asks OSD first (orientation and script, a third of
    an OCR pass) and is read once, turned and in the script OSD saw. With `languages` fixed the
    turns are chosen the same way, the languages never change.

    A page that still reads poorly (low confidence, or few dictionary words) always gets OSD and
    more passes, whatever the ink profile (or the PDF's /Rotate, already applied to the image)
    said: OSD's turn and script, the plain reading, and in the end the page turned half round
    from the first pass; the best reading by confidence and dictionary words is kept. A Chinese
    page is then read by the second engine as `chinese_engine` says (see `_second_engine`).
    """
    if chinese_engine not in CHINESE_ENGINES:
        raise OcrError(f"unknown Chinese OCR engine {chinese_engine!r} (one of {', '.join(CHINESE_ENGINES)})")
    workdir = tempfile.mkdtemp(prefix="foi-ocr-")
    try:
        page = _Page(path, workdir)
        fixed = "+".join(languages) if languages else None
        result = _tesseract_reading(page, fixed, hint)
        return _second_engine(page, result, fixed, hint, chinese_engine)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _tesseract_reading(page: _Page, fixed: str | None, hint: Sequence[str] | None) -> OcrResult:
    """The best Tesseract reading of the page (see `_recognize_file`)."""
    hinted = fixed or ("+".join(hint) if hint else "eng")
    decide = hint is None and fixed is None  # the page that chooses the document's languages
    rotation, langs = 0, hinted
    han_guess = False  # read as Chinese on the ink's word alone
    if page.looks_sideways():
        # Turned by 90 degrees: which way, from the profiles of both candidates, else OSD.
        turn = page.sideways_turn()
        if turn is None:
            turn, _script = page.osd()
        rotation = turn if turn in (90, 270) else 0
    else:
        profile = page.profile()
        if profile.plainly_upside_down_latin():
            rotation = 180  # plainly upside down: no need to ask OSD (a poor reading still will)
        elif decide and profile.han_like():
            # Read as Chinese at once. Capitals fill their lines too (a telex, a cable), so a
            # reading that comes out not Chinese, like one that reads poorly, asks OSD.
            langs, han_guess = "chi_sim", True
        elif profile.upside_down_latin() or (decide and profile.lines >= 3 and not profile.upright_latin()):
            rotation, script = page.osd()
            if script and fixed is None:
                langs = "+".join(_script_languages(script))
    page.first_turn = rotation
    first = page.ocr(langs, rotation, None)
    wrong_guess = han_guess and not _han_text(first.text)
    if _reads_well(first) and not wrong_guess:
        if rotation == 0 and _looks_sideways(first):
            # Tesseract reads a page turned by 90 degrees line by line, but its layout and
            # reading order suffer; turn it upright as OSD says and keep the better reading.
            turn, _script = page.osd()
            if turn in (90, 270):
                upright = page.ocr(langs, turn, None)
                if _score(upright) >= 0.9 * _score(first):
                    first = upright
        return _maybe_traditional(page, first, decide)
    # It reads poorly: OSD, then passes not tried yet until one reads well. What OSD says (its
    # script, and its turn if it differs); the plain reading, upright in the hinted languages (OSD
    # may have chosen the first pass and got it wrong); the turned pass, the page half round from
    # the first (whatever the ink profile or OSD said); last, when OSD said nothing, the other
    # script (as on a small crop).
    turn, script = page.osd()
    if fixed:
        osd_langs = fixed
    elif script:
        osd_langs = "+".join(_script_languages(script))
    else:
        osd_langs = langs
    candidates = [(0, hinted), ((rotation + 180) % 360, langs)]
    if script or turn != rotation:
        candidates.insert(0, (turn, osd_langs))
    elif not fixed:
        candidates.append((rotation, "chi_sim" if langs == "eng" else "eng"))
    tried = {(rotation, langs)}
    readings = [first]
    for again in candidates:
        if again in tried:
            continue
        tried.add(again)
        readings.append(page.ocr(again[1], again[0], None))
        if _reads_well(readings[-1]):
            break
    if wrong_guess and len(readings) > 1:
        readings = readings[1:]  # the ink's guess of Chinese was wrong: any other reading beats it
    best = max(readings, key=_score)  # the first of equals: the earlier pass
    return _maybe_traditional(page, best, decide)


def _maybe_chinese(page: _Page, result: OcrResult, fixed: str | None, hint: Sequence[str] | None) -> bool:
    """Whether the page may be Chinese: its reading, its languages (fixed or hinted) or OSD say
    so, or it is a document's first page that Tesseract could not read (a Chinese page over a
    texture often reads as a few Latin scraps) and has lines of ink."""
    if fixed is not None:
        return "chi_" in fixed
    if "chi_" in result.languages or (hint and any(h.startswith("chi_") for h in hint)):
        return True
    if page._osd is not None and page._osd[1]:
        if _script_languages(page._osd[1]) == ["chi_sim"]:
            return True
        if page.osd_script_conf >= OSD_SURE_SCRIPT:
            return False  # OSD is sure of another script (a Greek or Latin page read poorly)
    return hint is None and not _reads_well(result) and page.profile().lines > 0


def _chinese_reads_poorly(result: OcrResult) -> bool:
    if not _reads_well(result) or not _han_text(result.text):
        return True
    if result.confidence < CHINESE_GOOD_CONFIDENCE:
        return True
    # The dictionary is Simplified: it says little of a Traditional reading.
    counted = dictionary_words(result.text)
    return result.languages == "chi_sim" and counted.units >= 10 and counted.share < CHINESE_GOOD_SHARE


def _second_engine(
    page: _Page, result: OcrResult, fixed: str | None, hint: Sequence[str] | None, chinese_engine: str
) -> OcrResult:
    """The reading kept for a page that may be Chinese.

    `tesseract`: Tesseract's. `rapidocr`: RapidOCR's whenever it reads Chinese there. `auto`:
    RapidOCR reads the page only when Tesseract's reading is poor (low confidence, few dictionary
    words, or no Chinese at all), and its reading is kept when more of it is dictionary words.
    RapidOCR reads the page turned and deskewed as Tesseract's reading was.
    """
    if chinese_engine == "tesseract" or not _maybe_chinese(page, result, fixed, hint):
        return result
    if chinese_engine == "auto" and not _chinese_reads_poorly(result):
        return result
    try:
        alt = _rapid_reading(page, result)
    except RapidOcrUnavailable as exc:
        raise OcrError(str(exc)) from exc
    if not _han_text(alt.text):
        return result
    if chinese_engine == "rapidocr" or not _han_text(result.text):
        return alt
    if result.languages == "chi_tra":
        # The dictionary is Simplified; RapidOCR writes Traditional print partly in Simplified
        # and drops characters it is unsure of: it must read more of the page to win.
        return alt if _han_count(alt.text) > 1.05 * _han_count(result.text) else result
    return alt if dictionary_words(alt.text).in_words > dictionary_words(result.text).in_words else result


def _han_count(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def _rapid_reading(page: _Page, result: OcrResult) -> OcrResult:
    """RapidOCR's reading of the page, with its word boxes in pixels of the page as given (as
    Tesseract's are). The page is turned and deskewed as `result` was when that reading is
    sound; else (scraps read in every turn) as the ink and OSD said before any reading."""
    from .rapid import read_lines

    rotation = result.rotation if _reads_well(result) else page.first_turn
    _path, skew, image = page._prepared_image(rotation, result.skew if rotation == result.rotation else None)
    words: list[OcrWord] = []
    lines: list[str] = []
    for line in read_lines(image):
        lines.append(_join_words([w.text for w in line]))
        for w in line:
            box = _box_back((w.left, w.top, w.width, w.height), rotation, skew, page.size, image.size)
            words.append(OcrWord(w.text, *box, w.conf))
    mean = round(sum(w.conf for w in words) / len(words), 2) if words else 0.0
    languages = result.languages if result.languages.startswith("chi_") else "chi_sim"
    return OcrResult("\n".join(lines), mean, words, languages, rotation, skew, *page.size, engine="rapidocr")


def _looks_sideways(result: OcrResult) -> bool:
    """Most longer Latin words are taller than wide: the lines run vertically on the image."""
    long_words = [w for w in result.words if len(w.text) >= 4 and w.text.isascii()]
    if len(long_words) < 5:
        return False
    tall = sum(1 for w in long_words if w.height > w.width)
    return tall > 0.6 * len(long_words)


def _reads_well(result: OcrResult) -> bool:
    if result.confidence < GOOD_CONFIDENCE or len(result.words) < 3:
        return False
    if result.confidence >= SURE_CONFIDENCE:
        return True  # a German or Dutch page read with `eng` has few English words, rightly
    counted = dictionary_words(result.text)
    return counted.units < DICTIONARY_UNITS or counted.share >= POOR_DICTIONARY_SHARE


def _score(result: OcrResult) -> float:
    # Confidence and dictionary words, weighted by how much was read, so an empty page doesn't
    # win with one lucky word nor a confident reading of scraps over a texture.
    counted = dictionary_words(result.text)
    share = counted.share if counted.units >= 10 else 0.5
    return result.confidence * (0.5 + share) * min(len(result.words), 50)


def _maybe_traditional(page: _Page, result: OcrResult, decide: bool = False) -> OcrResult:
    """Choose between chi_sim and chi_tra for a Chinese page.

    chi_sim reads Traditional print confidently but writes it in Simplified characters, so the
    first page of a document (`decide`) is also read with chi_tra and the more confident reading
    wins; later pages follow it. Other pages retry chi_tra only when they look Traditional or
    read poorly. On a page with plenty of text the choice is made on a band of its middle lines
    (a fifth of the words, a quarter of the time): only a page chi_tra wins there is read again.
    """
    if result.languages != "chi_sim" or not _han_text(result.text):
        return result
    markers = sum(1 for ch in result.text if ch in _TRADITIONAL_MARKERS)
    if not decide and markers < 3 and result.confidence >= 70:
        return result
    margin = 0 if decide else 2
    band = _middle_band(result)
    if band is not None:
        top, bottom, simplified = band
        if page.crop_confidence("chi_tra", top, bottom, result.skew) <= simplified + margin:
            return result
    alt = page.ocr("chi_tra", result.rotation, result.skew)
    # Both models read either script with similar confidence (each writes its own script), so
    # this choice is weak on short pages; it is right on the pages measured in the tests.
    return alt if alt.confidence > result.confidence + margin else result


BAND_WORDS = 60  # below this many words the band says too little: read the whole page again


def _middle_band(result: OcrResult) -> tuple[int, int, float] | None:
    """(top, bottom, mean confidence of its words) of the band holding the middle fifth of the
    words, in rows of the deskewed page; None when the page is short or turned."""
    if result.rotation or len(result.words) < BAND_WORDS:
        return None
    rows = []  # (vertical centre, half height, confidence) of each word on the deskewed page
    for w in result.words:
        x, y = w.left + w.width / 2, w.top + w.height / 2
        if result.skew:  # word boxes are on the page as given: turn the centre back level
            x, y = map_point_back(x, y, -result.skew, result.width, result.height)
        rows.append((y, w.height / 2, w.conf))
    rows.sort()
    n = len(rows)
    chosen = rows[int(n * 0.4) : int(n * 0.6)]
    low, high = min(y for y, _, _ in chosen), max(y for y, _, _ in chosen)
    inside = [(y, h, c) for y, h, c in rows if low <= y <= high]
    # The band holds every word whose centre is inside, whole, so chi_tra reads no cut glyphs.
    top = int(min(y - h for y, h, _ in inside))
    bottom = int(max(y + h for y, h, _ in inside)) + 1
    return max(0, top), min(result.height, bottom), sum(c for _, _, c in inside) / len(inside)


def _init_worker(tmp_dir: str | None = None) -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"
    if tmp_dir:
        # Page copies, deskewed images and pytesseract's own files go where the caller said
        # (the archive folder), not the system temp dir.
        os.makedirs(tmp_dir, exist_ok=True)
        os.environ["TMPDIR"] = tmp_dir
        tempfile.tempdir = tmp_dir


def _run_job(
    image: ImageInput,
    languages: tuple[str, ...] | None,
    hint: tuple[str, ...] | None,
    chinese_engine: str = "auto",
) -> OcrResult:
    """One page: the image (bytes or a file) and the settings in, its reading out. A pure
    function of its arguments, picklable both ways, so any pool of workers can run it."""
    if isinstance(image, bytes):
        suffix = ".tif" if image[:4] in (b"II*\x00", b"MM\x00*") else ".png"
        fd, tmp = tempfile.mkstemp(suffix=suffix, prefix="foi-ocr-in-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(image)
            return _recognize_file(tmp, languages, hint, chinese_engine)
        finally:
            os.unlink(tmp)
    return _recognize_file(os.fspath(image), languages, hint, chinese_engine)


class TesseractEngine:
    """OCR with Tesseract: a process pool of single-threaded runs and an on-disk result cache."""

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        workers: int | None = None,
        default_languages: Sequence[str] = ("eng", "chi_sim"),
        tmp_dir: str | os.PathLike[str] | None = None,
        chinese_engine: str = "auto",
    ):
        if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
            raise OcrError("tesseract is not installed (Debian: apt-get install tesseract-ocr)")
        if chinese_engine not in CHINESE_ENGINES:
            raise OcrError(
                f"unknown Chinese OCR engine {chinese_engine!r} (one of {', '.join(CHINESE_ENGINES)})"
            )
        # Which engine reads Chinese pages: Tesseract only, RapidOCR when Tesseract reads poorly
        # (auto), or RapidOCR (see `_second_engine`).
        self.chinese_engine = chinese_engine
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.tmp_dir = os.fspath(tmp_dir) if tmp_dir else None  # workers' scratch files
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.default_languages = tuple(default_languages)
        self._pool: ProcessPoolExecutor | None = None
        self._available: set[str] | None = None
        # Jobs in flight by image hash and languages: a page identical to one being read (a
        # letterhead, a disclaimer, a blank page, common in e-mail dumps) waits for that run.
        self._inflight: dict[str, Future[OcrResult]] = {}
        self._inflight_lock = threading.Lock()
        self.runs = 0  # Tesseract jobs started (tests and benchmarks read it)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def available_languages(self) -> set[str]:
        if self._available is None:
            try:
                self._available = set(pytesseract.get_languages(config=""))
            except pytesseract.TesseractError as exc:
                raise OcrError(f"tesseract cannot list its languages: {exc.message}") from exc
        return self._available

    def _check_languages(self, languages: Sequence[str]) -> None:
        missing = [lang for lang in languages if lang not in self.available_languages()]
        if missing:
            raise OcrError(
                f"Tesseract language data missing: {', '.join(missing)} "
                f"(Debian: apt-get install {' '.join('tesseract-ocr-' + m.replace('_', '-') for m in missing)})"
            )

    # -- cache ------------------------------------------------------------------------------

    @staticmethod
    def _job_key(image: ImageInput, languages: Sequence[str] | None) -> str:
        """The image's hash with the language list: equal keys give equal results."""
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        langs = "+".join(languages) if languages else "auto"
        return f"{hashlib.sha256(data).hexdigest()}-{langs}"

    def _key(self, image: ImageInput, languages: Sequence[str] | None) -> str:
        """The job key with this engine's setting for Chinese pages (it changes their reading)."""
        key = self._job_key(image, languages)
        return key if self.chinese_engine == "auto" else f"{key}-{self.chinese_engine}"

    def _cache_path(self, key: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / key[:2] / f"{key}-v{CACHE_VERSION}.json"

    def _start_job(
        self, key: str, image: ImageInput, languages: tuple[str, ...] | None, hint: tuple[str, ...] | None
    ) -> Future[OcrResult]:
        """The run for `key`: one already in flight, or a new one in the pool."""
        with self._inflight_lock:
            running = self._inflight.get(key)
            if running is not None:
                return running
            # A run that just finished has left its result on disk (saved under this lock).
            done = self._load(self._cache_path(key))
            if done is not None:
                ready: Future[OcrResult] = Future()
                ready.set_result(done)
                return ready
            try:
                future = self._executor().submit(_run_job, image, languages, hint, self.chinese_engine)
            except BrokenProcessPool:
                # A worker died (killed for memory, say): the runs it held have failed with this
                # error; later pages get a fresh pool, so one bad page doesn't fail the batch.
                broken, self._pool = self._pool, None
                if broken is not None:
                    broken.shutdown(wait=False, cancel_futures=True)
                future = self._executor().submit(_run_job, image, languages, hint, self.chinese_engine)
            self.runs += 1
            self._inflight[key] = future
        future.add_done_callback(functools.partial(self._job_done, key))
        return future

    def _job_done(self, key: str, future: Future[OcrResult]) -> None:
        # Saved and forgotten in one step, so a new batch finds the run either in flight or on disk.
        with self._inflight_lock:
            if not future.cancelled() and future.exception() is None:
                self._save(self._cache_path(key), future.result())
            if self._inflight.get(key) is future:
                del self._inflight[key]

    @staticmethod
    def _load(path: Path | None) -> OcrResult | None:
        if path is None or not path.exists():
            return None
        try:
            raw = json.loads(path.read_text())
            raw["words"] = [OcrWord(**w) for w in raw["words"]]
            return OcrResult(**raw)
        except (ValueError, TypeError, KeyError):
            return None  # a damaged cache entry is recomputed

    @staticmethod
    def _save(path: Path | None, result: OcrResult) -> None:
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(_as_record(result), ensure_ascii=False))
        os.replace(tmp, path)

    # -- recognition ------------------------------------------------------------------------

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            context = multiprocessing.get_context("forkserver")
            # Each worker re-imports the main module. Run as `python -m archive.cli`, that means
            # all of `archive` (jieba, the extractors...) in every worker before its first page,
            # unless the fork server has imported it once for them all. (Run as a script, the
            # fork server's default '__main__' preload already covers it.)
            main_spec = getattr(sys.modules.get("__main__"), "__spec__", None)
            preload = ["__main__", __name__]
            if main_spec is not None and main_spec.name and not main_spec.name.endswith("__main__"):
                preload.append(main_spec.name)
            context.set_forkserver_preload(preload)
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(self.tmp_dir,),
            )
        return self._pool

    def recognize(self, image: ImageInput, languages: Sequence[str] | None = None) -> OcrResult:
        return self.recognize_many([image], languages)[0]

    def recognize_many(
        self, images: Sequence[ImageInput], languages: Sequence[str] | None = None
    ) -> list[OcrResult]:
        """OCR images in parallel; results in input order."""
        return self.submit(images, languages).results()

    def submit(self, images: Sequence[ImageInput], languages: Sequence[str] | None = None) -> OcrBatch:
        """Start OCR of a batch (one document's pages) and return at once; `results()` waits.

        With `languages` None each page's languages are chosen: the first page of the batch decides
        them (see `_recognize_file`: English when its ink looks like Latin print, else what OSD
        says, checked by how well it reads); the rest start from the languages it chose as soon as
        it is done (pages of one document share a language).
        Submitting the next document's batch before collecting this one keeps every core busy.
        """
        if languages:
            self._check_languages(languages)
        else:
            self._check_languages(["eng", "chi_sim", "osd"])
        for image in images:
            if not isinstance(image, bytes) and not Path(image).is_file():
                raise OcrError(f"cannot read image: no such file {image}")
        return OcrBatch(self, list(images), tuple(languages) if languages else None)


class OcrBatch:
    """OCR jobs of one batch in flight in the engine's pool.

    Identical images are read once: within the batch, across batches in flight (the engine's
    table of running jobs) and across runs (the on-disk cache, by image hash and languages).
    """

    def __init__(self, engine: TesseractEngine, images: list[ImageInput], languages: tuple[str, ...] | None):
        self.engine = engine
        self.images = images
        self.languages = languages
        self.keys = [engine._key(img, languages) for img in images]
        self.cached: dict[int, OcrResult] = {}
        self.futures: dict[int, Future[OcrResult]] = {}
        self._lock = threading.Lock()
        self._tail: list[int] = []
        # The first index of each distinct image; the others take its result.
        self.first_of: dict[str, int] = {}
        todo = []
        for i, key in enumerate(self.keys):
            if key in self.first_of:
                continue
            self.first_of[key] = i
            hit = engine._load(engine._cache_path(key))
            if hit is not None:
                self.cached[i] = hit
            else:
                todo.append(i)
        if not todo:
            return
        if languages:
            head = todo
        else:
            # One page decides; other cores meanwhile work on the next document's first page.
            head, self._tail = todo[:1], todo[1:]
        for i in head:
            self.futures[i] = engine._start_job(self.keys[i], images[i], languages, None)
        if self._tail:
            for i in head:
                self.futures[i].add_done_callback(self._release_tail)

    def _release_tail(self, future: Future[OcrResult]) -> None:
        """The first head page that reads something decides the hint for the rest."""
        hint: tuple[str, ...] | None = None
        if not future.cancelled() and future.exception() is None:
            result = future.result()
            if result.words:
                hint = tuple(result.languages.split("+"))
        heads_done = all(f.done() for i, f in self.futures.items() if i not in self._tail)
        with self._lock:
            if not self._tail or (hint is None and not heads_done):
                return
            tail, self._tail = self._tail, []
        for i in tail:
            try:
                self.futures[i] = self.engine._start_job(self.keys[i], self.images[i], None, hint)
            except Exception as exc:  # a broken pool (a worker killed): these pages fail, nothing waits
                failed: Future[OcrResult] = Future()
                failed.set_exception(exc)
                self.futures[i] = failed

    def done(self) -> bool:
        """Every page read (or failed): `results()` would not wait."""
        with self._lock:
            if self._tail:
                return False
        return all(
            i in self.cached or (i in self.futures and self.futures[i].done()) for i in self.first_of.values()
        )

    def running(self) -> list[Future[OcrResult]]:
        """The runs not finished yet (a later page joins once the first has chosen languages)."""
        return [f for f in list(self.futures.values()) if not f.done()]

    def results(self) -> list[OcrResult]:
        out: list[OcrResult] = []
        for key in self.keys:
            i = self.first_of[key]
            if i in self.cached:
                out.append(self.cached[i])
                continue
            while i not in self.futures:  # a tail page waits for its head to finish
                time.sleep(0.01)
            try:
                result = self.futures[i].result()
            except OcrError:
                raise
            except Exception as exc:  # a crashed worker or tesseract: a clear error for this document
                raise OcrError(f"OCR failed: {type(exc).__name__}: {exc}") from exc
            out.append(result)
        return out
