"""The outbox: sending hits by e-mail and webhook, with their states on disk.

Each outbox row (one hit for one channel) goes `pending` -> `sending` (with the id of the message
or request it goes out in, committed before anything is sent) -> `sent` (committed after the
server accepted it). A sender killed before `sending` left the rows pending: they go next time. One
killed between `sending` and `sent` left rows whose message may or may not have gone: they go again
in the same message, under the same delivery id (the e-mail's Message-ID, the webhook's
X-FOI-Delivery), so a receiver sees the same delivery once more at worst, never a different one,
and nothing is lost. Hits the owner may no longer read at delivery time are `withheld`.

One sender runs at a time per archive (an exclusive lock on runs/alerts-sender.lock, which the
kernel drops when the process dies): the loop `foi serve` starts in each worker waits for it, so a
deployment sends from one place; `foi alerts send` (cron) takes it for one round.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shlex
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from ..access import Viewer
from ..store import Store, now
from . import mail, webhook
from .db import AlertDB
from .links import LinkSigner, base_url, hit_link
from .matching import describe_hits
from .owners import PUBLIC_OWNER, may_deliver, owner_email, viewer_for_owner

log = logging.getLogger(__name__)

PERIODS = {"instant": timedelta(0), "daily": timedelta(days=1), "weekly": timedelta(days=7)}


def _env_number(config: dict[str, Any], key: str, env: str, default: float) -> float:
    value = config.get(key) or os.environ.get(env)
    return float(value) if value not in (None, "") else default


@dataclass
class DeliverySettings:
    webhook_max_hits: int = 50  # hits per webhook request
    webhook_timeout: float = 10.0
    webhook_tries: int = 3  # per round, with back-off backoff, 2 x backoff ...
    webhook_backoff: float = 1.0
    max_failures: int = 5  # failed rounds in a row before a channel is disabled
    retry_after: float = 60.0  # seconds before a failed row is tried again, doubling per attempt
    interval: float = 60.0  # seconds between rounds of the loop

    @classmethod
    def configured(cls, config: dict[str, Any] | None = None) -> DeliverySettings:
        c = config or {}
        return cls(
            webhook_max_hits=max(1, int(_env_number(c, "webhook_max_hits", "FOI_WEBHOOK_MAX_HITS", 50))),
            webhook_timeout=_env_number(c, "webhook_timeout", "FOI_WEBHOOK_TIMEOUT", 10.0),
            webhook_tries=max(1, int(_env_number(c, "webhook_tries", "FOI_WEBHOOK_TRIES", 3))),
            webhook_backoff=_env_number(c, "webhook_backoff", "FOI_WEBHOOK_BACKOFF", 1.0),
            max_failures=max(1, int(_env_number(c, "alerts_max_failures", "FOI_ALERTS_MAX_FAILURES", 5))),
            retry_after=_env_number(c, "alerts_retry_after", "FOI_ALERTS_RETRY_AFTER", 60.0),
            interval=_env_number(c, "alerts_interval", "FOI_ALERTS_INTERVAL", 60.0),
        )


@dataclass
class DeliveryReport:
    emails: int = 0
    webhooks: int = 0
    hits_sent: int = 0
    withheld: int = 0
    failures: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    busy: bool = False  # another sender holds the lock

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@contextmanager
def sender_lock(root: Path, wait: bool = False) -> Iterator[bool]:
    """Whether this process holds the archive's sender lock (for the block)."""
    folder = root / "runs"
    folder.mkdir(exist_ok=True)
    fh: IO[bytes] = open(folder / "alerts-sender.lock", "a+b")  # noqa: SIM115
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        fh.close()


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class Sender:
    """One round of delivery over an archive's outbox."""

    def __init__(self, store: Store, config: dict[str, Any] | None = None):
        self.config = dict(config or {})
        self.records = AlertDB(store)
        self.settings = DeliverySettings.configured(self.config)
        self.mail = mail.MailSettings.configured(self.config)
        self.base = base_url(self.config)
        self.signer = LinkSigner(self.records.secret())

    def send_due(self, at: datetime | None = None) -> DeliveryReport:
        """Send what is due at `at` (now): instant hits, and digests whose period has passed."""
        at = at or datetime.now(UTC)
        report = DeliveryReport()
        with sender_lock(self.records.store.root) as held:
            if not held:
                report.busy = True
                return report
            describe_hits(self.records)  # words and snippets of the hits recorded since the last round
            self._send_emails(at, report)
            self._send_webhooks(at, report)
        return report

    # -- shared -------------------------------------------------------------------------------

    def _readable(self, rows: list[Any], report: DeliveryReport) -> list[Any]:
        """The rows whose owner may read the document's collection now; the others are withheld."""
        keep, withheld = [], []
        viewers: dict[str, Viewer] = {}
        for r in rows:
            owner = PUBLIC_OWNER if r["audience"] == "public" else r["owner"]
            if owner not in viewers:
                viewers[owner] = viewer_for_owner(self.records.store, owner)
            if may_deliver(self.records.store, viewers[owner], r):
                keep.append(r)
            else:
                withheld.append(r["outbox_id"])
        if withheld:
            self.records.set_outbox(withheld, "withheld", error="the owner may not read this collection now")
            report.withheld += len(withheld)
        return keep

    def _batches(
        self, rows: list[Any], key: Any, at: datetime, size: int
    ) -> Iterator[tuple[str, list[Any], str | None]]:
        """(delivery id, rows, digest key to stamp) to send: first those left `sending` by a sender
        that died and those of a failed attempt, as they were (under the same delivery id: a receiver
        that got a request whose answer timed out can tell the retry is the same); then pending rows
        whose digest is due, `size` at a time."""
        resumed: dict[str, list[Any]] = {}
        due: dict[tuple[Any, str], list[Any]] = {}
        for r in rows:
            if r["delivery"]:
                resumed.setdefault(r["delivery"], []).append(r)
            else:
                due.setdefault((key(r), r["cadence"]), []).append(r)
        for delivery, group in resumed.items():
            yield delivery, group, None
        for (k, cadence), group in due.items():
            digest_key = f"{k}:{cadence}"
            last = self.records.last_digest(digest_key)
            if cadence != "instant" and last is not None and at - _parse(last) < PERIODS[cadence]:
                continue
            for i in range(0, len(group), size):
                yield uuid.uuid4().hex, group[i : i + size], digest_key

    def _retry(self, ids: list[int], error: str, attempts: int, report: DeliveryReport) -> None:
        """Back to pending, to be tried again after a delay doubling per attempt."""
        delay = self.settings.retry_after * (2 ** min(attempts, 10))
        self.records.retry_later(ids, error, _stamp(datetime.now(UTC) + timedelta(seconds=delay)))
        report.failures.append(error)

    def _failed(
        self, ids: list[int], channel_ids: set[int], error: str, attempts: int, report: DeliveryReport
    ) -> None:
        """A failure that is the channel's (a refused address, a receiver answering an error): retried
        later, and counted against the channel, which is disabled after `max_failures` in a row."""
        self._retry(ids, error, attempts, report)
        for cid in channel_ids:
            channel = self.records.channel(cid)
            if channel is None:
                continue
            failures = channel.failures + 1
            self.records.update_channel(cid, failures=failures)
            if failures >= self.settings.max_failures:
                reason = f"disabled after {failures} failed deliveries in a row; last: {error}"
                self.records.update_channel(cid, disabled=reason)
                report.disabled.append(f"{channel.kind} {channel.target}: {reason}")
                self._tell_owner(cid, channel.kind, channel.target, reason)

    def _tell_owner(self, channel_id: int, kind: str, target: str, reason: str) -> None:
        """The owner hears of a disabled channel in the UI (the channel shows why) and by e-mail: at
        the account's address (`foi users email`) and at the search's other working e-mail channels."""
        search_id = self.records.channel_search_id(channel_id)
        search = self.records.search(search_id) if search_id is not None else None
        if search is None:
            return
        addresses = [owner_email(self.records.store, search.owner)]
        addresses += [
            ch.target
            for ch in search.channels
            if ch.kind == "email" and ch.id != channel_id and ch.confirmed and not ch.disabled
        ]
        text = (
            f"The {kind} {target} of your saved search {search.name!r} was disabled: {reason}. "
            f"Its hits are kept; re-enable it once the receiver works again ({self.base}/alerts/{search.id}, "
            f"or `foi alerts enable {shlex.quote(search.name)} {channel_id}`)."
        )
        for address in dict.fromkeys(a for a in addresses if a and a != target):
            try:
                mail.send(self.mail, mail.notice(self.mail, address, f"FOI Archive: {kind} disabled", text))
            except mail.MailError:
                log.warning("could not tell %s that a channel was disabled", address, exc_info=True)

    def _sent(
        self, ids: list[int], channel_ids: set[int], digest_key: str | None, report: DeliveryReport
    ) -> None:
        with self.records.transaction():
            self.records.set_outbox(ids, "sent", error=None)
            for cid in channel_ids:
                self.records.update_channel(cid, failures=0)
            if digest_key:
                self.records.set_last_digest(digest_key, now())
        report.hits_sent += len(ids)

    # -- e-mail -------------------------------------------------------------------------------

    def _send_emails(self, at: datetime, report: DeliveryReport) -> None:
        rows = self._readable(self.records.outbox("email", _stamp(at)), report)
        for delivery, group, digest_key in self._batches(rows, lambda r: f"email:{r['target']}", at, 500):
            ids = [r["outbox_id"] for r in group]
            channels = {int(r["channel_id"]) for r in group}
            self.records.set_outbox(ids, "sending", delivery=delivery)  # on disk before the message goes
            to = group[0]["target"]
            hits = [
                mail.DigestHit(
                    search_name=r["search_name"],
                    query=r["query"],
                    title=r["title"],
                    page=int(r["page"]),
                    terms=_terms(r["terms"]),
                    snippet_html=r["snippet"],
                    link=hit_link(self.base, int(r["document_id"]), int(r["page"]), r["query"]),
                )
                for r in group
            ]
            unsubscribe = self.signer.link(self.base, "unsubscribe", sorted(channels))
            cadence = group[0]["cadence"]
            attempts = max(r["attempts"] for r in group)
            try:
                mail.send(self.mail, mail.digest(self.mail, to, cadence, hits, delivery, unsubscribe))
            except mail.RecipientRefused as exc:  # this address's trouble: counts against its channels
                self._failed(ids, channels, str(exc), attempts, report)
                continue
            except mail.MailError as exc:
                # The server's trouble (down, not configured, login refused, a temporary 4xx): no
                # recipient is to blame, so no channel counts a failure; the rest waits for a later round.
                self._retry(ids, str(exc), attempts, report)
                return
            self._sent(ids, channels, digest_key, report)
            report.emails += 1

    # -- webhooks -------------------------------------------------------------------------------

    def _send_webhooks(self, at: datetime, report: DeliveryReport) -> None:
        rows = self._readable(self.records.outbox("webhook", _stamp(at)), report)
        failed_channels: set[int] = set()
        size = self.settings.webhook_max_hits
        for delivery, group, digest_key in self._batches(
            rows, lambda r: f"webhook:{r['channel_id']}", at, size
        ):
            cid = int(group[0]["channel_id"])
            if cid in failed_channels:
                continue  # it failed this round: the rest waits for the next
            ids = [r["outbox_id"] for r in group]
            self.records.set_outbox(ids, "sending", delivery=delivery)
            first = group[0]
            payload = {
                "delivery": delivery,
                "search": {
                    "id": int(first["search_id"]),
                    "name": first["search_name"],
                    "query": first["query"],
                    "cadence": first["cadence"],
                },
                "hits": [
                    {
                        "document_id": int(r["document_id"]),
                        "title": r["title"],
                        "page": int(r["page"]),
                        "collection": r["collection"],
                        "terms": _terms(r["terms"]),
                        "snippet": r["snippet"],
                        "url": hit_link(self.base, int(r["document_id"]), int(r["page"]), r["query"]),
                        "matched_at": r["created"],
                    }
                    for r in group
                ],
            }
            s = self.settings
            try:
                webhook.post_with_retries(
                    first["target"],
                    first["secret"] or "",
                    delivery,
                    payload,
                    s.webhook_timeout,
                    s.webhook_tries,
                    s.webhook_backoff,
                )
            except webhook.WebhookError as exc:
                failed_channels.add(cid)
                self._failed(ids, {cid}, str(exc), max(r["attempts"] for r in group), report)
                continue
            self._sent(ids, {cid}, digest_key, report)
            report.webhooks += 1


def _terms(raw: str) -> list[str]:
    import json

    value = json.loads(raw or "[]")
    return [str(v) for v in value] if isinstance(value, list) else []


WAKE_FILE = "alerts-wake"
_loops_lock = threading.Lock()
_wake_events: dict[Path, set[threading.Event]] = {}


def wake_senders(root: Path) -> None:
    """Hits to send now (matching recorded some): the delivery loops of this process wake at once,
    those of other processes (a `foi serve` beside a `foi ingest`) within a second, as they watch
    runs/alerts-wake, instead of waiting for their interval."""
    folder = root / "runs"
    folder.mkdir(exist_ok=True)
    (folder / WAKE_FILE).touch()
    with _loops_lock:
        for event in _wake_events.get(root.resolve(), ()):
            event.set()


def _wake_stamp(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


class DeliveryLoop:
    """The sending loop of `foi serve`: a daemon thread that runs a round every `interval` seconds,
    or as soon as matching records hits (`wake_senders`), if it can take the archive's sender lock
    (so one process of a deployment sends)."""

    def __init__(self, root: Path, config: dict[str, Any] | None = None):
        self.root = Path(root).resolve()
        self.config = dict(config or {})
        self.interval = DeliverySettings.configured(self.config).interval
        self.stop_event = threading.Event()
        self.wake_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="foi-alerts-sender", daemon=True)

    def start(self) -> DeliveryLoop:
        with _loops_lock:
            _wake_events.setdefault(self.root, set()).add(self.wake_event)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.wake_event.set()
        self.thread.join(timeout=30)
        with _loops_lock:
            _wake_events.get(self.root, set()).discard(self.wake_event)

    def _run(self) -> None:
        wake_file = self.root / "runs" / WAKE_FILE
        while not self.stop_event.is_set():
            self.wake_event.clear()
            seen = _wake_stamp(wake_file)  # hits recorded during the round wake the next one
            try:
                store = Store(self.root)
                try:
                    report = Sender(store, self.config).send_due()
                finally:
                    store.close()
                if report.failures:
                    log.warning("alert delivery: %s", "; ".join(report.failures))
            except Exception:  # the loop must outlive a bad round
                log.exception("alert delivery round failed")
            self._wait(wake_file, seen)

    def _wait(self, wake_file: Path, seen: int) -> None:
        """Until the interval passes, this process wakes the loop, or another touches the wake file."""
        deadline = time.monotonic() + self.interval
        while not self.stop_event.is_set() and not self.wake_event.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or _wake_stamp(wake_file) != seen:
                return
            self.wake_event.wait(min(1.0, left))
