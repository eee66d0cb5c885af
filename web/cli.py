"""`foi serve`, added to the `foi` command group through the `foi.commands` entry point."""

from __future__ import annotations

import click

from archive.cli import Context, pass_ctx


def register(cli: click.Group) -> None:
    cli.add_command(serve)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug", is_flag=True)
@pass_ctx
def serve(ctx: Context, host: str, port: int, debug: bool) -> None:
    """Serve the web UI and JSON API."""
    from . import create_app

    app = create_app({"ARCHIVE_DIR": str(ctx.root)})
    click.echo(f"Serving {ctx.root} on http://{host}:{port}/", err=True)
    app.run(host=host, port=port, debug=debug, threaded=True)
