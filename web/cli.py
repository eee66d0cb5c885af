"""`foi serve`, added to the `foi` command group through the `foi.commands` entry point."""

from __future__ import annotations

import ipaddress
import os
from typing import Any

import click

from archive.commands.context import Context, pass_ctx


def register(cli: click.Group) -> None:
    cli.add_command(serve)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="Flask's debugger and reloader (development server only).")
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Serve with gunicorn in this many worker processes (0: Flask's development server). "
    "Search is CPU-bound Python, so one process uses one core: use about one worker per core.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Threads per gunicorn worker (requests waiting on SQLite or Elasticsearch).",
)
@click.option(
    "--public",
    is_flag=True,
    help="Serve a public site: only published collections, no login, nothing written.",
)
@click.option("--noindex", is_flag=True, help="Ask search engines not to index the site.")
@click.option(
    "--trusted-network",
    is_flag=True,
    help="Serve a non-loopback address in local mode anyway: only for an address nobody else can "
    "reach (a container whose port is published on the host's 127.0.0.1).",
)
@pass_ctx
def serve(
    ctx: Context,
    host: str,
    port: int,
    debug: bool,
    workers: int,
    threads: int,
    public: bool,
    noindex: bool,
    trusted_network: bool,
) -> None:
    """Serve the web UI and JSON API.

    Three ways: local (no accounts, on 127.0.0.1: everything visible to whoever reaches it), team
    server (once `foi users add` made an account, or FOI_AUTH=required: login required except for
    published collections) and public site (--public)."""
    from . import create_app

    if workers and debug:
        raise click.UsageError("--debug is for the development server; leave out --workers")
    if (
        not public
        and not trusted_network
        and not is_loopback(host)
        and not _has_accounts(ctx)
        and os.environ.get("FOI_AUTH") != "required"
    ):
        raise click.UsageError(
            f"refusing to serve every collection to anyone who reaches {host}: add an account first "
            "(foi users add NAME --role admin) for a team server, or use --public to serve only the "
            "published collections"
        )
    config: dict[str, Any] = {"ARCHIVE_DIR": str(ctx.root), "FOI_PUBLIC": public}
    if noindex:
        config["FOI_NOINDEX"] = True
    # A team or local server sends alerts while it serves; a public site writes nothing, so its
    # alerts go out from `foi alerts send` (cron) run beside it.
    config["ALERTS_LOOP"] = not public
    if not workers:
        app = create_app(config)
        click.echo(f"Serving {ctx.root} on http://{host}:{port}/ (development server)", err=True)
        app.run(host=host, port=port, debug=debug, threaded=True)
        return
    from archive import Archive

    # Open the archive once before the workers start, so that a schema or search-index upgrade
    # (minutes on a large archive) runs here once instead of holding the workers' first requests.
    Archive(ctx.root).close()
    click.echo(
        f"Serving {ctx.root} on http://{host}:{port}/ ({workers} workers x {threads} threads)", err=True
    )
    run_gunicorn(config, host, port, workers, threads)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _has_accounts(ctx: Context) -> bool:
    return ctx.archive.accounts.any()


def run_gunicorn(config: dict[str, Any], host: str, port: int, workers: int, threads: int) -> None:
    """The production form: gunicorn's threaded workers, each process building its own app (and so
    its own SQLite connections) after the fork."""
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "preload_app": False,
                "timeout": 120,
                "accesslog": None,
                "loglevel": "warning",
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from . import create_app
            from archive.analysis import tokenize

            # Load jieba's dictionary (about a second) in each worker before it takes requests,
            # not in the first Chinese search it serves.
            tokenize("中文", for_index=False)
            return create_app(config)

    _App().run()
