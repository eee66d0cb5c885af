"""Tar (plain, .tgz, .tar.bz2, .tar.xz), 7z (split .7z.001 sets too) and RAR archives, read like
zip (archives.py) under the same limits: member names made safe and never used as paths on disk,
links and device files never followed or created, the member count, a member's size and
compression ratio and the tree's budget (documents, bytes, depth, time) enforced while streaming,
and the ingester's passwords tried on encrypted archives.

tarfile (standard library) streams tar members; py7zr decompresses 7z into sinks of ours; rarfile
reads RAR headers itself and decompresses through `unar` or `bsdtar`. A lone gzip, bzip2 or xz
file that is not a tar becomes its one decompressed member.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import re
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from ..limits import TreeBudget, TreeLimits
from ..models import ChildFile, Extraction, PageResult, Source, StageError
from . import ExtractContext, register
from .archives import (
    _RATIO_MIN_SIZE,
    CHUNK,
    MAX_COMPRESSION_RATIO,
    MAX_DEPTH,
    MAX_MEMBER_SIZE,
    MAX_MEMBERS,
    safe_member_path,
)


class _TooLarge(Exception):
    pass


@dataclass
class Member:
    name: str  # as the archive stores it
    size: int  # declared (uncompressed) size
    packed: int = 0  # compressed size when the format says it (0: unknown)
    is_dir: bool = False
    encrypted: bool = False
    link: str | None = None  # a symbolic or hard link's target: kept as metadata, never followed
    special: bool = False  # a device, FIFO or socket: listed, not read


class MemberSink:
    """One member being written to the scratch folder, refusing to grow past its limit."""

    def __init__(self, path: Path, limit: int, packed: int, name: str):
        self.path, self.limit, self.packed, self.name = path, limit, packed, name
        self.size = 0
        self.digest = hashlib.sha256()
        self.fh: IO[bytes] | None = open(path, "wb")  # noqa: SIM115 - closed by close()

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.size > self.limit:
            raise _TooLarge(f"{self.name}: inflates beyond the size limit ({self.limit} bytes)")
        if self.packed and self.size > _RATIO_MIN_SIZE and self.size > MAX_COMPRESSION_RATIO * self.packed:
            raise _TooLarge(f"{self.name}: compression ratio above {MAX_COMPRESSION_RATIO}")
        self.digest.update(chunk)
        assert self.fh is not None
        self.fh.write(chunk)
        return len(chunk)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


class ContainerReading:
    """The bookkeeping every container shares: the listing, the children written, warnings, and
    the first limit that cut the reading (which the ingester records on the container)."""

    def __init__(self, source: Source, ctx: ExtractContext, what: str, members: list[Member]):
        self.source, self.ctx, self.what = source, ctx, what
        self.budget = ctx.budget or TreeBudget(TreeLimits())
        if len(members) > MAX_MEMBERS:
            raise StageError("extract", f"{what} has {len(members)} members (limit {MAX_MEMBERS})")
        declared = sum(m.size for m in members if not m.is_dir)
        if declared > self.budget.bytes_left:
            raise StageError(
                "extract",
                f"{what} would expand to {declared} bytes (limit {self.budget.limits.bytes} for the "
                f"whole archive tree, {self.budget.bytes_left} left)",
            )
        self.files = [m for m in members if not m.is_dir and safe_member_path(m.name)]
        self.outdir = Path(ctx.workdir) / "members"
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.children: list[ChildFile] = []
        self.warnings: list[str] = []
        self.listing: list[str] = []
        self.refused: list[str] = []
        self.sinks_made = 0
        self.written = 0
        self.cut: str | None = (
            f"archive nested deeper than {MAX_DEPTH} levels: {len(self.files)} members not read"
            if ctx.depth >= MAX_DEPTH
            else None
        )

    def admit(self, member: Member) -> bool:
        """List the member; True when it may be written now."""
        name = safe_member_path(member.name)
        if member.is_dir or not name:
            return False
        self.listing.append(name)
        if self.cut is None:
            limit = self.budget.over_time() or (
                f"limit of {self.budget.limits.documents} documents per top-level file reached "
                "(FOI_TREE_MAX_DOCUMENTS)"
                if len(self.children) >= self.budget.documents_left
                else None
            )
            if limit is not None:
                self.cut = f"{limit}: {len(self.files) - len(self.listing) + 1} of {len(self.files)} members not read"
        if self.cut is not None:
            return False
        if member.link is not None or member.special:
            kind = "link to " + member.link if member.link is not None else "device or FIFO"
            self.warnings.append(f"{name}: {kind} not followed")
            return False
        if member.size > MAX_MEMBER_SIZE:
            self.warnings.append(f"{name}: {member.size} bytes exceeds the member limit {MAX_MEMBER_SIZE}")
            self.refused.append(name)
            return False
        if (
            member.packed
            and member.size > _RATIO_MIN_SIZE
            and member.size > MAX_COMPRESSION_RATIO * member.packed
        ):
            self.warnings.append(f"{name}: compression ratio above {MAX_COMPRESSION_RATIO} (bomb?) skipped")
            self.refused.append(name)
            return False
        return True

    def sink(self, member: Member) -> MemberSink:
        suffix = PurePosixPath(safe_member_path(member.name)).suffix[:16]
        # Numbered by sinks made, not by members listed: 7z lists every member before writing any.
        self.sinks_made += 1
        target = self.outdir / f"member-{self.sinks_made:05d}{suffix}"
        room = min(self.budget.bytes_left - self.written, MAX_MEMBER_SIZE)
        return MemberSink(target, room, member.packed, safe_member_path(member.name))

    def keep(self, member: Member, sink: MemberSink, decrypted: bool = False) -> None:
        sink.close()
        self.written += sink.size
        meta: dict[str, Any] = {"archive": {"member": sink.name, "size": sink.size}}
        if decrypted:
            meta["archive"]["decrypted"] = True
        self.children.append(ChildFile(name=sink.name, path=sink.path, meta=meta))

    def drop(self, sink: MemberSink, why: str | None = None) -> None:
        sink.close()
        sink.path.unlink(missing_ok=True)
        if why:
            self.warnings.append(why)

    def copy(self, member: Member, stream: IO[bytes], decrypted: bool = False, strict: bool = False) -> None:
        """Stream one admitted member to disk; a member over a limit stops the reading, and so
        does a damaged one when `strict` (the only member of a compressed file)."""
        sink = self.sink(member)
        try:
            for chunk in iter(lambda: stream.read(CHUNK), b""):
                sink.write(chunk)
        except _TooLarge as exc:
            self.drop(sink)
            raise StageError("extract", str(exc)) from None
        except StageError:
            self.drop(sink)
            raise
        except Exception as exc:  # a corrupt member: the others are still read
            if strict:
                self.drop(sink)
                raise
            self.drop(sink, f"{sink.name}: unreadable ({type(exc).__name__})")
            return
        self.keep(member, sink, decrypted)

    def result(self, metadata: dict[str, Any] | None = None) -> Extraction:
        if self.refused and self.cut is None:
            self.cut = (
                f"{len(self.refused)} of {len(self.files)} members not read: larger than "
                f"{MAX_MEMBER_SIZE} bytes or compression ratio above {MAX_COMPRESSION_RATIO} "
                f"(bomb?): {', '.join(self.refused[:5])}"
            )
        text = f"{len(self.listing)} files\n\n" + "\n".join(self.listing)
        meta: dict[str, Any] = {
            "archive": {"format": self.what, "members": len(self.listing), **(metadata or {})}
        }
        if self.cut is not None:
            meta["limits"] = self.cut
        return Extraction(
            kind="archive",
            title=self.source.filename,
            pages=[PageResult(number=1, text=text)],
            metadata=meta,
            children=self.children,
            warnings=self.warnings,
        )


# -- tar and single compressed files ------------------------------------------------------------

_COMPRESSED = {
    "application/gzip": (gzip.open, "gzip"),
    "application/x-bzip2": (bz2.open, "bzip2"),
    "application/x-xz": (lzma.open, "xz"),
}
_TAR_SUFFIX = re.compile(r"\.(tar\.(gz|bz2|xz)|tgz|tbz2?|txz|tar)$", re.I)


class TarExtractor:
    name = "tar"

    def score(self, source: Source) -> int | None:
        if source.mime == "application/x-tar" or source.mime in _COMPRESSED:
            return 80
        if _TAR_SUFFIX.search(source.filename):
            return 40
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        try:
            tf = tarfile.open(source.path, mode="r:*")  # noqa: SIM115 - used in `with` below
        except tarfile.ReadError:
            if source.mime in _COMPRESSED:
                return self._single(source, ctx)
            raise StageError("extract", "damaged tar archive (not a tar file, or cut short)") from None
        except (OSError, EOFError, lzma.LZMAError, zlib_error()) as exc:
            raise StageError("extract", f"damaged compressed tar archive ({type(exc).__name__})") from exc
        with tf:
            try:
                infos = _tar_members(tf)
            except (tarfile.TarError, OSError, EOFError, lzma.LZMAError) as exc:
                raise StageError("extract", f"damaged tar archive ({type(exc).__name__})") from exc
            reading = ContainerReading(source, ctx, "tar archive", [m for m, _ in infos])
            for member, info in infos:
                if not reading.admit(member):
                    continue
                stream = tf.extractfile(info)
                if stream is None:
                    continue
                with stream:
                    reading.copy(member, stream)
        return reading.result()

    def _single(self, source: Source, ctx: ExtractContext) -> Extraction:
        opener, label = _COMPRESSED[source.mime]
        inner = re.sub(r"\.(gz|bz2|xz|tgz)$", "", source.filename, flags=re.I) or "content"
        member = Member(name=PurePosixPath(inner).name, size=0, packed=source.path.stat().st_size)
        reading = ContainerReading(source, ctx, f"{label} file", [member])
        if reading.admit(member):
            try:
                with opener(source.path, "rb") as stream:  # type: ignore[operator]
                    reading.copy(member, stream, strict=True)
            except (OSError, EOFError, lzma.LZMAError, zlib_error()) as exc:
                raise StageError("extract", f"damaged {label} file ({type(exc).__name__})") from exc
        return reading.result()


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


def _tar_members(tf: tarfile.TarFile) -> list[tuple[Member, tarfile.TarInfo]]:
    out: list[tuple[Member, tarfile.TarInfo]] = []
    for info in tf:
        if len(out) > MAX_MEMBERS:
            break  # the count check reports it
        link = info.linkname if info.issym() or info.islnk() else None
        special = not (info.isfile() or info.isdir() or link is not None)
        out.append(
            (
                Member(info.name, info.size if info.isfile() else 0, 0, info.isdir(), False, link, special),
                info,
            )
        )
    return out


# -- 7z ------------------------------------------------------------------------------------------

_SPLIT_7Z = re.compile(r"^(?P<stem>.+\.7z)\.(?P<part>\d{3})$", re.I)


class _SinkIO:
    """py7zr's writer for one member: our sink (or a null writer for a member not admitted)."""

    def __init__(self, sink: MemberSink | None):
        self.sink = sink

    def write(self, s: bytes | bytearray) -> int:
        return self.sink.write(bytes(s)) if self.sink is not None else len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return self.sink.size if self.sink is not None else 0

    def close(self) -> None:
        pass


class SevenZipExtractor:
    name = "7z"

    def score(self, source: Source) -> int | None:
        if source.mime == "application/x-7z-compressed":
            return 80
        if _SPLIT_7Z.match(source.filename):
            return 75
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        import py7zr

        split = _SPLIT_7Z.match(source.filename)
        path = source.path
        extra: dict[str, Any] = {}
        if split:
            if split.group("part") != "001":
                return _later_volume(source, split.group("stem"), "7z")
            path, parts = _join_volumes(source, ctx, split.group("stem"))
            extra["volumes"] = parts
        elif not source.head.startswith(b"7z\xbc\xaf\x27\x1c"):
            raise StageError("extract", "not a 7z archive (no 7z signature)")
        password = self._password(path, ctx)
        try:
            with py7zr.SevenZipFile(path, password=password) as archive:
                infos = archive.list()
        except Exception as exc:
            raise StageError("extract", f"damaged 7z archive ({type(exc).__name__})") from exc
        members = [
            Member(i.filename, int(i.uncompressed or 0), int(i.compressed or 0), bool(i.is_directory),
                   password is not None)
            for i in infos
        ]  # fmt: skip
        # Solid archives report the packed size per block, not per member: no ratio check then.
        for m in members:
            if m.packed == 0 or m.packed > m.size:
                m.packed = 0
        reading = ContainerReading(source, ctx, "7z archive", members)
        # Keyed by the safe name: py7zr hands the factory its own cleaned name ("/a" as "a"), and
        # refuses to extract a name that climbs out ("../x") at all, which would lose the rest.
        admitted: dict[str, Member] = {}
        for m in members:
            if not reading.admit(m):
                continue
            if ".." in PurePosixPath(m.name.replace("\\", "/")).parts or re.match(r"^[A-Za-z]:", m.name):
                reading.warnings.append(
                    f"{safe_member_path(m.name)}: its name climbs out of the archive (..): not read"
                )
            else:
                admitted[safe_member_path(m.name)] = m
        sinks: dict[str, MemberSink] = {}

        class Factory(py7zr.io.WriterFactory):
            def create(self, filename: str) -> Any:
                name = safe_member_path(filename)
                member = admitted.get(name)
                if member is None:
                    return _SinkIO(None)
                sinks[name] = reading.sink(member)
                return _SinkIO(sinks[name])

        failure: StageError | None = None
        if admitted:
            try:
                with py7zr.SevenZipFile(path, password=password) as archive:
                    archive.extract(targets=[m.name for m in admitted.values()], factory=Factory())
            except _TooLarge as exc:
                failure = StageError("extract", str(exc))
            except Exception as exc:
                failure = StageError("extract", f"damaged 7z archive ({type(exc).__name__})")
        for name, sink in sinks.items():
            if failure is None:
                reading.keep(admitted[name], sink, password is not None)
            else:
                reading.drop(sink)
        if failure is not None:
            raise failure
        return reading.result(extra)

    @staticmethod
    def _password(path: Path, ctx: ExtractContext) -> str | None:
        import py7zr

        try:
            with py7zr.SevenZipFile(path) as archive:
                if not archive.needs_password():
                    return None
        except py7zr.exceptions.PasswordRequired:
            pass  # the names themselves are encrypted
        except Exception as exc:
            raise StageError("extract", f"damaged 7z archive ({type(exc).__name__})") from exc
        for password in ctx.passwords:
            try:
                with py7zr.SevenZipFile(path, password=password) as archive:
                    if archive.testzip() is None:
                        return password
            except Exception:
                continue
        if not ctx.passwords:
            raise StageError("extract", "encrypted 7z archive: password required (pass it with --password)")
        raise StageError(
            "extract", f"encrypted 7z archive: none of the {len(ctx.passwords)} passwords given opens it"
        )


def _later_volume(source: Source, stem: str, kind: str) -> Extraction:
    """A second or later part of a split set: read with the first part, noted here."""
    text = f"Part of the split {kind} archive {stem}: its content is read with the first part ({stem}.001)."
    return Extraction(
        kind="archive",
        title=source.filename,
        pages=[PageResult(number=1, text=text)],
        metadata={"archive": {"format": f"{kind} volume", "volume_of": stem}},
    )


def _join_volumes(source: Source, ctx: ExtractContext, stem: str) -> tuple[Path, int]:
    """The parts of a split set found beside the first one (where it was ingested from), joined
    in the scratch folder."""
    origin = ctx.origin
    if origin is None:
        raise StageError(
            "extract",
            f"first part of the split archive {stem} found inside another file: its other parts "
            "cannot be looked for",
        )
    folder = origin.parent
    parts = []
    number = 1
    while True:
        part = source.path if number == 1 else folder / f"{origin.name[:-4]}.{number:03d}"
        if not part.is_file():
            break
        parts.append(part)
        number += 1
    joined = Path(ctx.workdir) / "joined.7z"
    budget = ctx.budget or TreeBudget(TreeLimits())
    total = sum(p.stat().st_size for p in parts)
    if total > budget.bytes_left:
        raise StageError("extract", f"split archive {stem} is {total} bytes (over the tree's byte limit)")
    with open(joined, "wb") as out:
        for part in parts:
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, CHUNK)
    return joined, len(parts)


# -- RAR -----------------------------------------------------------------------------------------


class RarExtractor:
    name = "rar"

    def score(self, source: Source) -> int | None:
        if source.mime == "application/vnd.rar":
            return 80
        if source.extension == "rar":
            return 30
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        import rarfile

        try:
            rf = rarfile.RarFile(str(source.path))
        except rarfile.NeedFirstVolume:
            return _later_volume(source, source.filename, "RAR")
        except rarfile.PasswordRequired:
            rf = self._with_password(source, ctx)
        except (rarfile.Error, OSError) as exc:
            raise StageError("extract", f"damaged RAR archive ({type(exc).__name__})") from exc
        with rf:
            infos = rf.infolist()
            members = [
                Member(i.filename, int(i.file_size or 0), int(i.compress_size or 0), i.is_dir(),
                       i.needs_password(), None if not i.is_symlink() else "(a link)")
                for i in infos
            ]  # fmt: skip
            reading = ContainerReading(source, ctx, "RAR archive", members)
            for member, info in zip(members, infos, strict=True):
                if not reading.admit(member):
                    continue
                opened = self._open(rf, info, member, ctx, reading)
                if opened is None:
                    continue
                with opened:
                    reading.copy(member, opened, member.encrypted)
        return reading.result()

    @staticmethod
    def _open(rf: Any, info: Any, member: Member, ctx: ExtractContext, reading: ContainerReading) -> Any:
        import rarfile

        name = safe_member_path(member.name)
        candidates: list[str | None] = list(ctx.passwords) if member.encrypted else [None]
        if member.encrypted and not candidates:
            reading.warnings.append(f"{name}: encrypted member skipped (no password given)")
            return None
        for password in candidates:
            try:
                stream = rf.open(info, pwd=password)
                head = stream.read(1)  # a wrong password fails here (or on the checksum at the end)
                stream.close()
                return _Chained(rf.open(info, pwd=password)) if head or info.file_size == 0 else None
            except rarfile.RarCannotExec:
                raise StageError("extract", "RAR archive: no unar or bsdtar to decompress it") from None
            except (rarfile.Error, OSError):
                continue
        reading.warnings.append(f"{name}: encrypted member skipped (none of the passwords opens it)")
        return None

    @staticmethod
    def _with_password(source: Source, ctx: ExtractContext) -> Any:
        import rarfile

        for password in ctx.passwords:
            try:
                rf = rarfile.RarFile(str(source.path))
                rf.setpassword(password)
                rf.infolist()
                return rf
            except (rarfile.Error, OSError):
                continue
        if not ctx.passwords:
            raise StageError(
                "extract", "encrypted RAR archive (names too): password required (pass it with --password)"
            )
        raise StageError(
            "extract", f"encrypted RAR archive: none of the {len(ctx.passwords)} passwords given opens it"
        )


class _Chained:
    """A member stream as a context manager with `read`."""

    def __init__(self, stream: Any):
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        return bytes(self.stream.read(size))

    def __enter__(self) -> _Chained:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.close()


register(TarExtractor())
register(SevenZipExtractor())
register(RarExtractor())
