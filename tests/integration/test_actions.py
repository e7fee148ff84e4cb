"""Custom actions, run the way the action server runs them, against the real knowledge search."""

import pytest
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from bot.actions import (ActionAffirm, ActionAnswerFollowUp, ActionAnswerServiceQuestion, ActionChooseItem,
                         ActionChooseNumber, ActionConfirmLanguage, ActionDefaultFallback, ActionDeny, ActionGreet,
                         ActionHandOff, ActionRate, ActionReplyOutOfScope, ActionSetMode, runtime)
from bot.actions.render import render_answer
from bot.actions.runtime import ActionRuntime
from core.language import detect_language
from core.ratings import RatingStore
from core.settings import Settings
from govbot.action_server import warm_up
from testkit.conversation import run, tracker


@pytest.fixture(scope="module", autouse=True)
def action_runtime():
    """The runtime the action server installs before serving: the real knowledge search."""
    installed = warm_up(Settings.from_env())
    yield installed
    runtime.install(None)


@pytest.fixture
def ratings_db(tmp_path, action_runtime):
    """A fresh rating store for the actions, in a temporary SQLite file."""
    store = RatingStore(f"sqlite:///{tmp_path / 'govbot.db'}")
    runtime.install(ActionRuntime(knowledge=action_runtime.knowledge, open_ratings=lambda: store))
    yield store
    runtime.install(action_runtime)


@pytest.fixture
def no_search(monkeypatch):
    """Fail the test if an action searches the knowledge base."""
    def refuse(*args, **kwargs):
        raise AssertionError("the action searched the knowledge base")
    monkeypatch.setattr(runtime.knowledge(), "search", refuse)


def test_action_server_registers_every_domain_action_and_nothing_else():
    import yaml
    from pathlib import Path
    domain = yaml.safe_load((Path(__file__).parents[2] / "bot" / "domain.yml").read_text())
    executor = ActionExecutor()
    executor.register_package("bot.actions")
    assert set(executor.actions) == set(domain["actions"])


async def test_every_reply_carries_language_and_modes():
    messages, _ = await run(ActionGreet(), "hello", "greet", language="en", large_text=True)
    [message] = messages
    assert message["response"] == "utter_greet"
    assert message["custom"] == {"kind": "reply", "language": "en", "mode": {"large_text": True, "voice": False}}


async def test_out_of_scope_replies_with_its_response_and_never_searches(no_search):
    messages, slots = await run(ActionReplyOutOfScope(), "讲个笑话", "out_of_scope")
    assert [m["response"] for m in messages] == ["utter_out_of_scope"] and slots == {}


async def test_fallback_asks_to_rephrase_and_reverts_the_turn():
    dispatcher = CollectingDispatcher()
    events = await ActionDefaultFallback().run(dispatcher, tracker("???"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_please_rephrase"]
    assert events == [UserUtteranceReverted()]


# --- answering ---------------------------------------------------------------------------

async def test_service_question_is_answered_with_the_item_and_rating_buttons():
    messages, slots = await run(ActionAnswerServiceQuestion(), "身份证丢了怎么补办", "service_question")
    [message] = messages
    assert message["text"].startswith("居民身份证丢失补领") and "\n1. " in message["text"]
    speech = message["custom"].pop("speech")
    assert message["custom"] == {"kind": "answer", "language": "zh", "mode": {"large_text": False, "voice": False},
                                 "item": "id-card-lost-replace", "decision": "answer"}
    # what a voice reads: the short (elderly-mode) form, not the full text
    item = runtime.knowledge().by_id["id-card-lost-replace"]
    assert speech == render_answer(item, "zh", large_text=True) != message["text"]
    assert "回复数字" in speech and "需要带的材料:" in message["text"] and "需要带的材料:" not in speech
    assert [b["payload"] for b in message["buttons"]] == ["/rate_good", "/rate_bad", "/ask_person"]
    assert slots["current_item"] == "id-card-lost-replace" and slots["last_question"] == "身份证丢了怎么补办"
    assert slots["last_decision"] == "answer" and slots["failed_turns"] == 0


async def test_answer_is_in_the_language_slot():
    messages, _ = await run(ActionAnswerServiceQuestion(), "how do I apply for a passport for the first time",
                            "service_question", language="en")
    assert messages[0]["text"].startswith("Apply for an ordinary passport") and "Steps:" in messages[0]["text"]


async def test_answer_in_large_text_mode_is_short_and_offers_the_menu():
    messages, _ = await run(ActionAnswerServiceQuestion(), "护照怎么办理", "service_question", large_text=True)
    [message] = messages
    assert "需要带的材料:" not in message["text"] and "回复数字" in message["text"]
    assert message["custom"]["mode"] == {"large_text": True, "voice": False}
    assert message["custom"]["speech"] == message["text"]  # spoken as shown


async def test_vague_question_offers_numbered_items_whose_buttons_pick_them():
    messages, slots = await run(ActionAnswerServiceQuestion(), "社保卡", "service_question",
                                pending_offer="handoff:bad_rating")
    [message] = messages
    assert message["custom"]["decision"] == "clarify"
    assert slots["pending_offer"] is None  # a new question drops the offered person: a later "好" is no yes to it
    offered = slots["offered_items"]
    assert 2 <= len(offered) <= 4 and message["custom"]["items"] == offered
    assert [b["payload"] for b in message["buttons"]] == [f'/choose_item{{"item_id": "{i}"}}' for i in offered]
    assert "\n1. " in message["text"] and "\n2. " in message["text"]


async def test_unrelated_question_gets_the_plain_not_found_reply_with_a_person_button():
    messages, slots = await run(ActionAnswerServiceQuestion(), "今天天气怎么样", "service_question")
    [message] = messages
    assert message["response"] == "utter_cannot_answer_service" and message["custom"]["decision"] == "none"
    assert [b["payload"] for b in message["buttons"]] == ["/ask_person"]
    assert slots["failed_turns"] == 1 and slots["last_decision"] == "none"


# A question near the items that none covers: the search decides `none`, and the reply names what was asked about
# (Rasa fills the response's {topic}, {portal_name}, {portal_url} from these keywords; tests/unit/test_topic.py and
# test_not_found_reply.py cover the wording, tests/e2e/test_near_miss.py the reply through the real stack).
@pytest.mark.parametrize("question, language, topic", [
    ("如何申请珠穆朗玛峰登山许可", "zh", "“珠穆朗玛峰登山许可”"),
    ("How do I apply for a ham radio operator licence?", "en", "\"ham radio operator licence\""),
])
async def test_a_near_miss_question_is_told_its_topic_is_not_in_the_guide(question, language, topic):
    messages, slots = await run(ActionAnswerServiceQuestion(), question, "service_question", language=language)
    [message] = messages
    assert message["response"] == "utter_cannot_answer_service" and message["custom"]["decision"] == "none"
    assert message["topic"] == topic and message["custom"]["language"] == language
    assert (message["portal_name"], message["portal_url"]) == ("国家政务服务平台", "https://gjzwfw.www.gov.cn/")
    assert [b["payload"] for b in message["buttons"]] == ["/ask_person"] and "item" not in message["custom"]
    assert slots["failed_turns"] == 1 and slots["last_decision"] == "none" and "current_item" not in slots


async def test_a_follow_up_naming_an_uncovered_service_without_an_item_names_it_too():
    messages, _ = await run(ActionAnswerFollowUp(), "珠穆朗玛峰登山许可要带什么材料", "ask_materials")
    [message] = messages
    assert message["response"] == "utter_cannot_answer_service" and message["topic"] == "“珠穆朗玛峰登山许可”"


async def test_second_unanswered_question_in_a_row_hands_off_to_a_person():
    messages, slots = await run(ActionAnswerServiceQuestion(), "火星上怎么种土豆", "service_question", failed_turns=1.0,
                                current_item="passport-apply")
    [message] = messages
    assert message["response"] == "utter_handoff_after_failures"
    assert message["custom"]["handoff"] == {"reason": "not_understood", "item": "passport-apply", "language": "zh"}
    assert slots["failed_turns"] == 0


@pytest.mark.parametrize("text", ["😀😀😀", "？？？", "   ", "……"])
async def test_message_with_nothing_to_search_asks_for_a_question(text, no_search):
    messages, slots = await run(ActionAnswerServiceQuestion(), text, "nlu_fallback")
    assert [m["response"] for m in messages] == ["utter_ask_question"] and slots == {}


async def test_very_long_mixed_language_message_still_gets_one_reply():
    text = "我想问一下 passport 护照怎么办理，" * 300
    messages, _ = await run(ActionAnswerServiceQuestion(), text, "service_question")
    assert len(messages) == 1 and messages[0]["custom"]["kind"] in {"answer", "clarify", "none"}


# --- follow-ups --------------------------------------------------------------------------

@pytest.mark.parametrize("text, intent, expected", [
    ("要带什么材料？", "ask_materials", "需要带的材料:"),
    ("多少钱", "ask_fees", "费用:"),
    ("在哪里办", "ask_where", "在哪里办:"),
    ("要多久", "ask_time", "办理时限:"),
    ("谁可以办", "ask_eligibility", "谁可以办:"),
    ("流程是什么", "ask_steps", "办理步骤:"),
])
async def test_follow_up_answers_from_the_current_item_without_searching(text, intent, expected, no_search):
    messages, slots = await run(ActionAnswerFollowUp(), text, intent, current_item="passport-apply")
    [message] = messages
    assert message["text"].startswith("普通护照首次申请") and expected in message["text"]
    assert message["custom"]["kind"] == "follow_up" and message["custom"]["item"] == "passport-apply"
    assert "speech" not in message["custom"]  # short already: spoken as written
    assert slots["current_item"] == "passport-apply"


async def test_english_follow_up_about_the_fee():
    messages, _ = await run(ActionAnswerFollowUp(), "How much does it cost?", "ask_fees", language="en",
                            current_item="passport-apply")
    assert messages[0]["text"].startswith("Apply for an ordinary passport") and "Fee: " in messages[0]["text"]


async def test_follow_up_naming_another_service_switches_to_it():
    messages, slots = await run(ActionAnswerFollowUp(), "办护照要带什么材料", "ask_materials",
                                current_item="marriage-registration")
    assert slots["current_item"] == "passport-apply" and "需要带的材料:" in messages[0]["text"]


async def test_follow_up_about_something_the_current_item_mentions_stays_on_it(no_search):
    messages, slots = await run(ActionAnswerFollowUp(), "还要带户口本吗", "ask_materials",
                                current_item="marriage-registration")
    assert slots["current_item"] == "marriage-registration"


async def test_follow_up_before_any_service_asks_which_one(no_search):
    messages, slots = await run(ActionAnswerFollowUp(), "多少钱", "ask_fees")
    assert [m["response"] for m in messages] == ["utter_ask_which_service"] and slots == {}


async def test_follow_up_while_items_are_offered_shows_the_choices_again(no_search):
    messages, slots = await run(ActionAnswerFollowUp(), "要带什么材料", "ask_materials",
                                offered_items=["passport-apply", "passport-renew"], last_question="我想给孩子办护照")
    assert messages[0]["custom"]["items"] == ["passport-apply", "passport-renew"]
    assert slots["last_question"] == "我想给孩子办护照"


async def test_short_follow_up_misread_as_a_new_question_still_answers_the_current_item(no_search):
    messages, _ = await run(ActionAnswerServiceQuestion(), "多少钱", "service_question", current_item="passport-apply")
    assert messages[0]["custom"]["field"] == "fees"


async def test_new_service_question_replaces_the_current_item():
    _, slots = await run(ActionAnswerServiceQuestion(), "我想办结婚登记", "service_question",
                         current_item="passport-apply")
    assert slots["current_item"] == "marriage-registration"


# --- choosing ------------------------------------------------------------------------------

async def test_choose_item_payload_answers_that_item(no_search):
    messages, slots = await run(ActionChooseItem(), '/choose_item{"item_id": "passport-apply"}', "choose_item",
                                entities=[{"entity": "item_id", "value": "passport-apply"}],
                                offered_items=["passport-apply", "passport-renew"], last_question="护照")
    assert slots["current_item"] == "passport-apply" and slots["offered_items"] is None
    assert slots["last_question"] == "护照" and messages[0]["custom"]["kind"] == "answer"


async def test_choose_item_with_an_unknown_id_asks_again(no_search):
    messages, slots = await run(ActionChooseItem(), '/choose_item{"item_id": "nope"}', "choose_item",
                                entities=[{"entity": "item_id", "value": "nope"}])
    assert [m["response"] for m in messages] == ["utter_ask_question"] and slots == {}


@pytest.mark.parametrize("text", ["2", "第二个", "the second one", "选2"])
async def test_number_picks_the_offered_item(text, no_search):
    _, slots = await run(ActionChooseNumber(), text, "choose_number",
                         offered_items=["passport-apply", "passport-renew"])
    assert slots["current_item"] == "passport-renew"


async def test_number_beyond_the_offered_items_shows_them_again(no_search):
    messages, slots = await run(ActionChooseNumber(), "7", "choose_number",
                                offered_items=["passport-apply", "passport-renew"], last_question="护照")
    assert messages[0]["custom"]["items"] == ["passport-apply", "passport-renew"] and "current_item" not in slots


async def test_number_after_an_elderly_mode_answer_opens_that_menu_line(no_search):
    messages, _ = await run(ActionChooseNumber(), "1", "choose_number", current_item="passport-apply",
                            large_text=True)
    assert messages[0]["custom"]["field"] == "materials" and "需要带的材料:" in messages[0]["text"]


async def test_number_that_is_no_choice_is_searched_as_a_question():
    messages, _ = await run(ActionChooseNumber(), "12345热线", "choose_number")
    assert messages[0]["custom"]["item"] == "citizen-hotline-complaint"


# --- handoff -----------------------------------------------------------------------------

@pytest.mark.parametrize("intent, reason, response", [("ask_person", "user_request", "utter_handoff"),
                                                      ("complaint", "complaint", "utter_handoff_complaint")])
async def test_handoff_payload_names_reason_item_and_language(intent, reason, response):
    messages, _ = await run(ActionHandOff(), "x", intent, language="en", current_item="passport-apply")
    [message] = messages
    assert message["response"] == response
    assert message["custom"]["handoff"] == {"reason": reason, "item": "passport-apply", "language": "en"}
    assert message["custom"]["hotline"] == "12345"


# --- ratings -----------------------------------------------------------------------------

async def test_good_rating_is_stored_with_question_item_and_decision(ratings_db):
    messages, slots = await run(ActionRate(), "有用", "rate_good", current_item="passport-apply",
                                last_question="护照怎么办理 我的电话13812345678", last_decision="answer")
    assert "满意" in messages[0]["text"] and slots == {}
    [stored] = ratings_db.all()
    assert (stored.level, stored.item, stored.decision, stored.language) == (4, "passport-apply", "answer", "zh")
    assert stored.question == "护照怎么办理 我的电话*******5678" and stored.created_at is not None


async def test_bad_rating_offers_a_person_and_yes_hands_off(ratings_db):
    messages, slots = await run(ActionRate(), "not helpful", "rate_bad", language="en", current_item="passport-apply")
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert slots == {"pending_offer": "handoff:bad_rating"} and ratings_db.counts()[2] == 1
    messages, slots = await run(ActionAffirm(), "yes", "affirm", language="en", current_item="passport-apply",
                                pending_offer="handoff:bad_rating")
    assert messages[0]["custom"]["handoff"] == {"reason": "bad_rating", "item": "passport-apply", "language": "en"}
    assert slots["pending_offer"] is None


async def test_no_to_the_offered_person_drops_the_offer():
    messages, slots = await run(ActionDeny(), "不用了", "deny", pending_offer="handoff:bad_rating")
    assert [m["response"] for m in messages] == ["utter_no_problem"] and slots == {"pending_offer": None}


async def test_yes_without_an_offer_does_not_hand_off():
    messages, _ = await run(ActionAffirm(), "好的", "affirm")
    assert [m["response"] for m in messages] == ["utter_no_problem"] and "handoff" not in messages[0]["custom"]


@pytest.mark.parametrize("text, level", [("非常满意", 5), ("满意", 4), ("基本满意", 3), ("不满意", 2),
                                         ("非常不满意", 1), ("very satisfied", 5), ("satisfied", 4),
                                         ("basically satisfied", 3), ("dissatisfied", 2), ("very dissatisfied", 1)])
async def test_five_level_words_map_onto_the_scale(text, level, ratings_db):
    await run(ActionRate(), text, "rate_level")
    assert ratings_db.all()[0].level == level


async def test_rating_payload_gives_the_level(ratings_db):
    await run(ActionRate(), '/rate_level{"rating": "3"}', "rate_level", entities=[{"entity": "rating", "value": "3"}])
    assert ratings_db.all()[0].level == 3


# --- modes and language ---------------------------------------------------------------------

@pytest.mark.parametrize("intent, slot, value", [("large_text_on", "large_text", True),
                                                 ("large_text_off", "large_text", False),
                                                 ("voice_on", "voice", True), ("voice_off", "voice", False)])
async def test_mode_switch_sets_the_slot_and_confirms_in_the_new_mode(intent, slot, value):
    messages, slots = await run(ActionSetMode(), "x", intent, large_text=not value if slot == "large_text" else False,
                                voice=not value if slot == "voice" else False)
    assert slots == {slot: value}
    assert messages[0]["response"] == f"utter_{intent}" and messages[0]["custom"]["mode"][slot] is value


@pytest.mark.parametrize("text, current, expected", [("请用英文", "zh", "en"), ("中文", "en", "zh"),
                                                     ("English please", "zh", "en"), ("说中文", "en", "zh"),
                                                     ("change the language", "zh", "en"),
                                                     ("换一种语言", "en", "zh")])
async def test_explicit_language_switch_chooses_the_language(text, current, expected):
    """Named in the words, else the other one than the language of the bot's latest reply."""
    earlier = [{"event": "bot", "text": "…", "data": {"custom": {"language": current}}}]
    messages, slots = await run(ActionConfirmLanguage(), text, "switch_language", events=earlier,
                                language=detect_language(text))
    assert slots == {"chosen_language": expected}
    assert messages[0]["response"] == f"utter_language_{expected}" and messages[0]["custom"]["language"] == expected


@pytest.mark.parametrize("chosen, language, expected", [(None, "en", "en"), (None, "zh", "zh"), ("zh", "en", "zh"),
                                                        ("en", "zh", "en")])
async def test_replies_follow_the_message_language_unless_one_was_chosen(chosen, language, expected):
    messages, _ = await run(ActionGreet(), "x", "greet", chosen_language=chosen, language=language)
    assert messages[0]["custom"]["language"] == expected


async def test_language_confirmation_is_in_the_new_language():
    messages, _ = await run(ActionConfirmLanguage(), "请用英文", "switch_language", language="en")
    assert messages[0]["response"] == "utter_language_en" and messages[0]["custom"]["language"] == "en"
