"""`foi worker SCHEDULER`: a Dask worker that runs the ingest's page tasks (archive/cluster.py)."""

from __future__ import annotations

import os
import sys

import click

# Dask settings `foi worker` starts its worker with unless the environment sets them: Dask's
# statistical profiler samples every thread's stack 100 times a second for the dashboard, CPU
# taken from the pages on a worker whose threads all run Tesseract.
WORKER_DASK_DEFAULTS = {"DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}


def worker_command(
    scheduler: str | None,
    scheduler_file: str | None,
    nthreads: int,
    name: str | None,
    memory_limit: str,
    local_directory: str | None,
    nanny: bool,
    preload: tuple[str, ...] = (),
) -> list[str]:
    """The `dask worker` command line `foi worker` runs (in its own process, replaced by it)."""
    args = [sys.executable, "-m", "distributed.cli.dask_worker"]
    if scheduler_file:
        args += ["--scheduler-file", scheduler_file]
    elif scheduler:
        args.append(scheduler)
    # One Tesseract process per thread, each single-threaded (OMP_THREAD_LIMIT=1, set by the
    # preload); the preload imports foi's tasks once per worker process.
    args += ["--nthreads", str(nthreads), "--nworkers", "1", "--preload", "archive.cluster"]
    for extra in preload:
        args += ["--preload", extra]
    args += ["--memory-limit", memory_limit, "--nanny" if nanny else "--no-nanny"]
    if name:
        args += ["--name", name]
    if local_directory:
        args += ["--local-directory", local_directory]
    return args


def register(cli: click.Group) -> None:
    @cli.command()
    @click.argument("scheduler", required=False)
    @click.option(
        "--scheduler-file",
        type=click.Path(dir_okay=False),
        help="Read the scheduler's address from this file (`dask scheduler --scheduler-file`).",
    )
    @click.option(
        "--nthreads",
        type=click.IntRange(1, 1024),
        default=os.cpu_count() or 1,
        show_default="number of cores",
        help="Pages read at once (one single-threaded Tesseract each).",
    )
    @click.option("--name", help="The worker's name in the scheduler (default: its address).")
    @click.option(
        "--memory-limit",
        default="auto",
        show_default=True,
        help="Memory past which Dask spills page images to disk and then restarts the worker (e.g. 4GiB).",
    )
    @click.option(
        "--local-directory",
        type=click.Path(file_okay=False),
        help="Scratch folder for spilled data, originals and Tesseract's files.",
    )
    @click.option(
        "--nanny/--no-nanny",
        default=True,
        show_default=True,
        help="Run under a nanny process that restarts the worker if it dies.",
    )
    @click.option(
        "--preload",
        multiple=True,
        help="A further Dask preload (module name or .py file) run in the worker, after foi's own.",
    )
    def worker(
        scheduler: str | None,
        scheduler_file: str | None,
        nthreads: int,
        name: str | None,
        memory_limit: str,
        local_directory: str | None,
        nanny: bool,
        preload: tuple[str, ...],
    ) -> None:
        """Start a Dask worker for `foi ingest --cluster` (start the scheduler with `dask scheduler`).

        SCHEDULER is the scheduler's address, e.g. tcp://10.0.0.5:8786. The worker only computes:
        it receives page images or originals and returns results; the archive is written by the
        `foi ingest` that submitted the work, and the worker needs no access to it."""
        if not scheduler and not scheduler_file:
            raise click.UsageError("give the scheduler's address (tcp://HOST:PORT) or --scheduler-file")
        args = worker_command(
            scheduler, scheduler_file, nthreads, name, memory_limit, local_directory, nanny, preload
        )
        # foi's own packages importable by the worker, however foi was installed or started.
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
        env = dict(os.environ, OMP_THREAD_LIMIT="1", PYTHONPATH=path)
        env.update({k: v for k, v in WORKER_DASK_DEFAULTS.items() if k not in os.environ})
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(args[0], args, env)
