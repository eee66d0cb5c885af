"""E-mail: digests per address and cadence, notices and subscription confirmations, sent with
smtplib to `FOI_SMTP_URL` (smtp://host:port, smtps://..., user:password@ allowed) from
`FOI_MAIL_FROM`. Every message has a plain-text and an HTML part; the HTML escapes every piece of
document text (snippets come escaped, with only <mark> added)."""

from __future__ import annotations

import html
import os
import re
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

DEFAULT_FROM = "FOI Archive <alerts@localhost>"
_TAGS = re.compile(r"<[^>]*>")


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message: the transport's trouble (no
    server configured, no connection, login refused, a temporary 4xx), not the recipient's."""


class RecipientRefused(MailError):
    """The server refused the recipient for good (a 5xx answer to RCPT TO): the address's trouble."""


@dataclass
class MailSettings:
    url: str | None
    sender: str

    @classmethod
    def configured(cls, config: dict[str, Any] | None = None) -> MailSettings:
        config = config or {}
        return cls(
            url=config.get("smtp_url") or os.environ.get("FOI_SMTP_URL") or None,
            sender=config.get("mail_from") or os.environ.get("FOI_MAIL_FROM") or DEFAULT_FROM,
        )


def send(settings: MailSettings, msg: EmailMessage, timeout: float = 30.0) -> None:
    if not settings.url:
        raise MailError("no SMTP server configured: set FOI_SMTP_URL (e.g. smtp://127.0.0.1:25)")
    parts = urlsplit(settings.url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    try:
        if parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=timeout)
        else:
            client = smtplib.SMTP(host, port or 25, timeout=timeout)
        with client:
            if parts.scheme == "smtp+starttls":
                client.starttls()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        answers = ", ".join(
            f"{to} {code} {text.decode(errors='replace')}" for to, (code, text) in exc.recipients.items()
        )
        if exc.recipients and all(code >= 500 for code, _ in exc.recipients.values()):
            raise RecipientRefused(f"{host}:{port} refused the recipient: {answers}") from exc
        raise MailError(f"{host}:{port} put the recipient off for now: {answers}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"sending mail through {host}:{port} failed: {exc}") from exc


def _message(
    settings: MailSettings, to: str, subject: str, text: str, html_body: str, message_id: str | None
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id or make_msgid(domain="foi-archive")
    msg.set_content(text)
    msg.add_alternative(html_body, subtype="html")
    return msg


@dataclass
class DigestHit:
    search_name: str
    query: str
    title: str
    page: int
    terms: Sequence[str]
    snippet_html: str  # escaped text with <mark>
    link: str


def digest(
    settings: MailSettings, to: str, cadence: str, hits: Sequence[DigestHit], delivery: str, unsubscribe: str
) -> EmailMessage:
    """One digest: each hit says which saved search, which words matched, the snippet and a link."""
    searches = sorted({h.search_name for h in hits})
    subject = (
        f"FOI Archive: {len(hits)} new document{'s' if len(hits) != 1 else ''} for {', '.join(searches)}"
    )
    lines = [f"New documents matching your saved searches ({cadence}):", ""]
    blocks = []
    for h in hits:
        plain_snippet = html.unescape(
            _TAGS.sub("", h.snippet_html.replace("<mark>", "[").replace("</mark>", "]"))
        )
        lines += [
            f"* {h.title} (page {h.page})",
            f"  Saved search: {h.search_name} ({h.query})",
            f"  Matched: {', '.join(h.terms) or '(filters)'}",
            f"  {plain_snippet}",
            f"  {h.link}",
            "",
        ]
        blocks.append(
            f'<li><p><a href="{html.escape(h.link)}">{html.escape(h.title)}</a> (page {h.page})</p>'
            f"<p>Saved search: <strong>{html.escape(h.search_name)}</strong> ({html.escape(h.query)})</p>"
            f"<p>Matched: {html.escape(', '.join(h.terms) or '(filters)')}</p>"
            f"<blockquote>{h.snippet_html}</blockquote></li>"
        )
    lines += ["", f"Unsubscribe: {unsubscribe}"]
    body = (
        f"<html><body><p>New documents matching your saved searches ({html.escape(cadence)}):</p>"
        f"<ul>{''.join(blocks)}</ul>"
        f'<p><a href="{html.escape(unsubscribe)}">Unsubscribe</a></p></body></html>'
    )
    msg = _message(settings, to, subject, "\n".join(lines), body, f"<{delivery}@foi-archive>")
    msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Precedence"] = "bulk"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-FOI-Delivery"] = delivery
    return msg


def notice(settings: MailSettings, to: str, subject: str, text: str) -> EmailMessage:
    """A short message to an owner (a webhook disabled after repeated failures)."""
    msg = _message(settings, to, subject, text, f"<html><body><p>{html.escape(text)}</p></body></html>", None)
    msg["Auto-Submitted"] = "auto-generated"
    return msg


def confirmation(settings: MailSettings, to: str, search_name: str, query: str, link: str) -> EmailMessage:
    """The double opt-in: nothing is sent to a subscriber until this link is followed."""
    text = (
        f"Someone (hopefully you) asked to be told by e-mail about new documents matching the saved search "
        f"{search_name!r} ({query}).\n\nConfirm with this link (valid for 7 days):\n{link}\n\n"
        "If you did not ask for this, ignore this message: nothing will be sent."
    )
    body = (
        f"<html><body><p>Someone (hopefully you) asked to be told by e-mail about new documents matching the "
        f"saved search <strong>{html.escape(search_name)}</strong> ({html.escape(query)}).</p>"
        f'<p><a href="{html.escape(link)}">Confirm the subscription</a> (valid for 7 days).</p>'
        "<p>If you did not ask for this, ignore this message: nothing will be sent.</p></body></html>"
    )
    msg = _message(settings, to, f"Confirm your FOI Archive alert: {search_name}", text, body, None)
    msg["Auto-Submitted"] = "auto-generated"
    return msg
