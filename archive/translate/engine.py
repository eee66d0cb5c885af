"""Running a zh->en model: sentence splitting (Chinese 。！？； and line structure, English
punctuation), the Translator contract, and ArgosTranslator, which loads an installed Argos
package's CTranslate2 and SentencePiece models and translates sentences in batches.

A sentence longer than the model can take (its position limit: 512 tokens for Argos models) is
cut at clause punctuation, then by length (`split_long`), translated in parts and joined again;
one sentence the model still fails on is left untranslated and named in `failures`, never
stopping the others."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..script import HAN
from .packages import TranslationError, argos_home, installed_packages, scoped_environment, version_key

# A long sentence is cut after clause punctuation: Chinese ，、；：, ASCII ,;: and closing brackets.
_CLAUSE_END = re.compile(r"(?<=[，、；：,;:）)」』])")

# Source tokens sent to the model at once: under the 512 positions of Argos models, with room for
# the end-of-sentence token and a target prefix.
MAX_SOURCE_TOKENS = 400

# A sentence ends after Chinese 。！？； (and their ASCII forms) or after English . ! ? before a space.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=[.])(?=\s)")


class Translator(Protocol):
    """Translates sentences. `translate_segments` returns one target per source, in order, and
    raises TranslationError when the model cannot run."""

    model_id: str

    def available(self) -> bool: ...

    def translate_segments(self, segments: Sequence[str]) -> list[str]: ...


def split_sentences(text: str) -> list[str]:
    """Sentences of a page: every line, then cut after sentence-ending punctuation."""
    out: list[str] = []
    for line in text.splitlines():
        for piece in _SENTENCE_END.split(line):
            piece = piece.strip()
            if piece:
                out.append(piece)
    return out


def split_long(sentence: str, fits: Callable[[str], bool]) -> list[str]:
    """`sentence` in pieces that each `fit` (the model's length limit), joined back they are the
    sentence: cut after clause punctuation, neighbouring clauses put together again while they
    fit, and a clause still too long cut in halves (at a space near the middle when there is
    one) until it fits."""
    if fits(sentence) or len(sentence) <= 1:
        return [sentence]
    clauses = [c for c in _CLAUSE_END.split(sentence) if c]
    if len(clauses) == 1:
        middle = len(sentence) // 2
        space = sentence.rfind(" ", middle // 2, middle + middle // 2)
        cut = space + 1 if space > 0 else middle
        return split_long(sentence[:cut], fits) + split_long(sentence[cut:], fits)
    pieces: list[str] = []
    current = ""
    for clause in clauses:
        if current and fits(current + clause):
            current += clause
            continue
        if current:
            pieces.append(current)
        current = clause
    pieces.append(current)
    return [part for piece in pieces for part in split_long(piece, fits)]


def needs_translation(sentence: str) -> bool:
    return bool(HAN.search(sentence))


def has_chinese(text: str | None) -> bool:
    return bool(text and HAN.search(text))


def thread_count() -> int:
    """CTranslate2 intra-op threads: FOI_TRANSLATE_THREADS, else every core."""
    value = os.environ.get("FOI_TRANSLATE_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, os.cpu_count() or 1)


def import_ctranslate2() -> Any:
    """Import ctranslate2 with its OpenMP runtime told to sleep, not spin, while it waits.

    CTranslate2 bundles GNU OpenMP, which by default busy-waits between parallel regions: on a
    machine that is busy with something else (OCR workers, another ingest) a two-thread model ran
    50-100x slower than one thread in our measurements (0.4 s became 23-45 s for 1,000
    sentences); OMP_WAIT_POLICY=PASSIVE keeps it at about the one-thread time. libgomp reads the
    variable when it loads, so it is set only around the first import and then put back (unless
    the user set it, which wins): child processes never see it."""
    if "ctranslate2" in sys.modules:
        return sys.modules["ctranslate2"]
    policy = os.environ.get("OMP_WAIT_POLICY") or "PASSIVE"
    with scoped_environment({"OMP_WAIT_POLICY": policy}):
        import ctranslate2
    return ctranslate2


class ArgosTranslator:
    """zh->en with an installed Argos package, translated in batches by its CTranslate2 model.

    `model_options` and `translate_options` are what the model is built and called with (the
    benchmark calls raw CTranslate2 with the same)."""

    beam_size = 4
    max_source_tokens = MAX_SOURCE_TOKENS

    def __init__(
        self,
        archive_root: Path,
        from_code: str = "zh",
        to_code: str = "en",
        batch_size: int = 32,
        threads: int | None = None,
    ):
        self.root = Path(archive_root)
        self.from_code, self.to_code = from_code, to_code
        self.batch_size = batch_size
        self.threads = threads or thread_count()
        self._package: Any = None
        self._model: Any = None
        self._sp: Any = None
        self.model_id = ""
        # Sentences the model failed on, with the reason (kept for the run: callers look up the
        # sentences they sent, so a call running meanwhile in another thread does not matter).
        self.failures: dict[str, str] = {}
        self._find()

    def _find(self) -> None:
        if not argos_home(self.root).joinpath("packages").is_dir():
            return
        matches = [
            p
            for p in installed_packages(self.root)
            if p.from_code == self.from_code and p.to_code == self.to_code
        ]
        if not matches:
            return
        pkg = max(
            matches,
            key=lambda p: (
                version_key({"package_version": getattr(p, "package_version", "0")}),
                Path(p.package_path).name,
            ),
        )
        self._package = pkg
        version = getattr(pkg, "package_version", "0")
        self.model_id = f"argos:{pkg.from_code}-{pkg.to_code}:{version}:{Path(pkg.package_path).name}"

    def available(self) -> bool:
        return self._package is not None

    @property
    def package_path(self) -> Path:
        if self._package is None:
            raise TranslationError(
                f"no {self.from_code}->{self.to_code} model installed (foi models install)"
            )
        return Path(self._package.package_path)

    def model_options(self) -> dict[str, Any]:
        return {"device": "cpu", "inter_threads": 1, "intra_threads": self.threads}

    def translate_options(self) -> dict[str, Any]:
        return {
            "max_batch_size": self.batch_size,
            "beam_size": self.beam_size,
            "replace_unknowns": True,
            # A part as long as the source limit must not be cut short (the default stops at 256).
            "max_decoding_length": self.max_source_tokens + 100,
        }

    def load(self) -> None:
        """Load the model now (a cluster worker loads it once, before its threads share it)."""
        self._load()

    def _load(self) -> None:
        if self._model is not None:
            return
        path = self.package_path
        ctranslate2 = import_ctranslate2()
        import sentencepiece

        sp_model = path / "sentencepiece.model"
        if not sp_model.exists():
            raise TranslationError(f"{path.name}: only SentencePiece-tokenised Argos packages are supported")
        try:
            self._model = ctranslate2.Translator(str(path / "model"), **self.model_options())
            self._sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_model))
        except Exception as exc:
            raise TranslationError(f"cannot load {path.name}: {exc}") from exc

    def translate_segments(self, segments: Sequence[str]) -> list[str]:
        """One translation per segment. A segment too long for the model is translated in parts
        (`split_long`). When the batch fails, each part is tried on its own: a part that fails
        leaves its segment untranslated ("") and named in `failures`; TranslationError only when
        every part fails (the model cannot run)."""
        if not segments:
            return []
        self._load()
        parts = [split_long(s, self._fits) for s in segments]
        flat = [p for ps in parts for p in ps]
        targets: list[str | None]
        reasons: dict[int, str] = {}
        try:
            targets = list(self._translate_batch(flat))
        except TranslationError as batch_error:
            targets = []
            for i, part in enumerate(flat):
                try:
                    targets.extend(self._translate_batch([part]))
                except TranslationError as exc:
                    targets.append(None)
                    reasons[i] = str(exc)
            if len(reasons) == len(flat):
                raise batch_error
        out: list[str] = []
        at = 0
        for segment, pieces in zip(segments, parts, strict=True):
            done = targets[at : at + len(pieces)]
            failed = [reasons[i] for i in range(at, at + len(pieces)) if i in reasons]
            at += len(pieces)
            if failed:
                self.failures[segment] = failed[0]
                out.append("")
            else:
                out.append(" ".join(t for t in done if t))
        return out

    def _fits(self, text: str) -> bool:
        return len(self._sp.encode(text)) <= self.max_source_tokens

    def _translate_batch(self, segments: Sequence[str]) -> list[str]:
        tokens = self._sp.encode(list(segments), out_type=str)
        prefix = getattr(self._package, "target_prefix", "") or ""
        try:
            results = self._model.translate_batch(
                tokens,
                target_prefix=[[prefix]] * len(tokens) if prefix else None,
                **self.translate_options(),
            )
        except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError on bad input or models
            raise TranslationError(f"{self.package_path.name}: translation failed: {exc}") from exc
        hypotheses = []
        for result in results:
            pieces = result.hypotheses[0]
            if prefix and pieces and pieces[0] == prefix:
                pieces = pieces[1:]
            hypotheses.append(pieces)
        return [text.strip() for text in self._sp.decode(hypotheses)]
