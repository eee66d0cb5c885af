"""Real receivers for alert tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver that
checks signatures, both on 127.0.0.1 in the test process."""

from __future__ import annotations

import json
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from archive.alerts import webhook


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSink:
    """aiosmtpd on 127.0.0.1: every message it accepts, parsed."""

    def __init__(self, port: int | None = None, refuse: tuple[str, ...] = ()) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = set(refuse)  # addresses answered 550 at RCPT TO
        self.port = port or free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class HookReceiver:
    """An HTTP server that records each POST, checks its signature against `secrets` (by path),
    and answers the statuses of `plan` in turn (then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.secrets: dict[str, str] = {}
        self.plan: list[int] = []
        self.stalls: list[float] = []  # seconds to wait before answering the next requests
        self.guard = webhook.ReplayGuard()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                secret = receiver.secrets.get(self.path, "")
                with receiver.lock:
                    ok = receiver.guard.verify(
                        secret,
                        self.headers.get(webhook.TIMESTAMP_HEADER, ""),
                        body,
                        self.headers.get(webhook.SIGNATURE_HEADER, ""),
                    )
                    stall = receiver.stalls.pop(0) if receiver.stalls else 0.0
                    status = receiver.plan.pop(0) if receiver.plan else 200
                    if ok and status == 200 and not stall:  # a stalled answer never arrives
                        receiver.guard.remember(self.headers.get(webhook.SIGNATURE_HEADER, ""))
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "verified": ok,
                            "delivery": self.headers.get(webhook.DELIVERY_HEADER),
                            "headers": dict(self.headers.items()),
                            "body": body,
                            "json": json.loads(body),
                            "status": -1 if stall else status,  # a stalled answer is never read
                        }
                    )
                if stall:
                    time.sleep(stall)
                try:
                    self.send_response(status if ok else 401)
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["status"] == 200 and r["verified"]]

    def __enter__(self) -> HookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
