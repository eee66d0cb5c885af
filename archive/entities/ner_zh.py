"""Chinese people, places and organisations with jieba's part-of-speech tagger.

jieba tags person names `nr`, places `ns` and organisations `nt`; on its own it rarely tags a full
company name (中国饮料有限公司 comes out as 中国/ns 饮料/n 有限公司/n), so a run of nouns headed by a
proper noun and ending in an organisation suffix (有限公司, 集团, 研究所, 大学 ...) becomes one
organisation. Person names must start with a common surname, which removes most of the tagger's
false `nr` hits (盖章/nr). Watchlist names and a user dictionary are added to a private segmenter,
so the search index's segmentation is unchanged.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..script import HAN
from .base import Mention, entity_key
from .watchlist import fold

log = logging.getLogger(__name__)

USER_DICT = Path(__file__).with_name("data") / "zh_userdict.txt"

# Common single-character surnames (covering the vast majority of the population) and compound ones.
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟"
    "谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢"
    "安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路"
    "游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全"
    "佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝习"
)
COMPOUND_SURNAMES = {
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "宇文",
    "司徒",
    "夏侯",
    "令狐",
}
# Common words the tagger calls names or places (measured on the corpus: 东西 "thing" is tagged ns).
NOT_NAMES = {
    "盖章",
    "签字",
    "高新",
    "文化",
    "安全",
    "方面",
    "于是",
    "于此",
    "和平",
    "常委",
    "明确",
    "高度",
    "王朝",
    "文明",
    "史诗",
    "古老",
    "盛世",
    "史官",
    "史前",
    "向东",
    "高于",
    "关于",
    "金钢石",
    "金刚石",
    "黄金",
    "白银",
    "石油",
    "方法",
    "常常",
    "常年",
    "时代",
    "时期",
    "江山",
    "万物",
    "田地",
    "程度",
    "马上",
    "毛病",
    "钱财",
    "孔雀",
}
NOT_PLACES = {
    "东西",
    "哥哥",
    "南北",
    "城市",
    "外国",
    "高原",
    "平原",
    "都城",
    "古都",
    "上下",
    "左右",
    "中外",
    "东方",
    "西方",
    "四方",
    "天下",
    "各地",
    "当地",
    "本地",
    "外地",
    "全国",
    "国内",
    "国外",
    "海外",
    "地方",
    "内外",
    "中央",
}

ORG_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团公司",
    "集团",
    "公司",
    "研究所",
    "研究院",
    "研究中心",
    "科学院",
    "大学",
    "学院",
    "学校",
    "银行",
    "委员会",
    "协会",
    "学会",
    "基金会",
    "医院",
    "法院",
    "检察院",
    "政府",
    "办公室",
    "事务所",
    "工厂",
    "中心",
    "局",
    "厅",
    "署",
    "部",
    "厂",
    "社",
)
# Tags allowed inside an organisation name, and those that may head one.
_ORG_BODY = {"n", "nt", "ns", "nz", "nr", "nrt", "j", "vn", "m", "eng", "an", "b", "ng", "l", "nrfg", "f"}
_ORG_HEAD = {"nt", "ns", "nz", "nr", "nrt", "j", "eng", "nrfg"}
_MAX_ORG_TOKENS = 7
_MAX_NAME = 40
_CHUNK = re.compile(r"[^。！？；!?;\n]{1,200}[。！？；!?;\n]?|[。！？；!?;\n]")
_NAME_DOTS = {"·", "•", "・", "‧"}
_NOT_NAME_TAGS = {"v", "p", "c", "u", "uj", "ul", "r", "m", "d", "x", "a", "ad", "f"}


def _tag_type(word: str, flag: str) -> str | None:
    if flag == "nt" and len(word) >= 2:
        return "org"
    if flag == "ns" and len(word) >= 2 and word not in NOT_PLACES:
        return "place"
    if flag in {"nr", "nrfg"} and _is_person_name(word):
        return "person"
    if flag == "nrt" and len(word) >= 3:
        return "person"  # transliterated foreign names (特朗普)
    return None


def _is_person_name(word: str) -> bool:
    if not 2 <= len(word) <= 4 or word in NOT_NAMES or not all(HAN.match(c) for c in word):
        return False
    return word[0] in SURNAMES or word[:2] in COMPOUND_SURNAMES


_lock = threading.Lock()
_taggers: dict[tuple[tuple[tuple[str, str], ...], Path | None], object] = {}


def _shared_tagger(words: tuple[tuple[str, str], ...], user_dict: Path | None):  # type: ignore[no-untyped-def]
    """One private segmenter per word list and process (its own words must not reach the search
    analysis, so it gets its own copy of the dictionary)."""
    with _lock:
        key = (words, user_dict)
        if key not in _taggers:
            import jieba
            import jieba.posseg

            from ..analysis import _jieba

            # The search analysis's segmenter has the same dictionary loaded (or loads it now):
            # a copy of its frequency table takes milliseconds, reading jieba's cache again 0.4 s.
            base = _jieba()
            tk = jieba.Tokenizer()
            tk.FREQ, tk.total, tk.initialized = dict(base.FREQ), base.total, True
            if user_dict is not None and user_dict.exists():
                tk.load_userdict(str(user_dict))
            for word, tag in words:
                tk.add_word(fold(word)[0], freq=None, tag=tag)
            _taggers[key] = _tagger_class()(tk)
        return _taggers[key]


@functools.cache
def _tagger_class() -> type:
    import jieba.posseg

    class SharedTagsTagger(jieba.posseg.POSTokenizer):  # type: ignore[misc]
        """jieba's part-of-speech tagger over a private segmenter. It takes the default
        dictionary's tags from the tagger jieba.posseg built at import instead of parsing
        dict.txt again (0.3 s). That holds while nothing adds words to jieba.posseg's own
        tagger (nothing here does: words go to private segmenters like this one), and while the
        private segmenter keeps jieba's default dictionary as its main one."""

        def load_word_tag(self, f):  # type: ignore[no-untyped-def]
            f.close()
            # A copy: the private segmenter's own words get their tags added to it.
            self.word_tag_tab = dict(jieba.posseg.dt.word_tag_tab)

    return SharedTagsTagger


class JiebaExtractor:
    """Chinese NER on text containing Han characters (originals, in practice)."""

    name: str = "ner_zh"
    fields: tuple[str, ...] = ("original",)

    def __init__(self, extra_words: Iterable[tuple[str, str]] = (), user_dict: Path | None = USER_DICT):
        self.extra_words = list(extra_words)
        self.user_dict = user_dict
        self._posseg = None

    def available(self) -> bool:
        try:
            import jieba.posseg  # noqa: F401
        except ImportError:
            return False
        return True

    def _tagger(self) -> Any:
        if self._posseg is None:
            self._posseg = _shared_tagger(tuple(sorted(set(self.extra_words))), self.user_dict)
        return self._posseg

    def extract(self, text: str, lang: str | None, field: str) -> list[Mention]:
        if not HAN.search(text):
            return []
        folded, index = fold(text)
        tokens: list[tuple[str, str, int, int]] = []
        tagger = self._tagger()
        # Sentence-sized pieces: jieba slows down badly on long runs without punctuation.
        for chunk in _CHUNK.finditer(folded):
            pos = chunk.start()
            piece = chunk.group()
            # jieba's HMM costs ~1 ms a character on runs of repeated characters (junk, hostile input).
            hmm = len(piece) < 24 or len(set(piece)) > len(piece) // 4
            for pair in tagger.cut(piece, HMM=hmm):
                word, flag = pair.word, pair.flag
                start = folded.find(word, pos, chunk.end())
                if start < 0:
                    continue
                tokens.append((word, flag, start, start + len(word)))
                pos = start + len(word)
        spans: list[tuple[int, int, str]] = []
        for word, flag, s, e in tokens:
            t = _tag_type(word, flag)
            if t:
                spans.append((s, e, t))
        spans += self._compound_orgs(tokens)
        spans += self._dotted_names(tokens)
        # Longest span wins: an organisation swallows the place at its head.
        kept: list[tuple[int, int, str]] = []
        taken = bytearray(len(folded) + 1)
        for s, e, t in sorted(spans, key=lambda x: (-(x[1] - x[0]), x[0])):
            if e - s <= _MAX_NAME and not any(taken[s:e]):
                kept.append((s, e, t))
                taken[s:e] = b"\x01" * (e - s)
        out = []
        for s, e, t in sorted(kept):
            start, end = index[s], index[e - 1] + 1
            surface = text[start:end]
            norm = re.sub(r"\s+", "", surface)
            out.append(
                Mention(t, surface, norm, start, end, self.name, entity_id=f"{t}:{entity_key(folded[s:e])}")
            )
        return out

    def _dotted_names(self, tokens: list[tuple[str, str, int, int]]) -> list[tuple[int, int, str]]:
        """Transliterated foreign names written with a middle dot: 史蒂文·斯皮尔伯格, 梅丽莎·马西森.

        jieba splits them badly (马西/ns 森/n), so the name is the token before the first dot, the
        token after each dot, and the name-like or one-character tokens that follow it.
        """
        out = []
        i = 0
        n = len(tokens)
        while i < n:
            word, flag, s, _e = tokens[i]
            if not (
                i + 2 < n
                and tokens[i + 1][0] in _NAME_DOTS
                and HAN.match(word)
                and flag not in _NOT_NAME_TAGS
            ):
                i += 1
                continue
            end = i
            while end + 2 < n and tokens[end + 1][0] in _NAME_DOTS and HAN.match(tokens[end + 2][0]):
                end += 2
                piece = len(tokens[end][0])
                while (
                    end + 1 < n
                    and HAN.match(tokens[end + 1][0])
                    and piece < 6
                    and (
                        tokens[end + 1][1] in {"nr", "nrt", "nrfg", "nz", "ns"}
                        or (len(tokens[end + 1][0]) == 1 and tokens[end + 1][1] in {"n", "ng", "nr"})
                    )
                ):
                    end += 1
                    piece += len(tokens[end][0])
            out.append((s, tokens[end][3], "person"))
            i = end + 1
        return out

    def _compound_orgs(self, tokens: list[tuple[str, str, int, int]]) -> list[tuple[int, int, str]]:
        out = []
        for i, (word, flag, _s, e) in enumerate(tokens):
            if not word.endswith(ORG_SUFFIXES) or flag not in _ORG_BODY:
                continue  # 签署 (to sign) ends in 署 but is a verb
            j = i
            while (
                j > 0
                and i - j < _MAX_ORG_TOKENS
                and tokens[j - 1][1] in _ORG_BODY
                and HAN.search(tokens[j - 1][0])
            ):
                j -= 1
            # Trim the front until a proper noun heads the name.
            while j < i and tokens[j][1] not in _ORG_HEAD:
                j += 1
            if j == i:
                continue  # a bare 公司 / 全部 is no organisation; single nt words are tagged already
            out.append((tokens[j][2], e, "org"))
        return out
