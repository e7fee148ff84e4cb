"""What the bot does when it did not understand the user."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher


class ActionDefaultFallback(Action):
    """Ask the user to rephrase (offering the 12345 hotline) and forget the failed turn."""

    def name(self) -> Text:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_please_rephrase")
        # Revert the turn so an unclear message does not steer the next prediction.
        return [UserUtteranceReverted()]
