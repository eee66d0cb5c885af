from archive.analysis import index_text, query_terms, tokenize
from archive.language import chinese_variant, detect_language, summarize_languages


def test_tokens_are_case_folded_and_nfkc():
    assert index_text("FOI Request ＡＢＣ Ünïcode") == "foi request abc ünïcode"


def test_chinese_is_segmented_with_sub_words_for_indexing():
    terms = index_text("军事基地").split()
    assert {"军事", "基地", "军事基地"} <= set(terms)
    # Queries use precise mode: one term for a dictionary word.
    assert query_terms("军事基地") == ["军事基地"]
    assert query_terms("海洋") == ["海洋"]


def test_offsets_point_into_the_text():
    text = "Party A 甲方：中国饮料有限公司"
    for tok in tokenize(text):
        assert text[tok.start : tok.end].casefold() == tok.term


def test_punctuation_and_underscores_split_terms():
    assert query_terms("foi@tfl.gov.uk") == ["foi", "tfl", "gov", "uk"]
    assert query_terms("snake_case") == ["snake", "case"]


def test_language_of_pages():
    assert detect_language("") == "und"
    assert detect_language("— … ### 12 34 ---") == "und"
    assert detect_language("Have the PSNI made payments to the charity Common Purpose?") == "en"
    assert detect_language("甲方： 中国饮料有限公司 （盖章）") == "zh-Hans"
    assert detect_language("大家說英語 每日聽MP3 繁體中文光碟版 軟體帝國更新迅速") == "zh-Hant"
    assert detect_language("Großbritanniens größter Partei, sagt Jeremy Corbyn, wählt Labour.") == "de"
    # Chinese with a few English words is Chinese.
    assert (
        detect_language("回落到CPU操作可能会导致性能速度的下降。此外，即使一个操作是由CUDA execution")
        == "zh-Hans"
    )


def test_variant_and_summary():
    assert chinese_variant("这个国家的发展") == "zh-Hans"
    assert chinese_variant("這個國家的發展") == "zh-Hant"
    assert summarize_languages(["en", "und", "zh-Hans", "zh-Hans"]) == "zh-Hans"
    assert summarize_languages(["und"]) == "und"
