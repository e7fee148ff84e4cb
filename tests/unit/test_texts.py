"""The catalogue of bilingual texts: every text in both languages, one lookup, and the modules that use it."""

from datetime import datetime
from string import Formatter

import pytest

from core import texts


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field is not None}


def test_every_text_is_in_both_languages_with_the_same_placeholders():
    wrong = [key for key, entry in texts.CATALOGUE.items()
             if set(entry) != set(texts.LANGUAGES) or not all(entry.values())
             or placeholders(entry["zh"]) != placeholders(entry["en"])]
    assert len(texts.CATALOGUE) > 50 and wrong == []


def test_lookup_fills_placeholders_and_falls_back_to_chinese():
    assert texts.text("en", "handoff.claimed", agent="Li") == "Agent Li has joined and is reading your question."
    assert texts.text("fr", "handoff.claimed", agent="Li") == texts.text("zh", "handoff.claimed", agent="Li")
    assert texts.text("zh", "handoff.at", moment=datetime(2025, 3, 4, 9, 5)) == "客服会在03月04日 09:05以后联系您"
    with pytest.raises(KeyError):
        texts.text("zh", "no.such.text")


def test_both_languages_in_one_text_for_replies_before_the_language_is_known():
    assert texts.both("unavailable") == ("助手暂时无法回答，请稍后再试，或拨打12345热线。 / "
                                         "The assistant is temporarily unavailable. Please try again shortly, "
                                         "or call the 12345 hotline.")
    assert texts.both("voice.yes", first="en") == "Yes / 是"


def test_handoff_texts_keep_their_functions():
    from core.payloads import CANCEL_HANDOFF, parse_rate_ticket
    from handoff import texts as handoff_texts

    assert handoff_texts.text("zh", "cancelled", number="T-1") == "已取消人工服务（工单 T-1），智能助手继续为您服务。"
    assert handoff_texts.when("en", None) == "an agent will contact you as soon as one is available"
    assert handoff_texts.cancel_button("en").payload == CANCEL_HANDOFF
    buttons = handoff_texts.rating_buttons("zh", "T-1")
    assert [parse_rate_ticket(b.payload) for b in buttons] == [("T-1", level) for level in (5, 4, 3, 2, 1)]
    assert buttons[0].title == "非常满意"


def test_telegram_keyboard_labels_map_back_to_their_commands():
    from channels.telegram.texts import COMMANDS, KEYBOARD, KEYBOARD_ACTIONS, message

    assert KEYBOARD_ACTIONS["🌐 English"] == "lang" and KEYBOARD_ACTIONS["🔠 Normal text"] == "large"
    assert [len(row) for row in KEYBOARD["zh"]] == [2, 2, 1] and COMMANDS["en"]["human"] == "Talk to a person"
    assert message("unavailable", "en") == texts.text("en", "unavailable")
    assert message("too_long", "zh", limit=2000) == "消息太长了，请缩短到2000字以内。"


def test_voice_replies_come_from_the_catalogue():
    from channels.voice.service import not_set_up

    reply = not_set_up("zh")
    assert reply.message == ("中文语音输入暂未开通，请打字或拨打12345。 / "
                             "Voice input in Chinese is not set up here — please type, or call 12345.")
    assert reply.speech_language == "zh"
    assert not_set_up("fr").speech == "Voice input in fr is not set up here — please type, or call 12345."
