"""Outlook stores (.pst, .ost) through `readpst` (Debian's pst-utils, libpst): every message
becomes an .eml child (its attachments inside it), contacts .vcf and calendar items .ics,
named by the folder they were in, so they are read, threaded and searched like any mail.

readpst reads the store item by item and writes each one out, so a large store is never held in
memory; it runs with a time limit and a per-file size cap, and the size of its output folder is
watched while it runs: past the archive tree's byte budget it is stopped, the items written so
far are kept (the one being written is dropped) and the cut is recorded on the store. Its output
is then admitted under the same limits as an archive's members (count, size, the tree's budget)."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import time
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
        errors = Path(ctx.workdir) / "readpst.err"
        with errors.open("wb") as err:
            proc = subprocess.Popen(
                # -j 0: readpst's parallel jobs (its default) drop messages at random under load
                [readpst, "-e", "-D", "-8", "-b", "-q", "-j", "0", "-o", str(outdir), str(source.path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                preexec_fn=limits,
                cwd=outdir,
                start_new_session=True,  # its own process group: stopped whole
            )
            over = _watch(proc, outdir, room, timeout, what)
        returncode = proc.returncode
        cut = None
        if over:
            kept = _trim(outdir, room)
            cut = (
                f"{what} expands past the byte budget of the archive tree ({room} bytes left, "
                f"FOI_TREE_MAX_BYTES): readpst stopped, {kept} items kept; the rest not read"
            )
        files = sorted(p for p in outdir.rglob("*") if p.is_file())
        if returncode != 0 and not files and cut is None:
            said = (
                errors.read_bytes()[:4000]
                .decode("utf-8", "replace")
                .replace(str(source.path), source.filename)
            )
            raise StageError(
                "extract", f"{what}: damaged or unsupported store ({said.strip()[:200] or 'readpst failed'})"
            )
        for path in files:
            if path.suffix == ".eml":
                _unquote_attached_messages(path)
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
        if cut is not None:
            extraction.metadata["limits"] = cut
        extraction.kind = "mailbox"
        summary = ", ".join(f"{n} {k}" for k, n in kinds.items() if n)
        extraction.pages[0].text = f"{what}: {summary or 'no items'}\n\n" + extraction.pages[0].text
        return extraction


def _tree_bytes(folder: Path) -> int:
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _watch(proc: subprocess.Popen[bytes], outdir: Path, room: int, timeout: float, what: str) -> bool:
    """Wait for readpst; True when it was stopped for writing more than `room` bytes. A walk of
    the output folder costs time on a large store, so the pause between looks grows with it."""
    began = time.monotonic()
    pause = 0.1
    while proc.poll() is None:
        looked = time.monotonic()
        if _tree_bytes(outdir) > room:
            _stop(proc)
            return True
        if looked - began > timeout:
            _stop(proc)
            raise StageError(
                "extract", f"{what}: readpst took longer than {timeout:g} s (FOI_READPST_TIMEOUT)"
            )
        pause = min(2.0, max(pause, 4 * (time.monotonic() - looked)))
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=pause)
    return _tree_bytes(outdir) > room


def _trim(outdir: Path, room: int) -> int:
    """After readpst was stopped: drop the file it was writing (the newest) and any others, newest
    first, until what is left fits `room`; returns the number of files kept."""
    files = sorted((p for p in outdir.rglob("*") if p.is_file()), key=lambda p: p.stat().st_mtime_ns)
    total = sum(p.stat().st_size for p in files)
    if files:
        newest = files.pop()
        total -= newest.stat().st_size
        newest.unlink()
    while files and total > room:
        last = files.pop()
        total -= last.stat().st_size
        last.unlink()
    return len(files)


def _unquote_attached_messages(path: Path) -> None:
    """readpst begins every attached message (a message/rfc822 part) with an mbox `>From ` line,
    which is not a header: the attached message's headers would be read as its body and its own
    attachments lost. Drop that one line, streaming, and only in files that have such a part."""
    with path.open("rb") as f:
        if not any(line[:28].lower() == b"content-type: message/rfc822" for line in f):
            return
    fixed = path.with_name(path.name + ".part")
    state = "body"  # "headers": in a message/rfc822 part's headers; "start": the line after them
    with path.open("rb") as src, fixed.open("wb") as dst:
        for line in src:
            if state == "start":
                state = "body"
                if line.startswith(b">From "):
                    continue
            elif state == "headers" and not line.strip():
                state = "start"
            elif line[:28].lower() == b"content-type: message/rfc822":
                state = "headers"
            dst.write(line)
    fixed.replace(path)
