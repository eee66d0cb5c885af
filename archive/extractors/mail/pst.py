"""Outlook stores (.pst, .ost) through `readpst` (Debian's pst-utils, libpst): every message
becomes an .eml child (its attachments inside it), contacts .vcf and calendar items .ics,
named by the folder they were in, so they are read, threaded and searched like any mail.

readpst reads the store item by item and writes each one out, so a large store is never held in
memory; it runs with a time limit and a per-file size cap, and its output is then admitted under
the same limits as an archive's members (count, size, the tree's budget)."""

from __future__ import annotations

import resource
import shutil
import subprocess
from pathlib import Path, PurePosixPath

from ...limits import positive_setting
from ...models import ChildFile, Extraction, Source, StageError
from .. import ExtractContext
from ..containers import ContainerReading, Member

READPST_TIMEOUT = 1800.0


class PstExtractor:
    name = "pst"

    def score(self, source: Source) -> int | None:
        if source.mime == "application/vnd.ms-outlook-pst":
            return 90
        if source.extension in {"pst", "ost"}:
            return 40
        return None

    def extract(self, source: Source, ctx: ExtractContext) -> Extraction:
        readpst = shutil.which("readpst")
        if readpst is None:
            raise StageError("extract", "Outlook store: readpst (pst-utils) is not installed")
        what = "Outlook store (.ost)" if source.extension == "ost" else "Outlook store (.pst)"
        if not source.head.startswith(b"!BDN"):
            raise StageError("extract", f"{what}: not an Outlook store (no !BDN signature)")
        outdir = Path(ctx.workdir) / "pst"
        outdir.mkdir(parents=True, exist_ok=True)
        room = ctx.budget.bytes_left if ctx.budget is not None else 2 * 1024**3

        def limits() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (room, room))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        timeout = positive_setting("FOI_READPST_TIMEOUT", READPST_TIMEOUT)
        try:
            done = subprocess.run(
                [readpst, "-e", "-D", "-8", "-b", "-q", "-o", str(outdir), str(source.path)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                preexec_fn=limits,
                cwd=outdir,
            )
        except subprocess.TimeoutExpired:
            raise StageError(
                "extract", f"{what}: readpst took longer than {timeout:g} s (FOI_READPST_TIMEOUT)"
            ) from None
        files = sorted(p for p in outdir.rglob("*") if p.is_file())
        if done.returncode != 0 and not files:
            said = done.stderr.decode("utf-8", "replace").replace(str(source.path), source.filename)
            raise StageError(
                "extract", f"{what}: damaged or unsupported store ({said.strip()[:200] or 'readpst failed'})"
            )
        members = [Member(str(PurePosixPath(*p.relative_to(outdir).parts)), p.stat().st_size) for p in files]
        reading = ContainerReading(source, ctx, what, members)
        folders: set[str] = set()
        for member, path in zip(members, files, strict=True):
            if reading.admit(member):
                folders.add(str(PurePosixPath(member.name).parent))
                reading.children.append(
                    ChildFile(
                        name=member.name,
                        path=path,
                        meta={"pst": {"folder": str(PurePosixPath(member.name).parent)}},
                    )
                )
            else:
                path.unlink(missing_ok=True)
        kinds = {
            "messages": sum(m.name.endswith(".eml") for m in members),
            "contacts": sum(m.name.endswith(".vcf") for m in members),
            "calendar": sum(m.name.endswith(".ics") for m in members),
        }
        extraction = reading.result({"folders": sorted(folders), **kinds})
        extraction.kind = "mailbox"
        summary = ", ".join(f"{n} {k}" for k, n in kinds.items() if n)
        extraction.pages[0].text = f"{what}: {summary or 'no items'}\n\n" + extraction.pages[0].text
        return extraction
