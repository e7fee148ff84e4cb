"""The report form's questions (`action_ask_<slot>`): short and speakable, with buttons where there is a choice."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import reply_language, say
from bot.actions.report_draft import readback
from core import payloads
from core.texts import text


def note_text(note: Optional[str], language: str) -> Optional[str]:
    """The line said before a question asked again: why ("too_long:500" -> the limit), or that a change was made."""
    if not note:
        return None
    name, _, limit = note.partition(":")
    if name == "too_long":
        return text(language, "report.note_too_long", limit=limit)
    key = f"report.note_{name}"
    return text(language, key) if name in ("vague", "phone", "choose", "changed") else None


def buttons(language: str, *choices: tuple[str, str]) -> list[dict[str, str]]:
    """Buttons of the form: (text key, choice) each, sending `/report_choice{"choice": ...}` (cancel: `/cancel`)."""
    return [{"title": text(language, key), "payload": payloads.CANCEL if choice == "cancel"
             else payloads.report_choice(choice)} for key, choice in choices]


class _Ask(Action, ABC):
    """Ask for one slot of the report form (`action_ask_<slot>`), after the note the last answer left (then
    cleared)."""

    slot = ""
    question = ""

    @abstractmethod
    def name(self) -> Text:
        """The action's name in the domain: action_ask_<slot>."""

    def content(self, tracker: Tracker, language: str) -> tuple[str, list[dict[str, str]]]:
        """The question's text and buttons."""
        return text(language, self.question), []

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        language = reply_language(tracker)
        question, choices = self.content(tracker, language)
        note = note_text(tracker.get_slot("wo_note"), language)
        say(dispatcher, tracker, "prompt", text=f"{note}\n{question}" if note else question, buttons=choices,
            form="workorder", step=self.slot.removeprefix("wo_"))
        return [SlotSet("wo_note", None)]


class ActionAskDescription(_Ask):
    """What happened?"""

    slot, question = "wo_description", "report.ask_description"

    def name(self) -> Text:
        return "action_ask_wo_description"


class ActionAskAddress(_Ask):
    """Where? (an address, or a shared location)"""

    slot, question = "wo_address", "report.ask_address"

    def name(self) -> Text:
        return "action_ask_wo_address"


class ActionAskSince(_Ask):
    """Since when?"""

    slot, question = "wo_since", "report.ask_since"

    def name(self) -> Text:
        return "action_ask_wo_since"


class ActionAskContactMethod(_Ask):
    """May the department contact you: in this chat, by phone, or not at all?"""

    slot, question = "wo_contact_method", "report.ask_contact"

    def name(self) -> Text:
        return "action_ask_wo_contact_method"

    def content(self, tracker: Tracker, language: str) -> tuple[str, list[dict[str, str]]]:
        return text(language, self.question), buttons(language, ("report.button_chat", "chat"),
                                                      ("report.button_phone", "phone"),
                                                      ("report.button_none", "none"))


class ActionAskContactValue(_Ask):
    """Your phone number?"""

    slot, question = "wo_contact_value", "report.ask_phone"

    def name(self) -> Text:
        return "action_ask_wo_contact_value"


class ActionAskReview(_Ask):
    """The read-back of the whole report, with Submit / Change / Cancel."""

    slot = "wo_review"

    def name(self) -> Text:
        return "action_ask_wo_review"

    def content(self, tracker: Tracker, language: str) -> tuple[str, list[dict[str, str]]]:
        return readback(tracker.slots, language), buttons(language, ("report.button_submit", "submit"),
                                                          ("report.button_change", "change"),
                                                          ("report.button_cancel", "cancel"))


class ActionAskChange(_Ask):
    """Which field to change?"""

    slot, question = "wo_change", "report.ask_change"

    def name(self) -> Text:
        return "action_ask_wo_change"

    def content(self, tracker: Tracker, language: str) -> tuple[str, list[dict[str, str]]]:
        return text(language, self.question), buttons(language, ("report.field_description", "description"),
                                                      ("report.field_address", "address"),
                                                      ("report.field_since", "since"),
                                                      ("report.field_contact", "contact"))
