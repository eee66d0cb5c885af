"""Links that alerts put in feeds, e-mails and webhooks (absolute: they are read elsewhere), and
the signed tokens of e-mail links."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
CONFIRM_MAX_AGE = 7 * 24 * 3600  # a subscription confirmation link lasts a week


def base_url(config: dict[str, Any] | None = None) -> str:
    """`FOI_BASE_URL`: where the site is reached from outside (links in feeds and e-mails)."""
    url = (config or {}).get("base_url") or os.environ.get("FOI_BASE_URL") or DEFAULT_BASE_URL
    return str(url).rstrip("/")


def hit_link(base: str, doc_id: int, page: int, query: str) -> str:
    """The page of the hit, with the query's matches marked."""
    return f"{base}/documents/{doc_id}?{urlencode({'q': query})}#page-{page}"


def feed_link(base: str, search_id: int, token: str | None) -> str:
    if token:
        return f"{base}/alerts/feeds/{quote(token)}.atom"
    return f"{base}/alerts/{search_id}/feed.atom"


class LinkSigner:
    """Signed, expiring tokens for unsubscribe and confirmation links (itsdangerous). `clock` (seconds
    since the epoch; default time.time) is when tokens are made and checked: tests turn it back."""

    def __init__(self, secret: str, clock: Callable[[], float] = time.time):
        class ClockedSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock())

        self.serializer = URLSafeTimedSerializer(secret, salt="foi-alerts", signer=ClockedSigner)

    def sign(self, action: str, channel_ids: list[int]) -> str:
        return self.serializer.dumps({"a": action, "c": sorted(channel_ids)})

    def check(self, action: str, token: str, max_age: int | None = None) -> list[int]:
        """The channel ids of a token made by `sign(action, ...)`; ValueError saying why not."""
        try:
            data = self.serializer.loads(token, max_age=max_age)
        except SignatureExpired as exc:
            raise ValueError("this link has expired: subscribe again") from exc
        except BadSignature as exc:
            raise ValueError("this link is not valid") from exc
        ids = data.get("c") if isinstance(data, dict) and data.get("a") == action else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
            raise ValueError("this link is not valid")
        return [int(i) for i in ids]

    def link(self, base: str, action: str, channel_ids: list[int]) -> str:
        return f"{base}/alerts/{action}/{self.sign(action, channel_ids)}"
