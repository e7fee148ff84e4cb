"""Reading a question before it is searched: Traditional → Simplified, pinyin syllables, key terms."""

import pytest

from knowledge.coverage import procedure_words, specificity
from knowledge.normalize import normalize_question
from knowledge.pinyin import split_syllables, syllable_pairs, syllable_runs


@pytest.mark.parametrize("heard, written", [
    ("身份證遺失了怎麼補辦", "身份证遗失了怎么补办"),
    ("護照過期", "护照过期"),
    ("ＩＤ　卡　丟了", "ID 卡 丢了"),           # full-width letters and spaces
    ("  公积金   提取 ", "公积金 提取"),
])
def test_questions_are_put_in_simplified_half_width_form(heard, written):
    assert normalize_question(heard) == written


def test_simplified_text_is_unchanged():
    text = "我想问一下社保卡丢了怎么办 How do I renew my passport?"
    assert normalize_question(text) == text


@pytest.mark.parametrize("word, syllables", [
    ("shenfenzheng", ("shen", "fen", "zheng")),
    ("gongjijin", ("gong", "ji", "jin")),
    ("yibao", ("yi", "bao")),
    ("lvyou", ("lv", "you")),
])
def test_pinyin_words_split_into_syllables(word, syllables):
    assert split_syllables(word) == syllables


@pytest.mark.parametrize("word", ["passport", "renew", "how", "visa"])
def test_english_words_are_not_pinyin(word):
    assert split_syllables(word) is None


def test_a_misheard_homophone_sounds_like_the_real_word():
    # 攻击金 (a speech recogniser's homophone), pinyin typed with or without spaces: all sound like 公积金.
    real = set(syllable_pairs("公积金提取", latin=False))
    for heard in ("攻击金提取", "gongjijin tiqu", "gong ji jin ti qu"):
        assert set(syllable_pairs(heard)) == real, heard


def test_similar_sounds_are_merged_only_when_asked():
    # zh/z, sh/s, n/l, -ng/-n: southern speech and recognisers confuse them
    assert set(syllable_pairs("社保")) == set(syllable_pairs("sebao"))
    assert set(syllable_pairs("社保", merge_similar=False)) != set(syllable_pairs("sebao", merge_similar=False))


def test_english_words_and_punctuation_end_a_run_of_syllables():
    assert syllable_runs("我的passport过期了") == [["wo", "de"], ["guo", "qi", "le"]]
    assert syllable_runs("How do I renew my passport?") == []


def test_procedure_words_and_specificity():
    words = procedure_words()
    assert {"许可证", "申请", "怎么办", "licence", "apply"} <= words
    assert "药品" not in words and "schengen" not in words
    # rare topic words weigh more than everyday ones
    assert specificity("申根") > specificity("怎么") and specificity("schengen") > specificity("how")
    assert specificity("的") == 0.0
