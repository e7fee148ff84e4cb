"""Replies that need no knowledge: greeting, goodbye, thanks, out of scope, yes/no without an offer."""

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import say


class _Reply(Action, ABC):
    """Send one domain response, with the payload every reply carries."""

    response = ""

    @abstractmethod
    def name(self) -> Text:
        """The action's name in the domain."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, tracker, "reply", response=self.response)
        return []


class ActionGreet(_Reply):
    """Greet the user and say what the bot can do."""

    response = "utter_greet"

    def name(self) -> Text:
        return "action_greet"


class ActionGoodbye(_Reply):
    """Say goodbye, pointing to the 12345 hotline."""

    response = "utter_goodbye"

    def name(self) -> Text:
        return "action_goodbye"


class ActionThank(_Reply):
    """Answer thanks."""

    response = "utter_you_are_welcome"

    def name(self) -> Text:
        return "action_thank"


class ActionReplyOutOfScope(_Reply):
    """Say the question is outside govbot's scope and point to the 12345 hotline."""

    response = "utter_out_of_scope"

    def name(self) -> Text:
        return "action_reply_out_of_scope"
