"""The dispatcher's API over the whole gateway (channels.gateway.create_app, SQLite in tmp): an agent confirms the
classifier's proposal or picks another department, re-dispatches a returned order, approves or denies an extension
(the reply deadline moves only on approval), merges a duplicate and closes an order after its return visit; an
unknown department is 400 with nothing changed; other roles are 403, strangers 401; each step is handed to the
citizen notices; and a ticket is made into one work order only (409 order_exists)."""

from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from handoff.records import AccountRole, TicketOpening
from testkit.consoles import BASE, ORIGIN, ConsoleGateway, settings_for
from workorders.records import Actor, Draft, ExtensionState, RequestKind, Role, Status, WorkOrder

CENTRE = Actor(Role.DISPATCHER, "centre")
WATER = Actor(Role.DEPARTMENT, "zhang", "water")
ACCOUNTS = {"alice": (AccountRole.AGENT, None), "root": (AccountRole.ADMIN, None),
            "sun": (AccountRole.SUPERVISOR, None), "zhang": (AccountRole.DEPARTMENT, "water")}


class Gateway(ConsoleGateway):
    """The app, its work-order store, the notices' recorder, and logged-in clients."""

    def __init__(self, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(settings, monkeypatch, ACCOUNTS)

    def accepted(self, description: str = "小区停水三天了", proposal: str | None = "water",
                 confidence: float | None = 0.62) -> WorkOrder:
        """An order the classifier was not sure enough of: accepted, with its proposal."""
        draft = Draft(sender_id="telegram:42", channel="telegram", language="zh", kind=RequestKind.COMPLAINT,
                      description=description, address="朝阳区某小区3号楼", since="三天前",
                      proposed_department=proposal, proposal_confidence=confidence)
        return self.store.create(draft, Actor(Role.CITIZEN, "telegram:42"))

    def with_water(self) -> WorkOrder:
        """An order dispatched to water and signed for."""
        order = self.store.dispatch(self.accepted().number, CENTRE, "water")
        return self.store.sign(order.number, WATER)


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    gateway = Gateway(settings_for(tmp_path), monkeypatch)
    with TestClient(gateway.app, base_url=BASE):  # runs the app's lifespan
        yield gateway


def post(client: TestClient, number: str, step: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/dispatch/orders/{number}/{step}", json=body, headers=ORIGIN)


def numbers(board: dict[str, Any], group: str) -> list[str]:
    return [order["number"] for order in board[group]]


def test_an_agent_confirms_the_classifiers_proposal(gateway):
    order = gateway.accepted()
    client = gateway.client("alice")
    board = client.get("/api/dispatch/orders")
    assert board.status_code == 200 and board.headers["Cache-Control"] == "no-store"
    waiting = board.json()["waiting"]
    assert [o["number"] for o in waiting] == [order.number]
    card = waiting[0]
    assert card["proposed_department"] == "water" and card["proposal_confidence"] == pytest.approx(0.62)
    assert card["proposed_name"] == {"zh": "市水务集团", "en": "City Water Group"}
    assert card["description"] == "小区停水三天了" and card["steps"] == ["dispatch", "merge"]
    answer = post(client, order.number, "dispatch", {"department": "water"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "dispatched" and answer.json()["department"] == "water"
    stored = gateway.store.order(order.number)
    assert stored.status == Status.DISPATCHED and stored.reply_deadline is not None
    assert gateway.store.trail(order.number)[-1].actor == "alice"
    assert gateway.notices.calls == [(order.number, Status.DISPATCHED, "dispatched")]
    assert numbers(client.get("/api/dispatch/orders").json(), "waiting") == []


def test_an_agent_dispatches_to_another_department(gateway):
    order = gateway.accepted("楼下烧烤油烟很大", proposal="water", confidence=0.41)
    answer = post(gateway.client("root"), order.number, "dispatch", {"department": "environment", "note": "油烟"})
    assert answer.status_code == 200, answer.text
    assert gateway.store.order(order.number).department == "environment"


def test_an_unknown_department_is_400_and_nothing_changes(gateway):
    order = gateway.accepted()
    client = gateway.client("alice")
    for step in ("dispatch", "redispatch"):
        answer = post(client, order.number, step, {"department": "ministry-of-silly-walks"})
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "unknown_department"
    stored = gateway.store.order(order.number)
    assert stored.status == Status.ACCEPTED and stored.department is None
    assert [e.action for e in gateway.store.trail(order.number)] == ["accepted"]
    assert gateway.notices.calls == []


def test_a_returned_order_is_redispatched(gateway):
    order = gateway.with_water()
    gateway.store.return_order(order.number, WATER, "这是燃气问题，不归水务")
    client = gateway.client("alice")
    returned = client.get("/api/dispatch/orders").json()["returned"]
    assert [o["number"] for o in returned] == [order.number]
    assert returned[0]["return_reason"] == "这是燃气问题，不归水务" and returned[0]["steps"] == ["redispatch", "merge"]
    dispatch = post(client, order.number, "dispatch", {"department": "gas"})  # not from returned
    assert dispatch.status_code == 409 and dispatch.json()["error"]["code"] == "illegal_transition"
    answer = post(client, order.number, "redispatch", {"department": "gas"})
    assert answer.status_code == 200, answer.text
    stored = gateway.store.order(order.number)
    assert (stored.status, stored.department) == (Status.DISPATCHED, "gas")
    assert gateway.notices.calls == [(order.number, Status.DISPATCHED, "redispatched")]


def test_an_extension_is_approved_and_the_reply_deadline_moves(gateway):
    order = gateway.with_water()
    until = order.reply_deadline + timedelta(days=3)
    gateway.store.request_extension(order.number, WATER, until, "需要更换主管道")
    client = gateway.client("alice")
    pending = client.get("/api/dispatch/orders").json()["extensions"]
    assert [o["number"] for o in pending] == [order.number] and pending[0]["extension_reason"] == "需要更换主管道"
    answer = post(client, order.number, "extension", {"approve": True})
    assert answer.status_code == 200, answer.text
    stored = gateway.store.order(order.number)
    assert stored.reply_deadline == until and stored.extension_state == ExtensionState.APPROVED
    assert gateway.notices.calls == [(order.number, Status.SIGNED, "extension_approved")]
    again = post(client, order.number, "extension", {"approve": False})
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_pending_extension"


def test_an_extension_is_denied_and_the_reply_deadline_stays(gateway):
    order = gateway.with_water()
    gateway.store.request_extension(order.number, WATER, order.reply_deadline + timedelta(days=3), "人手不够")
    answer = post(gateway.client("alice"), order.number, "extension", {"approve": False, "note": "请按时办理"})
    assert answer.status_code == 200, answer.text
    stored = gateway.store.order(order.number)
    assert stored.reply_deadline == order.reply_deadline and stored.extension_state == ExtensionState.DENIED
    assert gateway.notices.calls == [(order.number, Status.SIGNED, "extension_denied")]


def test_a_duplicate_is_merged_into_another_open_order(gateway):
    first, duplicate = gateway.accepted(), gateway.accepted("又停水了，还是那个小区")
    client = gateway.client("alice")
    to_self = post(client, duplicate.number, "merge", {"into": duplicate.number})
    assert to_self.status_code == 400 and to_self.json()["error"]["code"] == "merge_into_self"
    unknown = post(client, duplicate.number, "merge", {"into": "GD209901010001"})
    assert unknown.status_code == 404 and gateway.store.order(duplicate.number).status == Status.ACCEPTED
    answer = post(client, duplicate.number, "merge", {"into": first.number.lower()})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "merged" and answer.json()["merged_into"] == first.number
    assert gateway.store.trail(first.number)[-1].action == "merged_in"
    assert gateway.notices.calls == [(duplicate.number, Status.MERGED, "merged")]
    assert numbers(client.get("/api/dispatch/orders").json(), "waiting") == [first.number]


def test_an_order_in_the_return_visit_is_closed(gateway):
    order = gateway.with_water()
    gateway.store.reply(order.number, WATER, "已修复")
    gateway.store.start_visit(order.number, CENTRE)
    client = gateway.client("alice")
    assert numbers(client.get("/api/dispatch/orders").json(), "visiting") == [order.number]
    answer = post(client, order.number, "close", {})
    assert answer.status_code == 200, answer.text
    assert gateway.store.order(order.number).status == Status.CLOSED
    assert gateway.notices.calls == [(order.number, Status.CLOSED, "closed")]
    twice = post(client, order.number, "close", {})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "illegal_transition"


def test_overdue_orders_are_flagged_for_follow_up(gateway):
    order = gateway.store.dispatch(gateway.accepted().number, CENTRE, "water")
    gateway.store.clock = lambda: order.sign_deadline + timedelta(minutes=1)
    flagged = gateway.client("alice").get("/api/dispatch/orders").json()["flagged"]
    assert [o["number"] for o in flagged] == [order.number] and flagged[0]["overdue"] == ["sign"]


def test_the_catalogue_is_listed_for_dispatchers_and_the_agent_console(gateway):
    client = gateway.client("alice")
    for path in ("/api/dispatch/departments", "/api/agent/departments"):
        departments = client.get(path).json()["departments"]
        water = next(d for d in departments if d["id"] == "water")
        assert water["name"] == {"zh": "市水务集团", "en": "City Water Group"}, path
        assert len(departments) >= 14


@pytest.mark.parametrize("username", ["zhang", "sun"])
def test_department_and_supervisor_accounts_are_refused(gateway, username):
    order = gateway.accepted()
    client = gateway.client(username)
    for answer in (client.get("/api/dispatch/orders"), client.get("/api/dispatch/me"),
                   post(client, order.number, "dispatch", {"department": "water"})):
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "wrong_role"
    assert gateway.store.order(order.number).status == Status.ACCEPTED


def test_strangers_and_other_sites_are_refused(gateway):
    order = gateway.accepted()
    stranger = gateway.client()
    assert stranger.get("/api/dispatch/orders").status_code == 401
    answer = post(stranger, order.number, "dispatch", {"department": "water"})
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "not_logged_in"
    alice = gateway.client("alice")
    cross = alice.post(f"/api/dispatch/orders/{order.number}/dispatch", json={"department": "water"},
                       headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and cross.json()["error"]["code"] == "cross_origin"
    assert gateway.store.order(order.number).status == Status.ACCEPTED
    page = stranger.get("/dispatch")
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text


def test_an_unknown_order_is_404_and_bad_input_400(gateway):
    client = gateway.client("alice")
    missing = post(client, "GD209901010001", "dispatch", {"department": "water"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_such_order"
    order = gateway.accepted()
    for body, code in (({}, "missing_field"), ({"department": "water", "surprise": 1}, "unknown_field"),
                       ({"department": "water", "note": "x" * 4001}, "text_too_long")):
        answer = post(client, order.number, "dispatch", body)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == code, answer.text


def test_steps_are_rate_limited_per_session(tmp_path, monkeypatch):
    gateway = Gateway(settings_for(tmp_path, rate_dispatch=1), monkeypatch)
    client = gateway.client("alice")
    first, second = gateway.accepted(), gateway.accepted("又一件")
    assert post(client, first.number, "dispatch", {"department": "water"}).status_code == 200
    limited = post(client, second.number, "dispatch", {"department": "water"})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in limited.headers
    assert client.get("/api/dispatch/orders").status_code == 200  # reading is not limited


def test_a_ticket_is_made_into_one_work_order_only(gateway):
    ticket = gateway.desk_store.open_ticket(TicketOpening("telegram:42", "telegram", "zh", "user_request"))
    client = gateway.client("alice")
    body = {"kind": "complaint", "description": "楼下餐馆油烟很大", "address": "朝阳区某小区"}
    made = client.post(f"/api/agent/tickets/{ticket.number}/workorder", json=body, headers=ORIGIN)
    assert made.status_code == 200, made.text
    again = client.post(f"/api/agent/tickets/{ticket.number}/workorder", json={**body, "department": "environment"},
                        headers=ORIGIN)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "order_exists" and again.json()["order"] == made.json()["number"]
    assert made.json()["number"] in again.json()["error"]["message"]
    assert [o.number for o in gateway.store.find()] == [made.json()["number"]]


def test_two_orders_from_one_ticket_at_once_make_one(gateway):
    """The store's unique request key keeps a ticket to one order even when the check above is raced."""
    ticket = gateway.desk_store.open_ticket(TicketOpening("telegram:7", "telegram", "zh", "user_request"))
    draft = Draft(sender_id="telegram:7", channel="telegram", language="zh", kind=RequestKind.HELP,
                  description="x", source_ticket=ticket.number, request_key=f"ticket:{ticket.number}")
    gateway.store.create(draft, CENTRE)  # as if another request had just made it
    answer = gateway.client("alice").post(f"/api/agent/tickets/{ticket.number}/workorder",
                                          json={"kind": "help", "description": "y"}, headers=ORIGIN)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "order_exists"
