"""Failed documents read again in the background: the status page's *Retry*.

A web request only queues the document: it goes back to `pending` with no run
(`Store.mark_for_retry`), which is what recovery takes up. The web server's background worker (the
thread of web/manage.py that ingests uploads, one per server process) then reads it again from its
stored original with `run_queued`, as `foi recover` would; recovery claims each document in one
statement, so two server processes never read the same one. A document queued while no server
runs is read by the next `foi recover` or `foi ingest`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import access
from .access import Viewer
from .cluster import ClusterLost, ClusterUnavailable
from .pipeline import Ingester, IngestReport

if TYPE_CHECKING:
    from .core import Archive

log = logging.getLogger(__name__)


def queue(archive: Archive, doc_id: int, viewer: Viewer) -> bool:
    """Queue a failed document to be read again; False when it is not failed (or `viewer` may
    not write to its collection)."""
    store = archive.store
    doc = store.document(doc_id)
    if doc is None or not access.may_write_collection(viewer, store.collection(doc["collection"])):
        return False
    return store.mark_for_retry(doc_id)


def run_queued(archive: Archive) -> IngestReport | None:
    """Read the queued documents again (with whatever else a gone run left); None when none
    was queued."""
    if not archive.store.has_queued_retries():
        return None
    try:
        return Ingester(archive.context, archive.steps()).recover()
    except (ClusterLost, ClusterUnavailable) as exc:
        # The documents stay queued or `processing` (their run has ended, so the next recovery
        # takes them): the server's worker tries again later instead of dying with the cluster.
        log.warning("queued retries wait for the cluster: %s", exc)
        archive.drop_ocr_engine()
        return None
