"""Data and other files a disclosure holds, one module per family: JSON, XML and SVG
(`structured`), vCard and iCalendar (`records`), DjVu (`djvu`), Access and dBase tables
(`tables`), audio and video (`media`)."""

from __future__ import annotations

from .. import register
from .djvu import DjvuExtractor
from .media import MediaExtractor
from .records import CalendarExtractor, VcardExtractor
from .structured import JsonExtractor, XmlExtractor
from .tables import AccessExtractor, DbaseExtractor

for _extractor in (
    JsonExtractor(),
    XmlExtractor(),
    VcardExtractor(),
    CalendarExtractor(),
    DjvuExtractor(),
    AccessExtractor(),
    DbaseExtractor(),
    MediaExtractor(),
):
    register(_extractor)
