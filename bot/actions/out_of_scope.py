"""Reply to a question that is not about government services."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


class ActionReplyOutOfScope(Action):
    """Say the question is outside govbot's scope and point to the 12345 hotline."""

    def name(self) -> Text:
        return "action_reply_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(response="utter_out_of_scope")
        return []
