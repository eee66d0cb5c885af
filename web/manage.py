"""What editors do through the web: publish or unpublish a collection and upload files to it.

Every route asks archive/access.py whether the viewer may write the collection; for anyone else
the collection does not exist (404). The blueprint is not registered on a public site.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, StringField
from wtforms.validators import Length, Optional

from . import archive
from .auth import current_viewer
from archive import Archive, PublishRefused, may_write_collection

bp = Blueprint("manage", __name__)
log = logging.getLogger(__name__)


class PublishForm(FlaskForm):  # type: ignore[misc]
    at = StringField("Publish at (UTC, optional)", validators=[Optional(), Length(max=40)])
    force = BooleanField("Publish despite the checks' findings")


class UploadForm(FlaskForm):  # type: ignore[misc]
    files = MultipleFileField("Files (or a zip)")


def _writable(name: str) -> dict[str, Any]:
    viewer = current_viewer()
    info = archive().collection(name, viewer)
    if info is None or not may_write_collection(viewer, info):
        abort(404, "No such collection")
    return info


def run_uploads(root: Path, config: dict[str, Any], stop: threading.Event, poll: float = 1.0) -> None:
    """The background worker: ingest queued uploads, and read again the documents queued for a
    retry (archive/retries.py), until `stop` is set, in its own archive (its own SQLite
    connection); first queue again what a stopped server left half done."""
    with Archive(root, config) as opened:
        uploads = opened.uploads
        uploads.requeue_abandoned()
        while not stop.is_set():
            try:
                worked = uploads.run_one() or opened.run_queued_retries() is not None
            except Exception:  # never let the worker die: log and try again later
                log.exception("upload worker")
                worked = False
            if not worked:
                stop.wait(poll)


def start_upload_worker(app: Any) -> None:
    """One background thread per server process ingests the queued uploads (archive/uploads.py)
    and retries (archive/retries.py)."""
    if app.extensions.get("foi_upload_worker") is not None:
        return
    stop = threading.Event()
    config = dict(app.config.get("ARCHIVE_CONFIG") or {})
    worker = threading.Thread(
        target=run_uploads,
        args=(Path(app.config["ARCHIVE_DIR"]), config, stop, app.config.get("UPLOAD_POLL", 1.0)),
        name="foi-uploads",
        daemon=True,
    )
    app.extensions["foi_upload_worker"] = (worker, stop)
    worker.start()


@bp.get("/collections/<name>/manage")
def manage_page(name: str):  # type: ignore[no-untyped-def]
    info = _writable(name)
    uploads = archive().uploads.recent(name)
    busy = any(u["status"] in ("queued", "processing") for u in uploads)
    return render_template(
        "manage.html",
        name=name,
        info=info,
        uploads=uploads,
        busy=busy,
        publish_form=PublishForm(),
        upload_form=UploadForm(),
        # A scheduled publication the go-live check held back: why (archive/publishing.py).
        findings=(info.get("publish_held") or {}).get("findings") or [],
        held=bool(info.get("publish_held")),
    )


@bp.post("/collections/<name>/publish")
def publish(name: str):  # type: ignore[no-untyped-def]
    info = _writable(name)
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400, "The form expired or was not valid")
    try:
        archive().publish(name, form.at.data or None, bool(form.force.data))
    except PublishRefused as exc:
        return render_template(
            "manage.html",
            name=name,
            info=info,
            uploads=archive().uploads.recent(name),
            busy=False,
            publish_form=form,
            upload_form=UploadForm(),
            findings=exc.findings,
        ), 409
    except ValueError as exc:
        abort(400, str(exc))
    return redirect(url_for("manage.manage_page", name=name), 303)


@bp.post("/collections/<name>/unpublish")
def unpublish(name: str):  # type: ignore[no-untyped-def]
    _writable(name)
    if not PublishForm().validate_on_submit():
        abort(400, "The form expired or was not valid")
    archive().unpublish(name)
    return redirect(url_for("manage.manage_page", name=name), 303)


@bp.post("/collections/<name>/upload")
def upload(name: str):  # type: ignore[no-untyped-def]
    """Store the files and queue them; the ingest runs in the background and the page shows it."""
    _writable(name)
    form = UploadForm()
    if not form.validate_on_submit():
        abort(400, "The form expired or was not valid")
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        abort(400, "Choose at least one file")
    queue = archive().uploads
    for f in files:
        queue.add(name, f.filename or "upload", f.stream, current_viewer().name)
    start_upload_worker(current_app)
    flash(f"{len(files)} file(s) queued")
    return redirect(url_for("manage.manage_page", name=name), 303)


@bp.get("/collections/<name>/uploads.json")
def uploads_json(name: str):  # type: ignore[no-untyped-def]
    _writable(name)
    return jsonify({"uploads": archive().uploads.recent(name)})
