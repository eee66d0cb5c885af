"""archive.script: the one definition of a Han character, and NFKC offsets mapped back."""

from __future__ import annotations

import unicodedata

import pytest

from archive.script import CJK_TEXT, HAN, HAN_RUN, spans_in_original


@pytest.mark.parametrize(
    "ch",
    [
        "\u3400",  # Extension A
        "海",
        "\u9fff",
        "\uf900",  # compatibility ideograph
        "\U00020000",  # Extension B
        "\U0002f800",  # compatibility supplement
        "\U00030edd",  # Extension G (biang)
    ],
)
def test_han_characters(ch):
    assert HAN.fullmatch(ch) and CJK_TEXT.fullmatch(ch)


@pytest.mark.parametrize("ch", ["a", "é", "。", "，", "〇", "々", "\u2f00", "\u4dc0", "あ", "ア", "한"])
def test_not_han(ch):
    assert not HAN.fullmatch(ch)


def test_cjk_text_adds_kana_and_hangul_only():
    assert all(CJK_TEXT.fullmatch(ch) for ch in "あア한")
    assert not CJK_TEXT.search("Müller, 〇。")


def test_han_runs():
    assert [m.group() for m in HAN_RUN.finditer("海洋 ocean 军事基地2")] == ["海洋", "军事基地"]


def test_spans_in_original_maps_nfkc_offsets_back():
    def find(word):
        # Like highlight_spans: offsets into the NFKC form of the text given.
        def spans(t):
            t = unicodedata.normalize("NFKC", t)
            return [(i, i + len(word)) for i in range(len(t)) if t.startswith(word, i)]

        return spans

    # Same length under NFKC (a full-width letter): offsets pass through.
    assert spans_in_original("ｂase base", find("base")) == [(0, 4), (5, 9)]
    # A ligature grows under NFKC: "ﬁle" is "file", and the hit covers the ligature.
    text = "the ﬁle, a file"
    assert [text[s:e] for s, e in spans_in_original(text, find("file"))] == ["ﬁle", "file"]
    assert spans_in_original("x", lambda t: [(0, 0)]) == []
