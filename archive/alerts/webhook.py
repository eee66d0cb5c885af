"""Webhooks: a JSON POST per batch of hits, signed with HMAC-SHA256.

    X-FOI-Timestamp: <unix seconds>
    X-FOI-Delivery:  <delivery id: the same when a batch is sent again after a crash>
    X-FOI-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the hook's secret>

A receiver recomputes the signature, refuses timestamps older than a few minutes (replay), and may
drop a delivery id it has already seen (a batch whose sending was cut short is sent again with
its id: it can arrive twice, never with different contents)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

SIGNATURE_HEADER = "X-FOI-Signature"
TIMESTAMP_HEADER = "X-FOI-Timestamp"
DELIVERY_HEADER = "X-FOI-Delivery"


class WebhookError(RuntimeError):
    """The receiver could not be reached or did not answer 2xx."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, max_age: float = 300.0, at: float | None = None
) -> bool:
    """What a receiver does (the tests' receiver uses it): the signature matches and its timestamp is
    within `max_age` seconds of `at` (now). ReplayGuard also refuses a request seen before."""
    try:
        age = abs((time.time() if at is None else at) - float(timestamp))
    except ValueError:
        return False
    return age <= max_age and hmac.compare_digest(sign(secret, timestamp, body), signature)


class ReplayGuard:
    """A receiver's memory against replay: a request it accepted (`remember`, once handled) within
    the last `max_age` seconds is refused when it comes again; older ones fail `verify`'s timestamp
    check. A request it answered with an error is not remembered, so the sender's retry (which may
    carry the same timestamp within a second) goes through; a batch sent again after a crash has a
    new timestamp, hence a new signature, and its X-FOI-Delivery says it is the same batch."""

    def __init__(self, max_age: float = 300.0):
        self.max_age = max_age
        self.seen: dict[str, float] = {}

    def verify(self, secret: str, timestamp: str, body: bytes, signature: str) -> bool:
        at = time.time()
        self.seen = {sig: t for sig, t in self.seen.items() if at - t <= self.max_age}
        return signature not in self.seen and verify(secret, timestamp, body, signature, self.max_age, at)

    def remember(self, signature: str) -> None:
        self.seen[signature] = time.time()


def post(url: str, secret: str, delivery: str, payload: dict[str, Any], timeout: float) -> int:
    """POST the payload once; the HTTP status, or WebhookError."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    req = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "FOI-Archive-Alerts",
            TIMESTAMP_HEADER: stamp,
            DELIVERY_HEADER: delivery,
            SIGNATURE_HEADER: sign(secret, stamp, body),
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (http(s) only, checked when added)
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"{url} answered {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise WebhookError(f"{url} could not be reached: {getattr(exc, 'reason', exc)}") from exc


def post_with_retries(
    url: str, secret: str, delivery: str, payload: dict[str, Any], timeout: float, tries: int, backoff: float
) -> None:
    """POST, trying again after backoff, 2 x backoff, ... seconds; WebhookError after the last try."""
    for attempt in range(tries):
        try:
            post(url, secret, delivery, payload, timeout)
            return
        except WebhookError:
            if attempt == tries - 1:
                raise
            time.sleep(backoff * (2**attempt))
