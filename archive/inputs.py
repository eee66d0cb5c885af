"""Which files an ingest reads, and how names that are not text are stored.

`select_files` walks the given paths. Only regular files are read. A path named by the caller is
taken as named (a symbolic link given on the command line is read through, like `find -H`);
inside a folder, symbolic links are not followed unless asked (`--follow-symlinks`), and then
only to targets inside the given paths (a link to /etc/passwd in a dump is never read). FIFOs,
devices and sockets are never opened (reading a FIFO would block the ingest). Everything left
out that is not hidden (dot files are skipped silently, as before) comes back as `Skipped`, with
the reason, for the ingest report; a dangling or looping link is one of them, not an error that
stops the batch.

File names are bytes on POSIX: Python carries undecodable bytes as lone surrogates, which SQLite
(and JSON output) cannot take. `display_name` makes the stored, shown form (the bytes that are not
UTF-8 written as backslash escapes) and `raw_name_hex` keeps the exact bytes recoverable.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SELECT_STAGE = "select"  # the stage name of a skipped entry in the ingest report


@dataclass(frozen=True)
class InputFile:
    """A regular file to ingest: `path` is what is read (a followed link's target), `shown` where
    it was found (the link itself); they are the same path for a plain file."""

    path: Path
    shown: Path


@dataclass(frozen=True)
class Skipped:
    """An entry under the given paths that is not read, and why."""

    path: Path
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": display_name(str(self.path)), "stage": SELECT_STAGE, "reason": self.reason}


def _raw_bytes(name: str) -> bytes:
    try:
        return name.encode("utf-8", "surrogateescape")  # how Python decoded the file name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogatepass")  # other lone surrogates (not from a file name)


def display_name(name: str) -> str:
    """`name` as valid UTF-8 text: unchanged when it is, else the bytes that are not UTF-8 as
    `\\xNN` escapes (b"b_bad\\xff.txt" is shown as `b_bad\\xff.txt`)."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return _raw_bytes(name).decode("utf-8", "backslashreplace")


def raw_name_hex(name: str) -> str | None:
    """The exact bytes of a name that is not valid UTF-8, in hex (None for a name that is)."""
    try:
        name.encode("utf-8")
        return None
    except UnicodeEncodeError:
        return _raw_bytes(name).hex()


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _not_regular(mode: int) -> str:
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return f"{kind}: not read (only regular files are ingested)"


def _within(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _error(exc: OSError | RuntimeError) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def select_files(
    paths: Iterable[Path | str], follow_symlinks: bool = False, roots: Iterable[Path] | None = None
) -> Iterator[InputFile | Skipped]:
    """Regular files under `paths` (folders recursively, names sorted, hidden entries skipped)
    and the entries left out. `roots`: where followed links may point (default: the paths)."""
    given = [Path(p) for p in paths]
    if roots is None:
        roots = [p.resolve() for p in given if p.exists()]
    allowed = list(roots)
    for path in given:
        try:
            st = path.stat()  # a path the caller named is read through a link
            real = path.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            yield Skipped(path, f"cannot be read: {_error(exc)}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(path, follow_symlinks, allowed, {(st.st_dev, st.st_ino)})
        elif stat.S_ISREG(st.st_mode):
            yield InputFile(real if path.is_symlink() else path, path)
        else:
            yield Skipped(path, _not_regular(st.st_mode))


def _walk(
    folder: Path, follow: bool, roots: list[Path], seen: set[tuple[int, int]]
) -> Iterator[InputFile | Skipped]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        yield Skipped(folder, f"folder cannot be read: {_error(exc)}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            yield Skipped(path, f"cannot be read: {_error(exc)}")
            continue
        target = path
        if stat.S_ISLNK(st.st_mode):
            if not follow:
                yield Skipped(path, "symbolic link: not followed (use --follow-symlinks)")
                continue
            try:
                target = path.resolve(strict=True)
                st = target.stat()
            except (OSError, RuntimeError) as exc:  # dangling, or a loop of links
                yield Skipped(path, f"symbolic link cannot be followed: {_error(exc)}")
                continue
            if not _within(target, roots):
                yield Skipped(path, "symbolic link to a target outside the given paths: not followed")
                continue
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in seen:  # a link back to a folder being walked
                yield Skipped(path, "folder already being read (a loop of links): not read again")
                continue
            yield from _walk(path, follow, roots, seen | {key})
        elif stat.S_ISREG(st.st_mode):
            yield InputFile(target, path)
        else:
            yield Skipped(path, _not_regular(st.st_mode))
