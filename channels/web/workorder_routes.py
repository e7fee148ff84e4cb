"""An agent turns a handoff chat into a work order: POST /api/agent/tickets/{number}/workorder (docs/api.md), and
GET /api/agent/departments, the catalogue's departments for the console's form.

Behind the agent console's session and its same-origin rule (channels/web/agent_routes.py), like every
/api/agent POST. The order's conversation, channel and language are the ticket's; `source_ticket` is the ticket's
number. With a department from the catalogue the order is accepted and dispatched in one transaction by the agent
as dispatcher (the deadlines start); without one it is only accepted, for a dispatcher to dispatch. Refusals are
the gateway's error envelope: 404 no_such_ticket, 400 for bad input (an unknown department or kind, text too long),
409 order_exists when the ticket has an order already (one order per ticket, naming it), and nothing is stored then.
"""

import logging
from typing import Optional

from anyio import to_thread
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from channels.common.errors import error_response, error_responses
from channels.web.agent_routes import guarded_route, refused
from channels.web.agent_session import current_agent
from channels.web.dispatch_views import DepartmentList
from handoff.desk import Desk
from handoff.records import Agent, HandoffError, Ticket
from workorders.catalogue import Catalogue
from workorders.classifier import rule_urgency
from workorders.lifecycle import MAX_SHORT, MAX_TEXT
from workorders.records import (
    Actor,
    Contact,
    ContactMethod,
    Draft,
    RequestKind,
    Role,
    Status,
    Urgency,
    WorkOrder,
    WorkOrderError,
)
from workorders.store import WorkOrderStore

log = logging.getLogger("govbot.workorders")

MAX_CONTACT = 200  # characters of a phone number or an e-mail address
STATUS = {"no_such_order": 404}  # other refusals of the work-order domain: 400
TICKET_KEY = "ticket:{number}"  # the request key of a ticket's order: the unique key keeps it to one order a ticket


class ContactRequest(BaseModel):
    """How the citizen agreed to be contacted (kept only with `consent`)."""

    model_config = ConfigDict(extra="forbid")
    method: ContactMethod
    value: Optional[str] = Field(None, max_length=MAX_CONTACT, description="phone number or e-mail; none for chat")
    consent: bool = Field(description="the citizen agreed to be contacted this way; without it nothing is kept")


class WorkOrderRequest(BaseModel):
    """What the agent gathered in the chat."""

    model_config = ConfigDict(extra="forbid")
    kind: RequestKind
    description: str = Field(min_length=1, max_length=MAX_TEXT)
    address: Optional[str] = Field(None, max_length=MAX_SHORT)
    since: Optional[str] = Field(None, max_length=MAX_SHORT, description="since when, in the citizen's words")
    urgency: Optional[Urgency] = Field(None, description="default: from the dispatch rules' words (with a "
                                                         "department), else normal")
    department: Optional[str] = Field(None, max_length=64, description="a department id of the catalogue: the "
                                                                       "order is dispatched to it at once")
    contact: Optional[ContactRequest] = None


class WorkOrderRef(BaseModel):
    """The order made."""

    number: str
    status: Status
    department: Optional[str] = None
    source_ticket: str


def agent_actor(agent: Agent) -> Actor:
    """An agent acting on work orders: a dispatcher of the 12345 centre, named by their username."""
    return Actor(Role.DISPATCHER, agent.username)


def draft_of(ticket: Ticket, body: WorkOrderRequest, catalogue: Catalogue) -> Draft:
    """The order's draft: the conversation, channel and language from the ticket, the rest from the agent."""
    urgency = body.urgency
    if urgency is None:
        urgency = rule_urgency(body.description, catalogue, body.department)[0] if body.department else Urgency.NORMAL
    contact = Contact()
    if body.contact is not None:
        contact = Contact(body.contact.consent, body.contact.method, body.contact.value)
    return Draft(sender_id=ticket.sender_id, channel=ticket.channel, language=ticket.language, kind=body.kind,
                 description=body.description, urgency=urgency, address=body.address, since=body.since,
                 contact=contact, source_ticket=ticket.number, request_key=TICKET_KEY.format(number=ticket.number))


def order_exists(ticket: str, order: WorkOrder) -> JSONResponse:
    """409 order_exists: the ticket has been made into an order already; `order` names it."""
    return error_response(409, "order_exists", f"ticket {ticket} is work order {order.number} already",
                          order=order.number)


def workorder_router(desk: Desk, store: WorkOrderStore, catalogue: Catalogue, behind_tls: bool = False) -> APIRouter:
    """POST /api/agent/tickets/{number}/workorder and GET /api/agent/departments, with the agent API's session and
    same-origin rules."""
    router = APIRouter(route_class=guarded_route(behind_tls))
    logged_in = Depends(current_agent(desk))

    @router.get("/api/agent/departments", response_model=DepartmentList, responses=error_responses(401, 403))
    async def departments(agent: Agent = logged_in) -> DepartmentList:
        """The department catalogue (ids and names in Chinese and English), to dispatch a new order to."""
        return DepartmentList.of(catalogue)

    @router.post("/api/agent/tickets/{number}/workorder", response_model=WorkOrderRef,
                 responses=error_responses(400, 401, 403, 404, 409))
    async def make_workorder(number: str, body: WorkOrderRequest,
                             agent: Agent = logged_in) -> WorkOrderRef | JSONResponse:
        """Turn the ticket's chat into a work order: dispatched at once to `department`, else accepted for a
        dispatcher. The order's number and state; 409 order_exists (with `order`) if the ticket has one."""
        if body.department is not None and body.department not in catalogue.ids:
            return error_response(400, "unknown_department",
                                  f"there is no department {body.department!r} in the catalogue")
        try:
            ticket = await to_thread.run_sync(desk.store.ticket, number)
        except HandoffError as error:
            return refused(error)
        earlier = await to_thread.run_sync(store.order_from_ticket, ticket.number)
        if earlier is not None:
            return order_exists(ticket.number, earlier)
        actor = agent_actor(agent)
        draft = draft_of(ticket, body, catalogue)
        try:
            if body.department is not None:
                order: WorkOrder = await to_thread.run_sync(store.create_and_dispatch, draft, actor, body.department,
                                                            actor)
            else:
                order = await to_thread.run_sync(store.create, draft, actor)
        except WorkOrderError as error:
            if error.code == "duplicate_request":  # made meanwhile by a request sent at the same moment
                made = await to_thread.run_sync(store.order_from_ticket, ticket.number)
                if made is not None:
                    return order_exists(ticket.number, made)
            return error_response(STATUS.get(error.code, 400), error.code, str(error))
        log.info("workorder_from_ticket", extra={"fields": {
            "number": order.number, "ticket": ticket.number, "agent": agent.username, "status": order.status.value,
            "department": order.department, "kind": order.kind.value, "urgency": order.urgency.value}})
        return WorkOrderRef(number=order.number, status=order.status, department=order.department,
                            source_ticket=ticket.number)

    return router
