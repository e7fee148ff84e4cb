"""An agent turns a handoff chat into a work order over the whole gateway (channels/web/workorder_routes.py):
POST /api/agent/tickets/{number}/workorder makes an order of the ticket's conversation, dispatched to a catalogue
department by the agent or only accepted; it needs an agent's session and the console's own origin, and bad input
is refused in the error envelope with nothing stored."""

from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient

from channels.gateway import create_app
from core.settings import Settings
from handoff.records import TicketOpening
from handoff.store import TicketStore
from testkit.helpers import free_port
from workorders.records import Role, Status
from workorders.store import WorkOrderStore

PASSWORD = "violet-harbour-ladder-93"
BASE = "http://testserver"  # TestClient's origin
ORIGIN = {"Origin": BASE}
PHONE = "13812345678"
ORDER = {"kind": "complaint", "description": f"楼下餐馆油烟很大，已经两个月了，我的电话{PHONE}",
         "address": "朝阳区某小区3号楼", "since": "两个月前", "department": "environment",
         "contact": {"method": "phone", "value": PHONE, "consent": True}}


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """The gateway (no Rasa behind it) with agent alice and a ticket of a Telegram conversation: (client, ticket
    number); nobody is logged in yet."""
    settings = Settings(var_dir=tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}", tts_gtts=False)
    with TestClient(create_app(settings), base_url=BASE) as client:
        desk_store: TicketStore = client.app.state.desk.store  # type: ignore[attr-defined]
        desk_store.add_agent("alice", PASSWORD, "Alice")
        ticket = desk_store.open_ticket(TicketOpening("telegram:42", "telegram", "en", "user_request"))
        yield client, ticket.number


def log_in(client: TestClient) -> None:
    answer = client.post("/api/agent/login", json={"username": "alice", "password": PASSWORD}, headers=ORIGIN)
    assert answer.status_code == 200, answer.text


def store_of(client: TestClient) -> WorkOrderStore:
    store: WorkOrderStore = client.app.state.workorders  # type: ignore[attr-defined]
    return store


def make(client: TestClient, ticket: str, headers: Any = None, **changes: Any) -> Any:
    body = {key: value for key, value in {**ORDER, **changes}.items() if value is not None}
    return client.post(f"/api/agent/tickets/{ticket}/workorder", json=body,
                       headers=ORIGIN if headers is None else headers)


def test_an_agent_turns_a_ticket_into_a_dispatched_work_order(gateway):
    client, ticket = gateway
    log_in(client)
    answer = make(client, ticket)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    made = answer.json()
    assert made["status"] == "dispatched" and made["department"] == "environment"
    assert made["source_ticket"] == ticket
    store = store_of(client)
    order = store.order(made["number"])
    assert (order.sender_id, order.channel, order.language) == ("telegram:42", "telegram", "en")  # the ticket's
    assert order.source_ticket == ticket and order.kind.value == "complaint"
    assert order.sign_deadline is not None and order.reply_deadline is not None  # the deadlines started
    assert PHONE not in order.description and order.description.endswith("5678")  # masked when stored
    assert order.contact.value == PHONE  # kept as given, with consent
    trail = store.trail(order.number)
    assert [(e.action, e.role, e.actor) for e in trail[:2]] == [("accepted", Role.DISPATCHER, "alice"),
                                                               ("dispatched", Role.DISPATCHER, "alice")]
    assert trail[0].note == f"from ticket {ticket}"


def test_without_a_department_the_order_is_only_accepted_for_a_dispatcher(gateway):
    client, ticket = gateway
    log_in(client)
    answer = make(client, ticket, department=None, contact=None, urgency="high")
    assert answer.status_code == 200, answer.text
    order = store_of(client).order(answer.json()["number"])
    assert order.status == Status.ACCEPTED and order.department is None and order.urgency.value == "high"
    assert not order.contact.consent and order.contact.value is None
    assert [e.action for e in store_of(client).trail(order.number)] == ["accepted"]


def test_not_logged_in_is_401_and_no_order(gateway):
    client, ticket = gateway
    answer = make(client, ticket)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_logged_in"
    assert store_of(client).find() == []


def test_a_cross_origin_request_is_403_even_logged_in(gateway):
    client, ticket = gateway
    log_in(client)
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = make(client, ticket, headers=headers)
        assert answer.status_code == 403, headers
        assert answer.json()["error"]["code"] == "cross_origin"
    form = client.post(f"/api/agent/tickets/{ticket}/workorder", data={"kind": "complaint", "description": "x"})
    assert form.status_code == 403  # a cross-site form: no Origin, no JSON
    assert store_of(client).find() == []


def test_an_unknown_ticket_is_404(gateway):
    client, _ = gateway
    log_in(client)
    answer = make(client, "T-does-not-exist")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "no_such_ticket"
    assert store_of(client).find() == []


@pytest.mark.parametrize("changes, code", [
    ({"department": "ministry-of-silly-walks"}, "unknown_department"),
    ({"kind": "praise"}, "invalid_kind"),
    ({"kind": None}, "missing_field"),
    ({"description": "x" * 4001}, "invalid_description"),
    ({"address": "x" * 501}, "invalid_address"),
    ({"description": "   "}, "description_required"),
    ({"contact": {"method": "phone", "consent": True}}, "invalid_contact"),
    ({"surprise": "field"}, "unknown_field"),
])
def test_bad_input_is_400_in_the_envelope_and_stores_nothing(gateway, changes, code):
    client, ticket = gateway
    log_in(client)
    answer = make(client, ticket, **changes)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert set(error) == {"code", "message"} and error["code"] == code, error
    assert store_of(client).find() == []
    good = make(client, ticket)  # nothing half-written: the next order still gets the day's first number
    assert good.status_code == 200 and good.json()["number"].endswith("0001")


def test_the_endpoint_is_in_the_openapi_description(tmp_path):
    settings = Settings(var_dir=tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}", tts_gtts=False, openapi=True)
    with TestClient(create_app(settings)) as client:
        paths = client.get("/openapi.json").json()["paths"]
    operation = paths["/api/agent/tickets/{number}/workorder"]["post"]
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])
