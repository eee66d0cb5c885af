"""`Alerts`: saved searches of one archive, as the CLI, the web app and the indexer use them."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Collection
from datetime import datetime
from typing import Any

from ..access import Viewer
from ..search import SearchBackend
from ..search.base import IndexRecord
from ..store import Store, now
from . import mail
from .atom import feed_xml
from .db import AlertDB, new_token
from .delivery import DeliveryReport, Sender, wake_senders
from .links import CONFIRM_MAX_AGE, LinkSigner, base_url, feed_link
from .matching import backfill, describe_hits, match_documents
from .model import AlertError, Channel, SavedSearch, check_channel, check_name, check_search
from .owners import LOCAL_OWNER, PUBLIC_OWNER, may_deliver, viewer_for_owner

log = logging.getLogger(__name__)

FEED_ENTRIES = 100


class Alerts:
    """Saved searches, their hits, feeds and delivery, over an archive's store and backend."""

    def __init__(self, store: Store, backend: SearchBackend, config: dict[str, Any] | None = None):
        self.store = store
        self.backend = backend
        self.config = dict(config or {})
        self.records = AlertDB(store)
        # Hand the batch's analysed terms to the backend (archive/search/prefilter.py), so that a
        # saved search none of whose words is in the batch is not sent: off unless asked for
        # (`match_prefilter`, FOI_MATCH_PREFILTER=1). On bench/bench_alerts.py reading the terms
        # costs about what it spares the engine; it pays with many more saved searches than
        # words in a batch.
        flag = self.config.get("match_prefilter", os.environ.get("FOI_MATCH_PREFILTER", ""))
        self.prefilter = str(flag).strip().lower() in ("1", "true", "yes", "on")

    # -- saved searches -----------------------------------------------------------------------

    def add(
        self,
        name: str,
        query: str,
        *,
        filters: dict[str, list[str]] | None = None,
        sort: str = "relevance",
        cadence: str = "daily",
        owner: str = LOCAL_OWNER,
        emails: Collection[str] = (),
        webhooks: Collection[str] = (),
        public_feed: bool = False,
    ) -> SavedSearch:
        """Save a search (QueryError or AlertError when it cannot run or be kept). It matches
        documents indexed from now on; `run(..., since=...)` backfills."""
        name = check_name(name)
        kept = check_search(query, filters, sort, cadence)
        checked = [("email", check_channel("email", e)) for e in emails]
        checked += [("webhook", check_channel("webhook", w)) for w in webhooks]
        try:
            with self.records.transaction():
                search_id = self.records.add_search(
                    owner, name, query.strip(), kept, sort, cadence, public_feed
                )
                for kind, target in checked:
                    self.records.add_channel(search_id, kind, target)
        except sqlite3.IntegrityError as exc:
            raise AlertError(f"you already have a saved search named {name!r}") from exc
        found = self.records.search(search_id)
        assert found is not None
        return found

    def update(self, search: SavedSearch, **changes: Any) -> SavedSearch:
        """Change name, query, filters, sort, cadence, paused or public_feed (checked as on add). A
        paused search matches and sends nothing; resumed, it starts from then."""
        query = changes.get("query", search.query)
        filters = changes.get("filters", search.filters)
        sort = changes.get("sort", search.sort)
        cadence = changes.get("cadence", search.cadence)
        fields: dict[str, Any] = {}
        if {"query", "filters", "sort", "cadence"} & changes.keys():
            fields["filters"] = check_search(query, filters, sort, cadence)
            fields.update(query=query.strip(), sort=sort, cadence=cadence, failing=None)
        if "name" in changes:
            fields["name"] = check_name(changes["name"])
        for flag in ("paused", "public_feed"):
            if flag in changes:
                fields[flag] = int(bool(changes[flag]))
        if search.paused and "paused" in changes and not changes["paused"]:
            # Resumed: it starts from now, like a new search; what arrived while it was paused
            # is not matched (`foi alerts run NAME --since DATE` backfills it on request).
            fields["since"] = now()
        if fields:
            try:
                self.records.update_search(search.id, **fields)
            except sqlite3.IntegrityError as exc:
                raise AlertError(f"you already have a saved search named {changes.get('name')!r}") from exc
        found = self.records.search(search.id)
        assert found is not None
        return found

    def remove(self, search: SavedSearch) -> None:
        self.records.delete_search(search.id)

    def saved(self, owner: str | None = None) -> list[SavedSearch]:
        """The saved searches (of `owner`, or everyone's), by id."""
        return self.records.searches(owner)

    def get(self, search_id: int) -> SavedSearch | None:
        return self.records.search(search_id)

    def find(self, name_or_id: str, owner: str | None = None) -> SavedSearch | None:
        """By name, or by id when it is a number no search has as a name."""
        found = self.records.search_by_name(name_or_id, owner)
        if found is None and name_or_id.isdigit():
            found = self.records.search(int(name_or_id))
            if found is not None and owner is not None and found.owner != owner:
                return None
        return found

    def add_channel(self, search: SavedSearch, kind: str, target: str, confirmed: bool = True) -> Channel:
        return self.records.add_channel(search.id, kind, check_channel(kind, target), confirmed)

    def remove_channel(self, search: SavedSearch, channel_id: int) -> bool:
        if any(c.id == channel_id for c in search.channels):
            self.records.remove_channel(channel_id)
            return True
        return False

    def enable_channel(self, search: SavedSearch, channel_id: int, enabled: bool = True) -> bool:
        """Re-enable a channel disabled after failures (its kept hits go at the next round), or with
        enabled=False turn it off (its hits wait). False when the search has no such channel."""
        if any(c.id == channel_id for c in search.channels):
            if enabled:
                self.records.update_channel(channel_id, disabled=None, failures=0)
            else:
                self.records.update_channel(channel_id, disabled="turned off by its owner")
            return True
        return False

    def rotate_feed_token(self, search: SavedSearch) -> SavedSearch:
        """A new private feed URL; the old one stops working."""
        self.records.update_search(search.id, feed_token=new_token())
        found = self.records.search(search.id)
        assert found is not None
        return found

    def hits(self, search: SavedSearch, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Newest first, with the words that matched and a marked snippet."""
        describe_hits(self.records, search.id)
        return self.records.hits(search.id, limit, offset)

    def hit_count(self, search: SavedSearch) -> int:
        return self.records.hit_count(search.id)

    def outbox_counts(self, search: SavedSearch | None = None) -> dict[str, int]:
        return self.records.outbox_counts(search.id if search else None)

    # -- matching -------------------------------------------------------------------------------

    def match_documents(
        self,
        doc_ids: Collection[int],
        pages: Collection[IndexRecord] | None = None,
        store: Store | None = None,
    ) -> int:
        """Saved searches over documents just indexed (the indexer calls this after each batch,
        with their records when it still has them, and from its matching thread with that
        thread's own `store`)."""
        records = self.records if store is None or store is self.store else AlertDB(store)
        found = match_documents(records, self.backend, doc_ids, pages if self.prefilter else None)
        if found:
            wake_senders(self.store.root)  # instant hits go at once, not at the loop's next interval
        return found

    def run(self, search: SavedSearch, since: str | None) -> int:
        """Backfill: match `search` against documents added since `since` (an ISO date; None: all)."""
        return backfill(self.records, self.backend, search, since)

    # -- delivery -------------------------------------------------------------------------------

    def send_due(self, at: datetime | None = None) -> DeliveryReport:
        return Sender(self.store, self.config).send_due(at)

    def send_instant(self) -> DeliveryReport | None:
        """At the end of an ingest: a round of delivery when hits of instant searches wait (None
        when none does), so they go at once without a server or cron. A `foi serve` sending at that
        moment holds the sender lock: it sends them itself (the report says busy)."""
        if not self.records.instant_pending():
            return None
        return self.send_due()

    # -- feeds ----------------------------------------------------------------------------------

    def feed_url(self, search: SavedSearch, public: bool = False) -> str:
        return feed_link(base_url(self.config), search.id, None if public else search.feed_token)

    def feed(self, search: SavedSearch, viewer: Viewer | None = None, self_link: str | None = None) -> bytes:
        """The Atom feed of `search`'s newest hits that `viewer` (default: its owner) may read."""
        viewer = viewer or viewer_for_owner(self.store, search.owner)
        describe_hits(self.records, search.id)
        entries = [
            h for h in self.records.hits(search.id, FEED_ENTRIES) if may_deliver(self.store, viewer, h)
        ]
        base = base_url(self.config)
        return feed_xml(
            search,
            entries,
            base,
            self_link or self.feed_url(search, viewer is not None and viewer.role == "public"),
        )

    def public_feed(self, search_id: int) -> bytes | None:
        """The public feed of a search that has one (hits of public collections only), or None."""
        search = self.records.search(search_id)
        if search is None or not search.public_feed:
            return None
        return self.feed(
            search, viewer_for_owner(self.store, PUBLIC_OWNER), self.feed_url(search, public=True)
        )

    def private_feed(self, token: str) -> bytes | None:
        search = self.records.search_by_feed_token(token) if token else None
        return None if search is None else self.feed(search)

    # -- public e-mail subscriptions (double opt-in) -------------------------------------------------

    def signer(self) -> LinkSigner:
        return LinkSigner(self.records.secret())

    def subscribe(self, search: SavedSearch, address: str) -> str:
        """Ask `address` to confirm an e-mail subscription to a public-feed search: sends the signed,
        expiring confirmation link and returns it. Nothing else is sent until it is followed."""
        if not search.public_feed:
            raise AlertError("this saved search is not open to subscriptions")
        channel = self.records.add_channel(
            search.id, "email", check_channel("email", address), confirmed=False, audience="public"
        )
        if channel.disabled == "unsubscribed":  # subscribing again: a new confirmation is needed
            self.records.update_channel(channel.id, confirmed=0, disabled=None)
        link = self.signer().link(base_url(self.config), "confirm", [channel.id])
        settings = mail.MailSettings.configured(self.config)
        mail.send(settings, mail.confirmation(settings, address, search.name, search.query, link))
        return link

    def confirm(self, token: str) -> SavedSearch:
        """Follow a confirmation link (ValueError when it is forged or expired)."""
        (channel_id,) = self.signer().check("confirm", token, CONFIRM_MAX_AGE)[:1]
        channel = self.records.channel(channel_id)
        search_id = self.records.channel_search_id(channel_id)
        if channel is None or search_id is None:
            raise ValueError("this subscription no longer exists")
        if channel.disabled:  # an old link must not undo an unsubscribe (or a disabled channel)
            raise ValueError(f"this subscription was stopped ({channel.disabled}): subscribe again")
        self.records.update_channel(channel_id, confirmed=1)
        found = self.records.search(search_id)
        assert found is not None
        return found

    def unsubscribe(self, token: str) -> int:
        """Follow a signed unsubscribe link: its channels stop (kept, marked). How many."""
        ids = self.signer().check("unsubscribe", token)
        for cid in ids:
            self.records.update_channel(cid, disabled="unsubscribed")
        return len(ids)


__all__ = ["Alerts", "PUBLIC_OWNER"]
