"""E-mail: RFC 822 files (.eml), mbox folders, Outlook .msg files, Outlook stores (.pst/.ost) and Apple Mail .emlx.

Every message becomes one document of kind "email": one page holding a readable header block and
the body text, `metadata["mail"]` with parsed addresses and dates, and its attachments and
embedded messages as child files (which the ingester reads recursively like any other file).
Nothing in a message is executed or fetched: HTML bodies become plain text.

One module per format (`rfc822`, `mbox`, `outlook`, `pst`, `emlx`, `tnef`, `printed`) over shared helpers: `charset`
(decoding and repair), `addresses`, `headers`, `bounds` (header floods and deep MIME cut before
parsing), `document` (the e-mail document and its child files) and `limits`.
"""

from __future__ import annotations

from .. import register
from .addresses import parse_address_list
from .charset import repair_utf8_mojibake
from .emlx import EmlxExtractor
from .mbox import MboxExtractor
from .outlook import MsgExtractor
from .printed import PrintedMessageExtractor
from .pst import PstExtractor
from .rfc822 import EmlExtractor
from .tnef import TnefExtractor

__all__ = ["parse_address_list", "repair_utf8_mojibake"]

# Registered in this order, which decides ties between equal scores.
register(PrintedMessageExtractor())
register(TnefExtractor())
register(EmlExtractor())
register(MboxExtractor())
register(MsgExtractor())
register(PstExtractor())
register(EmlxExtractor())
