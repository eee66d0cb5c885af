"""`foi models` (install and list translation models) and `foi translate` (backfill)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def register(cli: click.Group) -> None:
    @cli.group()
    def models() -> None:
        """Translation models (Argos Translate packages), kept under the archive folder."""

    @models.command("install")
    @click.argument("codes", nargs=-1)
    @click.option(
        "--file",
        "path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Install an .argosmodel file (offline).",
    )
    @click.pass_obj
    def install(ctx, codes: tuple[str, ...], path: Path | None) -> None:  # type: ignore[no-untyped-def]
        """Install a model: `foi models install zh en` from the Argos index (online; the
        ARGOS_PACKAGE_INDEX variable points at another index, e.g. a file:// mirror) or
        `foi models install --file PATH.argosmodel` (offline)."""
        from archive.translate import TranslationError, install_from_file, install_from_index

        try:
            if path is not None:
                pkg = install_from_file(ctx.root, path)
            elif len(codes) == 2:
                pkg = install_from_index(ctx.root, codes[0], codes[1])
            else:
                raise click.UsageError("give FROM TO language codes (zh en) or --file PATH.argosmodel")
        except TranslationError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        click.echo(
            f"installed {pkg.from_code}->{pkg.to_code} {getattr(pkg, 'package_version', '')} "
            f"({Path(pkg.package_path).name}); run `foi translate` to translate pending pages"
        )

    @models.command("list")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def list_models(ctx, as_json: bool) -> None:  # type: ignore[no-untyped-def]
        """List installed translation models."""
        from archive.translate import installed_packages

        rows = [
            {
                "from": p.from_code,
                "to": p.to_code,
                "version": getattr(p, "package_version", ""),
                "name": Path(p.package_path).name,
            }
            for p in installed_packages(ctx.root)
        ]
        if as_json:
            click.echo(json.dumps(rows, indent=2))
        elif not rows:
            click.echo("no translation models installed")
        for r in [] if as_json else rows:
            click.echo(f"{r['from']}->{r['to']} {r['version']} {r['name']}")

    @cli.command()
    @click.pass_obj
    def translate(ctx) -> None:  # type: ignore[no-untyped-def]
        """Translate Chinese pages left pending (ingested before a model was installed)."""
        from archive.translate import TranslationError, backfill, pending_count

        archive = ctx.archive
        pending = pending_count(archive)
        try:
            with click.progressbar(
                length=pending, label="Translating", file=sys.stderr, hidden=not sys.stderr.isatty()
            ) as bar:
                done = backfill(archive, progress=bar.update)
        except TranslationError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        click.echo(f"translated {done['pages']} pages in {done['documents']} documents")
