"""`foi alerts`: saved searches and their alerts (archive/alerts).

JSON shapes (`--json`):
    add, show    {"search": {id, name, owner, query, filters, sort, cadence, paused, failing,
                  public_feed, since, created, updated, channels: [...]}, "feed_url", "hits": [...],
                  "outbox": {state: count}}  (add: "webhook_secrets": {url: secret}, shown once)
    list         {"searches": [search, ...]}
    run          {"search": name, "new_hits": N}
    send         {"emails", "webhooks", "hits_sent", "withheld", "failures", "disabled", "busy"}
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ..alerts import CADENCES, AlertError, SavedSearch
from ..search import SORTS, QueryError
from .context import Context, dump, pass_ctx

EXIT_USAGE = 2
EXIT_QUERY = 3


def register(cli: click.Group) -> None:
    cli.add_command(alerts)


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _find(ctx: Context, name: str) -> SavedSearch:
    found = ctx.archive.alerts.find(name)
    if found is None:
        _fail(f"no saved search named {name!r} (see `foi alerts list`)", EXIT_USAGE)
    assert found is not None
    return found


def _filters(pairs: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(
                f"{pair!r}: write NAME=VALUE (e.g. collection=imperial)", param_hint="--filter"
            )
        out.setdefault(name.strip(), []).append(value)
    return out


def _details(ctx: Context, search: SavedSearch, hits: int = 20) -> dict[str, Any]:
    alerts = ctx.archive.alerts
    return {
        "search": search.as_dict(),
        "feed_url": alerts.feed_url(search),
        "hit_count": alerts.hit_count(search),
        "hits": alerts.hits(search, hits),
        "outbox": alerts.outbox_counts(search),
    }


def _echo_search(search: SavedSearch) -> None:
    state = "paused" if search.paused else search.cadence
    line = f"{search.id:>4}  {search.name}  [{state}]  {search.query}"
    if search.filters:
        line += "  " + " ".join(f"{k}={v}" for k, vs in search.filters.items() for v in vs)
    click.echo(line)
    if search.failing:
        click.echo(f"      FAILING: {search.failing}")
    for ch in search.channels:
        note = f" (disabled: {ch.disabled})" if ch.disabled else "" if ch.confirmed else " (unconfirmed)"
        click.echo(f"      {ch.kind} {ch.target}{note}")


@click.group()
def alerts() -> None:
    """Saved searches: alerts by e-mail, webhook and Atom feed as matching documents arrive."""


@alerts.command("add")
@click.argument("query")
@click.option("--name", required=True, help="A name for the saved search (unique per owner).")
@click.option("--email", "emails", multiple=True, help="Send digests to this address (repeatable).")
@click.option("--webhook", "webhooks", multiple=True, help="POST signed JSON to this URL (repeatable).")
@click.option("--cadence", type=click.Choice(CADENCES), default="daily", show_default=True)
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option(
    "--filter", "filters", multiple=True, help="A filter given apart from the query: NAME=VALUE (repeatable)."
)
@click.option(
    "--public-feed", is_flag=True, help="Offer a public Atom feed (hits of public collections only)."
)
@click.option("--since", default=None, help="Also match documents added since this date (backfill) now.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def add_command(
    ctx: Context,
    query: str,
    name: str,
    emails: tuple[str, ...],
    webhooks: tuple[str, ...],
    cadence: str,
    sort: str,
    filters: tuple[str, ...],
    public_feed: bool,
    since: str | None,
    as_json: bool,
) -> None:
    """Save QUERY (the search syntax, filters included). It alerts on documents indexed from now on."""
    try:
        search = ctx.archive.alerts.add(
            name,
            query,
            filters=_filters(filters),
            sort=sort,
            cadence=cadence,
            emails=emails,
            webhooks=webhooks,
            public_feed=public_feed,
        )
        if since is not None:
            ctx.archive.alerts.run(search, since)
    except QueryError as exc:
        _fail(str(exc), EXIT_QUERY)
    except AlertError as exc:
        _fail(str(exc), EXIT_USAGE)
    secrets = {c.target: c.secret for c in search.channels if c.kind == "webhook"}
    if as_json:
        dump(_details(ctx, search) | {"webhook_secrets": secrets})
        return
    click.echo(f"saved search {search.name!r} (id {search.id}), {search.cadence}")
    click.echo(f"feed: {ctx.archive.alerts.feed_url(search)}")
    for url, secret in secrets.items():
        click.echo(f"webhook {url}: signing secret {secret} (shown once)")


@alerts.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def list_command(ctx: Context, as_json: bool) -> None:
    """List saved searches, with failing ones and disabled channels marked."""
    found = ctx.archive.alerts.saved()
    if as_json:
        dump({"searches": [s.as_dict() for s in found]})
        return
    for search in found:
        _echo_search(search)
    if not found:
        click.echo("no saved searches (add one with `foi alerts add QUERY --name NAME`)")


@alerts.command("show")
@click.argument("name")
@click.option("--hits", "hit_count", type=click.IntRange(0, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def show_command(ctx: Context, name: str, hit_count: int, as_json: bool) -> None:
    """A saved search with its newest hits and its outbox."""
    search = _find(ctx, name)
    details = _details(ctx, search, hit_count)
    if as_json:
        dump(details)
        return
    _echo_search(search)
    click.echo(f"      feed: {details['feed_url']}")
    click.echo(f"      {details['hit_count']} hits; outbox: {details['outbox']}")
    for hit in details["hits"]:
        click.echo(
            f"  {hit['created']}  doc {hit['document_id']} p.{hit['page']}  {hit['title']}  [{', '.join(hit['terms'])}]"
        )


@alerts.command("remove")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def remove_command(ctx: Context, name: str, as_json: bool) -> None:
    """Delete a saved search with its hits and outbox."""
    search = _find(ctx, name)
    ctx.archive.alerts.remove(search)
    if as_json:
        dump({"removed": search.name})
    else:
        click.echo(f"removed {search.name!r}")


@alerts.command("pause")
@click.argument("name")
@click.option("--resume", is_flag=True, help="Resume instead.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def pause_command(ctx: Context, name: str, resume: bool, as_json: bool) -> None:
    """Pause a saved search (nothing is matched or sent) or resume it."""
    search = ctx.archive.alerts.update(_find(ctx, name), paused=not resume)
    if as_json:
        dump({"search": search.as_dict()})
    else:
        click.echo(f"{search.name!r} {'paused' if search.paused else 'resumed'}")


@alerts.command("run")
@click.argument("name")
@click.option("--since", default=None, help="Documents added since this date (YYYY-MM-DD); default: all.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def run_command(ctx: Context, name: str, since: str | None, as_json: bool) -> None:
    """Backfill: match a saved search against documents already in the archive."""
    from ..search.query import check_date

    search = _find(ctx, name)
    try:
        if since:
            since = check_date(since, "--since")
        n = ctx.archive.alerts.run(search, since)
    except QueryError as exc:
        _fail(str(exc), EXIT_QUERY)
    failing = ctx.archive.alerts.get(search.id)
    if failing is not None and failing.failing:
        _fail(f"{search.name!r} is failing: {failing.failing}", EXIT_QUERY)
    if as_json:
        dump({"search": search.name, "new_hits": n})
    else:
        click.echo(f"{n} new hits for {search.name!r}")


@alerts.command("send")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def send_command(ctx: Context, as_json: bool) -> None:
    """Send what is due once (for cron): instant hits, and digests whose day or week has passed."""
    report = ctx.archive.alerts.send_due()
    if as_json:
        dump(report.as_dict())
    elif report.busy:
        click.echo("another sender is running (the loop of `foi serve`?): nothing sent")
    else:
        click.echo(
            f"sent {report.hits_sent} hits in {report.emails} e-mails and {report.webhooks} webhook requests; "
            f"{report.withheld} withheld"
        )
        for failure in report.failures:
            click.echo(f"failed: {failure}", err=True)
        for disabled in report.disabled:
            click.echo(f"disabled: {disabled}", err=True)


@alerts.command("feed")
@click.argument("name")
@click.option("--rotate", is_flag=True, help="Make a new private feed URL (the old one stops working).")
@pass_ctx
def feed_command(ctx: Context, name: str, rotate: bool) -> None:
    """Print a saved search's Atom feed, or with --rotate its new private URL."""
    search = _find(ctx, name)
    if rotate:
        search = ctx.archive.alerts.rotate_feed_token(search)
        click.echo(ctx.archive.alerts.feed_url(search))
        return
    click.echo(ctx.archive.alerts.feed(search).decode())
