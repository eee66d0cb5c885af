"""Who is asking, for every request: the three ways to serve and the login that a team server needs.

- local (no accounts, loopback): every request is the archive's own investigator (`LOCAL`);
- team server (an account exists, or FOI_AUTH=required): a signed-in account (Flask-Login
  session) or an API token (`Authorization: Bearer`); anyone else is an anonymous visitor who may
  reach only the public pages and sees only published collections;
- public site (`foi serve --public`): every request is an anonymous visitor, there is no login
  route, and nothing can be written.

What a viewer may read is decided in archive/access.py; this module only says who the viewer is.
"""

from __future__ import annotations

import os
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from limits import parse as parse_limit
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from . import archive
from archive import LOCAL, PUBLIC, Viewer

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = ""

# What an anonymous visitor of a team server may request (each answers only for published collections).
PUBLIC_ENDPOINTS = {
    "static",
    "auth.login",
    "ui.search_page",
    "ui.document_page",
    "ui.page_image",
    "ui.page_thumbnail",
    "ui.favicon",
    "ui.download",
    "ui.collections_page",
    "ui.collection_page",
    "ui.collection_zip",
    "ui.robots",
    "api.api_search",
    "api.api_document",
    "api.api_page",
    "api.api_collections",
    "api.export",
    "api.openapi",
    # Alerts: feed readers never log in (a private feed's URL holds its token), and anyone may
    # subscribe by e-mail to a public search's alerts (double opt-in, signed links).
    "ui.alerts.private_feed",
    "ui.alerts.public_feed",
    "ui.alerts.subscribe",
    "ui.alerts.confirm",
    "ui.alerts.unsubscribe",
}
# The only writes a public site takes: an e-mail subscription to a public search, its confirmation
# and its cancelling (each row of alert_channels; nothing else of the archive changes).
PUBLIC_SITE_WRITES = {"ui.alerts.subscribe", "ui.alerts.unsubscribe"}
# Login attempts per address and per account name, in a moving window (the `limits` library that
# Flask-Limiter is built on; one store per app, in memory of the server process).
LOGIN_LIMIT = parse_limit("10 per minute")


class Account(UserMixin):  # type: ignore[misc]
    """A signed-in account as Flask-Login keeps it: the id carries the session version, so a
    password change ends the sessions made before it."""

    def __init__(self, name: str, session_version: int):
        self.name = name
        self.session_version = session_version

    def get_id(self) -> str:
        return f"{self.session_version}:{self.name}"


@login_manager.user_loader  # type: ignore[untyped-decorator]
def _load_account(user_id: str) -> Account | None:
    version, _, name = user_id.partition(":")
    account = archive().accounts.get(name)
    if account is None or str(account["session_version"]) != version:
        return None
    return Account(name, int(account["session_version"]))


class LoginForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Account", validators=[InputRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)])


class _SessionInterface(SecureCookieSessionInterface):
    """Session cookies marked Secure whenever the request came over HTTPS (or always, with
    SESSION_COOKIE_SECURE)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app: Flask, request: Any) -> Any:
        # The key that signs sessions and CSRF tokens is the archive's own (made on first use), read
        # on the first request rather than when the app is made (which opens no archive).
        if not app.secret_key:
            app.config["SECRET_KEY"] = archive().secret_key()
        return super().open_session(app, request)


def serve_mode() -> str:
    """`public`, `team` or `local`, for this request."""
    if current_app.config.get("FOI_PUBLIC"):
        return "public"
    if "foi_mode" not in g:
        required = (current_app.config.get("FOI_AUTH") or os.environ.get("FOI_AUTH", "")) == "required"
        g.foi_mode = "team" if required or archive().accounts.any() else "local"
    return str(g.foi_mode)


def current_viewer() -> Viewer:
    """The viewer of this request (see the module docstring)."""
    if "viewer" not in g:
        g.viewer = _viewer()
    return g.viewer  # type: ignore[no-any-return]


def _viewer() -> Viewer:
    mode = serve_mode()
    if mode == "public":
        return PUBLIC
    if mode == "local":
        return LOCAL
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        found = archive().viewer_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if found is None:
            abort(401, "Unknown or revoked API token")
        g.token_request = True
        return found
    if current_user.is_authenticated:
        found = archive().accounts.viewer(current_user.name)
        if found is not None:
            return found
    return PUBLIC


def _csrf_exempt() -> bool:
    """A write that needs no CSRF token: one made with an API token (no cookie involved), or a
    JSON body to the API, or a PUT, PATCH or DELETE to it (a browser sends `application/json` or
    those methods across sites only after a CORS preflight, which this app never grants; an HTML
    form can only GET or POST)."""
    if g.get("token_request"):
        return True
    return request.path.startswith("/api/") and (
        request.is_json or request.method in ("PUT", "PATCH", "DELETE")
    )


def init_app(app: Flask) -> None:
    # Flask's defaults hold these keys already (SameSite None): set unless the config chose.
    for key, value in (
        ("SESSION_COOKIE_HTTPONLY", True),
        ("SESSION_COOKIE_SAMESITE", "Lax"),
        ("REMEMBER_COOKIE_HTTPONLY", True),
        ("REMEMBER_COOKIE_SAMESITE", "Lax"),
    ):
        if app.config.get(key) is None:
            app.config[key] = value
    app.session_interface = _SessionInterface()
    # CSRF is checked in `_gate` below rather than by Flask-WTF's own hook, so that the JSON API
    # can be written to by API tokens and by JSON bodies (which a cross-site form cannot send).
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf.init_app(app)
    app.extensions["foi_login_limiter"] = MovingWindowRateLimiter(MemoryStorage())
    login_manager.init_app(app)

    @app.before_request
    def _gate() -> Any:
        if request.endpoint is None:
            return None  # a 404 to come
        mode = serve_mode()
        if (
            mode == "public"
            and request.method not in ("GET", "HEAD", "OPTIONS")
            and request.endpoint not in PUBLIC_SITE_WRITES
        ):
            abort(405, "This public site is read-only")
        viewer = current_viewer()
        if mode == "team" and viewer.is_anonymous and request.endpoint not in PUBLIC_ENDPOINTS:
            if request.path.startswith("/api/"):
                return jsonify({"error": {"status": 401, "title": "Unauthorized", "message": "Log in"}}), 401
            if request.method != "GET":  # a form sent without a session: nothing to come back to
                abort(401, "Log in first")
            return redirect(url_for("auth.login", next=request.path))
        if (
            current_app.config.get("WTF_CSRF_ENABLED", True)
            and request.method not in ("GET", "HEAD", "OPTIONS", "TRACE")
            and not _csrf_exempt()
        ):
            csrf.protect()
        return None

    @app.context_processor
    def _who() -> dict[str, Any]:
        try:
            return {"viewer": current_viewer(), "serve_mode": serve_mode()}
        except Exception:  # an error page rendered for a request refused before it had a viewer
            return {"viewer": PUBLIC, "serve_mode": "public"}

    if not app.config.get("FOI_PUBLIC"):
        app.register_blueprint(bp)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no //host, no scheme): no open redirect after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("ui.search_page")


def _check_login_rate() -> None:
    """A 429 past LOGIN_LIMIT attempts from this address or for this account name (every attempt
    counts, right or wrong, so a guesser cannot tell by the limit)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    limiter: MovingWindowRateLimiter = current_app.extensions["foi_login_limiter"]
    account = (request.form.get("name") or "").strip().casefold()[:64]
    allowed = [limiter.hit(LOGIN_LIMIT, "address", request.remote_addr or "-")]
    allowed.append(limiter.hit(LOGIN_LIMIT, "account", account))
    if not all(allowed):
        abort(429, "Too many login attempts; wait a minute")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if request.method == "POST":
        _check_login_rate()
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        account = archive().accounts.authenticate(form.name.data.strip(), form.password.data)
        if account is not None:
            login_user(Account(account["name"], int(account["session_version"])))
            return redirect(_safe_next(request.args.get("next")))
        error = "Wrong account name or password."
    elif request.method == "POST":
        error = "The form expired; please try again."
    status = 401 if error else 200
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    return redirect(url_for("ui.search_page"))
