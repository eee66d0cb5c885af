"""The `foi` command.

Every command that prints data takes `--json` for a stable, documented shape (see README).
Exit codes: 0 ok, 1 some documents failed (ingest), 2 usage error, 3 query error, 4 search engine error,
5 cluster error (the Dask scheduler cannot be reached or was lost).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .commands.context import Context, pass_ctx
from .commands.context import dump as _dump
from .search import SORTS, QueryError, SearchError, SearchQuery
from .store import default_archive_dir

EXIT_DOCUMENT_FAILURES = 1
EXIT_QUERY = 3
EXIT_SEARCH_ENGINE = 4
EXIT_CLUSTER = 5


@click.group()
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Archive folder (default: $FOI_ARCHIVE or ./foi-data).",
)
@click.version_option(package_name="foi-archive")
@click.pass_context
def cli(ctx: click.Context, archive_dir: Path | None) -> None:
    """FOI Archive: ingest FOI releases and email dumps, search them in English and Chinese."""
    ctx.obj = Context(archive_dir or default_archive_dir())

    @ctx.call_on_close
    def _close() -> None:
        if ctx.obj._archive is not None:
            ctx.obj._archive.close()


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--collection", default="default", show_default=True, help="Collection to add the files to.")
@click.option(
    "--password", "passwords", multiple=True, help="Password to try on encrypted files (repeatable)."
)
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Follow symbolic links inside the folders given (only to targets inside the given paths).",
)
@click.option(
    "--ocr-chinese-engine",
    type=click.Choice(["tesseract", "auto", "rapidocr"]),
    default=None,
    help="OCR engine for Chinese pages: Tesseract, RapidOCR where Tesseract reads poorly (auto), "
    "or RapidOCR (default: $FOI_OCR_CHINESE or auto).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--cluster",
    metavar="tcp://HOST:PORT",
    help="Read pages on this Dask scheduler's workers (`foi worker`); default $FOI_CLUSTER, else locally.",
)
@pass_ctx
def ingest(
    ctx: Context,
    paths: tuple[Path, ...],
    collection: str,
    passwords: tuple[str, ...],
    follow_symlinks: bool,
    ocr_chinese_engine: str | None,
    as_json: bool,
    cluster: str | None,
) -> None:
    """Ingest files and folders (recursively) into a collection.

    Only regular files are read: symbolic links inside the folders are skipped unless
    --follow-symlinks is given, FIFOs, devices and sockets always (listed as skipped)."""
    from .cluster import ClusterLost, ClusterUnavailable

    try:
        _ingest(ctx, paths, collection, passwords, follow_symlinks, as_json, cluster, ocr_chinese_engine)
    except (ClusterLost, ClusterUnavailable) as exc:
        click.echo(f"error: cluster: {exc}", err=True)
        if isinstance(exc, ClusterLost):
            click.echo(
                "the documents being read are kept; run the same `foi ingest` again to resume", err=True
            )
        sys.exit(EXIT_CLUSTER)


def _ingest(
    ctx: Context,
    paths: tuple[Path, ...],
    collection: str,
    passwords: tuple[str, ...],
    follow_symlinks: bool,
    as_json: bool,
    cluster: str | None,
    ocr_chinese_engine: str | None,
) -> None:
    from .cluster import cluster_address
    from .inputs import InputFile, select_files

    entries = list(select_files(paths, follow_symlinks))
    archive = ctx.archive
    if ocr_chinese_engine:
        archive.config["ocr_chinese_engine"] = ocr_chinese_engine
    if cluster:
        archive.config["cluster"] = cluster
    if cluster_address(archive.config):
        archive.ocr_engine()  # connected now: an unreachable scheduler is said before any file is read
    show_bar = not as_json and sys.stderr.isatty()
    with click.progressbar(
        length=sum(isinstance(e, InputFile) for e in entries),
        label="Ingesting",
        file=sys.stderr,
        show_pos=True,
        hidden=not show_bar,
    ) as bar:
        report = archive.ingest(
            entries, collection=collection, progress=lambda _p: bar.update(1), passwords=passwords
        )
    data = report.as_dict()
    alerts = archive.alerts.send_instant()  # instant alerts go now, without a server or cron
    if alerts is not None and not as_json:
        click.echo(f"alerts: sent {alerts.hits_sent} instant hits", err=True)
        for failure in alerts.failures:
            click.echo(f"alerts: failed: {failure}", err=True)
    if as_json:
        _dump(data)
    else:
        click.echo(
            f"ingested {data['ingested']}, duplicates {data['duplicates']}, "
            f"resumed {data['resumed']}, failed {data['failed']}"
        )
        for stage, count in sorted(data["failed_by_stage"].items()):
            click.echo(f"  failed at {stage}: {count}")
        for f in data["failures"]:
            click.echo(f"  ! {f.get('path')}: {f['stage']}: {f['reason']}")
        if data["skipped"]:
            click.echo(f"skipped {len(data['skipped'])} (not read)")
            for f in data["skipped"]:
                click.echo(f"  - {f['path']}: {f['reason']}")
        if data["index_pending"]:
            click.echo(f"  {data['index_pending']} documents wait for the search index (run `foi reindex`)")
            if data.get("index_error"):
                click.echo(f"  search index: {data['index_error']}", err=True)
    if data["failed"]:
        sys.exit(EXIT_DOCUMENT_FAILURES)


@cli.command()
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option("--cursor", help="The next_cursor of a previous --json page, for deep pagination.")
@click.option(
    "--lang", "langs", multiple=True, help="Only pages in this language (zh matches zh-Hans and zh-Hant)."
)
@click.option("--collection", "collections", multiple=True, help="Only this collection (repeatable).")
@click.option("--kind", "kinds", multiple=True, help="Only this kind of document (pdf, image, email ...).")
@click.option("--sender", "senders", multiple=True, help="Only mail from this address or name.")
@click.option("--recipient", "recipients", multiple=True, help="Only mail to this address or name.")
@click.option("--from", "date_from", help="Only documents dated on or after (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Only documents dated on or before (YYYY-MM-DD).")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", help="-withheld: most redacted first.")
@click.option("--raw", is_flag=True, help="Pass the query to the engine unescaped (FTS5 or Lucene syntax).")
@click.option(
    "--facets", is_flag=True, help="Also count matches by collection, language, kind, entity and exemption."
)
@pass_ctx
def search(
    ctx: Context,
    query: str,
    as_json: bool,
    limit: int,
    offset: int,
    cursor: str | None,
    langs: tuple[str, ...],
    collections: tuple[str, ...],
    kinds: tuple[str, ...],
    senders: tuple[str, ...],
    recipients: tuple[str, ...],
    date_from: str | None,
    date_to: str | None,
    sort: str,
    raw: bool,
    facets: bool,
) -> None:
    """Search the archive. Words are ANDed; "phrases", OR, NOT, -word, prefix* and field:value work."""
    filters = {
        "lang": list(langs),
        "collection": list(collections),
        "kind": list(kinds),
        "sender": list(senders),
        "recipient": list(recipients),
    }
    q = SearchQuery(
        text=query,
        raw=raw,
        filters={k: v for k, v in filters.items() if v},
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        offset=offset,
        sort=sort,
        facets=("collection", "lang", "kind", "entity", "exemption", "redacted", "bad_redaction")
        if facets
        else (),
    )
    if cursor:
        try:
            q.search_after = json.loads(cursor)
            if not isinstance(q.search_after, list):
                raise ValueError("not a list")
        except ValueError as exc:
            click.echo(f"error: --cursor must be the JSON list given as next_cursor ({exc})", err=True)
            sys.exit(EXIT_QUERY)
    try:
        results = ctx.archive.search(q)
    except QueryError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_QUERY)
    except SearchError as exc:
        click.echo(f"error: search engine: {exc}", err=True)
        sys.exit(EXIT_SEARCH_ENGINE)
    if as_json:
        _dump(results.as_dict())
        return
    click.echo(f"{results.total} matching pages")
    for h in results.hits:
        plain = h.snippet.replace("<mark>", "[").replace("</mark>", "]")
        from html import unescape

        click.echo(f"#{h.doc_id} p{h.page} [{h.lang}] {h.collection}/{h.kind} {h.title}  ({h.score:.2f})")
        click.echo(f"    {unescape(plain)}")
        if h.matched and h.matched != ["original"]:
            click.echo(f"    matched in: {', '.join(h.matched)}")


@cli.command()
@click.argument("doc_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the document as JSON.")
@click.option("--words", is_flag=True, help="Include OCR word boxes (JSON only).")
@click.option(
    "--show-hidden-text",
    is_flag=True,
    help="Include the text left under bad redactions (only for those who may write to the collection).",
)
@pass_ctx
def show(ctx: Context, doc_id: int, as_json: bool, words: bool, show_hidden_text: bool) -> None:
    """Show one document: metadata, status, errors, pages, redactions and children."""
    doc = ctx.archive.document(doc_id, with_words=words)
    if doc is None:
        click.echo(f"error: no document {doc_id}", err=True)
        sys.exit(2)
    doc["redactions"] = ctx.archive.redactions(doc_id, show_hidden=show_hidden_text)
    if as_json:
        _dump(doc)
        return
    click.echo(f"Document {doc['id']}: {doc['title']}")
    for key in ("filename", "collection", "kind", "mime", "lang", "page_count", "status", "date", "sha256"):
        if doc.get(key) is not None:
            click.echo(f"  {key}: {doc[key]}")
    if doc["parent_id"]:
        click.echo(f"  parent: {doc['parent_id']}")
    if doc["error_stage"]:
        click.echo(f"  error: {doc['error_stage']}: {doc['error_reason']}")
    click.echo("  stages: " + ", ".join(f"{k}={v['status']}" for k, v in doc["stages"].items()))
    thread = (doc["metadata"].get("mail") or {}).get("thread")
    if thread:
        click.echo(
            f"  thread: {thread['id']} (message {thread['position']} of {thread['size']}; foi thread {doc['id']})"
        )
    _echo_tree(doc["children"], 1)
    summary = doc["metadata"].get("redactions")
    if summary and summary.get("boxes"):
        click.echo(
            f"  redactions: {summary['boxes']} boxes on {summary['pages']} pages, "
            f"{100 * summary['withheld']:.1f}% withheld, {summary['bad']} bad"
        )
        for box in doc["redactions"]:
            if box.get("hidden_text"):
                click.echo(f"    p{box['page']} under a box: {box['hidden_text']}")
    if doc["metadata"].get("entities"):
        from .commands.entities import echo_entity_summary

        echo_entity_summary(doc["metadata"]["entities"])
    for page in doc["pages"]:
        flag = f" OCR conf {page['confidence']}" if page["ocr"] else ""
        click.echo(f"\n--- page {page['number']} [{page['lang']}]{flag} ---")
        click.echo(page["text"])
        if page.get("translation"):
            click.echo(f"--- translation of page {page['number']} ---")
            click.echo(page["translation"])


def _echo_tree(children: list[dict[str, Any]], depth: int) -> None:
    for c in children:
        err = f" ({c['error_stage']}: {c['error_reason']})" if c.get("error_stage") else ""
        click.echo(f"{'  ' * depth}└ #{c['id']} {c['filename']} [{c['kind']}, {c['status']}]{err}")
        _echo_tree(c["children"], depth + 1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Counts of documents and pages, by status and stage, and failures by stage and reason."""
    data = ctx.archive.status()
    if as_json:
        _dump(data)
        return
    click.echo(f"archive: {ctx.root}")
    click.echo(
        f"documents: {data['documents']} ({data['top_level_documents']} top-level), pages: {data['pages']}"
        f" ({data['ocr_pages']} OCR'd), indexed pages: {data['indexed_pages']} [{data['search_backend']}]"
    )
    click.echo("by status: " + ", ".join(f"{k} {v}" for k, v in sorted(data["by_status"].items())))
    if data.get("stuck"):
        click.echo(f"stuck: {data['stuck']} left processing by an ingest that is gone (run `foi recover`)")
    click.echo("languages: " + ", ".join(f"{k} {v}" for k, v in data["languages"].items()))
    if data.get("search_error"):
        click.echo(f"search engine: {data['search_error']}")
    if data["index_pending"]:
        click.echo(f"index pending: {data['index_pending']}")
        if data.get("index_error"):
            click.echo(f"  last indexing error: {data['index_error']}")
    for f in data["failures"]:
        click.echo(f"  failed at {f['stage']}: {f['reason']} ({f['count']})")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (as ingest --json).")
@pass_ctx
def recover(ctx: Context, as_json: bool) -> None:
    """Finish documents left `processing` by an ingest that was killed or crashed.

    They are read again from their stored originals. Documents of an ingest that is still
    running (in any process) are left to it. The next `foi ingest` does this too."""
    from .pipeline import Ingester

    data = Ingester(ctx.archive.context, ctx.archive.steps()).recover().as_dict()
    if as_json:
        _dump(data)
    else:
        click.echo(f"recovered {data['recovered']}, failed {data['failed']}")
        for f in data["failures"]:
            click.echo(f"  ! {f.get('path')}: {f['stage']}: {f['reason']}")
    if data["failed"]:
        sys.exit(EXIT_DOCUMENT_FAILURES)


@cli.command()
@pass_ctx
def reindex(ctx: Context) -> None:
    """Rebuild the search index from the store (and catch up documents left pending)."""
    try:
        n = ctx.archive.reindex()
    except SearchError as exc:
        click.echo(f"error: search engine: {exc}", err=True)
        sys.exit(EXIT_SEARCH_ENGINE)
    click.echo(f"reindexed {n} documents")


def _register_command_modules() -> None:
    import importlib

    from .commands import COMMAND_MODULES

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__package__}.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.commands.{name}":
                raise
            continue  # feature not part of this build
        module.register(cli)
    # Commands of other packages (the web UI's `serve`) come through entry points, so that
    # `archive` never imports `web`.
    from importlib.metadata import entry_points

    for entry in entry_points(group="foi.commands"):
        entry.load()(cli)


_register_command_modules()


def main() -> None:
    cli(prog_name="foi")


if __name__ == "__main__":
    # `python -m archive.cli`: run the importable module, not this __main__ copy, so that commands
    # added through entry points (which import archive.cli) share its click context type.
    from archive.cli import main as _main

    _main()
