"""`foi thread DOC_ID`: the e-mail conversation a message belongs to."""

from __future__ import annotations

import json
import sys
from typing import Any

import click


def thread_summary(doc: dict[str, Any]) -> dict[str, Any]:
    mail = doc["metadata"].get("mail") or {}
    sender = mail.get("from") or {}
    return {
        "document_id": doc["id"],
        "position": (mail.get("thread") or {}).get("position"),
        "date": doc.get("date"),
        "from": sender,
        "to": mail.get("to") or [],
        "subject": mail.get("subject") or doc.get("title"),
        "message_id": mail.get("message_id"),
        "in_reply_to": mail.get("in_reply_to"),
    }


def register(cli: click.Group) -> None:
    @cli.command("thread")
    @click.argument("doc_id", type=int)
    @click.option("--json", "as_json", is_flag=True, help="Print the thread as JSON.")
    @click.pass_obj
    def thread(ctx: Any, doc_id: int, as_json: bool) -> None:
        """List the messages of the e-mail thread that DOC_ID belongs to, oldest first."""
        from ..threads import thread_of

        doc = ctx.archive.store.document(doc_id)
        if doc is None:
            click.echo(f"error: no document {doc_id}", err=True)
            sys.exit(2)
        messages = thread_of(ctx.archive, doc_id)
        if not messages:
            click.echo(f"error: document {doc_id} is not an e-mail", err=True)
            sys.exit(2)
        info = (doc["metadata"].get("mail") or {}).get("thread") or {}
        rows = [thread_summary(m) for m in messages]
        if as_json:
            data = {"thread_id": info.get("id"), "size": len(rows), "messages": rows}
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
            return
        click.echo(f"Thread {info.get('id')}: {len(rows)} message(s)")
        for r in rows:
            marker = "*" if r["document_id"] == doc_id else " "
            sender = r["from"].get("name") or r["from"].get("address") or "?"
            click.echo(
                f"{marker} {r['position'] or '-'}. #{r['document_id']} {r['date'] or 'undated'}  {sender}: {r['subject']}"
            )
