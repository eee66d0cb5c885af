"""LibreOffice headless: the one module that starts `soffice`.

Each process keeps one LibreOffice user profile of its own (made on the first conversion, about
3 s) and reuses it for every later conversion (about 1.3 s a small file on this machine: most of
it is soffice starting). Conversions run one at a time per profile (LibreOffice locks it), each
in a fresh session with a time limit and an address-space cap, killed with its children when it
overruns. The profile turns macros off (security level "very high", execution disabled), so no
document macro ever runs, and never restores or locks files.

Settings (environment):
    FOI_OFFICE_TIMEOUT     seconds one conversion may take          120
    FOI_OFFICE_MEMORY_MB   address space of one conversion (MiB)    3072
"""

from __future__ import annotations

import atexit
import contextlib
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ...limits import positive_setting
from ...models import StageError

DEFAULT_TIMEOUT = 120.0
DEFAULT_MEMORY_MB = 3072

# The profile's settings: macros never run, links are not followed, no recovery, no locks.
_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Save/Document"><prop oor:name="CreateBackup" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Recovery/RecoveryInfo"><prop oor:name="Enabled" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>1</value></prop></item>
</oor:items>
"""


class OfficeConverter:
    """Converts office files with LibreOffice, reusing one profile; one conversion at a time."""

    def __init__(self, profile: Path | None = None):
        self._own_profile = profile is None
        self.profile = profile or Path(tempfile.mkdtemp(prefix=f"foi-soffice-{os.getpid()}-"))
        self._lock = threading.Lock()
        self.conversions = 0
        self.seconds = 0.0  # spent converting, for the bench and the notes

    def _prepare_profile(self) -> None:
        registry = self.profile / "user" / "registrymodifications.xcu"
        if not registry.exists():
            registry.parent.mkdir(parents=True, exist_ok=True)
            registry.write_text(_REGISTRY, encoding="utf-8")

    def convert(self, path: Path, outdir: Path, target: str = "pdf", what: str = "office file") -> Path:
        """`path` converted to `target` (a LibreOffice --convert-to format, e.g. "pdf", "xlsx")
        in `outdir`. Raises StageError("extract", ...) when LibreOffice fails or overruns; the
        reason names the kind of file (`what`), never a path."""
        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        if soffice is None:
            raise StageError("extract", f"{what}: LibreOffice (soffice) is not installed")
        timeout = positive_setting("FOI_OFFICE_TIMEOUT", DEFAULT_TIMEOUT)
        memory = int(positive_setting("FOI_OFFICE_MEMORY_MB", DEFAULT_MEMORY_MB)) * 1024 * 1024
        outdir.mkdir(parents=True, exist_ok=True)
        # A private copy with a plain name: LibreOffice names its output after the input's stem.
        work = Path(tempfile.mkdtemp(prefix="convert-", dir=outdir))
        source = work / ("document" + path.suffix.lower()[:12])
        shutil.copyfile(path, source)
        expected = work / f"document.{target.split(':', 1)[0]}"

        def limits() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        command = [
            soffice,
            f"-env:UserInstallation={self.profile.resolve().as_uri()}",
            "--headless",
            "--invisible",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            "--convert-to",
            target,
            "--outdir",
            str(work),
            str(source),
        ]
        env = {**os.environ, "HOME": str(self.profile), "SAL_USE_VCLPLUGIN": "svp"}
        with self._lock:
            self._prepare_profile()
            began = time.monotonic()
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=work,
                start_new_session=True,  # its own process group: killed whole on a timeout
                preexec_fn=limits,
            )
            try:
                output, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                raise StageError(
                    "extract", f"{what}: LibreOffice took longer than {timeout:g} s (FOI_OFFICE_TIMEOUT)"
                ) from None
            finally:
                self.seconds += time.monotonic() - began
                self.conversions += 1
                _kill_group(proc)  # helpers it may have left behind
        source.unlink(missing_ok=True)
        if not expected.is_file() or expected.stat().st_size == 0:
            said = output.decode("utf-8", "replace").replace(str(work), "").strip().splitlines()
            detail = next((s for s in said if "rror" in s), "")
            raise StageError(
                "extract",
                f"{what}: LibreOffice could not convert it to {target.split(':', 1)[0]}"
                + (f" ({detail[:200]})" if detail else " (damaged, or not really this format)"),
            )
        return expected

    def close(self) -> None:
        if self._own_profile:
            shutil.rmtree(self.profile, ignore_errors=True)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


_converter: OfficeConverter | None = None
_converter_pid = -1
_converter_lock = threading.Lock()


def converter() -> OfficeConverter:
    """This process's converter (made on first use; a forked worker makes its own), its profile
    removed at exit."""
    global _converter, _converter_pid
    with _converter_lock:
        if _converter is None or _converter_pid != os.getpid():
            _converter, _converter_pid = OfficeConverter(), os.getpid()
            atexit.register(_converter.close)
        return _converter
