"""`foi entities` (counts across the archive) and `foi watchlist add|list`.

JSON shapes (`--json`):
    foi entities   {"total_entities": N, "entities": [{"entity_id", "type", "norm", "mentions",
                    "documents", "texts": [...]}]}  sorted by documents, then mentions
    foi watchlist list  {"watchlists": [{"name", "path", "entries", "builtin"}]}
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import click

from ..entities.base import TYPES

EXIT_USAGE = 2
# The choices of --type: the entity types themselves (the CLI loads the pipeline, and so the
# entities package, anyway: a copy here no longer saves anything).
ENTITY_TYPES = TYPES


def entity_counts(archive: Any, type_: str | None = None) -> list[dict[str, Any]]:
    """Entities across the archive from each document's summary (written by the entity step)."""
    rows: dict[str, dict[str, Any]] = {}
    for doc in archive.store.finished_documents():
        for ent in doc["metadata"].get("entities") or []:
            if type_ and ent["type"] != type_:
                continue
            row = rows.setdefault(
                ent["entity_id"],
                {
                    "entity_id": ent["entity_id"],
                    "type": ent["type"],
                    "norm": ent["norm"],
                    "mentions": 0,
                    "documents": 0,
                    "texts": [],
                },
            )
            row["mentions"] += ent["count"]
            row["documents"] += 1
            for t in ent.get("texts") or []:
                if t not in row["texts"] and len(row["texts"]) < 10:
                    row["texts"].append(t)
    return sorted(rows.values(), key=lambda r: (-r["documents"], -r["mentions"], r["type"], r["norm"]))


def echo_entity_summary(summary: list[dict[str, Any]], limit: int = 50) -> None:
    """The entity lines of `foi show`: type, name, count, pages and the spellings seen."""
    if not summary:
        return
    click.echo(f"  entities ({len(summary)}):")
    for ent in summary[:limit]:
        pages = ", ".join(f"p{n}" for n in ent["pages"][:10])
        spellings = [t for t in ent.get("texts") or [] if " ".join(t.split()) != ent["norm"]]
        also = f"  as {', '.join(repr(' '.join(t.split())) for t in spellings[:3])}" if spellings else ""
        click.echo(f"    {ent['type']:<9} {ent['norm']}  x{ent['count']} ({pages}){also}")
    if len(summary) > limit:
        click.echo(f"    ... {len(summary) - limit} more (foi show --json lists every mention)")


def register(cli: click.Group) -> None:
    from .context import Context, pass_ctx
    from .context import dump as _dump

    @cli.command("entities")
    @click.option("--type", "type_", type=click.Choice(ENTITY_TYPES), help="Only entities of this type.")
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
    @click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
    @pass_ctx
    def entities_cmd(ctx: Context, type_: str | None, limit: int, as_json: bool) -> None:
        """Entities and exemption codes across the archive, by type, most widespread first."""
        rows = entity_counts(ctx.archive, type_)
        if as_json:
            _dump({"total_entities": len(rows), "entities": rows[:limit]})
            return
        if not rows:
            click.echo("no entities" + (f" of type {type_}" if type_ else ""))
            return
        by_type: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_type.setdefault(r["type"], []).append(r)
        for t in sorted(by_type):
            group = by_type[t]
            click.echo(f"{t} ({len(group)})")
            for r in group[:limit]:
                click.echo(f"  {r['documents']:>5} docs {r['mentions']:>6} mentions  {r['norm']}")

    @cli.group("watchlist")
    def watchlist_group() -> None:
        """Watchlists of entities (names with aliases) matched on every ingest."""

    @watchlist_group.command("add")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--rescan", is_flag=True, help="Also scan the documents already in the archive again.")
    @pass_ctx
    def watchlist_add(ctx: Context, file: Path, rescan: bool) -> None:
        """Add a CSV or YAML watchlist; it is used on every later ingest."""
        from ..entities.watchlist import WatchlistError, load_watchlist

        try:
            wl = load_watchlist(file)
        except WatchlistError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        folder = ctx.root / "watchlists"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / file.name
        replaced = target.exists()
        shutil.copyfile(file, target)
        click.echo(
            f"{'replaced' if replaced else 'added'} watchlist {target.name}: {len(wl.entries)} entries"
        )
        if rescan:
            n_docs, n_mentions = rescan_archive(ctx.archive)
            click.echo(f"rescanned {n_docs} documents: {n_mentions} mentions")

    @watchlist_group.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print the watchlists as JSON.")
    @pass_ctx
    def watchlist_list(ctx: Context, as_json: bool) -> None:
        """The built-in starter watchlist and those added to this archive."""
        from ..entities import archive_watchlists
        from ..entities.watchlist import BUILTIN, load_watchlist

        rows = []
        for path in [BUILTIN, *archive_watchlists(ctx.root)]:
            wl = load_watchlist(path)
            rows.append(
                {"name": path.name, "path": str(path), "entries": len(wl.entries), "builtin": path == BUILTIN}
            )
        if as_json:
            _dump({"watchlists": rows})
            return
        for r in rows:
            click.echo(f"{r['name']}: {r['entries']} entries" + (" (built in)" if r["builtin"] else ""))


def rescan_archive(archive: Any) -> tuple[int, int]:
    """Run the entity extractors again over every stored document; returns (documents, mentions)."""
    from ..entities import archive_watchlists, default_extractors, rescan_document

    opts = archive.config.get("entities") or {}
    extractors = default_extractors(
        archive_watchlists(archive.root), builtin_watchlist=opts.get("builtin_watchlist", True)
    )
    docs = archive.store.finished_document_ids()
    total = 0
    for doc_id in docs:
        total += rescan_document(archive, doc_id, extractors)
    return len(docs), total
