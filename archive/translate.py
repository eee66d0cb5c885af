"""Offline Chinese-to-English translation with Argos Translate models.

Models are Argos packages (`.argosmodel`: a CTranslate2 model plus a SentencePiece model),
installed and listed through `argostranslate` with its folders under the archive folder
(`<archive>/models/argos`). Sentences are split here (Chinese 。！？； and line structure, English
punctuation); only sentences with Chinese in them are translated, in batches, through the
package's CTranslate2 model, and every translation is cached by model and sentence hash.
Pages keep aligned [source, target] pairs for a side-by-side view.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .language import is_chinese
from .models import StageError

if TYPE_CHECKING:
    from .core import Archive
    from .pipeline import DocWork

_HAN = re.compile(r"[\u3400-\u9fff]")
# A sentence ends after Chinese 。！？； (and their ASCII forms) or after English . ! ? before a space.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=[.])(?=\s)")


class TranslationError(RuntimeError):
    """A model that cannot be installed or loaded; the message is for the user."""


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
    return bool(_HAN.search(sentence))


# -- Argos -------------------------------------------------------------------------------------


def argos_home(archive_root: Path) -> Path:
    return Path(archive_root).resolve() / "models" / "argos"


def use_argos(archive_root: Path) -> Any:
    """Import argostranslate with its folders under the archive.

    argostranslate reads its settings at import time, so the environment is set first; if it was
    already imported (another archive in this process), its settings module is pointed here.
    """
    home = argos_home(archive_root)
    dirs = {name: home / name for name in ("packages", "data", "cache", "config")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    os.environ["ARGOS_PACKAGES_DIR"] = str(dirs["packages"])
    os.environ["XDG_DATA_HOME"] = str(dirs["data"])
    os.environ["XDG_CACHE_HOME"] = str(dirs["cache"])
    os.environ["XDG_CONFIG_HOME"] = str(dirs["config"])
    import argostranslate.package
    import argostranslate.settings as settings

    settings.package_data_dir = dirs["packages"]
    settings.package_dirs = [dirs["packages"]]
    settings.data_dir = dirs["data"] / "argos-translate"
    settings.cache_dir = dirs["cache"] / "argos-translate"
    settings.downloads_dir = settings.cache_dir / "downloads"
    settings.local_package_index = settings.data_dir / "index.json"
    for path in (settings.data_dir, settings.downloads_dir):
        Path(path).mkdir(parents=True, exist_ok=True)
    return argostranslate.package


def installed_packages(archive_root: Path) -> list[Any]:
    package = use_argos(archive_root)
    return list(package.get_installed_packages([argos_home(archive_root) / "packages"]))


def install_from_file(archive_root: Path, path: Path) -> Any:
    package = use_argos(archive_root)
    before = {p.package_path for p in installed_packages(archive_root)}
    try:
        package.install_from_path(Path(path))
    except Exception as exc:  # argostranslate raises bare Exception for bad files
        raise TranslationError(f"not a valid Argos package: {path}: {exc}") from exc
    new = [p for p in installed_packages(archive_root) if p.package_path not in before]
    if not new:
        found = installed_packages(archive_root)
        if not found:
            raise TranslationError(f"{path} installed nothing")
        return found[-1]
    return new[0]


def install_from_index(archive_root: Path, from_code: str, to_code: str) -> Any:
    """Download and install a model from the Argos package index (needs a network)."""
    package = use_argos(archive_root)
    package.update_package_index()
    matches = [p for p in package.get_available_packages() if p.from_code == from_code and p.to_code == to_code]
    if not matches:
        raise TranslationError(
            f"no {from_code}->{to_code} model in the Argos index (offline? use --file PATH.argosmodel)"
        )
    path = matches[0].download()
    return install_from_file(archive_root, Path(path))


class ArgosTranslator:
    """zh->en with an installed Argos package, translated in batches by its CTranslate2 model."""

    def __init__(self, archive_root: Path, from_code: str = "zh", to_code: str = "en", batch_size: int = 32):
        self.root = Path(archive_root)
        self.from_code, self.to_code = from_code, to_code
        self.batch_size = batch_size
        self._package: Any = None
        self._model: Any = None
        self._sp: Any = None
        self.model_id = ""
        self._find()

    def _find(self) -> None:
        if not argos_home(self.root).joinpath("packages").exists():
            return
        for pkg in installed_packages(self.root):
            if pkg.from_code == self.from_code and pkg.to_code == self.to_code:
                self._package = pkg
                version = getattr(pkg, "package_version", "0")
                self.model_id = f"argos:{pkg.from_code}-{pkg.to_code}:{version}:{Path(pkg.package_path).name}"
                return

    def available(self) -> bool:
        return self._package is not None

    def _load(self) -> None:
        if self._model is not None:
            return
        if self._package is None:
            raise TranslationError(f"no {self.from_code}->{self.to_code} model installed (foi models install)")
        import ctranslate2
        import sentencepiece

        path = Path(self._package.package_path)
        sp_model = path / "sentencepiece.model"
        if not sp_model.exists():
            raise TranslationError(f"{path.name}: only SentencePiece-tokenised Argos packages are supported")
        try:
            self._model = ctranslate2.Translator(
                str(path / "model"), device="cpu", intra_threads=max(1, os.cpu_count() or 1)
            )
            self._sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_model))
        except Exception as exc:
            raise TranslationError(f"cannot load {path.name}: {exc}") from exc

    def translate_segments(self, segments: Sequence[str]) -> list[str]:
        if not segments:
            return []
        self._load()
        tokens = [self._sp.encode(s, out_type=str) for s in segments]
        prefix = getattr(self._package, "target_prefix", "") or ""
        results = self._model.translate_batch(
            tokens,
            max_batch_size=self.batch_size,
            beam_size=4,
            target_prefix=[[prefix]] * len(tokens) if prefix else None,
            replace_unknowns=True,
        )
        out = []
        for result in results:
            pieces = result.hypotheses[0]
            if prefix and pieces and pieces[0] == prefix:
                pieces = pieces[1:]
            out.append(self._sp.decode(pieces).strip())
        return out


# -- cache and pages ---------------------------------------------------------------------------


class TranslationCache:
    """Translations by (model, sha256 of the source sentence), in the archive's database."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        db.execute(
            "CREATE TABLE IF NOT EXISTS translation_cache (model TEXT NOT NULL, sha TEXT NOT NULL, "
            "target TEXT NOT NULL, PRIMARY KEY (model, sha))"
        )

    @staticmethod
    def key(sentence: str) -> str:
        return hashlib.sha256(sentence.encode("utf-8")).hexdigest()

    def get_many(self, model: str, sentences: Sequence[str]) -> dict[str, str]:
        by_key = {self.key(s): s for s in set(sentences)}
        found: dict[str, str] = {}
        keys = list(by_key)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = self.db.execute(
                f"SELECT sha, target FROM translation_cache WHERE model=? AND sha IN ({','.join('?' * len(chunk))})",
                (model, *chunk),
            )
            for sha, target in rows:
                found[by_key[sha]] = target
        return found

    def put_many(self, model: str, pairs: dict[str, str]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO translation_cache(model, sha, target) VALUES (?,?,?)",
            [(model, self.key(s), t) for s, t in pairs.items()],
        )


def translate_text(text: str, translator: Translator, cache: TranslationCache) -> tuple[str, list[list[str]]]:
    """(joined translation, aligned [source, target] pairs) of one page's text."""
    sentences = split_sentences(text)
    wanted = [s for s in sentences if needs_translation(s)]
    known = cache.get_many(translator.model_id, wanted)
    missing = list(dict.fromkeys(s for s in wanted if s not in known))
    if missing:
        fresh = dict(zip(missing, translator.translate_segments(missing), strict=True))
        cache.put_many(translator.model_id, fresh)
        known.update(fresh)
    pairs = [[s, known[s] if needs_translation(s) else s] for s in sentences]
    return "\n".join(t for _, t in pairs), pairs


class TranslateStep:
    """Translate Chinese pages when a zh->en model is installed; otherwise mark them pending."""

    name = "translate"

    def __init__(self, archive: Archive):
        self.archive = archive
        self._translator: ArgosTranslator | None = None

    def translator(self) -> ArgosTranslator:
        if self._translator is None:
            self._translator = ArgosTranslator(self.archive.root)
        return self._translator

    def needed(self, work: DocWork) -> bool:
        return any(is_chinese(p.lang) and _HAN.search(p.text) for p in work.pages)

    def run(self, work: DocWork) -> None:
        pages = [p for p in work.pages if is_chinese(p.lang) and _HAN.search(p.text)]
        translator = self.translator()
        if not translator.available():
            for page in pages:
                page.meta["translation_status"] = "pending"
            return
        cache = TranslationCache(self.archive.store.db)
        try:
            for page in pages:
                translation, pairs = translate_text(page.text, translator, cache)
                page.meta.update(translation=translation, segments=pairs, translation_status="done")
        except TranslationError as exc:
            for page in pages:
                page.meta.setdefault("translation_status", "pending")
            raise StageError("translate", str(exc)) from exc


def backfill(archive: Archive, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Translate pages left pending (ingested before a model was installed) and re-index them."""
    translator = ArgosTranslator(archive.root)
    if not translator.available():
        raise TranslationError("no zh->en model installed: run `foi models install zh en` or `--file`")
    cache = TranslationCache(archive.store.db)
    rows = archive.store.db.execute(
        "SELECT id, document_id, text FROM pages WHERE translation_status='pending' "
        "OR (lang LIKE 'zh%' AND translation IS NULL) ORDER BY document_id, number"
    ).fetchall()
    docs: set[int] = set()
    translated = 0
    for row in rows:
        if _HAN.search(row["text"] or ""):
            translation, pairs = translate_text(row["text"], translator, cache)
            archive.store.update_page(row["id"], translation=translation, segments=pairs, translation_status="done")
            docs.add(row["document_id"])
            translated += 1
        if progress:
            progress(1)
    for doc_id in sorted(docs):
        archive.store.set_stage(doc_id, "translate", "ok")
        archive.index_document(doc_id)
    return {"pages": translated, "documents": len(docs)}


def _register() -> None:
    from .core import register_step

    register_step(TranslateStep)


_register()
