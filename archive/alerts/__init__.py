"""Saved searches and alerts (issue #17).

A saved search is a whole query (text, filters, sort) with a name, an owner, a cadence and its
channels. After each indexing batch the saved searches run over the documents just indexed
(`matching`); a hit is recorded once per (saved search, document) and queued in an outbox per
channel; `delivery` sends the outbox (e-mail digests, signed webhooks) and the Atom feed reads the
hits. Whether an owner may read a hit is asked of `archive.access` at delivery time, through
`owners.viewer_for_owner`.

    model     SavedSearch, cadences, checking a query when it is saved
    db        the SQL on the alert tables (their schema is in archive/store.py)
    owners    owner name -> access Viewer (the one place)
    matching  saved searches over newly indexed documents, and backfills
    atom      Atom feeds
    mail      digests, notices and signed links over SMTP
    webhook   signed JSON POSTs
    delivery  the outbox: states, digests, retries, the sending loop
    service   `Alerts`, what the Archive facade hands out
"""

from __future__ import annotations

from .delivery import DeliveryLoop
from .model import CADENCES, AlertError, SavedSearch
from .owners import viewer_for_owner
from .service import Alerts

__all__ = ["CADENCES", "AlertError", "Alerts", "DeliveryLoop", "SavedSearch", "viewer_for_owner"]
