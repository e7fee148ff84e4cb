"""Building trackers and running custom actions the way the action server does."""

from typing import Any, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


def tracker(text: str, intent: Optional[str] = None, entities: Optional[list[dict[str, Any]]] = None,
            events: Optional[list[dict[str, Any]]] = None, **slots: Any) -> Tracker:
    """A tracker whose latest message is `text` (with the intent and entities NLU gave it) and these slots, after
    these earlier events."""
    sender = slots.pop("sender", "u1")
    all_slots = {"language": "zh", "large_text": False, "voice": False, **slots}
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0} if intent else {},
               "entities": entities or []}
    return Tracker(sender_id=sender, slots=all_slots, latest_message=message, events=events or [],
                   paused=False, followup_action=None, active_loop={}, latest_action_name=None)


async def run(action: Any, text: str, intent: Optional[str] = None, **slots: Any) -> tuple[list[dict], dict]:
    """Run the action; return the messages it sent and the slots it set (name -> value)."""
    dispatcher = CollectingDispatcher()
    entities, earlier = slots.pop("entities", None), slots.pop("events", None)
    events = await action.run(dispatcher, tracker(text, intent, entities, earlier, **slots), {})
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
