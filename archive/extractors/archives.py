"""ZIP archives: every member becomes a child file, read recursively by the ingester.

Hostile archives are expected in FOI dumps: member names are sanitised (no zip-slip), symlink
members are read as plain files and never followed, encrypted members are opened with the
passwords given to the ingester (or skipped with a warning), and zip bombs are refused by the
limits below, the total size shared by a whole tree of nested archives. Decryption is
zipfile's ZipCrypto (AES members are skipped with a warning). Members are streamed to disk in
chunks, only under the extraction's scratch folder.
"""

from __future__ import annotations

import hashlib
import re
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from ..limits import TreeBudget, TreeLimits
from ..models import ChildFile, Extraction, PageResult, Source, StageError
from ..script import HAN
from . import ExtractContext, register

MAX_MEMBER_SIZE = 1024 * 1024 * 1024  # one member ("message size")
MAX_COMPRESSION_RATIO = 200  # per member; ordinary text compresses 5-20x
MAX_MEMBERS = 10_000
MAX_DEPTH = 5  # archives inside archives
CHUNK = 1024 * 1024
_RATIO_MIN_SIZE = 1024 * 1024  # small members may compress very well without being bombs


def _unicode_path_extra(info: zipfile.ZipInfo, raw_name: bytes) -> str | None:
    """The Info-ZIP Unicode Path extra field (0x7075): a UTF-8 name that is valid only while the
    CRC-32 it carries matches the raw header name it was written for."""
    extra = info.extra or b""
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if tag != 0x7075 or len(body) < 5 or body[0] != 1:
            continue
        (crc,) = struct.unpack_from("<I", body, 1)
        if crc != zlib.crc32(raw_name) & 0xFFFFFFFF:
            continue  # the name was changed after the field was written: stale
        try:
            return body[5:].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


_CJK_PUNCT = re.compile(r"[\u3000-\u303f\uff00-\uffef\u2014\u2018\u2019\u201c\u201d\u2026\u00b7]")


def _plausible_chinese(name: str, charset: str) -> bool:
    """Every non-ASCII character is a CJK ideograph in the charset's common set (GB2312 for GBK,
    Big5 level 1/2 for Big5) or CJK punctuation: wrong readings of CP437 bytes ("Müller" as
    GBK is "M乴ler") land on rare characters or symbols."""
    seen = False
    for c in name:
        if c.isascii():
            continue
        if _CJK_PUNCT.fullmatch(c):
            continue
        if not HAN.fullmatch(c):
            return False
        try:
            c.encode("gb2312" if charset == "gbk" else "big5")
        except UnicodeEncodeError:
            return False
        seen = True
    return seen


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author wrote it: UTF-8 when flag bit 11 says so; the Info-ZIP
    Unicode Path field when present and current; GBK (or Big5) only when the result is plausible
    Chinese, since Chinese Windows tools write names in their code page; otherwise CP437, as
    the ZIP specification says."""
    name = info.filename
    if info.flag_bits & 0x800:
        return name
    try:
        raw = getattr(info, "orig_filename", name).encode("cp437")
    except UnicodeEncodeError:
        return name
    unicode_name = _unicode_path_extra(info, raw)
    if unicode_name:
        return unicode_name
    if raw.isascii():
        return name
    try:
        decoded = raw.decode("utf-8")  # UTF-8 without the flag (older macOS, Linux tools)
        if not decoded.isascii():
            return decoded
    except UnicodeDecodeError:
        pass
    for charset in ("gbk", "big5"):
        try:
            decoded = raw.decode("gb18030" if charset == "gbk" else "big5hkscs")
        except UnicodeDecodeError:
            continue
        if _plausible_chinese(decoded, charset):
            return decoded
    return raw.decode("cp437")


def safe_member_path(name: str) -> str:
    """A relative path with no '..', no absolute root, no drive letters or control characters."""
    parts = []
    for part in PurePosixPath(name.replace("\\", "/")).parts:
        part = "".join(c for c in part if c.isprintable()).strip()
        if part in {"", ".", "..", "/"} or part.endswith(":"):
            continue
        parts.append(part[:200])
    return "/".join(parts)


def is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


class _BadPassword(Exception):
    pass


class ZipExtractor:
    name = "zip"

    def score(self, source: Source) -> int | None:
        if source.mime in {"application/zip", "application/x-zip-compressed"}:
            return 80
        if source.extension == "zip" and source.head.startswith(b"PK"):
            return 70
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        try:
            zf = zipfile.ZipFile(source.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise StageError("extract", f"unreadable zip: {exc}") from exc
        # The tree's budget (shared with the archives around and inside this one), or its own.
        budget = ctx.budget or TreeBudget(TreeLimits())  # outside an ingest: the default tree limits
        with zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise StageError("extract", f"zip has {len(infos)} members (limit {MAX_MEMBERS})")
            declared = sum(i.file_size for i in infos)
            if declared > budget.bytes_left:
                raise StageError(
                    "extract",
                    f"zip would expand to {declared} bytes (limit {budget.limits.bytes} for the "
                    f"whole archive tree, {budget.bytes_left} left)",
                )
            outdir = Path(ctx.workdir) / "zip"
            outdir.mkdir(parents=True, exist_ok=True)
            children: list[ChildFile] = []
            warnings: list[str] = []
            listing: list[str] = []
            written = [0]  # bytes of this zip's members written so far
            files = [i for i in infos if not i.is_dir() and safe_member_path(member_name(i))]
            # Nested too deep (an archive that holds itself ends here): listed, members not read.
            cut: str | None = (
                f"archive nested deeper than {MAX_DEPTH} levels: {len(files)} members not read"
                if ctx.depth >= MAX_DEPTH
                else None
            )
            bombs: list[str] = []  # members refused as zip bombs: content the archive holds, not read
            for n, info in enumerate(infos, 1):
                name = safe_member_path(member_name(info))
                if info.is_dir() or not name:
                    continue
                listing.append(name)
                if cut is None:
                    # Members the tree has no room for are not written (the ingester could not
                    # read them): the documents it may still read, its time.
                    limit = budget.over_time() or (
                        f"limit of {budget.limits.documents} documents per top-level file reached "
                        "(FOI_TREE_MAX_DOCUMENTS)"
                        if len(children) >= budget.documents_left
                        else None
                    )
                    if limit is not None:
                        cut = f"{limit}: {len(files) - len(listing) + 1} of {len(files)} members not read"
                if cut is not None:
                    continue
                if info.file_size > MAX_MEMBER_SIZE:
                    warnings.append(
                        f"{name}: {info.file_size} bytes exceeds the member limit {MAX_MEMBER_SIZE}"
                    )
                    bombs.append(name)
                    continue
                if info.file_size > _RATIO_MIN_SIZE and info.file_size > MAX_COMPRESSION_RATIO * max(
                    info.compress_size, 1
                ):
                    warnings.append(
                        f"{name}: compression ratio above {MAX_COMPRESSION_RATIO} (zip bomb?) skipped"
                    )
                    bombs.append(name)
                    continue
                target = outdir / f"member-{n:05d}{PurePosixPath(name).suffix[:16]}"
                encrypted = bool(info.flag_bits & 0x1)
                passwords: list[bytes | None] = (
                    [p.encode("utf-8") for p in ctx.passwords] if encrypted else [None]
                )
                if encrypted and not passwords:
                    warnings.append(f"{name}: encrypted member skipped (no password given)")
                    continue
                digest = None
                for pwd in passwords:
                    try:
                        digest = self._copy(zf, info, target, budget.bytes_left - written[0], pwd, written)
                        break
                    except StageError:
                        raise
                    except _BadPassword:
                        target.unlink(missing_ok=True)
                        continue
                    except NotImplementedError as exc:  # AES or another unsupported method
                        target.unlink(missing_ok=True)
                        warnings.append(
                            f"{name}: {'encrypted member' if encrypted else 'member'} skipped ({exc})"
                        )
                        break
                    except Exception as exc:  # a corrupt member: the rest of the archive is still read
                        target.unlink(missing_ok=True)
                        warnings.append(f"{name}: unreadable ({type(exc).__name__}: {exc})")
                        break
                else:
                    warnings.append(f"{name}: encrypted member skipped (none of the passwords opens it)")
                if digest is None:
                    continue
                meta: dict[str, Any] = {"archive": {"member": name, "size": info.file_size}}
                if encrypted:
                    meta["archive"]["decrypted"] = True
                if is_symlink(info):
                    meta["archive"]["symlink"] = True  # its content (the link target) read as text
                children.append(ChildFile(name=name, path=target, meta=meta))
        if bombs and cut is None:
            cut = (
                f"{len(bombs)} of {len(files)} members not read: larger than {MAX_MEMBER_SIZE} bytes or "
                f"compression ratio above {MAX_COMPRESSION_RATIO} (zip bomb?): {', '.join(bombs[:5])}"
            )
        text = f"{len(listing)} files\n\n" + "\n".join(listing)
        metadata: dict[str, Any] = {"archive": {"members": len(listing)}}
        if cut is not None:
            metadata["limits"] = cut  # the ingester marks the archive: its content was cut
        return Extraction(
            kind="archive",
            title=source.filename,
            pages=[PageResult(number=1, text=text)],
            metadata=metadata,
            children=children,
            warnings=warnings,
        )

    @staticmethod
    def _copy(
        zf: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        target: Path,
        room: int,
        pwd: bytes | None,
        written: list[int],
    ) -> str:
        """Stream one member to disk, returning its sha256; the real inflated size is checked
        against the member limit and the tree's budget (`room`: bytes it has left), not only the
        declared one. Adds the size to `written[0]`."""
        size = 0
        limit = min(room, MAX_MEMBER_SIZE)
        digest = hashlib.sha256()
        try:
            src = zf.open(info, pwd=pwd)
        except RuntimeError as exc:  # zipfile's "Bad password for file"
            if pwd is not None and "password" in str(exc).lower():
                raise _BadPassword() from exc
            raise
        try:
            with src, open(target, "wb") as dst:
                while True:
                    chunk = src.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > limit:
                        dst.close()
                        target.unlink(missing_ok=True)
                        raise StageError(
                            "extract", f"{info.filename}: inflates beyond the size limit ({limit} bytes)"
                        )
                    if size > _RATIO_MIN_SIZE and size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                        dst.close()
                        target.unlink(missing_ok=True)
                        raise StageError(
                            "extract", f"{info.filename}: compression ratio above {MAX_COMPRESSION_RATIO}"
                        )
                    digest.update(chunk)
                    dst.write(chunk)
        except (zipfile.BadZipFile, zlib.error) as exc:
            if pwd is not None:  # a wrong password that passed the one-byte check: garbage, bad CRC
                raise _BadPassword() from exc
            raise
        written[0] += size
        return digest.hexdigest()


register(ZipExtractor())
