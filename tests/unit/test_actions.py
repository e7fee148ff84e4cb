"""Custom actions, run the way the action server runs them."""

import pytest
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
