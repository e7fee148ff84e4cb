"""The button and command payloads that channels send to the bot: one vocabulary for every channel.

A payload is what Rasa reads as an intent with entities: `/intent` or `/intent{"entity": "value"}`.
The web page has the same vocabulary in `channels/web/static/payloads.js`; a test keeps the two equal.
"""

import json
from typing import Optional

ASK_PERSON = "/ask_person"
CANCEL_HANDOFF = "/cancel_handoff"
AFFIRM = "/affirm"
DENY = "/deny"
RATE_GOOD = "/rate_good"
RATE_BAD = "/rate_bad"
RATE_TICKET = "/rate_ticket"
VISIT_WORKORDER = "/visit_workorder"  # the citizen's answer at a work order's return visit (never sent to Rasa)
CHOOSE_ITEM = "/choose_item"
SWITCH_LANGUAGE = "/switch_language"
CANCEL = "/cancel"                  # stop what the bot is collecting (a report), nothing is filed
REPORT_CHOICE = "/report_choice"    # a button of the report form: {"choice": "submit" | "change" | "phone" | ...}
SHARE_LOCATION = "/share_location"  # a location shared in a channel (Telegram): {"latitude": .., "longitude": ..}
MODES = ("large_text", "voice")


def with_entities(intent_payload: str, **entities: str) -> str:
    """`/intent{"name": "value", ...}`: a payload carrying entities (JSON, as Rasa parses it)."""
    return intent_payload + json.dumps(entities, ensure_ascii=False)


def mode(name: str, on: bool) -> str:
    """The payload that turns a mode ("large_text" or "voice") on or off: `/large_text_on`."""
    if name not in MODES:
        raise ValueError(f"unknown mode {name!r}")
    return f"/{name}_{'on' if on else 'off'}"


def switch_language(target: str) -> str:
    """The payload that switches the conversation's language to "zh" or "en"."""
    return with_entities(SWITCH_LANGUAGE, target_language=target)


def choose_item(item_id: str) -> str:
    """The payload of a button that picks one of the offered service items."""
    return with_entities(CHOOSE_ITEM, item_id=item_id)


def report_choice(choice: str) -> str:
    """The payload of a report form's button: submit, change, a field to change, or a contact method."""
    return with_entities(REPORT_CHOICE, choice=choice)


def share_location(latitude: float, longitude: float) -> str:
    """The payload of a shared location: `/share_location{"latitude": 39.9, "longitude": 116.4}` (numbers)."""
    return SHARE_LOCATION + json.dumps({"latitude": float(latitude), "longitude": float(longitude)})


def rate_ticket(number: str, level: int) -> str:
    """The payload of a button that rates the help on a closed handoff ticket (level 1-5)."""
    return with_entities(RATE_TICKET, ticket=number, rating=str(level))


def parse_rate_ticket(payload: str) -> Optional[tuple[str, int]]:
    """(ticket number, level) from a rate_ticket payload, else None."""
    if not payload.startswith(RATE_TICKET):
        return None
    try:
        body = json.loads(payload.removeprefix(RATE_TICKET))
        return str(body["ticket"]), int(body["rating"])
    except (ValueError, KeyError, TypeError):
        return None


def visit_workorder(number: str, resolved: bool, rating: Optional[str] = None) -> str:
    """The payload of a return-visit button: the order, whether it was solved, and (second question) the rating."""
    entities = {"order": number, "resolved": "yes" if resolved else "no"}
    if rating is not None:
        entities["rating"] = rating
    return with_entities(VISIT_WORKORDER, **entities)


def parse_visit_workorder(payload: str) -> Optional[tuple[str, bool, Optional[str]]]:
    """(order number, solved, rating or None) from a visit_workorder payload, else None."""
    if not payload.startswith(VISIT_WORKORDER):
        return None
    try:
        body = json.loads(payload.removeprefix(VISIT_WORKORDER))
        resolved, rating = body["resolved"], body.get("rating")
        if resolved not in ("yes", "no") or not (rating is None or isinstance(rating, str)):
            return None
        return str(body["order"]), resolved == "yes", rating
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
