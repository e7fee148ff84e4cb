"""What is read aloud: numbers as a person reads them, and the pieces an answer is synthesised in."""

import pytest

from channels.voice.speech_text import (FIRST_PIECE_CHARS, PIECE_CHARS, chunks, clean_for_speech, digits_in_chinese,
                                        read_numbers, speech_pieces)


@pytest.mark.parametrize("written, spoken", [
    ("请拨打12345热线", "请拨打一二三四五热线"),
    ("电话010-65280000", "电话零一零六五二八零零零零"),
    ("客服400 123 4567", "客服四零零一二三四五六七"),
    ("2026年1月起", "二零二六年1月起"),  # the year digit by digit; the month is a quantity
    ("工本费20元，15个工作日", "工本费20元，15个工作日"),  # quantities are left to the phonemizer (二十元)
    ("身份证号110101199003071234", "身份证号一一零一零一一九九零零三零七一二三四"),
])
def test_chinese_numbers_are_read_as_a_person_reads_them(written, spoken):
    assert read_numbers(written, "zh") == spoken


def test_english_long_numbers_are_spaced_digit_by_digit():
    assert read_numbers("Call 12345 or 110", "en") == "Call 1 2 3 4 5 or 110"
    assert digits_in_chinese("12-3") == "一二三"


def test_text_is_cleaned_for_speech_in_both_languages():
    written = "办理步骤:\n1. 预约\n- 带<b>身份证</b> https://x.cn"
    assert clean_for_speech(written, "zh") == "办理步骤: 第1步，预约。 带 身份证。"
    assert clean_for_speech("Steps:\n1. Book\nCall 12345", "en") == "Steps: Step 1: Book. Call 1 2 3 4 5."


def test_the_first_chinese_piece_is_a_short_clause_and_the_rest_about_a_sentence():
    spoken = clean_for_speech("补办身份证需要携带户口簿，到户籍所在地派出所办理，工本费二十元。" * 4, "zh")
    pieces = speech_pieces(spoken, "zh")
    assert pieces[0] == "补办身份证需要携带户口簿，"  # the first clause: playing starts after a short synthesis
    assert len(pieces[0]) <= FIRST_PIECE_CHARS["zh"] and all(len(p) <= PIECE_CHARS["zh"] for p in pieces)
    assert "".join(pieces).replace(" ", "") == spoken.replace(" ", "")  # nothing lost, nothing repeated


def test_english_is_cut_between_words_and_short_text_is_one_piece():
    assert speech_pieces("Call the 1 2 3 4 5 hotline.", "en") == ["Call the 1 2 3 4 5 hotline."]
    long_sentence = " ".join(["word"] * 120) + "."
    pieces = chunks(long_sentence, limit=50)
    assert all(len(piece) <= 50 for piece in pieces) and all(p.split(" ")[0] == "word" for p in pieces)
    assert " ".join(pieces).split() == long_sentence.split()
    assert speech_pieces("   ", "zh") == []
