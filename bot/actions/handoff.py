"""Handing the conversation to a person: the user asks, complains, rates badly, or is not understood twice."""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import latest_intent, reply_language, say

# Why a conversation went to a person, as the gateway and the agent console see it.
REASONS = ("user_request", "complaint", "bad_rating", "not_understood")
_RESPONSE_OF_REASON = {"complaint": "utter_handoff_complaint", "not_understood": "utter_handoff_after_failures"}


def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str,
             response: Optional[str] = None) -> List[Dict[Text, Any]]:
    """Tell the user a person will take over (and the 12345 hotline), with the handoff payload for the gateway."""
    if reason not in REASONS:
        raise ValueError(f"unknown handoff reason {reason!r}; expected one of {', '.join(REASONS)}")
    handoff = {"reason": reason, "item": tracker.get_slot("current_item"), "language": reply_language(tracker)}
    say(dispatcher, tracker, "handoff", response=response or _RESPONSE_OF_REASON.get(reason, "utter_handoff"),
        handoff=handoff, hotline="12345")
    return [SlotSet("pending_offer", None), SlotSet("failed_turns", 0.0)]


class ActionHandOff(Action):
    """Hand the user to a person because they asked for one or made a complaint."""

    def name(self) -> Text:
        return "action_hand_off"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        intent = latest_intent(tracker)
        return hand_off(dispatcher, tracker, "complaint" if intent == "complaint" else "user_request")
