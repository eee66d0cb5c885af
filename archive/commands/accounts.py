"""`foi users`, `foi tokens`, `foi collections` and `foi documents hide`: accounts, publishing and
takedowns. Passwords are prompted (or read from stdin) and tokens printed once; neither is echoed
anywhere else."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..access import ROLES
from ..accounts import AccountError
from .context import Context, dump, pass_ctx

EXIT_USAGE = 2


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def register(cli: click.Group) -> None:
    cli.add_command(users)
    cli.add_command(tokens)
    cli.add_command(collections)
    cli.add_command(documents)


@click.group()
def users() -> None:
    """Accounts of a team server (as soon as one exists, the web app requires login)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="reader", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--email", default=None, help="Where the account hears of its alerts' trouble (optional).")
@pass_ctx
def users_add(ctx: Context, name: str, role: str, password_stdin: bool, email: str | None) -> None:
    """Add an account NAME (admins see every collection; editors and readers what they are granted)."""
    try:
        ctx.archive.accounts.add(name, role, _password(password_stdin), email=email)
    except AccountError as exc:
        _fail(str(exc))
    click.echo(f"added {role} {name}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def users_list(ctx: Context, as_json: bool) -> None:
    """List the accounts with their roles and grants."""
    rows = ctx.archive.accounts.all()
    if as_json:
        dump(rows)
        return
    for r in rows:
        grants = ", ".join([*(f"{c} (read)" for c in r["read"]), *(f"{c} (write)" for c in r["write"])])
        click.echo(f"{r['name']}\t{r['role']}\t{grants or '-'}")


@users.command("email")
@click.argument("name")
@click.argument("address")
@pass_ctx
def users_email(ctx: Context, name: str, address: str) -> None:
    """Set the account's e-mail ADDRESS ("" clears it): it is told there when an alert channel of its
    saved searches is disabled."""
    try:
        ctx.archive.accounts.set_email(name, address)
    except AccountError as exc:
        _fail(str(exc))
    click.echo(f"e-mail of {name}: {address or '(none)'}")


@users.command("remove")
@click.argument("name")
@pass_ctx
def users_remove(ctx: Context, name: str) -> None:
    """Remove an account with its grants and tokens."""
    if not ctx.archive.accounts.remove(name):
        _fail(f"no account {name}")
    click.echo(f"removed {name}")


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@pass_ctx
def users_passwd(ctx: Context, name: str, password_stdin: bool) -> None:
    """Set a new password (the account's open sessions end)."""
    try:
        ctx.archive.accounts.set_password(name, _password(password_stdin))
    except AccountError as exc:
        _fail(str(exc))
    click.echo(f"password of {name} changed")


@click.group()
def tokens() -> None:
    """API tokens, sent as `Authorization: Bearer TOKEN`."""


@tokens.command("create")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
@pass_ctx
def tokens_create(ctx: Context, name: str, label: str) -> None:
    """Create a token for account NAME; it is printed once and only its hash is kept."""
    try:
        click.echo(ctx.archive.accounts.create_token(name, label))
    except AccountError as exc:
        _fail(str(exc))


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def tokens_list(ctx: Context, as_json: bool) -> None:
    """List tokens (id, account, label; never the token)."""
    rows = ctx.archive.accounts.tokens()
    if as_json:
        dump(rows)
        return
    for r in rows:
        click.echo(f"{r['id']}\t{r['user']}\t{r['label']}\t{r['created']}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
@pass_ctx
def tokens_revoke(ctx: Context, token_id: int) -> None:
    """Revoke a token by its id."""
    if not ctx.archive.accounts.revoke_token(token_id):
        _fail(f"no token {token_id}")
    click.echo(f"revoked token {token_id}")


@click.group()
def collections() -> None:
    """Collections: settings, publishing and grants."""


def _collection(ctx: Context, name: str) -> dict[str, Any]:
    info = ctx.archive.collection(name)
    if info is None:
        _fail(f"no collection {name}")
    assert info is not None
    return info


@collections.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def collections_list(ctx: Context, as_json: bool) -> None:
    """Every collection with its visibility and number of documents."""
    rows = ctx.archive.collections()
    if as_json:
        dump(rows)
        return
    for c in rows:
        state = "public" if c["published"] else "private"
        if c["embargoed_until"]:
            state = f"embargoed until {c['embargoed_until']}"
        elif c.get("publish_held"):
            state = f"held: {c['publish_held']['count']} finding(s) at go-live (foi collections check {c['name']})"
        click.echo(f"{c['name']}\t{state}\t{c['documents']} documents\t{c['title']}")


@collections.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def collections_show(ctx: Context, name: str, as_json: bool) -> None:
    """A collection's settings and grants."""
    info = _collection(ctx, name) | {"grants": ctx.archive.accounts.grants(name)}
    if as_json:
        dump(info)
        return
    for key in ("name", "title", "description", "licence", "published", "embargoed_until", "documents"):
        click.echo(f"{key}: {info[key] if info[key] is not None else '-'}")
    for g in info["grants"]:
        click.echo(f"grant: {g['user']} ({g['access']})")


@collections.command("set")
@click.argument("name")
@click.option("--title")
@click.option("--description")
@click.option("--licence")
@pass_ctx
def collections_set(
    ctx: Context, name: str, title: str | None, description: str | None, licence: str | None
) -> None:
    """Set a collection's title, description or licence (creating an empty private collection)."""
    fields = {
        k: v
        for k, v in (("title", title), ("description", description), ("licence", licence))
        if v is not None
    }
    ctx.archive.set_collection(name, **fields)
    click.echo(f"updated {name}")


@collections.command("publish")
@click.argument("name")
@click.option(
    "--at", "at", help="Publish at this time (ISO 8601; UTC unless it says otherwise) instead of now."
)
@click.option("--force", is_flag=True, help="Publish despite what the pre-publication checks found.")
@pass_ctx
def collections_publish(ctx: Context, name: str, at: str | None, force: bool) -> None:
    """Publish a collection now or at a time (it becomes public then with nobody acting)."""
    from ..publishing import PublishRefused

    _collection(ctx, name)
    try:
        findings = ctx.archive.publish(name, at, force)
    except PublishRefused as exc:
        for f in exc.findings:
            click.echo(f"finding: {f['kind']}: {f['message']}", err=True)
        _fail(f"not published: the checks found {len(exc.findings)} thing(s); fix them or use --force")
    except ValueError as exc:
        _fail(str(exc))
    else:
        for f in findings:
            click.echo(f"published despite: {f['kind']}: {f['message']}", err=True)
        info = _collection(ctx, name)
        click.echo(f"{name} embargoed until {info['embargoed_until']}" if at else f"{name} is public")


@collections.command("unpublish")
@click.argument("name")
@pass_ctx
def collections_unpublish(ctx: Context, name: str) -> None:
    """Make a collection private again (and cancel a scheduled publication)."""
    _collection(ctx, name)
    ctx.archive.unpublish(name)
    click.echo(f"{name} is private")


@collections.command("grant")
@click.argument("name")
@click.argument("user")
@click.option("--read", "access", flag_value="read", default=True, help="Read the collection (default).")
@click.option("--write", "access", flag_value="write", help="Read, upload to and publish the collection.")
@click.option("--revoke", "access", flag_value="revoke", help="Take the grant away.")
@pass_ctx
def collections_grant(ctx: Context, name: str, user: str, access: str) -> None:
    """Grant USER read or write access to collection NAME."""
    _collection(ctx, name)
    try:
        if access == "revoke":
            ctx.archive.accounts.revoke(name, user)
        else:
            ctx.archive.accounts.grant(name, user, write=access == "write")
    except AccountError as exc:
        _fail(str(exc))
    click.echo(f"{user}: {access} on {name}")


@click.group()
def documents() -> None:
    """Takedowns of single documents."""


@documents.command("hide")
@click.argument("doc_id", type=int)
@click.option("--reason", required=True, help="Why it is taken down (kept with the takedown).")
@pass_ctx
def documents_hide(ctx: Context, doc_id: int, reason: str) -> None:
    """Take a document (and everything found inside it) down from every view but an admin's."""
    try:
        n = ctx.archive.hide_document(doc_id, reason)
    except KeyError:
        _fail(f"no document {doc_id}")
    except ValueError as exc:
        _fail(str(exc))
    else:
        click.echo(f"hid document {doc_id} ({n} with what was found inside it)")


@documents.command("unhide")
@click.argument("doc_id", type=int)
@pass_ctx
def documents_unhide(ctx: Context, doc_id: int) -> None:
    """Undo a takedown."""
    if not ctx.archive.unhide_document(doc_id):
        _fail(f"document {doc_id} was not taken down")
    click.echo(f"document {doc_id} is visible again")


@documents.command("hidden")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def documents_hidden(ctx: Context, as_json: bool) -> None:
    """The documents taken down, with the reasons."""
    rows = ctx.archive.store.takedowns()
    if as_json:
        dump(rows)
        return
    for r in rows:
        click.echo(f"{r['document_id']}\t{r['created']}\t{r['reason']}")
