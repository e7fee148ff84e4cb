"""Work orders from the conversation: the bot collects a report (a Rasa form) and hands the gateway a draft, which
is filed here, dispatched at once when the classifier was confident; the citizen asks for the status of their
orders; and answers the return visit (solved? satisfied?), which closes the order or reopens it.

The bot's draft carries the contact phone as Rasa saw it, masked; the clear number comes back from what the
citizen typed (the router's short memory), else the chat itself is the contact.
"""

import logging
from typing import Any, Callable, Literal, Optional

from anyio import to_thread
from pydantic import BaseModel, ConfigDict, ValidationError

from channels.common.workorder_notices import WorkOrderNotices
from core import payloads
from core.messages import BotMessage
from core.texts import text
from workorders.notices import rating_question, status_text
from workorders.records import (SYSTEM, Actor, Contact, ContactMethod, Draft, Rating, RequestKind, Role, Status,
                                Urgency, WorkOrder, WorkOrderError)
from workorders.store import WorkOrderStore

log = logging.getLogger("govbot.workorders")

DRAFT_KIND, STATUS_KIND = "workorder_draft", "workorder_status"  # the bot's custom payloads
STATUS_LIMIT = 5  # orders listed in a status answer (the latest)
REOPEN_REASON = "市民回访：问题未解决 / return visit: the citizen says it is not solved"


class DraftPayload(BaseModel):
    """The `workorder` object of the bot's workorder_draft payload (bot/actions)."""

    model_config = ConfigDict(extra="ignore")

    kind: RequestKind = RequestKind.HELP
    description: str
    address: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    since: Optional[str] = None
    contact_consent: bool = False
    contact_method: Optional[Literal["chat", "phone"]] = None
    contact_value: Optional[str] = None
    department: Optional[str] = None
    confidence: Optional[float] = None
    urgency: Urgency = Urgency.NORMAL
    automatic: bool = False


def _language(payload: dict[str, Any]) -> str:
    return "en" if payload.get("language") == "en" else "zh"


class WorkOrderIntake:
    """Files the bot's drafts, answers status questions and return visits, for the citizen's own orders."""

    def __init__(self, store: WorkOrderStore, notices: WorkOrderNotices) -> None:
        self.store, self.notices = store, notices

    def _contact(self, draft: DraftPayload, unmask: Callable[[str], Optional[str]]) -> Contact:
        if not draft.contact_consent:
            return Contact()
        if draft.contact_method == "phone" and draft.contact_value:
            clear = unmask(draft.contact_value)
            if clear is not None:
                return Contact(True, ContactMethod.PHONE, clear)
        return Contact(True, ContactMethod.CHAT)  # the number is no longer remembered: this chat, as agreed

    async def file(self, sender: str, channel: str, request_id: Optional[str], payload: dict[str, Any],
                   unmask: Callable[[str], Optional[str]]) -> BotMessage:
        """File the bot's draft as the citizen's order (once per request id) and say what happens next."""
        language = _language(payload)
        try:
            draft = DraftPayload.model_validate(payload.get("workorder"))
        except ValidationError as error:
            log.warning("workorder_draft_refused", extra={"fields": {"errors": error.error_count()}})
            return BotMessage(text=text(language, "workorder.not_filed"))
        key = f"{sender}:{request_id}" if request_id else None
        department = draft.department if draft.department in self.notices.catalogue.ids else None
        filing = Draft(sender_id=sender, channel=channel, language=language, kind=draft.kind,
                       description=draft.description, urgency=draft.urgency, address=draft.address,
                       latitude=draft.latitude, longitude=draft.longitude, since=draft.since,
                       contact=self._contact(draft, unmask), proposed_department=department,
                       proposal_confidence=draft.confidence, request_key=key)
        order = await self._filed(filing, draft.automatic and department is not None)
        if order is None:
            return BotMessage(text=text(language, "workorder.not_filed"))
        log.info("workorder_filed", extra={"fields": {"order": order.number, "status": order.status.value,
                                                      "department": order.department, "channel": channel}})
        return self.filed_message(order)

    async def _filed(self, filing: Draft, dispatch: bool) -> Optional[WorkOrder]:
        """The order of this request: filed now (and dispatched to the proposed department when `dispatch`), or
        the one a first try of the same request filed; None when it cannot be filed."""
        key = filing.request_key
        if key is not None:
            earlier = await to_thread.run_sync(self.store.order_of_request, key)
            if earlier is not None:
                return earlier
        citizen = Actor(Role.CITIZEN, filing.sender_id)
        try:
            if dispatch and filing.proposed_department:
                return await to_thread.run_sync(self.store.create_and_dispatch, filing, citizen,
                                                filing.proposed_department, SYSTEM)
            return await to_thread.run_sync(self.store.create, filing, citizen)
        except WorkOrderError as error:
            if error.code == "duplicate_request" and key is not None:  # filed meanwhile by a retry
                return await to_thread.run_sync(self.store.order_of_request, key)
            log.warning("workorder_not_filed", extra={"fields": {"code": error.code}})
            return None

    def filed_message(self, order: WorkOrder) -> BotMessage:
        """What the citizen is told when the order is filed: its number, and whom it went to."""
        words = text(order.language, "workorder.accepted", number=order.number)
        if order.status == Status.DISPATCHED:
            notice = self.notices.notice(order, "dispatched")
            words = notice.text if notice is not None else words
        return BotMessage(text=words, custom={"kind": "workorder_filed", "number": order.number,
                                              "status": order.status.value, "language": order.language})

    async def status(self, sender: str, payload: dict[str, Any]) -> BotMessage:
        """The state of the citizen's orders (the latest few), or of the one they named."""
        language = _language(payload)
        orders = await to_thread.run_sync(self.store.orders_of, sender)
        number = str(payload.get("number") or "").strip().upper()
        if number:
            orders = [order for order in orders if order.number == number]
            if not orders:
                return BotMessage(text=text(language, "workorder.status_unknown", number=number))
        shown = list(reversed(orders))[:STATUS_LIMIT]
        return BotMessage(text=status_text(shown, language, self.notices.department_name, self.notices.zone),
                          custom={"kind": "workorder_status", "language": language,
                                  "orders": [order.number for order in shown]})

    async def visit(self, sender: str, payload: str) -> list[BotMessage]:
        """The citizen's answer at the return visit: first solved or not (then the rating question), then the
        rating, which closes the order (solved) or sends it back to its department (not solved)."""
        answer = payloads.parse_visit_workorder(payload)
        if answer is None:
            return []
        number, resolved, rating_code = answer
        citizen = Actor(Role.CITIZEN, sender)
        try:
            rating = Rating(rating_code) if rating_code is not None else None
            order = await to_thread.run_sync(self.store.record_visit, number, citizen, resolved, rating)
            if rating is None:
                question = rating_question(order, resolved)
                return [BotMessage(text=question.text, buttons=list(question.buttons))]
            if resolved:
                order = await to_thread.run_sync(self.store.close, number, SYSTEM)
                action = "closed"
            else:
                order = await to_thread.run_sync(self.store.reopen, number, citizen, REOPEN_REASON)
                action = "reopened"
        except (WorkOrderError, ValueError) as error:
            code = error.code if isinstance(error, WorkOrderError) else "invalid_rating"
            log.info("workorder_visit_refused", extra={"fields": {"order": number, "code": code}})
            return []  # a stale or foreign button: nothing to say, nothing changed
        notice = self.notices.notice(order, action)
        return [BotMessage(text=notice.text)] if notice is not None else []
