"""Telegram rendering: escaping, bold headings, splitting under the length limit, keyboards, callback data."""

import html
import re

from core.messages import BotMessage, Button
from channels.telegram.bot import listening_language
from channels.telegram.render import (LARGE_TEXT_MESSAGE, MAX_CALLBACK_BYTES, MAX_MESSAGE, PayloadKeys,
                                      render_message, render_replies, spoken_text, utf16_length)
from channels.telegram.state import UserState, UserStates

ANSWER = {"kind": "answer", "language": "zh", "mode": {"large_text": False, "voice": False}}
TAG = re.compile(r"</?b>")


def answer(text: str, buttons: list[Button] | None = None, **custom: object) -> BotMessage:
    return BotMessage(text=text, buttons=buttons or [], custom={**ANSWER, **custom})


def plain(rendered_html: str) -> str:
    """What the user reads: tags gone, entities decoded."""
    return html.unescape(TAG.sub("", rendered_html))


def test_special_characters_are_escaped_and_only_our_tags_remain():
    [out] = render_message(answer('Title <script>\nA & B < C > D "q"\nFee: 5 & up'), PayloadKeys())
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert "A &amp; B &lt; C &gt; D" in out.html
    assert set(re.findall(r"</?[a-z]+>", out.html)) == {"<b>", "</b>"}
    assert plain(out.html) == 'Title <script>\nA & B < C > D "q"\nFee: 5 & up'


def test_title_and_section_headings_are_bold_and_numbered_steps_kept():
    text = "普通护照首次申请\n简介。\n办理步骤:\n1. 预约\n2. 拍照\n费用: 120元"
    [out] = render_message(answer(text), PayloadKeys())
    lines = out.html.split("\n")
    assert lines[0] == "<b>普通护照首次申请</b>" and lines[2] == "<b>办理步骤:</b>"
    assert lines[3:5] == ["1. 预约", "2. 拍照"] and lines[5] == "<b>费用:</b> 120元"


def test_a_reply_that_is_not_an_answer_gets_no_bold():
    [out] = render_message(BotMessage(text="您想问的是下面哪一项？请点选，或回复序号：\n1. A",
                                      custom={"kind": "clarify"}), PayloadKeys())
    assert "<b>" not in out.html


def test_a_long_answer_is_split_under_the_limit_between_lines():
    steps = [f"{n}. " + "在窗口办理相关手续并核对信息，" * 12 + "A&B<C>。" for n in range(1, 40)]
    text = "很长的事项\n" + "\n".join(steps)
    assert len(text) > 4000
    out = render_message(answer(text, [Button(title="有用", payload="/rate_good")]), PayloadKeys())
    assert len(out) >= 2
    assert all(utf16_length(m.html) < MAX_MESSAGE for m in out)
    assert all(m.html.count("<b>") == m.html.count("</b>") for m in out)
    assert not any(re.search(r"&[a-z]*$", m.html) for m in out)  # never cut inside an entity
    joined = "\n".join(plain(m.html) for m in out)
    assert joined == text  # nothing lost, every line whole
    assert [bool(m.keyboard) for m in out] == [False] * (len(out) - 1) + [True]  # buttons under the last one


def test_one_enormous_line_is_cut_at_sentences_and_never_exceeds_the_limit():
    line = ("Sentence with & and < in it. " * 400).strip()
    out = render_message(answer("T\n" + line), PayloadKeys())
    assert len(out) >= 3 and all(utf16_length(m.html) < MAX_MESSAGE for m in out)
    assert all(plain(m.html).rstrip().endswith((".", "T")) for m in out)
    assert "".join(plain(m.html) for m in out) == "T\n" + line  # cut between sentences, spaces kept


def test_large_text_mode_gives_shorter_messages_one_line_each():
    text = "事项\n" + "\n".join(f"{n}. 第{n}步要做的事情，" + "说明" * 60 for n in range(1, 8))
    normal = render_message(answer(text), PayloadKeys())
    large = render_message(answer(text), PayloadKeys(), large_text=True)
    assert len(normal) == 1 and len(large) > 1
    assert all(utf16_length(m.html) <= LARGE_TEXT_MESSAGE + 40 for m in large)
    assert all("\n\n" in m.html or m.html.count("\n") == 0 for m in large)  # a blank line between steps
    assert all(re.fullmatch(r"\d+\. .*", part) for m in large for part in plain(m.html).split("\n\n")[1:])


def test_keyboards_short_choices_in_a_row_long_ones_and_large_text_one_per_row():
    rating = [Button(title="有用", payload="/rate_good"), Button(title="没用", payload="/rate_bad"),
              Button(title="转人工", payload="/ask_person")]
    [out] = render_message(answer("x", rating), PayloadKeys())
    assert [[b.callback_data for b in row] for row in out.keyboard] == [["/rate_good", "/rate_bad", "/ask_person"]]
    [large] = render_message(answer("x", rating), PayloadKeys(), large_text=True)
    assert [len(row) for row in large.keyboard] == [1, 1, 1]
    choices = [Button(title="社会保障卡挂失与补办（含异地）", payload='/choose_item{"item_id": "a"}')]
    [clarify] = render_message(BotMessage(text="哪一项？", buttons=choices, custom={"kind": "clarify"}), PayloadKeys())
    assert clarify.keyboard[0][0].text == "社会保障卡挂失与补办（含异地）"


def test_payloads_longer_than_64_bytes_get_a_short_key_that_resolves_back():
    keys = PayloadKeys(capacity=2)
    short = '/choose_item{"item_id": "passport-apply"}'
    long = '/choose_item{"item_id": "' + "social-security-card-transfer-between-cities" + '"}'
    assert len(long.encode()) > MAX_CALLBACK_BYTES
    assert keys.callback_data(short) == short and keys.resolve(short) == short
    key = keys.callback_data(long)
    assert len(key.encode()) <= MAX_CALLBACK_BYTES and key != long and keys.resolve(key) == long
    assert keys.callback_data(long) == key  # the same payload keeps its key
    keys.callback_data(long + "1")
    keys.callback_data(long + "2")  # capacity 2: the first key is forgotten
    assert keys.resolve(key) is None and len(keys) == 2


def test_chinese_payloads_are_measured_in_bytes():
    keys = PayloadKeys()
    payload = '/choose_item{"item_id": "身份证护照户口本社保卡"}'  # 31 characters, 61 bytes... and more
    payload += "医保"
    assert len(payload) < MAX_CALLBACK_BYTES < len(payload.encode())
    assert keys.callback_data(payload).startswith("k:")


def test_payload_only_messages_render_nothing_and_replies_keep_their_order():
    replies = [BotMessage(text="first"), BotMessage(custom={"kind": "mode"}), BotMessage(text="second")]
    assert [plain(m.html) for m in render_replies(replies, PayloadKeys())] == ["first", "second"]


def test_user_states_follow_the_payload_and_stay_bounded():
    states = UserStates(capacity=2)
    before, after = states.update_from(1, [answer("x", mode={"large_text": True, "voice": False}, language="en")])
    assert before.large_text is None and (after.large_text, after.voice, after.language) == (True, False, "en")
    assert after.speaks
    states.update_from(2, [BotMessage(text="no payload")])
    states.update_from(3, [BotMessage(text="no payload")])
    assert states.get(1).large_text is None and len(states) == 2


def test_payload_keys_drop_the_key_issued_longest_ago_even_if_it_was_just_pressed():
    keys = PayloadKeys(capacity=2)
    first, second = (keys.callback_data("/choose_item" + "x" * 60 + str(n)) for n in (1, 2))
    assert keys.resolve(first) is not None  # pressing a button does not keep its key longer
    keys.callback_data("/choose_item" + "x" * 60 + "3")
    assert keys.resolve(first) is None and keys.resolve(second) is not None


def test_user_states_keep_the_users_seen_most_recently():
    states = UserStates(capacity=2)
    states.set(1, UserState(language="en"))
    states.set(2, UserState(language="zh"))
    assert states.get(1).language == "en"  # user 1 seen again: user 2 is now the one seen longest ago
    states.set(3, UserState())
    assert states.get(2) == UserState() and states.get(1).language == "en" and len(states) == 2


# --- voice ---------------------------------------------------------------------------------------------------------

def test_an_answer_is_spoken_in_its_short_form_and_other_replies_as_written():
    long_form = "护照\n办理步骤:\n1. 预约\n需要带的材料:\n- 身份证"
    short_form = "护照\n办理步骤:\n1. 预约\n想了解更多请回复数字"
    replies = [answer(long_form, speech=short_form), BotMessage(text=" 还有别的问题吗？ "),
               BotMessage(custom={"kind": "mode"}), answer("Fee: none", speech="  ")]
    assert spoken_text(replies) == f"{short_form}\n还有别的问题吗？\nFee: none"  # blank speech: the text is read
    assert render_replies(replies[:1], PayloadKeys())[0].html.count("材料") == 1  # the written form is unchanged


def test_voice_notes_are_heard_in_the_language_chosen_else_detected():
    states = UserStates()
    _, greeted = states.update_from(1, [answer("Hello", language="en")])
    assert not greeted.language_chosen and listening_language(greeted) == "auto"  # Telegram's language is no choice
    confirmed = BotMessage(text="好的，我用中文", custom={"kind": "language", "language": "zh"})  # /lang zh
    _, chosen = states.update_from(1, [confirmed])
    assert chosen.language_chosen and listening_language(chosen) == "zh"
    _, later = states.update_from(1, [answer("An answer", language="en")])  # the language follows, still chosen
    assert later.language_chosen and listening_language(later) == "en"
    assert listening_language(UserState()) == "auto"
