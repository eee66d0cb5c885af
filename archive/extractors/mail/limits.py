"""Limits of the mail family: message sizes, attachments, and the header and MIME bounds applied
before the parser sees a message."""

from __future__ import annotations

from ...models import Source, StageError

MAX_MESSAGE_BYTES = 100 * 1024 * 1024  # one .eml / .msg file
MAX_ATTACHMENTS = 1000
# Headers and MIME structure are bounded before the parser sees them (a 10 MB To: or Subject: would
# otherwise become a 10 MB page, and 1,000 nested parts overflow Python's recursion limit).
MAX_HEADER_FIELD_BYTES = 64 * 1024  # one header field, folded lines included
MAX_HEADER_BLOCK_BYTES = 1024 * 1024  # all the fields of one part
MAX_HEADER_FIELDS = 5000  # fields of one part
MAX_ADDRESSES = 1000  # per address field (metadata, for the sender/recipient filters)
MAX_PAGE_ADDRESSES = 250  # of those, written in the page's header block (entities cost memory per word)
MAX_MIME_DEPTH = 32  # parts inside parts (a forwarded message is two or three levels)
MAX_MIME_PARTS = 2 * MAX_ATTACHMENTS  # parts read from one message (the parser's cost is per part)
MAX_COUNTED_DEEP_PARTS = 10_000  # parts below MAX_MIME_DEPTH counted for the note, then skipped


def _refuse_larger_than(source: Source, limit: int, what: str) -> None:
    """A file over its family's size limit is refused before it is read (recorded per document)."""
    size = source.path.stat().st_size
    if size > limit:
        raise StageError("extract", f"{what} too large: {size} bytes (limit {limit})")
