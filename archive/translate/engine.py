"""Running a zh->en model: sentence splitting (Chinese 。！？； and line structure, English
punctuation), the Translator contract, and ArgosTranslator, which loads an installed Argos
package's CTranslate2 and SentencePiece models and translates sentences in batches."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from ..script import HAN
from .packages import TranslationError, argos_home, installed_packages, scoped_environment, version_key

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
        return {"max_batch_size": self.batch_size, "beam_size": self.beam_size, "replace_unknowns": True}

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
        if not segments:
            return []
        self._load()
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
