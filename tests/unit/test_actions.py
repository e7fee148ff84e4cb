"""Custom actions, run the way the action server runs them."""

from rasa_sdk import Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from bot.actions import ActionDefaultFallback, ActionReplyOutOfScope


def tracker(text: str) -> Tracker:
    return Tracker(sender_id="u1", slots={"language": "zh"}, latest_message={"text": text, "intent": {}},
                   events=[], paused=False, followup_action=None, active_loop={}, latest_action_name=None)


async def test_out_of_scope_replies_with_its_response():
    dispatcher = CollectingDispatcher()
    events = await ActionReplyOutOfScope().run(dispatcher, tracker("讲个笑话"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_out_of_scope"]
    assert events == []


async def test_fallback_asks_to_rephrase_and_reverts_the_turn():
    dispatcher = CollectingDispatcher()
    events = await ActionDefaultFallback().run(dispatcher, tracker("???"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_please_rephrase"]
    assert events == [UserUtteranceReverted()]


def test_action_server_registers_the_actions():
    executor = ActionExecutor()
    executor.register_package("bot.actions")
    assert {"action_reply_out_of_scope", "action_default_fallback"} <= set(executor.actions)


def test_every_custom_action_is_declared_in_the_domain():
    import yaml
    from pathlib import Path
    domain = yaml.safe_load((Path(__file__).parents[2] / "bot" / "domain.yml").read_text())
    executor = ActionExecutor()
    executor.register_package("bot.actions")
    assert set(executor.actions) <= set(domain["actions"])


def tracker_with(text: str, language: str = "zh") -> Tracker:
    return Tracker(sender_id="u2", slots={"language": language}, latest_message={"text": text, "intent": {}},
                   events=[], paused=False, followup_action=None, active_loop={}, latest_action_name=None)


async def run_knowledge_action(text: str, language: str = "zh"):
    from bot.actions import ActionAnswerServiceQuestion

    dispatcher = CollectingDispatcher()
    events = await ActionAnswerServiceQuestion().run(dispatcher, tracker_with(text, language), {})
    return dispatcher.messages, events


async def test_service_question_is_answered_with_numbered_steps_in_chinese():
    messages, events = await run_knowledge_action("身份证丢了怎么补办")
    [message] = messages
    assert message["text"].startswith("居民身份证丢失补领")
    assert "\n1. " in message["text"] and "\n2. " in message["text"] and "咨询电话: 12345" in message["text"]
    assert message["custom"] == {"item": "id-card-lost-replace", "decision": "answer", "language": "zh"}
    assert events == [{"event": "slot", "timestamp": None, "name": "current_item", "value": "id-card-lost-replace"}]


async def test_answer_follows_the_language_of_the_question_not_the_old_slot():
    messages, _ = await run_knowledge_action("how do I apply for a passport for the first time", language="zh")
    assert messages[0]["text"].startswith("Apply for an ordinary passport")
    assert "Steps:" in messages[0]["text"] and "What to bring:" in messages[0]["text"]


async def test_vague_question_offers_the_close_items_as_buttons():
    messages, events = await run_knowledge_action("社保卡")
    [message] = messages
    assert message["text"] == "您想问的是下面哪一项？请点选："
    assert {b["title"] for b in message["buttons"]} >= {"社会保障卡申领", "社会保障卡挂失与补办"}
    assert all(b["payload"] == b["title"] for b in message["buttons"]) and events == []


async def test_unrelated_question_gets_the_plain_not_found_reply():
    messages, events = await run_knowledge_action("今天天气怎么样")
    assert [m["response"] for m in messages] == ["utter_cannot_answer_service"] and events == []
