"""Generated FOI response letters and e-mail printouts with their entity labels.

Templates mark every entity inline as [[type|text]] or [[type|text|norm]] (norm for exemption
codes and watchlist ids). `render()` strips the marks and returns the text with gold labels
(type, text, norm, start, end, by), `by` naming the extractor family that should find it.
Seeded: the same seed always gives the same documents, so the labelled set is reproducible.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

_MARK = re.compile(r"\[\[(?P<type>[a-z_]+)\|(?P<text>[^|\]]+)(?:\|(?P<norm>[^\]]+))?\]\]")
_BY = {
    "email": "patterns",
    "phone": "patterns",
    "url": "patterns",
    "money": "patterns",
    "date": "patterns",
    "foi_ref": "patterns",
    "postcode": "patterns",
    "id": "patterns",
    "exemption": "exemptions",
    "person": "ner_en",
    "org": "ner_en",
    "place": "ner_en",
    "wl_org": "watchlist",
    "zh_person": "ner_zh",
    "zh_org": "ner_zh",
    "zh_place": "ner_zh",
}


@dataclass
class LabelledText:
    id: str
    source: str
    text: str
    lang: str
    entities: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "lang": self.lang,
            "text": self.text,
            "entities": self.entities,
        }


def render(marked: str, id_: str, source: str, lang: str = "en") -> LabelledText:
    out: list[str] = []
    entities = []
    pos = 0
    length = 0
    for m in _MARK.finditer(marked):
        chunk = marked[pos : m.start()]
        out.append(chunk)
        length += len(chunk)
        kind, text = m.group("type"), m.group("text")
        type_ = kind.split("_", 1)[1] if kind.startswith(("wl_", "zh_")) else kind
        ent = {"type": type_, "text": text, "start": length, "end": length + len(text), "by": _BY[kind]}
        if m.group("norm"):
            ent["norm"] = m.group("norm")
        entities.append(ent)
        out.append(text)
        length += len(text)
        pos = m.end()
    out.append(marked[pos:])
    return LabelledText(id_, source, "".join(out), lang, entities)


# -- fillers ------------------------------------------------------------------------------------

PEOPLE = [
    "Sarah Thompson",
    "David Okafor",
    "Helen McAllister",
    "James Whitfield",
    "Priya Raman",
    "Thomas Brennan",
    "Margaret O'Neill",
    "Daniel Fischer",
    "Rachel Goldberg",
    "Michael Adeyemi",
    "Laura Jenkins",
    "Peter Kowalski",
]
AUTHORITIES = [
    (
        "Ministry of Defence",
        "MOD",
        "Whitehall",
        "London",
        "London",
        "SW1A 2HB",
        "foi@mod.gov.uk",
        "020 7218 9000",
    ),
    (
        "Home Office",
        "Home Office",
        "Marsham Street",
        "London",
        "London",
        "SW1P 4DF",
        "foirequests@homeoffice.gov.uk",
        "020 7035 4848",
    ),
    (
        "Foreign, Commonwealth and Development Office",
        "FCDO",
        "King Charles Street",
        "London",
        "London",
        "SW1A 2AH",
        "foi@fcdo.gov.uk",
        "020 7008 5000",
    ),
    (
        "Department for Business and Trade",
        "DBT",
        "Old Admiralty Building",
        "London",
        "London",
        "SW1A 2DY",
        "foi@businessandtrade.gov.uk",
        "020 4551 0011",
    ),
    (
        "Police Scotland",
        "Police Scotland",
        "Clyde Gateway",
        "Glasgow",
        "Glasgow",
        "G40 3DN",
        "foi@scotland.police.uk",
        "0141 585 8300",
    ),
]
WATCH = [
    ("Hikvision", "Hangzhou Hikvision Digital Technology Co., Ltd."),
    ("Huawei", "Huawei Technologies Co., Ltd."),
    ("China Electronics Technology Group Corporation", "China Electronics Technology Group Corporation"),
    ("CETC", "China Electronics Technology Group Corporation"),
    ("Dahua Technology", "Zhejiang Dahua Technology Co., Ltd."),
    ("iFlytek", "iFlytek Co., Ltd."),
    ("SenseTime", "SenseTime Group Inc."),
    ("NORINCO", "China North Industries Corporation (NORINCO)"),
    ("AVIC", "Aviation Industry Corporation of China (AVIC)"),
    ("Harbin Institute of Technology", "Harbin Institute of Technology"),
    ("Beihang University", "Beihang University"),
    ("National University of Defense Technology", "National University of Defense Technology (NUDT)"),
    ("Northwestern Polytechnical University", "Northwestern Polytechnical University"),
    ("Megvii", "Megvii Technology Limited"),
]
UK_EXEMPTIONS = [
    ("section 40(2)", "FOIA s40(2)"),
    ("section 43(2)", "FOIA s43(2)"),
    ("s.43(2)", "FOIA s43(2)"),
    ("section 24(1)", "FOIA s24(1)"),
    ("section 26(1)(b)", "FOIA s26(1)(b)"),
    ("section 27(1)(a)", "FOIA s27(1)(a)"),
    ("section 31(1)(a)", "FOIA s31(1)(a)"),
    ("section 35(1)(a)", "FOIA s35(1)(a)"),
    ("section 41", "FOIA s41"),
    ("s43", "FOIA s43"),
    ("section 23(5)", "FOIA s23(5)"),
    ("section 12", "FOIA s12"),
]
US_EXEMPTIONS = [
    ("(b)(6)", "US FOIA (b)(6)"),
    ("(b)(7)(C)", "US FOIA (b)(7)(C)"),
    ("(b)(5)", "US FOIA (b)(5)"),
    ("(b)(1)", "US FOIA (b)(1)"),
    ("(b)(7)(E)", "US FOIA (b)(7)(E)"),
    ("(b)(4)", "US FOIA (b)(4)"),
]
EIR_EXEMPTIONS = [
    ("regulation 12(5)(e)", "EIR reg12(5)(e)"),
    ("regulation 12(4)(b)", "EIR reg12(4)(b)"),
    ("regulation 13", "EIR reg13"),
    ("regulation 12(5)(a)", "EIR reg12(5)(a)"),
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONEY = ["£3m", "£250,000", "$500,000", "£1.2 million", "£48,500", "US$2.5 million", "€750,000", "£12,000"]
TOPICS = [
    "procurement of surveillance cameras",
    "research partnerships with overseas universities",
    "export licences for communications equipment",
    "visits by foreign delegations",
    "contracts for facial recognition software",
    "cyber security assessments of network suppliers",
]


def _date(rng: random.Random) -> tuple[str, str]:
    d, m, y = rng.randint(1, 28), rng.randint(1, 12), rng.randint(2015, 2024)
    return f"{d} {MONTHS[m - 1]} {y}", f"{y:04d}-{m:02d}-{d:02d}"


def uk_letter(rng: random.Random, n: int) -> LabelledText:
    name, short, street, town, city, pc, email, phone = rng.choice(AUTHORITIES)
    scotland = short == "Police Scotland"
    officer = rng.choice(PEOPLE)
    requester = rng.choice([p for p in PEOPLE if p != officer])
    ref = rng.choice(
        [
            f"FOI-{rng.randint(2015, 2024)}-{rng.randint(1, 9999):04d}",
            f"F-{rng.randint(2010, 2024)}-{rng.randint(1, 99999):05d}",
        ]
    )
    sent, _ = _date(rng)
    got, _ = _date(rng)
    topic = rng.choice(TOPICS)
    (w1, _), (w2, _) = rng.sample(WATCH, 2)
    w1n = dict(WATCH)[w1]
    w2n = dict(WATCH)[w2]
    money = rng.choice(MONEY)
    if scotland:
        ex = rng.sample(
            [
                ("section 38(1)(b)", "FOISA s38(1)(b)"),
                ("section 35(1)(a)", "FOISA s35(1)(a)"),
                ("section 33(1)(b)", "FOISA s33(1)(b)"),
                ("section 31(1)", "FOISA s31(1)"),
            ],
            2,
        )
        act = "Freedom of Information (Scotland) Act 2002"
    else:
        ex = rng.sample(UK_EXEMPTIONS, 2)
        act = "Freedom of Information Act 2000"
    org_line = f"[[org|{name}]]" if short == name else f"[[org|{name}]] ([[org|{short}]])"
    marked = f"""{org_line}
[[place|{street}]]
[[place|{city}]]
[[postcode|{pc}]]

Our ref: [[foi_ref|{ref}]]
[[date|{sent}]]

Dear [[person|{requester}]],

FREEDOM OF INFORMATION REQUEST

Thank you for your request of [[date|{got}]] for information about {topic}, including any contracts with [[wl_org|{w1}|{w1n}]] and meetings with representatives of [[wl_org|{w2}|{w2n}]]. We have handled your request under the {act}.

We hold information within the scope of your request. The total value of the contracts was [[money|{money}]]. Some of the information is exempt from disclosure under [[exemption|{ex[0][0]}|{ex[0][1]}]] and [[exemption|{ex[1][0]}|{ex[1][1]}]] of the Act, and has been withheld. The names of junior officials have been redacted.

If you are unhappy with this response you may ask for an internal review by writing to [[email|{email}]] or calling [[phone|{phone}]]. Please quote the reference number above.

Yours sincerely,

[[person|{officer}]]
Information Rights Team
"""
    return render(marked, f"letter-uk-{n:03d}", "generated FOI response letter")


def eir_letter(rng: random.Random, n: int) -> LabelledText:
    officer = rng.choice(PEOPLE)
    ref = f"EIR-{rng.randint(2015, 2024)}-{rng.randint(1, 999):04d}"
    (e1, c1), (e2, c2) = rng.sample(EIR_EXEMPTIONS, 2)
    sent, _ = _date(rng)
    marked = f"""[[org|Environment Agency]]
[[place|Horizon House]], [[place|Deanery Road]]
[[place|Bristol]] [[postcode|BS1 5AH]]

Reference: [[foi_ref|{ref}]]
Date: [[date|{sent}]]

Your request has been considered under the Environmental Information Regulations 2004 (EIR).
We are withholding parts of the site reports under [[exemption|{e1}|{c1}]] and [[exemption|{e2}|{c2}]].
The remediation costs of [[money|£1.2 million]] are disclosed in full.

Contact: [[email|enquiries@environment-agency.gov.uk]], telephone [[phone|03708 506 506]].

[[person|{officer}]]
"""
    return render(marked, f"letter-eir-{n:03d}", "generated EIR response letter")


def us_letter(rng: random.Random, n: int) -> LabelledText:
    officer = rng.choice(PEOPLE)
    ref = f"FOIA-{rng.randint(2015, 2024)}-{rng.randint(1, 99999):05d}"
    ex = rng.sample(US_EXEMPTIONS, 3)
    sent, _ = _date(rng)
    ((w1, _),) = rng.sample(WATCH, 1)
    marked = f"""[[org|U.S. Department of Commerce]]
[[org|Bureau of Industry and Security]]
[[place|Washington]], DC [[date|{sent}]]

Re: FOIA Request No. [[foi_ref|{ref}]]

This responds to your Freedom of Information Act request for records concerning [[wl_org|{w1}|{dict(WATCH)[w1]}]].
We located 48 pages of responsive records. We are releasing 31 pages in part, with information withheld
pursuant to 5 U.S.C. 552[[exemption|{ex[0][0]}|{ex[0][1]}]], [[exemption|{ex[1][0]}|{ex[1][1]}]] and [[exemption|{ex[2][0]}|{ex[2][1]}]].
Fees of [[money|$500,000]] were waived. Questions may be directed to [[email|foia@bis.doc.gov]] or [[phone|(202) 482-0500]].

Sincerely,
[[person|{officer}]]
FOIA Officer
"""
    return render(marked, f"letter-us-{n:03d}", "generated US FOIA response letter")


def email_printout(rng: random.Random, n: int) -> LabelledText:
    a, b = rng.sample(PEOPLE, 2)
    ae = a.lower().replace(" ", ".").replace("'", "") + "@mod.gov.uk"
    be = b.lower().replace(" ", ".").replace("'", "") + "@fcdo.gov.uk"
    sent, _ = _date(rng)
    (w1, _), (w2, _) = rng.sample(WATCH, 2)
    amount = rng.choice(["300万英镑", "人民币50万元", "5000万美元", "1.2亿元"])
    cdate = rng.choice(["2018年11月12日", "2019年3月5日", "2020年7月21日"])
    zh = rng.choice(
        [
            ("华为", "Huawei Technologies Co., Ltd."),
            ("海康威视", "Hangzhou Hikvision Digital Technology Co., Ltd."),
            ("中国电子科技集团公司", "China Electronics Technology Group Corporation"),
            ("科大讯飞", "iFlytek Co., Ltd."),
            ("哈尔滨工业大学", "Harbin Institute of Technology"),
        ]
    )
    marked = f"""From: [[person|{a}]] <[[email|{ae}]]>
Sent: [[date|{sent}]] 09:14
To: [[person|{b}]] <[[email|{be}]]>
Subject: RE: delegation visit

[[person|{b.split()[0]} {b.split()[1]}]],

The delegation from [[wl_org|{w1}|{dict(WATCH)[w1]}]] arrives on Tuesday. The attached note (in Chinese) says the agreement signed on [[zh_date|{cdate}]] is worth [[zh_money|{amount}]] and names [[wl_org|{zh[0]}|{zh[1]}]] as partner.
Please call me on [[phone|+44 20 7946 0321]] before the meeting with [[wl_org|{w2}|{dict(WATCH)[w2]}]].

[[person|{a}]]
"""
    return render(
        marked.replace("zh_date", "date").replace("zh_money", "money"),
        f"email-{n:03d}",
        "generated email printout",
    )


def zh_note(rng: random.Random, n: int) -> LabelledText:
    person = rng.choice(["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊"])
    place = rng.choice(["北京", "上海", "深圳", "杭州", "南京"])
    zh = rng.choice(
        [
            ("华为技术有限公司", "Huawei Technologies Co., Ltd."),
            ("海康威视", "Hangzhou Hikvision Digital Technology Co., Ltd."),
            ("中国电子科技集团公司", "China Electronics Technology Group Corporation"),
            ("國防科技大學", "National University of Defense Technology (NUDT)"),
            ("科大讯飞", "iFlytek Co., Ltd."),
        ]
    )
    company = rng.choice(["中国饮料有限公司", "上海浦东发展银行", "深圳市腾讯计算机系统有限公司", "北京大学"])
    cdate = rng.choice(["2018年11月12日", "2019年3月5日", "二〇二〇年七月二十一日"])
    amount = rng.choice(["300万英镑", "人民币50万元", "5000万美元"])
    marked = f"""会议纪要

时间：[[date|{cdate}]]
地点：[[zh_place|{place}]]
参加人员：[[zh_person|{person}]]（[[zh_org|{company}]]）、[[wl_org|{zh[0]}|{zh[1]}]]代表

会议讨论了合作项目，预算为[[money|{amount}]]。联系电话：[[phone|010-65529988]]，邮箱：[[email|contact@example.cn]]。
"""
    return render(marked, f"zh-note-{n:03d}", "generated Chinese meeting note", lang="zh-Hans")


def generate(seed: int = 6, letters: int = 12, emails: int = 8) -> list[LabelledText]:
    rng = random.Random(seed)
    docs: list[LabelledText] = []
    for i in range(letters):
        docs.append(uk_letter(rng, i))
    for i in range(max(1, letters // 3)):
        docs.append(eir_letter(rng, i))
        docs.append(us_letter(rng, i))
    for i in range(emails):
        docs.append(email_printout(rng, i))
    for i in range(max(1, emails // 2)):
        docs.append(zh_note(rng, i))
    return docs
