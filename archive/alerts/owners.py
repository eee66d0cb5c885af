"""Who an alert's owner is, as the access model sees them: the one place that maps a stored
owner name to a `Viewer`, and asks archive.access whether that viewer may read a hit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..access import LOCAL, PUBLIC, Viewer, may_read_document
from ..accounts import Accounts

if TYPE_CHECKING:
    from ..store import Store

LOCAL_OWNER = "local"
PUBLIC_OWNER = "public"  # e-mail subscribers of a public site: they read what the public reads


def viewer_for_owner(store: Store, owner: str | None) -> Viewer:
    """The viewer whose reading rights a saved search's hits are delivered under, as the owner's
    account stands now: the local single user owns everything in a local archive; a public
    subscription reads as an anonymous visitor; an account reads with its role and grants; a name
    with no account (removed since) reads only what the public reads."""
    if owner in (None, "", LOCAL_OWNER):
        return LOCAL
    if owner == PUBLIC_OWNER:
        return PUBLIC
    found = Accounts(store).viewer(str(owner))
    return found if found is not None else PUBLIC


def owner_email(store: Store, owner: str | None) -> str | None:
    """The address an owner's account gave (`foi users email`), if any: where the owner is told of a
    disabled channel. The local single user and public subscribers have none."""
    if owner in (None, "", LOCAL_OWNER, PUBLIC_OWNER):
        return None
    account = Accounts(store).get(str(owner))
    return str(account["email"]) if account and account["email"] else None


def may_deliver(store: Store, viewer: Viewer, hit: Any) -> bool:
    """May a hit (a row with `document_id` and `collection`) go to `viewer` now? A taken-down
    document or a collection no longer readable withholds it."""
    return may_read_document(store, viewer, {"id": hit["document_id"], "collection": hit["collection"]})
