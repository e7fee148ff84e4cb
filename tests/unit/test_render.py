"""How answers look, per mode and language (the texts channels show and speak)."""

import re
from pathlib import Path

import pytest

from bot.actions.render import (LARGE_TEXT_MAX_STEPS, clarify_text, menu_field, rating_buttons, render_answer,
                                render_field)
from knowledge.loader import load_items

ITEMS = {item.id: item for item in load_items(Path(__file__).parents[2] / "knowledge" / "items")}
PASSPORT = ITEMS["passport-apply"]
SIX_STEPS = ITEMS["business-deregistration"]
NUMBERED = re.compile(r"^\d+\. ")


def numbered(text: str) -> list[str]:
    return [line for line in text.splitlines() if NUMBERED.match(line)]


@pytest.mark.parametrize("language, heads", [
    ("zh", ["办理步骤:", "需要带的材料:", "费用: ", "办理时限: ", "咨询电话: "]),
    ("en", ["Steps:", "What to bring:", "Fee: ", "Processing time: ", "Hotline: "]),
])
def test_full_answer_has_every_part_in_its_language(language, heads):
    text = render_answer(PASSPORT, language)
    content = PASSPORT.text(language)
    assert text.splitlines()[:2] == [content.title, content.summary]
    assert all(any(line.startswith(head) for line in text.splitlines()) for head in heads)
    assert numbered(text) == [f"{n}. {step}" for n, step in enumerate(content.steps, start=1)]
    assert "\n\n" not in text  # Rasa's REST channel would split the message there


@pytest.mark.parametrize("language", ["zh", "en"])
def test_large_text_answer_is_shorter_with_at_most_five_steps_and_a_menu(language):
    full, large = render_answer(SIX_STEPS, language), render_answer(SIX_STEPS, language, large_text=True)
    assert len(large) < len(full)
    assert len(numbered(large)) == LARGE_TEXT_MAX_STEPS < len(SIX_STEPS.text(language).steps)
    lines = large.splitlines()
    assert ("还有1步" if language == "zh" else "(1 more to go") in large
    assert lines[-1].startswith("想了解更多请回复数字：1 " if language == "zh" else "For more, reply with a number: 1 ")
    assert not any(line.startswith("- ") for line in lines)  # the materials list waits for "1"


def test_large_text_answer_keeps_all_steps_when_there_are_five_or_fewer():
    steps = PASSPORT.text("zh").steps
    assert len(steps) <= 5
    assert numbered(render_answer(PASSPORT, "zh", large_text=True)) == [f"{n}. {s}" for n, s in enumerate(steps, 1)]


@pytest.mark.parametrize("field, zh_head, en_head", [
    ("materials", "需要带的材料:", "What to bring:"), ("fees", "费用: ", "Fee: "),
    ("time", "办理时限: ", "Processing time: "), ("where", "在哪里办:", "Where to apply:"),
    ("eligibility", "谁可以办:", "Who can apply:"), ("steps", "办理步骤:", "Steps:"),
])
def test_each_field_is_rendered_under_the_item_title(field, zh_head, en_head):
    for language, head in (("zh", zh_head), ("en", en_head)):
        lines = render_field(PASSPORT, field, language).splitlines()
        assert lines[0] == PASSPORT.text(language).title
        assert lines[1].startswith(head)
        assert lines[-1].startswith("咨询电话: " if language == "zh" else "Hotline: ")


TRAFFIC = ITEMS["traffic-violation"]
ZH_HOTLINE = "咨询电话: 122（交通事故报警和交通管理求助）、12345（政务服务便民热线）"
EN_HOTLINE = "Hotline: 122 (traffic accidents and traffic police help), 12345 (citizen service hotline)"


@pytest.mark.parametrize("language, line", [("zh", ZH_HOTLINE), ("en", EN_HOTLINE)])
def test_hotlines_are_numbered_lines_with_whose_line_each_is(language, line):
    assert render_answer(TRAFFIC, language).splitlines()[-1] == line
    large = render_answer(TRAFFIC, language, large_text=True).splitlines()
    assert large[-2] == line  # then the menu
    for field in ("materials", "fees", "where"):
        assert render_field(TRAFFIC, field, language).splitlines()[-1] == line


def test_every_answer_shows_each_of_its_hotline_numbers_once():
    for item in ITEMS.values():
        for language in ("zh", "en"):
            text = render_answer(item, language, large_text=True)
            hotline = next(line for line in text.splitlines() if line.startswith(("咨询电话: ", "Hotline: ")))
            assert [n for n in re.findall(r"\d+", hotline)] == [line.number for line in item.hotlines], item.id


def test_all_steps_are_shown_when_asked_for_even_beyond_five():
    assert len(numbered(render_field(SIX_STEPS, "steps", "zh"))) == 6


def test_unknown_field_is_refused():
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        render_field(PASSPORT, "colour", "zh")


def test_clarify_text_numbers_the_offered_titles():
    assert clarify_text(["护照", "港澳通行证"], "zh").splitlines()[1:] == ["1. 护照", "2. 港澳通行证"]
    assert clarify_text(["Passport"], "en").startswith("Which of these do you mean?")


def test_rating_buttons_send_the_rating_and_person_payloads_in_both_languages():
    assert [b["title"] for b in rating_buttons("zh")] == ["有用", "没用", "转人工"]
    assert [b["payload"] for b in rating_buttons("en")] == ["/rate_good", "/rate_bad", "/ask_person"]


def test_menu_numbers_match_the_menu_line():
    assert [menu_field(n) for n in range(0, 6)] == [None, "materials", "where", "fees", "time", None]
