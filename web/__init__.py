"""The Flask application: `create_app(config)` with a `ui` blueprint and an `/api` blueprint."""

from __future__ import annotations

import os
import queue
from pathlib import Path
from typing import Any

from flask import Flask, g, request

from archive import Archive, ResultCache, default_archive_dir


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(ARCHIVE_DIR=str(default_archive_dir()), JSON_AS_ASCII=False)
    if config:
        app.config.update(config)
    app.config.setdefault("FOI_NOINDEX", os.environ.get("FOI_NOINDEX", "") == "1")
    app.config.setdefault("MAX_CONTENT_LENGTH", int(os.environ.get("FOI_UPLOAD_MAX_MB", "512")) * 1024 * 1024)

    # Opening an archive (schema checks, connections) costs more than a cached search, so requests
    # borrow one from a small pool and give it back; each is used by one request at a time.
    pool: queue.SimpleQueue[Archive] = queue.SimpleQueue()
    # The archives of the pool share one cache of finished search results.
    archive_config = {**(app.config.get("ARCHIVE_CONFIG") or {}), "result_cache": ResultCache.configured()}

    def get_archive() -> Archive:
        if "archive" not in g:
            try:
                g.archive = pool.get_nowait()
            except queue.Empty:
                g.archive = Archive(Path(app.config["ARCHIVE_DIR"]), archive_config)
        return g.archive  # type: ignore[no-any-return]

    app.extensions["foi_archive"] = get_archive

    @app.teardown_appcontext
    def _release(_exc: BaseException | None) -> None:
        archive = g.pop("archive", None)
        if archive is None:
            return
        if pool.qsize() < 16 and not archive.in_transaction:
            pool.put(archive)
        else:
            archive.close()

    @app.after_request
    def _security_headers(resp):  # type: ignore[no-untyped-def]
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            "form-action 'self'",
        )
        if app.config["FOI_NOINDEX"]:
            resp.headers.setdefault("X-Robots-Tag", "noindex, nofollow")
        if request.endpoint not in (None, "static"):
            # What a page holds depends on who asks: never kept by a shared cache.
            kept = "max-age=3600" in (resp.headers.get("Cache-Control") or "")
            resp.headers["Cache-Control"] = "private, max-age=3600" if kept else "private, no-store"
        return resp

    from .api import bp as api_bp
    from .ui import bp as ui_bp
    from .validation import IntegerConverter

    # Before the routes are added: every <int:...> is bounded to SQLite's 64-bit integers.
    app.url_map.converters["int"] = IntegerConverter

    from . import auth

    auth.init_app(app)
    app.register_blueprint(ui_bp)
    app.register_blueprint(api_bp, url_prefix="/api")
    from .errors import register_error_handlers

    register_error_handlers(app)
    if not app.config.get("FOI_PUBLIC"):
        from .manage import bp as manage_bp
        from .manage import start_upload_worker

        app.register_blueprint(manage_bp)
        if (Path(app.config["ARCHIVE_DIR"]) / "uploads").is_dir():
            start_upload_worker(app)  # uploads queued before a restart go on
    if app.config.get("ALERTS_LOOP"):
        # `foi serve`: alerts are sent from a loop in each process, of which one at a time holds the
        # archive's sender lock (archive/alerts/delivery.py), so a deployment sends from one place.
        from archive.alerts import DeliveryLoop

        app.extensions["foi_alerts_loop"] = DeliveryLoop(
            Path(app.config["ARCHIVE_DIR"]), archive_config
        ).start()
    return app


def archive() -> Archive:
    """The request's archive (one per request, closed at teardown)."""
    from flask import current_app

    return current_app.extensions["foi_archive"]()  # type: ignore[no-any-return]
