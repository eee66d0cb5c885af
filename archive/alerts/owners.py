"""Who an alert's owner is, as the access model sees them: the one place that maps a stored
owner name to a `Viewer`."""

from __future__ import annotations

from ..access import LOCAL, PUBLIC, Viewer

LOCAL_OWNER = "local"
PUBLIC_OWNER = "public"  # e-mail subscribers of a public site: they read what the public reads


def viewer_for_owner(owner: str | None) -> Viewer:
    """The viewer whose reading rights a saved search's hits are delivered under. Until named
    accounts exist (issue #16) the local single user owns everything; a public subscription reads
    as an anonymous visitor; any other name reads nothing it is not granted."""
    if owner in (None, "", LOCAL_OWNER):
        return LOCAL
    if owner == PUBLIC_OWNER:
        return PUBLIC
    return Viewer(name=owner, role="reader")
