"""FOI exemption citations, normalised to canonical codes.

    UK FOIA 2000        "section 40(2)", "s.43(2)", "s43", "sections 40 and 43"  -> "FOIA s40(2)"
    FOI (Scotland) 2002 the same forms on a page about FOISA                    -> "FOISA s38(1)(b)"
    EIR 2004            "regulation 12(5)(e)", "reg. 13"                         -> "EIR reg12(5)(e)"
    US FOIA 5 USC 552   "(b)(6)", "(b)(7)(C)", "b7C", "Exemption 6"             -> "US FOIA (b)(7)(C)"

A section number alone is not an exemption: it counts only on a page that talks about freedom
of information, when it is one of the exemption (or refusal) sections of its Act, and when the
text does not tie it to another Act ("sections 29 and 30 of the Copyright ... Act").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .base import Mention

FOIA_SECTIONS = {
    "12": "Cost of compliance exceeds appropriate limit",
    "14": "Vexatious or repeated requests",
    "21": "Information accessible by other means",
    "22": "Information intended for future publication",
    "22A": "Research",
    "23": "Security bodies",
    "24": "National security",
    "26": "Defence",
    "27": "International relations",
    "28": "Relations within the United Kingdom",
    "29": "The economy",
    "30": "Investigations and proceedings",
    "31": "Law enforcement",
    "32": "Court records",
    "33": "Audit functions",
    "34": "Parliamentary privilege",
    "35": "Formulation of government policy",
    "36": "Prejudice to effective conduct of public affairs",
    "37": "Communications with the Royal Family and honours",
    "38": "Health and safety",
    "39": "Environmental information",
    "40": "Personal information",
    "41": "Information provided in confidence",
    "42": "Legal professional privilege",
    "43": "Commercial interests",
    "44": "Prohibitions on disclosure",
}
FOISA_SECTIONS = {
    "12": "Excessive cost of compliance",
    "14": "Vexatious or repeated requests",
    "25": "Information otherwise accessible",
    "26": "Prohibitions on disclosure",
    "27": "Information intended for future publication",
    "28": "Relations within the United Kingdom",
    "29": "Formulation of Scottish Administration policy",
    "30": "Prejudice to effective conduct of public affairs",
    "31": "National security and defence",
    "32": "International relations",
    "33": "Commercial interests and the economy",
    "34": "Investigations by Scottish public authorities",
    "35": "Law enforcement",
    "36": "Confidentiality",
    "37": "Court records",
    "38": "Personal information",
    "39": "Health, safety and the environment",
    "40": "Audit functions",
    "41": "Communications with Her Majesty and honours",
}
EIR_REGULATIONS = {
    "12(4)(a)": "Information not held",
    "12(4)(b)": "Manifestly unreasonable request",
    "12(4)(c)": "Request too general",
    "12(4)(d)": "Material in the course of completion",
    "12(4)(e)": "Internal communications",
    "12(5)(a)": "International relations, defence, national security or public safety",
    "12(5)(b)": "Course of justice",
    "12(5)(c)": "Intellectual property rights",
    "12(5)(d)": "Confidentiality of proceedings",
    "12(5)(e)": "Confidentiality of commercial information",
    "12(5)(f)": "Interests of the person who provided the information",
    "12(5)(g)": "Protection of the environment",
    "12(3)": "Personal data",
    "13": "Personal data",
}
US_FOIA = {
    "1": "Classified national defence or foreign policy information",
    "2": "Internal personnel rules and practices",
    "3": "Exempted by another statute",
    "4": "Trade secrets and commercial or financial information",
    "5": "Privileged inter- or intra-agency communications",
    "6": "Personal privacy",
    "7": "Law enforcement records",
    "7(A)": "Interference with enforcement proceedings",
    "7(B)": "Right to a fair trial",
    "7(C)": "Personal privacy (law enforcement)",
    "7(D)": "Confidential source",
    "7(E)": "Law enforcement techniques and procedures",
    "7(F)": "Life or physical safety",
    "8": "Financial institutions",
    "9": "Geological information on wells",
}

_SUB = r"(?:[ ]?\((?:\d{1,2}|[a-z]|i{1,3}|iv|v|vi)\))*"
_ITEM = r"(?P<num>\d{1,2}[A-Z]?)(?P<sub>" + _SUB + r")"
_LIST_TAIL = r"(?:(?:\s*,\s*|\s+(?:and|or|&)\s+|\s*/\s*)(?:s\.?\s?)?\d{1,2}[A-Z]?" + _SUB + r")*"
_UK_SECTION = re.compile(
    r"(?<![\w.])(?P<kw>[Ss]ections?|SECTIONS?|[Ss]s?\.[ ]?|[Ss]s?(?=\d))[ ]?"
    + _ITEM
    + r"(?P<tail>"
    + _LIST_TAIL
    + r")"
)
_ITEM_ONLY = re.compile(r"(?:[Ss]s?\.?[ ]?)?" + _ITEM)
_EIR_REG = re.compile(
    r"(?<![\w.])(?P<kw>[Rr]egulations?|REGULATIONS?|[Rr]egs?\.?|[Rr]\.)[ ]?"
    + _ITEM
    + r"(?P<tail>"
    + _LIST_TAIL
    + r")"
)
_US_B = re.compile(r"(?<![A-Za-z_(])\(?[bB]\)?[ ]?\((?P<num>[1-9])\)(?:[ ]?\((?P<sub>[A-Fa-f])\))?(?![\w])")
_US_STAMP = re.compile(r"(?<![\w(/.-])[bB](?P<num>[1-9])(?P<sub>[A-Fa-f])?(?![\w/-])(?!\.\w)")
_US_WORD = re.compile(
    r"(?<![\w])(?:FOIA )?[Ee]xemptions?[ ](?P<num>[1-9])(?:[ ]?\((?P<sub>[A-F])\))?"
    r"(?P<tail>(?:(?:\s*,\s*|\s+(?:and|or|&)\s+)[1-9](?:[ ]?\([A-F]\))?)*)(?![\w])"
)

# What makes a page (or a document) an FOI one: "exempt" alone is not enough (statutes are full of it).
_FOI_CONTEXT = re.compile(
    r"Freedom of Information|\bFOI[AS]?\b|\bFOISA\b|Information Commissioner|"
    r"\b(?:exempt(?:ion)?|withheld|redacted)\s+(?:from\s+disclosure\s+)?(?:under|by\s+virtue\s+of|pursuant\s+to)\s+"
    r"(?:the\s+)?(?:sections?|s\.|regulations?|reg\.|\(b\)|exemptions?)",
    re.I,
)


def is_foi_text(text: str) -> bool:
    """True for text that talks about freedom-of-information requests (the entity step asks per document)."""
    return bool(_FOI_CONTEXT.search(text))


_SCOTLAND = re.compile(r"\(Scotland\)|\bFOISA\b|Scottish Information Commissioner", re.I)
_EIR_CONTEXT = re.compile(r"Environmental Information|\bEIRs?\b|\bEISRs?\b", re.I)
_US_CONTEXT = re.compile(
    r"\b5 U\.?S\.?C|\b552\s?\(b\)|\(b\)\s?\(\d\)|\bU\.S\.|United States|Department of|\bFBI\b|\bCIA\b"
)
_OTHER_ACT_AFTER = re.compile(
    r"(?:\s*\([^)]{0,20}\))*\s*(?:of|under|in)\s+(?:the\s+)?(?P<act>[A-Z][\w,'’ ()-]{0,80}?\b(?:Act|Regulations|Order|Code)\b)"
)
_ACT_BEFORE = re.compile(
    r"(?P<act>[A-Z][\w,'’ ()-]{0,80}?\b(?:Act|Regulations|Order)\b)(?:\s+\d{4})?\s*[,(]?\s*$"
)


def _parens(sub: str) -> list[str]:
    return re.findall(r"\(([^)]*)\)", sub)


def _which_act(act: str) -> str | None:
    """FOIA, FOISA, EIR, EISR, or None for any other Act named next to a citation."""
    a = act.lower()
    if "freedom of information" in a:
        return "FOISA" if "scotland" in a else "FOIA"
    if "environmental information" in a:
        return "EISR" if "scotland" in a else "EIR"
    if a.strip() in {"the act", "act", "this act"}:
        return "same"
    return None


class ExemptionExtractor:
    """Exemption citations in English text (originals and translations)."""

    name: str = "exemptions"
    fields: tuple[str, ...] = ("original", "translation")

    def available(self) -> bool:
        return True

    # extract_page passes context={"foi": True} when another page of the document is about FOI.
    uses_context = True

    def extract(
        self, text: str, lang: str | None, field: str, context: dict[str, Any] | None = None
    ) -> list[Mention]:
        found: list[Mention] = []
        foi_page = bool((context or {}).get("foi")) or is_foi_text(text)
        scotland = bool(_SCOTLAND.search(text))
        if foi_page:
            found += self._uk_sections(text, scotland)
        if foi_page or _EIR_CONTEXT.search(text):
            found += self._eir(text, scotland)
        found += self._us(text, bool(_US_CONTEXT.search(text)) or foi_page)
        found.sort(key=lambda m: m.start)
        return found

    # -- UK FOIA / FOISA ----------------------------------------------------------------------

    def _act_near(self, text: str, start: int, end: int) -> str | None:
        after = _OTHER_ACT_AFTER.match(text, end, min(len(text), end + 120))
        if after:
            return _which_act(after.group("act")) or "other"
        before = _ACT_BEFORE.search(text, max(0, start - 100), start)
        if before and text[before.end("act") : start].strip(" \t,(0123456789") == "":
            return _which_act(before.group("act")) or "other"
        return None

    def _items(self, m: re.Match[str]) -> Iterator[tuple[int, int, str, str]]:
        """(start, end, number, subsections) for each section in a citation or a list of them."""
        yield m.start(), m.end("sub"), m.group("num"), m.group("sub")
        tail_start = m.start("tail")
        for it in _ITEM_ONLY.finditer(m.group("tail")):
            yield tail_start + it.start(), tail_start + it.end(), it.group("num"), it.group("sub")

    def _uk_sections(self, text: str, scotland: bool) -> list[Mention]:
        out = []
        for m in _UK_SECTION.finditer(text):
            act = self._act_near(text, m.start(), m.end())
            if act == "other" or act in {"EIR", "EISR"}:
                continue
            law = act if act in {"FOIA", "FOISA"} else ("FOISA" if scotland else "FOIA")
            table = FOISA_SECTIONS if law == "FOISA" else FOIA_SECTIONS
            for start, end, num, sub in self._items(m):
                num = num.upper()
                if num not in table:
                    continue
                parts = _parens(sub)
                code = f"{law} s{num}" + "".join(f"({p})" for p in parts)
                out.append(self._mention(text, start, end, code, law, num, table[num]))
        return out

    # -- EIR -----------------------------------------------------------------------------------

    def _eir(self, text: str, scotland: bool) -> list[Mention]:
        out = []
        eir_page = bool(_EIR_CONTEXT.search(text))
        for m in _EIR_REG.finditer(text):
            act = self._act_near(text, m.start(), m.end())
            if act in {"other", "FOIA", "FOISA"}:
                continue
            for start, end, num, sub in self._items(m):
                parts = _parens(sub)
                key = num + "".join(f"({p})" for p in parts[:2])
                if scotland and num in {"10", "11"} and eir_page:
                    code, law, title = (
                        f"EISR reg{key}",
                        "EISR",
                        "Environmental Information (Scotland) exception",
                    )
                elif key in EIR_REGULATIONS and (eir_page or key.startswith("12(")):
                    code, law, title = f"EIR reg{key}", "EIR", EIR_REGULATIONS[key]
                else:
                    continue
                out.append(self._mention(text, start, end, code, law, key, title))
        return out

    # -- US FOIA -------------------------------------------------------------------------------

    def _us(self, text: str, us_page: bool) -> list[Mention]:
        out = []
        matches = list(_US_B.finditer(text))
        if us_page:
            matches += list(_US_STAMP.finditer(text))
        for m in matches:
            out.append(self._us_mention(text, m.start(), m.end(), m.group("num"), m.group("sub")))
        if us_page:
            for m in _US_WORD.finditer(text):
                out.append(
                    self._us_mention(
                        text,
                        m.start(),
                        m.end("num") if not m.group("sub") else m.start("tail"),
                        m.group("num"),
                        m.group("sub"),
                    )
                )
                tail_start = m.start("tail")
                for it in re.finditer(r"([1-9])(?:[ ]?\(([A-F])\))?", m.group("tail")):
                    out.append(
                        self._us_mention(
                            text, tail_start + it.start(), tail_start + it.end(), it.group(1), it.group(2)
                        )
                    )
        return out

    def _us_mention(self, text: str, start: int, end: int, num: str, sub: str | None) -> Mention:
        key = num + (f"({sub.upper()})" if sub and num == "7" else "")
        code = f"US FOIA (b)({num})" + (f"({sub.upper()})" if sub and num == "7" else "")
        return self._mention(text, start, end, code, "US FOIA", key, US_FOIA.get(key, US_FOIA[num]))

    def _mention(
        self, text: str, start: int, end: int, code: str, law: str, section: str, title: str
    ) -> Mention:
        while end > start and text[end - 1] in " \t":
            end -= 1
        return Mention(
            "exemption",
            text[start:end],
            code,
            start,
            end,
            self.name,
            entity_id=f"exemption:{code}",
            extra={"law": law, "section": section, "title": title},
        )
