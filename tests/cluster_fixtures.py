"""A real Dask cluster on 127.0.0.1 for tests and benchmarks: `dask scheduler` and `foi worker`
processes, each in a session of its own so that a test can SIGKILL one (nanny and all)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path)


class Cluster:
    """A scheduler and `workers` workers of `nthreads` threads; `address` once started."""

    def __init__(
        self,
        folder: Path,
        workers: int = 2,
        nthreads: int = 1,
        env: dict[str, str] | None = None,
        preload: tuple[str, ...] = (),
        port: int = 0,
    ):
        self.env = env or {}  # for the scheduler and workers, e.g. Dask settings
        self.preload = preload  # further preload modules for the workers (`foi worker --preload`)
        self.port = port  # 0: any free port
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.nthreads = nthreads
        self.scheduler_file = folder / "scheduler.json"
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.address = ""
        self._wanted = workers

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        out = open(self.folder / log, "ab")  # noqa: SIM115 (the child keeps it)
        try:
            return subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(_env(), **self.env),
                start_new_session=True,
            )
        finally:
            out.close()

    def start(self) -> Cluster:
        self.start_scheduler()
        for _ in range(self._wanted):
            self.add_worker()
        self.wait_for_workers(self._wanted)
        return self

    def start_scheduler(self) -> None:
        self.scheduler_file.unlink(missing_ok=True)
        args = [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"]
        self.scheduler = self._spawn([*args, "--scheduler-file", str(self.scheduler_file)], "scheduler.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.address = json.loads(self.scheduler_file.read_text())["address"]
                return
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        raise RuntimeError(
            f"the scheduler did not start: {(self.folder / 'scheduler.log').read_text()[-2000:]}"
        )

    def add_worker(self) -> subprocess.Popen[bytes]:
        n = len(self.workers) + 1
        args = [sys.executable, "-m", "archive.cli", "worker", "--scheduler-file", str(self.scheduler_file)]
        args += [
            "--nthreads",
            str(self.nthreads),
            "--name",
            f"w{n}",
            "--local-directory",
            str(self.folder / f"w{n}"),
        ]
        for extra in self.preload:
            args += ["--preload", extra]
        worker = self._spawn(args, f"worker-{n}.log")
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int, timeout: float = 90) -> None:
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=timeout)

    @staticmethod
    def kill(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for worker in self.workers:
            self.kill(worker)
        self.kill(self.scheduler)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_scan(path: Path, pages: int, tag: str = "") -> list[str]:
    """A small scanned PDF (image-only pages, 200 dpi) with one distinct line on each page; quick
    to read, so fault tests can spread several pages over the workers. Returns the lines."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 40)
    lines, images = [], []
    for n in range(1, pages + 1):
        line = f"Cluster ledger {tag}page {n} invoice {4400 + n}"
        image = Image.new("L", (1100, 160), 255)
        ImageDraw.Draw(image).text((40, 50), line, fill=0, font=font)
        lines.append(line)
        images.append(image)
    images[0].save(path, save_all=True, append_images=images[1:], resolution=200.0)
    return lines
