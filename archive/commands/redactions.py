"""`foi collections check` (the publication check) and `foi redactions show|summary|export`.

JSON shapes (`--json`):
    foi collections check   {"collection", "findings": [{"kind", "message", "document", "filename",
                             "page" | "pages", ...}]}  exit code 1 when there are findings
    foi redactions show     {"document", "redactions": [{"id", "page", "kind", "bbox", "area", "bad",
                             "label", "exemption", "exemption_from"[, "hidden_text"]}]}
    foi redactions summary  {"collection", "pages", "redacted_pages", "redactions", "bad_redactions",
                             "withheld", "by_exemption": {code: boxes}}
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from .context import Context, dump, pass_ctx

EXIT_FINDINGS = 1
EXIT_USAGE = 2
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _allow_list(values: tuple[str, ...], files: tuple[Path, ...]) -> list[str]:
    out = list(values)
    for path in files:
        out += [
            ln.strip()
            for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")
        ]
    return out


def _collections_group(cli: click.Group) -> click.Group:
    """`foi collections`, made here unless another feature made it first."""
    group = cli.commands.get("collections")
    if isinstance(group, click.Group):
        return group

    @cli.group()
    def collections() -> None:
        """Collections: checks before publishing."""

    return collections


def register(cli: click.Group) -> None:
    collections = _collections_group(cli)

    @collections.command("check")
    @click.argument("collection")
    @click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
    @click.option(
        "--allow", multiple=True, help="A value never reported (repeatable; '@domain' for a whole domain)."
    )
    @click.option(
        "--allow-file",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A file of allowed values, one a line.",
    )
    @pass_ctx
    def check(
        ctx: Context, collection: str, as_json: bool, allow: tuple[str, ...], allow_file: tuple[Path, ...]
    ) -> None:
        """Check a collection before publishing: bad redactions (text left under a box) and
        personal data left readable (individuals' e-mail addresses and phone numbers, names).
        Exit code 1 when there are findings."""
        if ctx.archive.collection(collection) is None:
            click.echo(f"error: no collection {collection!r}", err=True)
            sys.exit(EXIT_USAGE)
        findings = ctx.archive.check_collection(collection, _allow_list(allow, allow_file))
        if as_json:
            dump({"collection": collection, "findings": findings})
        else:
            for f in findings:
                click.echo(f"{f['kind']}: {f['message']}")
            click.echo(f"{len(findings)} findings in {collection}")
        if findings:
            sys.exit(EXIT_FINDINGS)

    @cli.group()
    def redactions() -> None:
        """Redaction boxes: of a document, a collection's summary, a CSV export per box."""

    @redactions.command("show")
    @click.argument("doc_id", type=int)
    @click.option("--json", "as_json", is_flag=True, help="Print the boxes as JSON.")
    @click.option(
        "--show-hidden-text",
        is_flag=True,
        help="Include the text left under bad redactions (only for those who may write to the collection).",
    )
    @pass_ctx
    def show(ctx: Context, doc_id: int, as_json: bool, show_hidden_text: bool) -> None:
        """The redaction boxes of a document, page by page."""
        if ctx.archive.document_record(doc_id) is None:
            click.echo(f"error: no document {doc_id}", err=True)
            sys.exit(EXIT_USAGE)
        boxes = ctx.archive.redactions(doc_id, show_hidden=show_hidden_text)
        if as_json:
            dump({"document": doc_id, "redactions": boxes})
            return
        for b in boxes:
            flag = "  BAD: text under the box" if b["bad"] else ""
            exemption = f"  {b['exemption']} ({b['exemption_from']})" if b["exemption"] else ""
            click.echo(f"p{b['page']} {b['kind']:10} {b['bbox']}{exemption}{flag}")
            if b.get("hidden_text"):
                click.echo(f"    under it: {b['hidden_text']}")
        click.echo(f"{len(boxes)} boxes, {sum(b['bad'] for b in boxes)} bad")

    @redactions.command("summary")
    @click.argument("collection")
    @click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
    @pass_ctx
    def summary(ctx: Context, collection: str, as_json: bool) -> None:
        """N pages, M redactions, X% withheld, K bad redactions, by exemption."""
        s = ctx.archive.redaction_summary(collection)
        if s is None:
            raise click.ClickException(f"no collection {collection!r}")
        if as_json:
            dump(s)
            return
        click.echo(
            f"{s['pages']} pages, {s['redactions']} redactions, {100 * s['withheld']:.1f}% withheld, "
            f"{s['bad_redactions']} bad redactions"
        )
        for code, n in s["by_exemption"].items():
            click.echo(f"  {code}: {n}")

    @redactions.command("export")
    @click.argument("collection")
    @pass_ctx
    def export(ctx: Context, collection: str) -> None:
        """Every box of a collection as CSV: document, page, bbox, area, exemption, bad."""
        writer = csv.writer(sys.stdout)
        for row in ctx.archive.redaction_rows(collection):
            writer.writerow(
                ["'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v for v in row]
            )
