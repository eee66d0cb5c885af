"""LibreOffice headless: the one module that starts `soffice`.

One LibreOffice per process, kept running: `uno_bridge.py` (a script run by path with a Python
that has LibreOffice's UNO bindings, Debian's python3-uno) starts `soffice` with this process's
own user profile and converts file after file through it, so a conversion costs the loading and
exporting only (about 0.1 s a small file here), not a start (about 1.3 s). Conversions run one at
a time, each with a time limit: on an overrun the bridge and soffice are killed as one process
group, that document fails with the reason, and the next conversion starts a fresh soffice. When
soffice crashes or is killed during a conversion, that document gets one more try with a
LibreOffice of its own (below), and fails with the reason if that fails too. soffice runs under
an address-space cap. Documents are loaded hidden and read-only with macro execution "never", and
the profile turns macros off as well (security level "very high", execution disabled), never
restores or locks files and follows no links.

Where that Python has no UNO bindings (another distribution), each conversion starts its own
`soffice --convert-to` with the same profile, limits and settings, and the reason is logged once.

Settings (environment):
    FOI_OFFICE_TIMEOUT     seconds one conversion may take          120
    FOI_OFFICE_MEMORY_MB   address space of LibreOffice (MiB)       3072
    FOI_OFFICE_PYTHON      the Python with LibreOffice's UNO        /usr/bin/python3
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import resource
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ...limits import positive_setting
from ...models import StageError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0
DEFAULT_MEMORY_MB = 3072
DEFAULT_PYTHON = "/usr/bin/python3"
BRIDGE = Path(__file__).with_name("uno_bridge.py")
STARTUP_SECONDS = 60.0  # for soffice to start and listen (the first start also fills the profile)
CONVERSIONS_PER_START = 500  # then a fresh soffice, so that what one leaks does not pile up

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


class _BridgeUnavailable(Exception):
    """The long-lived converter cannot run here (no UNO bindings, no such Python)."""


class _StartFailed(Exception):
    """The long-lived LibreOffice did not start (the reason, naming no path)."""


class _Stopped(Exception):
    """LibreOffice went away during a conversion (crashed, or killed)."""


class _Bridge:
    """One `uno_bridge.py` process and its soffice, in a process group of their own."""

    def __init__(self, python: str, soffice: str, profile: Path, memory: int, env: dict[str, str]):
        startup = max(STARTUP_SECONDS, positive_setting("FOI_OFFICE_TIMEOUT", DEFAULT_TIMEOUT))
        command = [python, str(BRIDGE), "--soffice", soffice, "--profile", profile.resolve().as_uri(),
                   "--memory", str(memory), "--startup", str(startup)]  # fmt: skip
        try:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                # Not this interpreter's paths: the bridge runs on the system's Python.
                env={k: v for k, v in env.items() if k not in {"PYTHONHOME", "PYTHONPATH"}},
                cwd=profile,
                start_new_session=True,  # soffice joins this group: one kill ends both
            )
        except OSError as exc:
            raise _BridgeUnavailable(f"cannot run {python} ({exc.strerror})") from None
        self._buffer = b""
        self.conversions = 0
        try:
            ready = self._answer(startup + 5)
        except (TimeoutError, EOFError, ValueError) as exc:
            self.kill()
            raise _StartFailed(str(exc)) from None
        if not ready.get("ready"):
            self.kill()
            if ready.get("no_uno"):
                raise _BridgeUnavailable(str(ready.get("error")))
            raise _StartFailed(str(ready.get("error")))
        self.soffice_pid = int(ready["soffice"])

    @property
    def pgid(self) -> int:
        return self.proc.pid

    def _answer(self, timeout: float) -> dict[str, Any]:
        """The next JSON line from the bridge; TimeoutError or EOFError (it ended)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer within {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise EOFError("the converter ended")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer: dict[str, Any] = json.loads(line)
        return answer

    def convert(self, source: Path, output: Path, target: str, timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        request = {"source": str(source), "output": str(output), "target": target}
        self.conversions += 1
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            raise EOFError("the converter ended") from None
        return self._answer(timeout)

    def close(self) -> None:
        """Ask LibreOffice to quit (end of input), then make sure the whole group is gone."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=15)
        self.kill()

    def kill(self) -> None:
        _kill_group(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class OfficeConverter:
    """Converts office files with one long-lived LibreOffice (or, without UNO bindings, one
    start per file), reusing one profile; one conversion at a time."""

    def __init__(self, profile: Path | None = None, long_lived: bool = True):
        self._own_profile = profile is None
        self.profile = profile or Path(tempfile.mkdtemp(prefix=f"foi-soffice-{os.getpid()}-"))
        self._lock = threading.Lock()
        self._bridge: _Bridge | None = None
        self._pid = os.getpid()
        # Why conversions start soffice each time (None while the long-lived one is usable).
        self.per_file_reason: str | None = None if long_lived else "asked for one start per file"
        self.conversions = 0
        self.starts = 0  # soffice processes started
        self.retried_alone = 0  # conversions the long-lived soffice stopped on, tried on their own
        self.seconds = 0.0  # spent converting, for the bench and the notes

    def _prepare_profile(self) -> None:
        registry = self.profile / "user" / "registrymodifications.xcu"
        if not registry.exists():
            registry.parent.mkdir(parents=True, exist_ok=True)
            registry.write_text(_REGISTRY, encoding="utf-8")

    @property
    def soffice_pid(self) -> int | None:
        """The running long-lived soffice's process id (None when none runs)."""
        return self._bridge.soffice_pid if self._bridge is not None else None

    @property
    def process_group(self) -> int | None:
        """The process group of the running bridge and its soffice (None when none runs)."""
        return self._bridge.pgid if self._bridge is not None else None

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
        env = {**os.environ, "HOME": str(self.profile), "SAL_USE_VCLPLUGIN": "svp"}
        with self._lock:
            self._prepare_profile()
            began = time.monotonic()
            try:
                detail = None
                if self.per_file_reason is None:
                    try:
                        detail = self._convert_long_lived(soffice, source, expected, target, timeout,
                                                          memory, env, what)  # fmt: skip
                    except _BridgeUnavailable as exc:
                        self.per_file_reason = str(exc)
                        log.warning("LibreOffice starts once per file: %s", exc)
                    except _Stopped:  # crashed or killed: one more try, alone
                        self.retried_alone += 1
                        log.info("LibreOffice stopped converting a %s; trying it on its own", what)
                if detail is None:
                    expected.unlink(missing_ok=True)  # what a stopped soffice may have begun
                    detail = self._convert_per_file(soffice, source, work, target, timeout, memory, env, what)
            finally:
                self.seconds += time.monotonic() - began
                self.conversions += 1
        source.unlink(missing_ok=True)
        if not expected.is_file() or expected.stat().st_size == 0:
            detail = detail.replace(str(work), "").replace(work.as_uri(), "")
            raise StageError(
                "extract",
                f"{what}: LibreOffice could not convert it to {target.split(':', 1)[0]}"
                + (f" ({detail[:200]})" if detail else " (damaged, or not really this format)"),
            )
        return expected

    def _convert_long_lived(
        self, soffice: str, source: Path, expected: Path, target: str, timeout: float,
        memory: int, env: dict[str, str], what: str,
    ) -> str | None:  # fmt: skip
        """Through this process's bridge (started when needed); the error detail, "" if none,
        None when the bridge knows no filter for `target`."""
        if self._bridge is not None and self._bridge.conversions >= CONVERSIONS_PER_START:
            self._bridge.close()
            self._bridge = None
        if self._bridge is None:
            python = os.environ.get("FOI_OFFICE_PYTHON") or DEFAULT_PYTHON
            try:
                self._bridge = _Bridge(python, soffice, self.profile, memory, env)
            except _StartFailed as exc:
                raise StageError("extract", f"{what}: LibreOffice did not start ({exc})") from None
            self.starts += 1
        try:
            answer = self._bridge.convert(source, expected, target, timeout)
        except TimeoutError:
            self._drop_bridge()
            raise StageError(
                "extract", f"{what}: LibreOffice took longer than {timeout:g} s (FOI_OFFICE_TIMEOUT)"
            ) from None
        except (EOFError, ValueError):
            self._drop_bridge()
            raise _Stopped from None
        if answer.get("stopped"):
            self._drop_bridge()
            raise _Stopped
        if answer.get("unknown_target"):
            return None  # for a one-off --convert-to, which guesses the filter
        return str(answer.get("reason") or "")  # could not open or export it: said by the caller

    def _drop_bridge(self) -> None:
        if self._bridge is not None:
            self._bridge.kill()
            self._bridge = None

    def _convert_per_file(
        self, soffice: str, source: Path, work: Path, target: str, timeout: float,
        memory: int, env: dict[str, str], what: str,
    ) -> str:  # fmt: skip
        """One `soffice --convert-to` for this file; the error line it printed, "" if none."""

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
        self.starts += 1
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
            _kill_group(proc)  # helpers it may have left behind
        if proc.returncode is not None and proc.returncode < 0:
            return f"LibreOffice crashed on it: signal {-proc.returncode}"
        said = output.decode("utf-8", "replace").strip().splitlines()
        return next((s for s in said if "rror" in s), "")

    def close(self) -> None:
        if os.getpid() != self._pid:
            return  # a forked child: the bridge and profile are its parent's
        with self._lock:
            if self._bridge is not None:
                self._bridge.close()
                self._bridge = None
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
