"""Run the real `foi` command in a subprocess under a memory cap and a timeout, and measure it."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

FOI = [sys.executable, "-c", "import sys; from archive.cli import main; sys.argv[0] = 'foi'; main()"]
MEMORY_CAP = 2 << 30  # RLIMIT_AS of an ingest under test


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float  # the process's own peak (ru_maxrss of wait4), descendants it waited for included
    timed_out: bool

    def json(self) -> dict:
        return json.loads(self.stdout)


def _limits(memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def start_foi(
    args: list[str],
    archive: Path,
    memory: int = MEMORY_CAP,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[subprocess.Popen, Path, Path]:
    """Start `foi --archive ARCHIVE args...` in its own session with stdout/stderr to files."""
    out, err = Path(f"{archive}.stdout"), Path(f"{archive}.stderr")
    full_env = {**os.environ, **(env or {})}
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(
            [*FOI, "--archive", str(archive), *args],
            stdout=o,
            stderr=e,
            env=full_env,
            cwd=cwd,
            preexec_fn=lambda: _limits(memory),
            start_new_session=True,
        )
    return proc, out, err


def wait_measured(proc: subprocess.Popen, out: Path, err: Path, timeout: float) -> Run:
    start = time.monotonic()
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        proc.returncode,
        out.read_text(errors="replace"),
        err.read_text(errors="replace"),
        time.monotonic() - start,
        usage.ru_maxrss / 1024,
        timed_out.is_set(),
    )


def run_foi(
    args: list[str],
    archive: Path,
    timeout: float = 120,
    memory: int = MEMORY_CAP,
    env: dict[str, str] | None = None,
) -> Run:
    """`foi --archive ARCHIVE args...` to its end (SIGKILL after `timeout` seconds)."""
    proc, out, err = start_foi(args, archive, memory, env)
    return wait_measured(proc, out, err, timeout)
