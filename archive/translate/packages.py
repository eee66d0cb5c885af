"""Argos packages (`.argosmodel`: a CTranslate2 model plus a SentencePiece model) under the
archive folder (`<archive>/models/argos`): listing them, installing one from a file or from the
Argos package index (`foi models install`)."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_INDEX = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json"
FETCH_TIMEOUT = 60.0


class TranslationError(RuntimeError):
    """A model that cannot be installed or loaded; the message is for the user."""


def argos_home(archive_root: Path) -> Path:
    return Path(archive_root).resolve() / "models" / "argos"


@contextmanager
def scoped_environment(values: dict[str, str]) -> Iterator[None]:
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
        with scoped_environment(
            {
                "ARGOS_PACKAGES_DIR": str(dirs["packages"]),
                "XDG_DATA_HOME": str(dirs["data"]),
                "XDG_CACHE_HOME": str(dirs["cache"]),
                "XDG_CONFIG_HOME": str(dirs["config"]),
            }
        ):
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


def version_key(metadata: dict[str, Any]) -> tuple[int, ...]:
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
        m
        for m in index
        if isinstance(m, dict)
        and m.get("from_code") == from_code
        and m.get("to_code") == to_code
        and m.get("type", "translate") == "translate"
    ]
    if not candidates:
        raise TranslationError(f"no {from_code}->{to_code} model in the Argos index {url}")
    metadata = max(candidates, key=version_key)
    available = package.AvailablePackage(metadata)
    links = [urllib.parse.urljoin(url, str(link)) for link in metadata.get("links") or []]
    if not links:
        raise TranslationError(
            f"the {from_code}->{to_code} entry of the Argos index {url} has no download link"
        )
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
