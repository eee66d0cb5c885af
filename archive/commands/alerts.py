"""`foi alerts`: saved searches and their alerts (archive/alerts).

JSON shapes (`--json`):
    add, show    {"search": {id, name, owner, query, filters, sort, cadence, paused, failing,
                  public_feed, since, created, updated, channels: [...]}, "feed_url", "hits": [...],
                  "outbox": {state: count}}  (add: "webhook_secrets": {url: secret}, shown once)
    list         {"searches": [search, ...]}
    run          {"search": name, "new_hits": N}
    send         {"emails", "webhooks", "hits_sent", "withheld", "failures", "disabled", "busy"}
    remove       {"removed": name}
    feed         {"search": name, "feed_url", "atom": the feed's XML}
    enable, add-channel, remove-channel
                 {"search": search}  (add-channel: "webhook_secrets": {url: secret}, shown once)
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
        click.echo(f"      channel {ch.id}: {ch.kind} {ch.target}{note}")


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
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def feed_command(ctx: Context, name: str, rotate: bool, as_json: bool) -> None:
    """Print a saved search's Atom feed, or with --rotate its new private URL."""
    alerts = ctx.archive.alerts
    search = _find(ctx, name)
    if rotate:
        search = alerts.rotate_feed_token(search)
    if as_json:
        dump(
            {"search": search.name, "feed_url": alerts.feed_url(search), "atom": alerts.feed(search).decode()}
        )
    elif rotate:
        click.echo(alerts.feed_url(search))
    else:
        click.echo(alerts.feed(search).decode())


def _channel_change(ctx: Context, search: SavedSearch, message: str, as_json: bool, **extra: Any) -> None:
    found = ctx.archive.alerts.get(search.id)
    assert found is not None
    if as_json:
        dump({"search": found.as_dict(), **extra})
        return
    click.echo(message)
    _echo_search(found)


@alerts.command("enable")
@click.argument("name")
@click.argument("channel", type=click.IntRange(0))
@click.option("--off", is_flag=True, help="Turn the channel off instead (its hits wait).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def enable_command(ctx: Context, name: str, channel: int, off: bool, as_json: bool) -> None:
    """Re-enable CHANNEL (its id, in `foi alerts show`) of a saved search after it was disabled by
    repeated failures: its kept hits go at the next round."""
    search = _find(ctx, name)
    if not ctx.archive.alerts.enable_channel(search, channel, enabled=not off):
        _fail(f"{search.name!r} has no channel {channel} (see `foi alerts show {search.name}`)", EXIT_USAGE)
    _channel_change(ctx, search, f"channel {channel} {'turned off' if off else 'enabled'}", as_json)


@alerts.command("add-channel")
@click.argument("name")
@click.option("--email", "emails", multiple=True, help="Send digests to this address (repeatable).")
@click.option("--webhook", "webhooks", multiple=True, help="POST signed JSON to this URL (repeatable).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def add_channel_command(
    ctx: Context, name: str, emails: tuple[str, ...], webhooks: tuple[str, ...], as_json: bool
) -> None:
    """Add e-mail or webhook channels to a saved search (a webhook's secret is shown once)."""
    search = _find(ctx, name)
    if not emails and not webhooks:
        _fail("give --email ADDRESS or --webhook URL", EXIT_USAGE)
    secrets: dict[str, str | None] = {}
    try:
        for kind, targets in (("email", emails), ("webhook", webhooks)):
            for target in targets:
                channel = ctx.archive.alerts.add_channel(search, kind, target)
                if channel.secret:
                    secrets[channel.target] = channel.secret
    except AlertError as exc:
        _fail(str(exc), EXIT_USAGE)
    message = "\n".join(
        f"webhook {url}: signing secret {secret} (shown once)" for url, secret in secrets.items()
    )
    _channel_change(ctx, search, message or "added", as_json, webhook_secrets=secrets)


@alerts.command("remove-channel")
@click.argument("name")
@click.argument("channel", type=click.IntRange(0))
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def remove_channel_command(ctx: Context, name: str, channel: int, as_json: bool) -> None:
    """Remove CHANNEL (its id, in `foi alerts show`) from a saved search."""
    search = _find(ctx, name)
    if not ctx.archive.alerts.remove_channel(search, channel):
        _fail(f"{search.name!r} has no channel {channel}", EXIT_USAGE)
    _channel_change(ctx, search, f"channel {channel} removed", as_json)
