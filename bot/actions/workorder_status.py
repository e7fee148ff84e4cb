"""Asking how a report is getting on: the gateway answers from the database, given the order number if any."""

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import say, user_text

# GD + the day (yyyymmdd) + the day's sequence (4 digits, 5 from the 10,000th): docs/workorders.md.
ORDER_NUMBER = re.compile(r"(?<![A-Za-z0-9])GD\d{12,13}(?!\d)", re.IGNORECASE)


def order_number(entity: Optional[str], message: str) -> Optional[str]:
    """The order number asked about: the NLU's `order_number` entity, else one written in the message, else None."""
    for candidate in (entity or "", message):
        found = ORDER_NUMBER.search(candidate)
        if found:
            return found.group(0).upper()
    return None


class ActionWorkorderStatus(Action):
    """Ask the gateway for the status of the citizen's order(s): one message, a `workorder_status` payload."""

    def name(self) -> Text:
        return "action_workorder_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        entity = next(tracker.get_latest_entity_values("order_number"), None)
        say(dispatcher, tracker, "workorder_status", number=order_number(entity, user_text(tracker)))
        return []
