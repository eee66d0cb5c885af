"""Saved searches and alerts on the web: pages to create, edit, pause and delete them with their
hits (blueprint `ui_bp`, nested in the UI), the JSON API under /api/alerts (`api_bp`, nested in the
API), Atom feeds, and the signed links of e-mails (confirm, unsubscribe).

Each request acts as its viewer (`request_owner`: the account, or the local user); which hits an owner
may read is decided by archive.access at delivery and feed time, never here."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from limits import parse as parse_limit
from limits.strategies import RateLimiter
from markupsafe import Markup

from . import archive
from . import validation as valid
from .auth import current_viewer
from archive import QueryError
from archive.alerts import CADENCES, AlertError, SavedSearch

ui_bp = Blueprint("alerts", __name__, url_prefix="/alerts")
api_bp = Blueprint("alerts_api", __name__, url_prefix="/alerts")

MAX_CHANNELS = 20
HITS_PAGE = 50
FILTER_NAMES = (*valid.FILTERS, "from", "to")
ATOM = "application/atom+xml; charset=utf-8"
# Subscription requests (each mails a confirmation): per address, so nobody mail-bombs an address
# through confirmations, and per client address, so nobody sprays many (the login's limiter).
SUBSCRIBE_PER_ADDRESS = parse_limit("3 per hour")
SUBSCRIBE_PER_CLIENT = parse_limit("20 per hour")


def request_owner() -> str:
    """Who owns what this request creates and sees: the account logged in (or holding the API
    token), or the local user of an archive with no accounts. An anonymous visitor owns nothing:
    they may only subscribe by e-mail to the public feeds of searches over public collections."""
    viewer = current_viewer()
    if viewer.is_local:
        return "local"
    if viewer.is_anonymous or not viewer.name:
        abort(404)
    return viewer.name


def _owned(search_id: int) -> SavedSearch:
    search = archive().alerts.get(search_id)
    if search is None or search.owner != request_owner():
        abort(404, f"No saved search {search_id}")
    return search


def _filters_from_args(args: Any) -> dict[str, list[str]]:
    filters = {name: chosen for name in valid.FILTERS if (chosen := valid.values(args, name))}
    for name in ("from", "to"):
        day = valid.date(args, name)
        if day:
            filters[name] = [day]
    return filters


# -- pages ----------------------------------------------------------------------------------


@ui_bp.get("")
def alerts_page():  # type: ignore[no-untyped-def]
    alerts = archive().alerts
    searches = alerts.saved(request_owner())
    counts = {s.id: alerts.hit_count(s) for s in searches}
    return render_template("alerts.html", searches=searches, counts=counts, cadences=CADENCES, form=None)


@ui_bp.get("/new")
def new_alert_page():  # type: ignore[no-untyped-def]
    """The form, filled with the search on screen ("Alert me" on the results page)."""
    form = {
        "q": valid.query_text(request.args),
        "filters": _filters_from_args(request.args),
        "sort": valid.choice(request.args, "sort", valid.SORTS, "relevance"),
        "name": valid.text(request.args, "q", 200).strip()[:200],
    }
    return render_template("alerts.html", searches=[], counts={}, cadences=CADENCES, form=form)


@ui_bp.post("")
def create_alert():  # type: ignore[no-untyped-def]
    f = request.form
    filters = _filters_from_args(f)
    emails = [e for e in valid.text(f, "email", 254).split(",") if e.strip()]
    webhooks = [w for w in [valid.text(f, "webhook", 2000)] if w.strip()]
    try:
        search = archive().alerts.add(
            valid.text(f, "name", 200),
            valid.query_text(f),
            filters=filters,
            sort=valid.choice(f, "sort", valid.SORTS, "relevance"),
            cadence=valid.choice(f, "cadence", CADENCES, "daily"),
            owner=request_owner(),
            emails=emails[:MAX_CHANNELS],
            webhooks=webhooks,
            public_feed=f.get("public_feed") == "1",
        )
    except AlertError as exc:
        abort(400, str(exc))
    secrets = {c.target: c.secret for c in search.channels if c.kind == "webhook"}
    return _detail(search, secrets, status=201)


def _detail(search: SavedSearch, secrets: dict[str, str | None] | None = None, status: int = 200) -> Any:
    alerts = archive().alerts
    page = valid.integer(request.args, "page", 1, 1, valid.MAX_PAGE)
    hits = alerts.hits(search, HITS_PAGE, valid.offset_of(page, HITS_PAGE))
    for hit in hits:
        hit["snippet"] = Markup(hit["snippet"])  # escaped document text with our own <mark> tags
    body = render_template(
        "alert.html",
        search=search,
        hits=hits,
        total=alerts.hit_count(search),
        page=page,
        page_size=HITS_PAGE,
        outbox=alerts.outbox_counts(search),
        feed_url=alerts.feed_url(search),
        public_feed_url=alerts.feed_url(search, public=True),
        secrets=secrets or {},
        cadences=CADENCES,
    )
    return body, status


@ui_bp.get("/<int:search_id>")
def alert_page(search_id: int):  # type: ignore[no-untyped-def]
    return _detail(_owned(search_id))


@ui_bp.post("/<int:search_id>")
def edit_alert(search_id: int):  # type: ignore[no-untyped-def]
    search = _owned(search_id)
    f = request.form
    action = valid.choice(
        f,
        "action",
        ("save", "pause", "resume", "delete", "rotate", "add_channel", "remove_channel", "enable"),
        "save",
    )
    alerts = archive().alerts
    secrets: dict[str, str | None] = {}
    try:
        if action == "delete":
            alerts.remove(search)
            return redirect(url_for("ui.alerts.alerts_page"), 303)
        if action in ("pause", "resume"):
            alerts.update(search, paused=action == "pause")
        elif action == "rotate":
            alerts.rotate_feed_token(search)
        elif action == "add_channel":
            if len(search.channels) >= MAX_CHANNELS:
                abort(400, f"at most {MAX_CHANNELS} channels per saved search")
            kind = valid.choice(f, "kind", ("email", "webhook"), "email")
            channel = alerts.add_channel(search, kind, valid.text(f, "target", 2000))
            if channel.secret:
                secrets[channel.target] = channel.secret
        elif action in ("remove_channel", "enable"):
            channel_id = valid.integer(f, "channel", 0, 0, valid.MAX_ID)
            done = (alerts.remove_channel if action == "remove_channel" else alerts.enable_channel)(
                search, channel_id
            )
            if not done:
                abort(404, f"No channel {channel_id} on this saved search")
        else:
            alerts.update(
                search,
                name=valid.text(f, "name", 200),
                query=valid.query_text(f),
                filters=_filters_from_args(f),
                sort=valid.choice(f, "sort", valid.SORTS, "relevance"),
                cadence=valid.choice(f, "cadence", CADENCES, search.cadence),
                public_feed=f.get("public_feed") == "1",
            )
    except AlertError as exc:
        abort(400, str(exc))
    if secrets:
        return _detail(_owned(search_id), secrets)
    return redirect(url_for("ui.alerts.alert_page", search_id=search_id), 303)


# -- feeds and e-mail links --------------------------------------------------------------------


@ui_bp.get("/feeds/<token>.atom")
def private_feed(token: str):  # type: ignore[no-untyped-def]
    body = archive().alerts.private_feed(valid.text({"t": token}, "t", 100))
    if body is None:
        abort(404, "No such feed (its address may have been replaced)")
    return Response(body, mimetype="application/atom+xml", headers={"Content-Type": ATOM})


@ui_bp.get("/<int:search_id>/feed.atom")
def public_feed(search_id: int):  # type: ignore[no-untyped-def]
    body = archive().alerts.public_feed(search_id)
    if body is None:
        abort(404, f"Saved search {search_id} has no public feed")
    return Response(body, headers={"Content-Type": ATOM})


@ui_bp.route("/<int:search_id>/subscribe", methods=["GET", "POST"])
def subscribe(search_id: int):  # type: ignore[no-untyped-def]
    """Anyone may subscribe by e-mail to a search with a public feed; nothing is sent before the
    signed confirmation link is followed."""
    search = archive().alerts.get(search_id)
    if search is None or not search.public_feed:
        abort(404, f"Saved search {search_id} is not open to subscriptions")
    sent = None
    if request.method == "POST":
        address = valid.text(request.form, "email", 254)
        _check_subscribe_rate(address)
        try:
            archive().alerts.subscribe(search, address)
        except AlertError as exc:
            abort(400, str(exc))
        except RuntimeError as exc:  # the SMTP server failed: say so, don't 500
            abort(503, f"The confirmation could not be sent: {exc}")
        sent = address
    return render_template("alert_subscribe.html", search=search, sent=sent)


def _check_subscribe_rate(address: str) -> None:
    """A 429 past the limits of confirmation mails to this address or from this client."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    limiter: RateLimiter = current_app.extensions["foi_login_limiter"]
    allowed = [limiter.hit(SUBSCRIBE_PER_ADDRESS, "subscribe-to", address.strip().casefold())]
    allowed.append(limiter.hit(SUBSCRIBE_PER_CLIENT, "subscribe-from", request.remote_addr or "-"))
    if not all(allowed):
        abort(429, "Too many subscription requests; try again in an hour")


@ui_bp.get("/confirm/<token>")
def confirm(token: str):  # type: ignore[no-untyped-def]
    try:
        search = archive().alerts.confirm(valid.text({"t": token}, "t", 1000))
    except ValueError as exc:
        abort(400, str(exc))
    return render_template("alert_subscribe.html", search=search, confirmed=True, sent=None)


@ui_bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):  # type: ignore[no-untyped-def]
    """GET shows a button (mail scanners follow links); POST (the button, or List-Unsubscribe-Post
    one-click) unsubscribes."""
    token = valid.text({"t": token}, "t", 1000)
    if request.method == "GET":
        return render_template("alert_subscribe.html", search=None, sent=None, unsubscribe=token)
    try:
        archive().alerts.unsubscribe(token)
    except ValueError as exc:
        abort(400, str(exc))
    return render_template("alert_subscribe.html", search=None, sent=None, unsubscribed=True)


# -- JSON API -------------------------------------------------------------------------------------


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "the request body must be a JSON object")
    return data


def _string(data: dict[str, Any], name: str, max_chars: int, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        abort(400, f"{name} must be a string")
    return valid.text({name: value}, name, max_chars)


def _strings(data: dict[str, Any], name: str, max_items: int, max_chars: int) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or len(value) > max_items or not all(isinstance(v, str) for v in value):
        abort(400, f"{name} must be a list of at most {max_items} strings")
    return [valid.text({name: v}, name, max_chars) for v in value]


def _json_filters(data: dict[str, Any]) -> dict[str, list[str]]:
    value = data.get("filters", {})
    if not isinstance(value, dict) or not all(k in FILTER_NAMES for k in value):
        abort(400, f"filters must be an object whose keys are among {', '.join(FILTER_NAMES)}")
    return {k: _strings(value, k, valid.MAX_FILTER_VALUES, valid.MAX_VALUE_CHARS) for k in value}


def _flag(data: dict[str, Any], name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        abort(400, f"{name} must be true or false")
    return value


def _search_json(search: SavedSearch) -> dict[str, Any]:
    alerts = archive().alerts
    return search.as_dict() | {"feed_url": alerts.feed_url(search), "hit_count": alerts.hit_count(search)}


@api_bp.route("", methods=["GET", "POST"])
def api_alerts():  # type: ignore[no-untyped-def]
    """One route per path (GET lists, POST creates), as the OpenAPI document has one item per path."""
    if request.method == "POST":
        return _create_alert()
    return jsonify({"searches": [_search_json(s) for s in archive().alerts.saved(request_owner())]})


def _create_alert() -> Any:
    data = _body()
    try:
        search = archive().alerts.add(
            _string(data, "name", 200),
            _string(data, "query", valid.MAX_QUERY_CHARS, ""),
            filters=_json_filters(data),
            sort=_string(data, "sort", 20, "relevance"),
            cadence=_string(data, "cadence", 20, "daily"),
            owner=request_owner(),
            emails=_strings(data, "emails", MAX_CHANNELS, 254),
            webhooks=_strings(data, "webhooks", MAX_CHANNELS, 2000),
            public_feed=_flag(data, "public_feed", False),
        )
    except (AlertError, QueryError) as exc:
        abort(400, str(exc))
    secrets = {c.target: c.secret for c in search.channels if c.kind == "webhook"}
    return jsonify({"search": _search_json(search), "webhook_secrets": secrets})


@api_bp.route("/<int:search_id>", methods=["GET", "PATCH", "DELETE"])
def api_alert(search_id: int):  # type: ignore[no-untyped-def]
    search = _owned(search_id)
    if request.method == "PATCH":
        return _update_alert(search)
    if request.method == "DELETE":
        archive().alerts.remove(search)
        return jsonify({"deleted": search.id})
    return jsonify({"search": _search_json(search), "outbox": archive().alerts.outbox_counts(search)})


def _update_alert(search: SavedSearch) -> Any:
    data = _body()
    changes: dict[str, Any] = {}
    for name, limit in (("name", 200), ("query", valid.MAX_QUERY_CHARS), ("sort", 20), ("cadence", 20)):
        if name in data:
            changes[name] = _string(data, name, limit)
    if "filters" in data:
        changes["filters"] = _json_filters(data)
    for name in ("paused", "public_feed"):
        if name in data:
            changes[name] = _flag(data, name, False)
    try:
        search = archive().alerts.update(search, **changes)
    except (AlertError, QueryError) as exc:
        abort(400, str(exc))
    return jsonify({"search": _search_json(search), "outbox": archive().alerts.outbox_counts(search)})


@api_bp.get("/<int:search_id>/hits")
def api_alert_hits(search_id: int):  # type: ignore[no-untyped-def]
    search = _owned(search_id)
    limit = valid.integer(request.args, "limit", 50, 1, valid.MAX_LIMIT)
    offset = valid.integer(request.args, "offset", 0, 0, valid.MAX_OFFSET)
    alerts = archive().alerts
    return jsonify({"total": alerts.hit_count(search), "hits": alerts.hits(search, limit, offset)})


# Channels and the feed token: what the pages' forms do, for API clients.


@api_bp.post("/<int:search_id>/channels")
def api_add_channel(search_id: int):  # type: ignore[no-untyped-def]
    search = _owned(search_id)
    data = _body()
    if len(search.channels) >= MAX_CHANNELS:
        abort(400, f"at most {MAX_CHANNELS} channels per saved search")
    kind = valid.choice({"kind": _string(data, "kind", 20)}, "kind", ("email", "webhook"), "email")
    try:
        channel = archive().alerts.add_channel(search, kind, _string(data, "target", 2000))
    except AlertError as exc:
        abort(400, str(exc))
    return jsonify(
        {"channel": channel.as_dict(), "secret": channel.secret, "search": _search_json(_owned(search_id))}
    )


@api_bp.route("/<int:search_id>/channels/<int:channel_id>", methods=["PATCH", "DELETE"])
def api_channel(search_id: int, channel_id: int):  # type: ignore[no-untyped-def]
    """PATCH {"enabled": true} re-enables a channel disabled after failures (false turns it off);
    DELETE removes it."""
    search = _owned(search_id)
    alerts = archive().alerts
    if request.method == "DELETE":
        done = alerts.remove_channel(search, channel_id)
    else:
        data = _body()
        if "enabled" not in data:
            abort(400, 'send {"enabled": true} to re-enable the channel (false turns it off)')
        done = alerts.enable_channel(search, channel_id, _flag(data, "enabled", True))
    if not done:
        abort(404, f"No channel {channel_id} on saved search {search_id}")
    return jsonify({"search": _search_json(_owned(search_id))})


@api_bp.post("/<int:search_id>/feed-token")
def api_rotate_feed_token(search_id: int):  # type: ignore[no-untyped-def]
    """A new private feed address; the old one stops working. The body is a JSON object ({}), as
    every write of the API has one (a form posted from another site cannot send it)."""
    owned = _owned(search_id)
    _body()
    search = archive().alerts.rotate_feed_token(owned)
    return jsonify({"search": _search_json(search)})
