"""Offline Chinese-to-English translation with Argos Translate models.

Models are Argos packages (`.argosmodel`: a CTranslate2 model plus a SentencePiece model),
installed and listed through `argostranslate` with its folders under the archive folder
(`<archive>/models/argos`). Sentences are split here (Chinese 。！？； and line structure, English
punctuation); only sentences with Chinese in them are translated, on any page whatever its
detected language, in batches through the package's CTranslate2 model, and every translation is
cached by model and sentence hash. Pages keep aligned [source, target] pairs for a side-by-side
view.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .language import is_chinese
from .models import StageError

if TYPE_CHECKING:
    from .core import Archive
    from .pipeline import DocWork, StepContext

log = logging.getLogger(__name__)

# CJK ideographs: Extension A, the unified block, compatibility ideographs, Extensions B and on.
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# A sentence ends after Chinese 。！？； (and their ASCII forms) or after English . ! ? before a space.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=[.])(?=\s)")

DEFAULT_INDEX = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"
FETCH_TIMEOUT = 60.0
# Sentences sent to the model at once by `foi translate` (across pages and documents).
BACKFILL_CHUNK = 512


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
    return bool(HAN.search(sentence))


def has_chinese(text: str | None) -> bool:
    return bool(text and HAN.search(text))


# -- Argos -------------------------------------------------------------------------------------


def argos_home(archive_root: Path) -> Path:
    return Path(archive_root).resolve() / "models" / "argos"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then put back what was there."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def use_argos(archive_root: Path) -> Any:
    """Import argostranslate with its folders under the archive; returns `argostranslate.package`.

    argostranslate reads its settings (and creates its folders) at import time, so the first
    import runs with its environment pointed under the archive; the variables are put back
    afterwards so that nothing else in the process (or its children) sees them. Its settings
    module is then pointed at this archive's folders on every call, as another archive in the
    same process may have used it before.
    """
    home = argos_home(archive_root)
    dirs = {name: home / name for name in ("packages", "data", "cache", "config")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    if "argostranslate.settings" not in sys.modules:
        with _environment({
            "ARGOS_PACKAGES_DIR": str(dirs["packages"]),
            "XDG_DATA_HOME": str(dirs["data"]),
            "XDG_CACHE_HOME": str(dirs["cache"]),
            "XDG_CONFIG_HOME": str(dirs["config"]),
        }):
            import argostranslate.package
    import argostranslate.package
    import argostranslate.settings as settings

    settings.package_data_dir = dirs["packages"]
    settings.package_dirs = [dirs["packages"]]
    settings.data_dir = dirs["data"] / "argos-translate"
    settings.config_dir = dirs["config"] / "argos-translate"
    settings.settings_file = settings.config_dir / "settings.json"
    settings.cache_dir = dirs["cache"] / "argos-translate"
    settings.downloads_dir = settings.cache_dir / "downloads"
    settings.local_package_index = settings.data_dir / "index.json"
    for path in (settings.data_dir, settings.config_dir, settings.downloads_dir):
        Path(path).mkdir(parents=True, exist_ok=True)
    return argostranslate.package


def installed_packages(archive_root: Path) -> list[Any]:
    """Installed Argos packages of the archive, by folder name; folders that are not packages
    (no readable metadata.json) are left out rather than failing the listing."""
    package = use_argos(archive_root)
    folder = argos_home(archive_root) / "packages"
    found = []
    for path in sorted(folder.iterdir()):
        if not (path / "metadata.json").is_file():
            continue
        try:
            found.append(package.Package(path))
        except (OSError, ValueError, KeyError) as exc:  # a broken folder: skip it, say so in debug
            log.debug("skipping Argos package %s: %s", path, exc)
    return found


def _package_folders(path: Path) -> list[str]:
    """Top-level folders of an .argosmodel zip that hold a metadata.json (usually exactly one)."""
    if not zipfile.is_zipfile(path):
        raise TranslationError(f"not a valid Argos package: {path}: not a zip archive")
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise TranslationError(f"not a valid Argos package: {path}: {exc}") from exc
    folders = sorted({n.split("/")[0] for n in names if n.count("/") == 1 and n.endswith("/metadata.json")})
    if not folders:
        raise TranslationError(f"not a valid Argos package: {path}: no <name>/metadata.json inside")
    return folders


def install_from_file(archive_root: Path, path: Path) -> Any:
    """Install an .argosmodel file; returns the package it holds (the same package again when
    the same file is installed twice: it is unpacked over the installed copy)."""
    package = use_argos(archive_root)
    folders = _package_folders(Path(path))
    try:
        package.install_from_path(Path(path))
    except Exception as exc:  # argostranslate raises bare Exception for bad files
        raise TranslationError(f"not a valid Argos package: {path}: {exc}") from exc
    by_name = {Path(p.package_path).name: p for p in installed_packages(archive_root)}
    for name in folders:
        if name in by_name:
            return by_name[name]
    raise TranslationError(f"not a valid Argos package: {path}: its metadata.json cannot be read")


def index_url() -> str:
    """The Argos package index: ARGOS_PACKAGE_INDEX (a folder URL holding index.json, as
    argostranslate reads it, or the URL of a .json file), read at call time; else the public one."""
    base = os.environ.get("ARGOS_PACKAGE_INDEX", "").strip()
    if not base:
        return DEFAULT_INDEX
    if base.endswith(".json"):
        return base
    return base.rstrip("/") + "/index.json"


def _fetch(url: str, what: str) -> bytes:
    """Bytes at an http(s) or file URL, or a TranslationError that says what failed."""
    if urllib.parse.urlsplit(url).scheme not in {"http", "https", "file"}:
        raise TranslationError(f"cannot fetch {what} {url}: unsupported URL")
    request = urllib.request.Request(url, headers={"User-Agent": "foi-archive"})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        raise TranslationError(f"cannot fetch {what} {url}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason if isinstance(exc.reason, str) else str(exc.reason or exc)
        raise TranslationError(f"cannot fetch {what} {url}: {reason}") from exc
    except (OSError, ValueError) as exc:  # timeouts, resets, malformed URLs
        raise TranslationError(f"cannot fetch {what} {url}: {exc}") from exc


def _version_key(metadata: dict[str, Any]) -> tuple[int, ...]:
    parts = re.findall(r"\d+", str(metadata.get("package_version", "0")))
    return tuple(int(p) for p in parts) or (0,)


def install_from_index(archive_root: Path, from_code: str, to_code: str) -> Any:
    """Download and install a model from the Argos package index (needs a network, or a local
    index: ARGOS_PACKAGE_INDEX may be a file:// URL and links may be file:// or relative URLs).

    The index is fetched here rather than by argostranslate's update_package_index, which
    swallows network errors (and get_available_packages then recurses on the missing file)."""
    package = use_argos(archive_root)
    import argostranslate.settings as settings

    url = index_url()
    offline = "(offline? install a file with `foi models install --file PATH.argosmodel`)"
    try:
        data = _fetch(url, "the Argos package index")
    except TranslationError as exc:
        raise TranslationError(f"{exc} {offline}") from exc
    try:
        index = json.loads(data)
        if not isinstance(index, list):
            raise ValueError("not a list of packages")
    except ValueError as exc:
        raise TranslationError(f"the Argos package index {url} is not valid: {exc}") from exc
    Path(settings.local_package_index).write_bytes(data)

    candidates = [
        m for m in index
        if isinstance(m, dict) and m.get("from_code") == from_code and m.get("to_code") == to_code
        and m.get("type", "translate") == "translate"
    ]
    if not candidates:
        raise TranslationError(f"no {from_code}->{to_code} model in the Argos index {url}")
    metadata = max(candidates, key=_version_key)
    available = package.AvailablePackage(metadata)
    links = [urllib.parse.urljoin(url, str(link)) for link in metadata.get("links") or []]
    if not links:
        raise TranslationError(f"the {from_code}->{to_code} entry of the Argos index {url} has no download link")
    target = Path(settings.downloads_dir) / f"{package.argospm_package_name(available)}.argosmodel"
    problems = []
    for link in links:
        try:
            blob = _fetch(link, "the model")
        except TranslationError as exc:
            problems.append(str(exc))
            continue
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, target)
        try:
            return install_from_file(archive_root, target)
        finally:
            target.unlink(missing_ok=True)
    raise TranslationError("; ".join(problems))


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
    with _environment({"OMP_WAIT_POLICY": policy}):
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
        matches = [p for p in installed_packages(self.root)
                   if p.from_code == self.from_code and p.to_code == self.to_code]
        if not matches:
            return
        pkg = max(matches, key=lambda p: (_version_key({"package_version": getattr(p, "package_version", "0")}),
                                          Path(p.package_path).name))
        self._package = pkg
        version = getattr(pkg, "package_version", "0")
        self.model_id = f"argos:{pkg.from_code}-{pkg.to_code}:{version}:{Path(pkg.package_path).name}"

    def available(self) -> bool:
        return self._package is not None

    @property
    def package_path(self) -> Path:
        if self._package is None:
            raise TranslationError(f"no {self.from_code}->{self.to_code} model installed (foi models install)")
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
        """Store translations, in one transaction (the caller's when it has one open)."""
        if not pairs:
            return
        own = not self.db.in_transaction
        if own:
            self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "INSERT OR REPLACE INTO translation_cache(model, sha, target) VALUES (?,?,?)",
                [(model, self.key(s), t) for s, t in pairs.items()],
            )
        except BaseException:
            if own:
                self.db.execute("ROLLBACK")
            raise
        if own:
            self.db.execute("COMMIT")


def _plan(
    texts: Sequence[str], model_id: str, cache: TranslationCache, exclude: set[str] | frozenset[str] = frozenset()
) -> tuple[list[list[str]], dict[str, str], list[str]]:
    """Sentences of each text, the cached translations among them, and the distinct sentences
    the model must translate (less those in `exclude`: already on their way to the model)."""
    split = [split_sentences(text) for text in texts]
    wanted = [s for sentences in split for s in sentences if needs_translation(s)]
    known = cache.get_many(model_id, wanted) if wanted else {}
    missing = list(dict.fromkeys(s for s in wanted if s not in known and s not in exclude))
    return split, known, missing


def _aligned(split: list[list[str]], known: dict[str, str]) -> list[tuple[str, list[list[str]]]]:
    out = []
    for sentences in split:
        pairs = [[s, known[s] if needs_translation(s) else s] for s in sentences]
        out.append(("\n".join(t for _, t in pairs), pairs))
    return out


def translate_texts(
    texts: Sequence[str], translator: Translator, cache: TranslationCache
) -> list[tuple[str, list[list[str]]]]:
    """(joined translation, aligned [source, target] pairs) of each text, with every sentence
    missing from the cache sent to the model in one call (the model batches them itself), and
    the new translations written to the cache."""
    split, known, missing = _plan(texts, translator.model_id, cache)
    if missing:
        fresh = dict(zip(missing, translator.translate_segments(missing), strict=True))
        cache.put_many(translator.model_id, fresh)
        known.update(fresh)
    return _aligned(split, known)


def translate_text(text: str, translator: Translator, cache: TranslationCache) -> tuple[str, list[list[str]]]:
    """(joined translation, aligned [source, target] pairs) of one page's text."""
    return translate_texts([text], translator, cache)[0]


NO_MODEL = "no model installed"


class TranslateStep:
    """Translate the Chinese sentences of every page when a zh->en model is installed.

    With no model the step is skipped (`skip_reason` says why) and pages with Chinese in them
    are marked translation-pending for `foi translate`; Chinese-language pages with no Han
    characters (nothing to translate) are marked skipped so they never wait for a model."""

    name = "translate"

    def __init__(self, archive: StepContext):
        self.archive = archive
        self._translator: ArgosTranslator | None = None
        self.skip_reason: str | None = None

    def translator(self) -> ArgosTranslator:
        if self._translator is None:
            self._translator = ArgosTranslator(self.archive.root)
        return self._translator

    def needed(self, work: DocWork) -> bool:
        pages = [p for p in work.pages if has_chinese(p.text)]
        for page in work.pages:
            if not has_chinese(page.text) and is_chinese(page.lang):
                page.meta["translation_status"] = "skipped"
        if not pages:
            self.skip_reason = "no Chinese text"
            return False
        if not self.translator().available():
            for page in pages:
                page.meta["translation_status"] = "pending"
            self.skip_reason = NO_MODEL
            return False
        self.skip_reason = None
        return True

    def run(self, work: DocWork) -> None:
        pages = [p for p in work.pages if has_chinese(p.text)]
        translator = self.translator()
        cache = TranslationCache(self.archive.store.db)
        try:
            results = translate_texts([p.text for p in pages], translator, cache)
        except TranslationError as exc:
            for page in pages:
                page.meta["translation_status"] = "pending"
            raise StageError("translate", str(exc)) from exc
        for page, (translation, pairs) in zip(pages, results, strict=True):
            page.meta.update(translation=translation, segments=pairs, translation_status="done")


# Pages `foi translate` looks at: those marked pending, and Chinese pages from before statuses.
PENDING_WHERE = "translation_status='pending' OR (translation_status IS NULL AND lang LIKE 'zh%' AND translation IS NULL)"


def pending_count(archive: Archive) -> int:
    return int(archive.store.db.execute(f"SELECT count(*) FROM pages WHERE {PENDING_WHERE}").fetchone()[0])


@dataclass
class _Job:
    """One chunk of `foi translate`: its documents' pending pages, and the model call under way."""

    chunk: list[tuple[int, list[Any]]]
    todo: list[Any]
    split: list[list[str]]
    known: dict[str, str]
    missing: list[str]
    future: Future[list[str]] | None


def backfill(
    archive: Archive,
    progress: Callable[[int], None] | None = None,
    translator: ArgosTranslator | None = None,
    chunk_sentences: int = BACKFILL_CHUNK,
) -> dict[str, int]:
    """Translate pages left pending (ingested before a model was installed) and re-index them.

    Pages are taken a whole document at a time into chunks of about `chunk_sentences` sentences,
    and each chunk's sentences go to the model in one call, so small pages do not cost a model
    call each. While the model translates one chunk (in a worker thread: CTranslate2 releases
    the GIL) the previous chunk's pages, cache entries and stages are written in one transaction
    and its documents re-indexed, so the database and index work overlaps the model's. A kill
    loses at most the chunks not yet written; their pages stay pending."""
    translator = translator or ArgosTranslator(archive.root)
    if not translator.available():
        raise TranslationError("no zh->en model installed: run `foi models install zh en` or `--file`")
    store = archive.store
    model_id = translator.model_id
    cache = TranslationCache(store.db)
    # Document ids first, texts one document at a time: the whole backlog is never in memory.
    doc_ids = [int(r[0]) for r in store.db.execute(
        f"SELECT DISTINCT document_id FROM pages WHERE {PENDING_WHERE} ORDER BY document_id")]
    totals = {"pages": 0, "documents": 0}

    def chunks() -> Iterator[list[tuple[int, list[Any]]]]:
        chunk: list[tuple[int, list[Any]]] = []
        size = 0
        for doc_id in doc_ids:
            doc_rows = store.db.execute(
                f"SELECT id, document_id, text FROM pages WHERE document_id=? AND ({PENDING_WHERE}) "
                "ORDER BY number",
                (doc_id,),
            ).fetchall()
            chunk.append((doc_id, doc_rows))
            size += sum(len(split_sentences(r["text"])) for r in doc_rows if has_chinese(r["text"]))
            if size >= chunk_sentences:
                yield chunk
                chunk, size = [], 0
        if chunk:
            yield chunk

    def start(chunk: list[tuple[int, list[Any]]], inflight: _Job | None) -> _Job:
        todo = [row for _, doc_rows in chunk for row in doc_rows if has_chinese(row["text"])]
        exclude = set(inflight.missing) if inflight else set()
        split, known, missing = _plan([row["text"] for row in todo], model_id, cache, exclude)
        future = pool.submit(translator.translate_segments, missing) if missing else None
        return _Job(chunk, todo, split, known, missing, future)

    def finish(job: _Job, previous: dict[str, str]) -> dict[str, str]:
        """Write a chunk once its model call is done; returns its new translations."""
        targets = job.future.result() if job.future is not None else []
        fresh = dict(zip(job.missing, targets, strict=True))
        known = {**previous, **job.known, **fresh}  # `previous`: what the chunk before translated
        changed = sorted({row["document_id"] for row in job.todo})
        with store.transaction():
            cache.put_many(model_id, fresh)
            for row, (translation, pairs) in zip(job.todo, _aligned(job.split, known), strict=True):
                store.update_page(row["id"], translation=translation, segments=pairs, translation_status="done")
            for _, doc_rows in job.chunk:
                for row in doc_rows:
                    if not has_chinese(row["text"]):  # nothing to translate: never pending again
                        store.update_page(row["id"], translation_status="skipped")
            for doc_id in changed:
                store.set_stage(doc_id, "translate", "ok")
                # Pending for the search index until re-indexed (a kill before that leaves the
                # document to `catch_up_index`).
                store.update_document(doc_id, index_pending=1)
        for doc_id in changed:
            refresh(doc_id)
        totals["documents"] += len(changed)
        totals["pages"] += len(job.todo)
        if progress:
            progress(sum(len(doc_rows) for _, doc_rows in job.chunk))
        return fresh

    entity_extractors: list[Any] | None = None

    def refresh(doc_id: int) -> None:
        """Entities read the new translation too (the entity step ran before it existed); that
        re-indexes the document, else re-index it here."""
        nonlocal entity_extractors
        try:
            from .entities import archive_watchlists, default_extractors, rescan_document
        except ModuleNotFoundError:
            archive.index_document(doc_id)
            return
        if entity_extractors is None:
            opts = archive.config.get("entities") or {}
            entity_extractors = default_extractors(
                archive_watchlists(archive.root), builtin_watchlist=opts.get("builtin_watchlist", True)
            )
        rescan_document(archive, doc_id, entity_extractors)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="foi-translate")
    try:
        inflight: _Job | None = None
        previous: dict[str, str] = {}
        for chunk in chunks():
            job = start(chunk, inflight)
            if inflight is not None:
                previous = finish(inflight, previous)
            inflight = job
        if inflight is not None:
            finish(inflight, previous)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    flush_index = getattr(archive, "flush_index", None)  # a batching backend sends its queue now
    if flush_index is not None:
        flush_index()
    return totals
