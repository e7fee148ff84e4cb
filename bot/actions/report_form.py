"""The report form (`workorder_form`): what each message means for it, and checking each answer.

Every slot of the form has a custom mapping: this validation action reads the message itself. It returns nothing
for a message that interrupts the form (a button or a command of another flow, a clear service question); Rasa then
rejects the form for that turn and a rule answers it, after which the form asks its question again.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot.actions.context import latest_intent, reply_language, user_text
from bot.actions.report_draft import NO_CONTACT, SINCE_UNKNOWN
from bot.actions.report_wording import (contact_choice, correction, field_named, is_cancel, is_specific, is_unknown,
                                        looks_like_question, phone_in, phone_shape, review_choice)
from core.texts import text
from workorders.lifecycle import MAX_SHORT, MAX_TEXT

FORM = "workorder_form"
BASE_SLOTS = ("wo_description", "wo_address", "wo_since", "wo_contact_method")
# The field the read-back's "change" names -> the slots it empties (and so asks again).
FIELD_SLOTS = {"description": ("wo_description",), "address": ("wo_address", "wo_latitude", "wo_longitude"),
               "since": ("wo_since",), "contact": ("wo_contact_method", "wo_contact_value")}
LIMITS = {"wo_description": MAX_TEXT, "wo_address": MAX_SHORT, "wo_since": MAX_SHORT, "wo_contact_value": MAX_SHORT}
OWN_INTENTS = ("report_choice", "share_location", "cancel")
# Typed messages of these intents, when the NLU is this sure, are not answers: they interrupt the form.
INTERRUPTING = ("ask_person", "switch_language", "large_text_on", "large_text_off", "voice_on", "voice_off",
                "workorder_status")
QUESTIONS = ("service_question", "ask_materials", "ask_fees", "ask_time", "ask_where", "ask_eligibility",
             "ask_steps")
INTERRUPT_CONFIDENCE = 0.8
QUESTION_CONFIDENCE = 0.6
LATITUDE, LONGITUDE = (-90.0, 90.0), (-180.0, 180.0)


def intent_confidence(tracker: Tracker) -> float:
    """How sure the NLU is of the latest message's intent (1.0 for a button payload)."""
    return float((tracker.latest_message.get("intent") or {}).get("confidence") or 0.0)


def shared_location(tracker: Tracker) -> Optional[tuple[float, float]]:
    """(latitude, longitude) of a `/share_location{...}` message, when both are valid coordinates."""
    if latest_intent(tracker) != "share_location":
        return None
    try:
        latitude = float(next(tracker.get_latest_entity_values("latitude")))
        longitude = float(next(tracker.get_latest_entity_values("longitude")))
    except (StopIteration, TypeError, ValueError):
        return None
    if LATITUDE[0] <= latitude <= LATITUDE[1] and LONGITUDE[0] <= longitude <= LONGITUDE[1]:
        return latitude, longitude
    return None


def interrupts(message: str, intent: Optional[str], confidence: float) -> bool:
    """Whether a message mid-form belongs to another flow: another flow's button or command, a clear request of
    another intent, or a clear service question ("身份证怎么补办")."""
    if message.startswith("/"):
        return intent not in OWN_INTENTS
    if intent in INTERRUPTING and confidence >= INTERRUPT_CONFIDENCE:
        return True
    return intent in QUESTIONS and confidence >= QUESTION_CONFIDENCE and looks_like_question(message)


def answer_of(tracker: Tracker) -> dict[str, Any]:
    """The slots the latest message fills, before checking: {} for an interruption."""
    message, intent = user_text(tracker), latest_intent(tracker)
    requested = tracker.get_slot("requested_slot")
    if intent == "cancel" or is_cancel(message):
        return {"wo_review": "cancel"}
    if intent == "share_location":
        return {"wo_address": text(reply_language(tracker), "report.location_shared")} if shared_location(
            tracker) else {}
    if requested is None:  # the message that started the form: what happened, if it says so
        return {} if message.startswith("/") else {"wo_description": message}
    if interrupts(message, intent, intent_confidence(tracker)):
        return {}
    choice = next(tracker.get_latest_entity_values("choice"), None) if intent == "report_choice" else None
    if choice is not None:
        return {requested: str(choice)}
    if message.startswith("/"):
        return {}
    corrected = correction(message) if requested != "wo_description" else None
    if corrected is not None and corrected[0] != requested:
        return {corrected[0]: corrected[1]}
    return {requested: message}


def _too_long(slot: str, value: str) -> bool:
    return len(value) > LIMITS.get(slot, MAX_TEXT)


class ValidateWorkorderForm(FormValidationAction):
    """Read and check the report form's answers: cancel, corrections, the read-back's submit or change."""

    def name(self) -> Text:
        return "validate_workorder_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        """The slots still to fill, in order: the four answers (the number after "by phone"), the field to change
        while changing, the read-back; only the read-back once the report is cancelled."""
        if tracker.get_slot("wo_review") == "cancel":
            return ["wo_review"]
        slots = list(BASE_SLOTS)
        if tracker.get_slot("wo_contact_method") == "phone":
            slots.append("wo_contact_value")
        if tracker.get_slot("wo_changing"):
            slots.append("wo_change")
        return slots + ["wo_review"]

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> List[EventType]:
        """The slots this message fills (every slot of the form is mapped here, not by the NLU)."""
        return [SlotSet(slot, value) for slot, value in answer_of(tracker).items()]

    def _free_text(self, slot: str, value: Any, tracker: Tracker) -> Dict[Text, Any]:
        """The answer trimmed; too long: emptied, to be asked again with the limit. An answer to another question
        than the one asked (a correction) is confirmed."""
        value = str(value or "").strip()
        if _too_long(slot, value):
            return {slot: None, "wo_note": f"too_long:{LIMITS[slot]}"}
        corrected = tracker.get_slot("requested_slot") not in (slot, None)
        return {slot: value or None, **({"wo_note": "changed"} if corrected and value else {})}

    async def validate_wo_description(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[Text, Any]:
        """What happened: long enough to say something (the message that started the form only when specific)."""
        checked = self._free_text("wo_description", value, tracker)
        if checked.get("wo_description") and not is_specific(checked["wo_description"]):
            asked = tracker.get_slot("requested_slot") == "wo_description"
            return {"wo_description": None, **({"wo_note": "vague"} if asked else {})}
        return checked

    async def validate_wo_address(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[Text, Any]:
        """Where: an address in words, or a shared location (its coordinates kept too)."""
        location = shared_location(tracker)
        if location is not None:
            corrected = tracker.get_slot("requested_slot") not in ("wo_address", None)
            return {"wo_address": str(value), "wo_latitude": location[0], "wo_longitude": location[1],
                    **({"wo_note": "changed"} if corrected else {})}
        return {**self._free_text("wo_address", value, tracker), "wo_latitude": None, "wo_longitude": None}

    async def validate_wo_since(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        """Since when, in the citizen's words; "I don't know" is an answer too."""
        if is_unknown(str(value or "")):
            return {"wo_since": SINCE_UNKNOWN}
        return self._free_text("wo_since", value, tracker)

    async def validate_wo_contact_method(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                         domain: DomainDict) -> Dict[Text, Any]:
        """May the department contact them: in this chat, by phone (a number said at once is kept), or not."""
        answer = str(value or "")
        if answer in ("chat", "phone", NO_CONTACT):
            return {"wo_contact_method": answer}
        number = phone_in(answer)
        if number is not None:
            return {"wo_contact_method": "phone", "wo_contact_value": number}
        intent = latest_intent(tracker)
        choice = contact_choice(answer) or {"deny": NO_CONTACT, "affirm": "chat"}.get(intent or "")
        if choice is None:
            return {"wo_contact_method": None, "wo_note": "choose"}
        return {"wo_contact_method": choice, **({} if choice == "phone" else {"wo_contact_value": None})}

    async def validate_wo_contact_value(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: DomainDict) -> Dict[Text, Any]:
        """The phone number as it arrived (the gateway masks it for Rasa and restores it itself)."""
        number = phone_in(str(value or ""))
        if number is None or not phone_shape(number):
            return {"wo_contact_value": None, "wo_note": "phone"}
        return {"wo_contact_value": number}

    async def validate_wo_review(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        """The read-back's answer: submit, cancel, or change (then ask which field)."""
        answer = str(value or "")
        if answer in ("submit", "cancel"):
            return {"wo_review": answer}
        choice = "change" if answer == "change" else review_choice(answer)
        if choice is None and latest_intent(tracker) == "affirm":
            choice = "submit"
        if choice == "submit":
            return {"wo_review": "submit"}
        if choice == "change":
            field = field_named(answer) if answer != "change" else None
            if field is not None:  # "改地址": straight to that field
                return {"wo_review": None, **{slot: None for slot in FIELD_SLOTS[field]}}
            return {"wo_review": None, "wo_changing": True, "wo_change": None}
        return {"wo_review": None, "wo_note": "choose"}

    async def validate_wo_change(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        """The field to change: it is emptied, so the form asks it again, then reads back again."""
        answer = str(value or "")
        field = answer if answer in FIELD_SLOTS else field_named(answer)
        if field is None:
            return {"wo_change": None, "wo_note": "choose"}
        return {"wo_change": field, "wo_changing": False, **{slot: None for slot in FIELD_SLOTS[field]}}
