"""How a report ends: started afresh, submitted as a `workorder_draft` for the gateway, or cancelled."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import reply_language, say, user_text
from bot.actions.report_draft import SLOTS, draft
from bot.actions.report_kind import request_kind
from bot.actions.runtime import dispatch_classifier
from core.texts import text
from workorders.records import RequestKind

if TYPE_CHECKING:  # the classifier module loads scikit-learn: only its type is needed here
    from workorders.classifier import Proposal

log = logging.getLogger("govbot.actions.report")


def cleared() -> List[Dict[Text, Any]]:
    """Events emptying every slot of the report form."""
    return [SlotSet(slot, None) for slot in SLOTS]


def propose(description: str) -> Optional[Proposal]:
    """The dispatch classifier's proposal for the report, or None when there is no classifier or it fails (a
    dispatcher then decides). Logs the outcome, never the text."""
    classifier = dispatch_classifier()
    if classifier is None or not description:
        return None
    try:
        proposal = classifier.propose(description)
    except Exception as problem:  # a failing classifier must not fail the citizen's turn
        log.error("dispatch_proposal_failed", extra={"fields": {"exception": type(problem).__name__}})
        return None
    log.info("dispatch_proposed", extra={"fields": {"department": proposal.department,
                                                    "confidence": round(float(proposal.confidence), 3),
                                                    "urgency": str(proposal.urgency.value),
                                                    "automatic": bool(proposal.automatic)}})
    return proposal


class ActionResetWorkorder(Action):
    """Start a report afresh: empty the form's slots, and keep the kind the opening words make (举报, 建议 …)."""

    def name(self) -> Text:
        return "action_reset_workorder"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        kind = request_kind(user_text(tracker))
        return cleared() + [SlotSet("wo_kind", None if kind is RequestKind.HELP else kind.value)]


class ActionSubmitWorkorder(Action):
    """Hand the confirmed report to the gateway: one message whose payload is the `workorder_draft` (the gateway
    files it and says its number)."""

    def name(self) -> Text:
        return "action_submit_workorder"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        workorder = draft(tracker.slots, propose(str(tracker.get_slot("wo_description") or "")))
        say(dispatcher, tracker, "workorder_draft", workorder=workorder)
        log.info("workorder_draft", extra={"fields": {"kind": workorder["kind"], "language": reply_language(tracker),
                                                      "department": workorder["department"],
                                                      "located": workorder["latitude"] is not None,
                                                      "contact": workorder["contact_method"]}})
        return cleared()


class ActionCancelWorkorder(Action):
    """Stop the report: nothing is filed, and the form's slots are emptied."""

    def name(self) -> Text:
        return "action_cancel_workorder"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, tracker, "reply", text=text(reply_language(tracker), "report.cancelled"))
        return cleared()
