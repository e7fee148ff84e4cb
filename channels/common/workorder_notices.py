"""Telling citizens about their work orders on their own channel: live on the web page (the live event stream),
pushed to Telegram (a registered deliverer). The texts come from workorders.notices.

After a department's reply the return visit starts at once (by the system): the citizen gets the reply with the
question whether it solved the problem.
"""

import logging
from typing import Optional
from zoneinfo import ZoneInfo

from anyio import to_thread

from core.messages import BotMessage
from handoff.hub import Hub
from handoff.ports import Deliver
from workorders.catalogue import Catalogue
from workorders.notices import Notice, notice_of
from workorders.records import SYSTEM, WorkOrder
from workorders.store import WorkOrderStore

log = logging.getLogger("govbot.workorders")

NOTICE_EVENT = "workorder"  # the live event type of a notice on the web page


class WorkOrderNotices:
    """Sends each step's notice to the citizen whose order it is; a failure is logged, never raised."""

    def __init__(self, store: WorkOrderStore, catalogue: Catalogue, hub: Hub, zone: str = "Asia/Shanghai") -> None:
        self.store, self.catalogue, self.hub = store, catalogue, hub
        self.zone = ZoneInfo(zone)
        self._deliverers: dict[str, Deliver] = {}

    def register_channel(self, channel: str, deliver: Deliver) -> None:
        """How to push a notice to a citizen of a channel without a live page (e.g. Telegram)."""
        self._deliverers[channel] = deliver

    def department_name(self, department: str, language: str) -> str:
        """The department's name in the language (its id when the catalogue no longer has it)."""
        try:
            return self.catalogue.get(department).name.text(language)
        except KeyError:
            return department

    def notice(self, order: WorkOrder, action: str) -> Optional[Notice]:
        """The notice after `action` on the order (None: the citizen is not told about that step)."""
        return notice_of(order, action, self.department_name, self.zone)

    async def after(self, order: WorkOrder, action: str) -> None:
        """Tell the citizen about the step just done (`action`, the audit action); after a department's reply,
        start the return visit and ask it."""
        try:
            if action == "replied":
                order = await to_thread.run_sync(self.store.start_visit, order.number, SYSTEM)
                action = "visit_started"
            notice = self.notice(order, action)
            if notice is not None:
                await self.send(order, notice)
        except Exception as error:  # the step is done and stored; only the telling failed
            log.warning("workorder_notice_failed", extra={"fields": {"order": order.number, "action": action,
                                                                     "error": type(error).__name__}})

    async def send(self, order: WorkOrder, notice: Notice) -> None:
        """Deliver a notice: to the citizen's open web pages (any gateway), and pushed on other channels."""
        self.hub.to_citizen(order.sender_id, {
            "type": NOTICE_EVENT, "number": notice.number, "action": notice.action, "text": notice.text,
            "language": order.language, "buttons": [button.model_dump() for button in notice.buttons]})
        push = self._deliverers.get(order.channel)
        if push is None:
            return
        message = BotMessage(text=notice.text, buttons=list(notice.buttons),
                             custom={"kind": "workorder_notice", "number": notice.number, "language": order.language})
        try:
            await push(order.sender_id, [message])
        except Exception as error:  # a channel failure must not undo the step
            log.warning("workorder_delivery_failed", extra={"fields": {"order": order.number,
                                                                       "channel": order.channel,
                                                                       "error": type(error).__name__}})
