"""ZIP archives: every member becomes a child file, read recursively by the ingester.

Hostile archives are expected in FOI dumps: member names are sanitised (no zip-slip), symlink
members are read as plain files and never followed, encrypted members are skipped with a warning,
and zip bombs are refused by the limits below. Members are streamed to disk in chunks, only under
the extraction's scratch folder.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from ..models import ChildFile, Extraction, PageResult, Source, StageError
from . import ExtractContext, register

MAX_TOTAL_UNCOMPRESSED = 2 * 1024 * 1024 * 1024  # bytes written for one archive
MAX_MEMBER_SIZE = 1024 * 1024 * 1024  # one member ("message size")
MAX_COMPRESSION_RATIO = 200  # per member; ordinary text compresses 5-20x
MAX_MEMBERS = 10_000
MAX_DEPTH = 5  # archives inside archives
CHUNK = 1024 * 1024
_RATIO_MIN_SIZE = 1024 * 1024  # small members may compress very well without being bombs


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author wrote it: UTF-8 when flag bit 11 says so; otherwise zipfile
    decoded it as CP437, and names from Chinese Windows tools are really GBK."""
    name = info.filename
    if info.flag_bits & 0x800:
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    if raw.isascii():
        return name
    for enc in ("utf-8", "gb18030", "big5hkscs", "cp932"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return name


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


class ZipExtractor:
    name = "zip"

    def score(self, source: Source) -> int | None:
        if source.mime in {"application/zip", "application/x-zip-compressed"}:
            return 80
        if source.extension == "zip" and source.head.startswith(b"PK"):
            return 70
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        if ctx.depth >= MAX_DEPTH:
            raise StageError("extract", f"archive nested deeper than {MAX_DEPTH} levels: not opened")
        try:
            zf = zipfile.ZipFile(source.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise StageError("extract", f"unreadable zip: {exc}") from exc
        with zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise StageError("extract", f"zip has {len(infos)} members (limit {MAX_MEMBERS})")
            declared = sum(i.file_size for i in infos)
            if declared > MAX_TOTAL_UNCOMPRESSED:
                raise StageError(
                    "extract", f"zip would expand to {declared} bytes (limit {MAX_TOTAL_UNCOMPRESSED})"
                )
            outdir = Path(ctx.workdir) / "zip"
            outdir.mkdir(parents=True, exist_ok=True)
            children: list[ChildFile] = []
            warnings: list[str] = []
            listing: list[str] = []
            written = 0
            for n, info in enumerate(infos, 1):
                name = safe_member_path(member_name(info))
                if info.is_dir() or not name:
                    continue
                listing.append(name)
                if info.flag_bits & 0x1:
                    warnings.append(f"{name}: encrypted member skipped")
                    continue
                if info.file_size > MAX_MEMBER_SIZE:
                    warnings.append(
                        f"{name}: {info.file_size} bytes exceeds the member limit {MAX_MEMBER_SIZE}"
                    )
                    continue
                if info.file_size > _RATIO_MIN_SIZE and info.file_size > MAX_COMPRESSION_RATIO * max(
                    info.compress_size, 1
                ):
                    warnings.append(
                        f"{name}: compression ratio above {MAX_COMPRESSION_RATIO} (zip bomb?) skipped"
                    )
                    continue
                target = outdir / f"member-{n:05d}{PurePosixPath(name).suffix[:16]}"
                try:
                    written += self._copy(zf, info, target, MAX_TOTAL_UNCOMPRESSED - written)
                except StageError:
                    raise
                except Exception as exc:  # a corrupt member: the rest of the archive is still read
                    target.unlink(missing_ok=True)
                    warnings.append(f"{name}: unreadable ({type(exc).__name__}: {exc})")
                    continue
                meta = {"archive": {"member": name, "size": info.file_size}}
                if is_symlink(info):
                    meta["archive"]["symlink"] = True  # its content (the link target) read as text
                children.append(ChildFile(name=name, path=target, meta=meta))
        text = f"{len(listing)} files\n\n" + "\n".join(listing)
        return Extraction(
            kind="archive",
            title=source.filename,
            pages=[PageResult(number=1, text=text)],
            metadata={"archive": {"members": len(listing)}},
            children=children,
            warnings=warnings,
        )

    @staticmethod
    def _copy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
        """Stream one member to disk; the real inflated size is checked, not only the declared one."""
        size = 0
        limit = min(budget, MAX_MEMBER_SIZE)
        with zf.open(info) as src, open(target, "wb") as dst:
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
                dst.write(chunk)
        return size


register(ZipExtractor())
