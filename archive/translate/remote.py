"""Translation on a Dask cluster's workers, with the model the coordinator has installed.

Workers on other machines need not have the model. When an ingest on a cluster first meets the
translate step, the coordinator zips its installed package folder (`<archive>/models/argos/
packages/<name>`) once and registers it with the scheduler as a Dask worker plugin
(`ModelPlugin`): Dask hands the plugin to every worker once, to those there now and to those
that join later (`--scale worker=N`, a worker restarted by its nanny). The worker unpacks it
into its own folder (`<worker local directory>/foi-argos/<digest>`), and the step a worker
builds from `WorkerTranslation` (once per process, archive/portable.py) loads the model once.

The worker runs the same code as the local step (`step.translate_pages`), with the same model
files, so the stored translations are the same. Its translation cache is the worker's own (a
SQLite file in its folder); the archive's cache on the coordinator is not read or filled.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sqlite3
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distributed.diagnostics.plugin import WorkerPlugin

from ..models import StageError
from .cache import TranslationCache
from .engine import ArgosTranslator
from .packages import TranslationError
from .pages import chinese_pages, translate_pages

if TYPE_CHECKING:
    from ..steps import DocWork, Step

# The model folders unpacked in this process (on a worker), by the digest of the package sent.
_FOLDERS: dict[str, Path] = {}
_FOLDERS_LOCK = threading.Lock()
_PAGES_TRANSLATED = 0  # pages this process translated as a worker (tests read it with `client.run`)


def pack_package(folder: Path) -> tuple[bytes, str]:
    """An installed package folder as zip bytes (stored, names sorted, fixed times: the same
    folder gives the same bytes) and their sha256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(
                f"{folder.name}/{path.relative_to(folder).as_posix()}", (1980, 1, 1, 0, 0, 0)
            )
            zf.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def unpack_package(data: bytes, digest: str, under: Path) -> Path:
    """Unpack a packed package under `under/<digest>` as an archive root whose Argos folder
    holds it (what `ArgosTranslator` reads); done once per folder: unpacked whole, then renamed."""
    root = under / digest
    if not (root / "complete").is_file():
        under.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=under))
        packages = scratch / "models" / "argos" / "packages"
        packages.mkdir(parents=True)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():  # our own zip, but a path must stay inside the folder
                if name.startswith("/") or ".." in Path(name).parts:
                    raise TranslationError(f"unsafe path in the model sent to this worker: {name}")
            zf.extractall(packages)
        (scratch / "complete").write_text(digest)
        shutil.rmtree(root, ignore_errors=True)
        os.replace(scratch, root)
    return root


class ModelPlugin(WorkerPlugin):
    """A Dask worker plugin carrying a packed package: each worker unpacks it into its local
    directory when it gets the plugin. Idempotent: registered again (the next ingest), it is
    not set up again on the workers that have it."""

    idempotent = True

    def __init__(self, data: bytes, digest: str):
        self.data = data
        self.digest = digest
        self.name = f"foi-argos-{digest[:16]}"

    def setup(self, worker: Any) -> None:
        root = unpack_package(self.data, self.digest, Path(worker.local_directory) / "foi-argos")
        with _FOLDERS_LOCK:
            _FOLDERS[self.digest] = root


def send_model(client: Any, package_folder: Path) -> str:
    """Register the package at `package_folder` with the cluster (every worker, present and
    future, unpacks it once); returns its digest, which names it in `WorkerTranslation`.
    Raises what a worker raised when it could not unpack it."""
    data, digest = pack_package(package_folder)
    plugin = ModelPlugin(data, digest)
    client.register_plugin(plugin, name=plugin.name)
    return digest


def worker_threads() -> int:
    """CTranslate2 threads of a worker's model: FOI_TRANSLATE_THREADS, else 1 (a worker runs one
    task per core)."""
    value = os.environ.get("FOI_TRANSLATE_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 1


def pages_translated() -> int:
    """Pages this process translated as a worker (`client.run(pages_translated)` in tests)."""
    return _PAGES_TRANSLATED


def models_unpacked() -> list[str]:
    """The digests of the models unpacked in this process (`client.run(models_unpacked)`)."""
    with _FOLDERS_LOCK:
        return sorted(_FOLDERS)


class WorkerTranslateStep:
    """The translate step as a worker runs it: the model sent by the coordinator, loaded once
    per process, and a translation cache of the worker's own (one connection a thread)."""

    name = "translate"

    def __init__(self, digest: str):
        self.digest = digest
        self._reason = threading.local()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._translator: ArgosTranslator | None = None

    @property
    def skip_reason(self) -> str | None:
        return getattr(self._reason, "value", None)

    def translator(self) -> ArgosTranslator:
        with self._lock:
            if self._translator is None:
                with _FOLDERS_LOCK:
                    root = _FOLDERS.get(self.digest)
                if root is None:
                    raise TranslationError("the coordinator's model was not installed on this worker")
                translator = ArgosTranslator(root, threads=worker_threads())
                translator.load()
                self._translator = translator
            return self._translator

    def _cache(self) -> TranslationCache:
        cache: TranslationCache | None = getattr(self._local, "cache", None)
        if cache is None:
            folder = _FOLDERS[self.digest]
            db = sqlite3.connect(folder / "translation-cache.sqlite", timeout=30, isolation_level=None)
            cache = self._local.cache = TranslationCache(db)
        return cache

    def needed(self, work: DocWork) -> bool:
        if not chinese_pages(work):
            self._reason.value = "no Chinese text"
            return False
        self._reason.value = None
        return True

    def run(self, work: DocWork) -> None:
        global _PAGES_TRANSLATED
        try:
            translator = self.translator()
        except TranslationError as exc:  # as when the model cannot run locally: pending for `foi translate`
            for page in chinese_pages(work):
                page.meta["translation_status"] = "pending"
            raise StageError("translate", str(exc)) from exc
        count = translate_pages(work, translator, self._cache())
        with _FOLDERS_LOCK:
            _PAGES_TRANSLATED += count


@dataclass(frozen=True)
class WorkerTranslation:
    """What a worker builds its translate step from: the digest of the model sent to it."""

    digest: str

    def build(self) -> Step:
        return WorkerTranslateStep(self.digest)
