"""Roles and the department inbox over the whole gateway (channels.gateway.create_app, SQLite in tmp): each role is
let into its own console only (403 wrong_role elsewhere); department staff list, read and act on their own
department's orders only (another department's order is 404, and stays as it was); each step (sign, start, reply,
return, extension) is stored and handed to the citizen notices; bad input is refused in the error envelope with
nothing changed; the supervisor's rates per department."""

from datetime import date, datetime, timedelta
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from handoff.records import AccountRole, TicketOpening
from testkit.consoles import BASE, ORIGIN, PASSWORD, ConsoleGateway, settings_for
from workorders.records import Actor, Contact, ContactMethod, Draft, Rating, RequestKind, Role, Status, WorkOrder

PHONE = "13812345678"
DISPATCHER = Actor(Role.DISPATCHER, "alice")
ACCOUNTS = {"alice": (AccountRole.AGENT, None), "root": (AccountRole.ADMIN, None),
            "sun": (AccountRole.SUPERVISOR, None), "zhang": (AccountRole.DEPARTMENT, "water"),
            "li": (AccountRole.DEPARTMENT, "gas")}


class Failing:
    async def after(self, order: WorkOrder, action: str) -> None:
        raise RuntimeError("the notice could not be sent")


class Gateway(ConsoleGateway):
    """The app, its stores, the notices' recorder, and one logged-in client per account."""

    def __init__(self, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(settings, monkeypatch, ACCOUNTS)

    def order(self, department: str, consent: bool = True, citizen: bool = False) -> WorkOrder:
        """A new order dispatched to `department` (accepted by the citizen themselves with `citizen`)."""
        draft = Draft(sender_id="telegram:42", channel="telegram", language="zh", kind=RequestKind.COMPLAINT,
                      description=f"小区停水三天了，电话{PHONE}", address="朝阳区某小区3号楼", since="三天前",
                      contact=Contact(consent, ContactMethod.PHONE, PHONE) if consent else Contact())
        accepted_by = Actor(Role.CITIZEN, "telegram:42") if citizen else DISPATCHER
        return self.store.create_and_dispatch(draft, accepted_by, department, DISPATCHER)


@pytest.fixture
def gateway(tmp_path, monkeypatch) -> Iterator[Gateway]:
    yield Gateway(settings_for(tmp_path), monkeypatch)


def post(client: TestClient, path: str, body: Any = None) -> Any:
    return client.post(path, json={} if body is None else body, headers=ORIGIN)


def error_code(answer: Any) -> str:
    error = answer.json()["error"]
    assert set(error) == {"code", "message"} and error["message"], error
    return str(error["code"])


def unchanged(gateway: Gateway, order: WorkOrder, trail: tuple[str, ...] = ("accepted", "dispatched")) -> None:
    """The order is as it was: same state and time of change, the same trail, no message."""
    now = gateway.store.order(order.number)
    assert now.status == order.status and now.updated_at == order.updated_at
    assert now.extension_state == order.extension_state and now.reply is None and now.return_reason is None
    assert tuple(entry.action for entry in gateway.store.trail(order.number)) == trail
    assert gateway.store.messages(order.number) == []


# --- roles ---------------------------------------------------------------------------------------------------

def test_each_console_lets_in_only_its_roles(gateway):
    order = gateway.order("water")
    ticket = gateway.desk_store.open_ticket(TicketOpening("web:someone", "web", "zh", "user_request"))
    allowed = {"/api/agent/me": {"alice", "root"}, "/api/agent/queue": {"alice", "root"},
               "/api/dept/me": {"zhang", "li"}, "/api/dept/orders": {"zhang", "li"},
               f"/api/dept/orders/{order.number}": {"zhang"},
               "/api/supervisor/rates?start=2025-03-01&end=2025-03-31": {"sun", "root"}}
    for username in ACCOUNTS:
        client = gateway.client(username)
        for path, who in allowed.items():
            answer = client.get(path)
            if username in who:
                assert answer.status_code == 200, (username, path, answer.text)
            elif username == "li" and path.startswith("/api/dept/orders/"):  # the other department
                assert answer.status_code == 404 and error_code(answer) == "no_such_order", (username, path)
                continue
            else:
                assert answer.status_code == 403 and error_code(answer) == "wrong_role", (username, path)
                assert answer.json()["home"] == {"agent": "/agent", "admin": "/agent", "department": "/dept",
                                                 "supervisor": None}[ACCOUNTS[username][0].value]
            assert answer.headers["Cache-Control"] == "no-store"
    # department staff and supervisors cannot act as agents either: nothing happens
    for username in ("zhang", "sun"):
        client = gateway.client(username)
        assert post(client, f"/api/agent/tickets/{ticket.number}/claim").status_code == 403
        made = post(client, f"/api/agent/tickets/{ticket.number}/workorder",
                    {"kind": "complaint", "description": "x", "department": "water"})
        assert made.status_code == 403 and error_code(made) == "wrong_role"
    assert gateway.desk_store.ticket(ticket.number).status == "waiting"
    assert [o.number for o in gateway.store.find()] == [order.number]
    # agents and admins cannot act as a department
    for username in ("alice", "root"):
        refused = post(gateway.client(username), f"/api/dept/orders/{order.number}/sign")
        assert refused.status_code == 403 and error_code(refused) == "wrong_role"
    unchanged(gateway, order)


def test_without_a_session_everything_is_401(gateway):
    order = gateway.order("water")
    stranger = gateway.client()
    for path in ("/api/dept/me", "/api/dept/orders", f"/api/dept/orders/{order.number}",
                 "/api/supervisor/rates?start=2025-03-01&end=2025-03-02"):
        answer = stranger.get(path)
        assert answer.status_code == 401 and error_code(answer) == "not_logged_in", path
    assert stranger.get("/api/dept/me").json()["error"]["message"] == "log in at /dept first"
    assert post(stranger, f"/api/dept/orders/{order.number}/sign").status_code == 401
    forged = TestClient(gateway.app, base_url=BASE, cookies={"govbot_agent": "forged"})
    assert forged.get("/api/dept/orders").status_code == 401
    unchanged(gateway, order)


def test_the_log_in_is_the_same_on_both_consoles_and_names_the_role(gateway):
    client = gateway.client()
    answer = client.post("/api/dept/login", json={"username": "zhang", "password": PASSWORD}, headers=ORIGIN)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.json() == {"username": "zhang", "display_name": "Zhang", "role": "department",
                             "department": "water"}
    assert "HttpOnly" in answer.headers["set-cookie"] and "govbot_agent=" in answer.headers["set-cookie"]
    me = client.get("/api/dept/me").json()
    assert me["department"] == "water" and me["department_name"]["zh"] == "市水务集团"
    assert client.get("/api/agent/me").status_code == 403  # the same session, refused by the agent console
    wrong = client.post("/api/dept/login", json={"username": "zhang", "password": "not her password"},
                        headers=ORIGIN)
    assert wrong.status_code == 401 and error_code(wrong) == "bad_credentials"
    out = post(client, "/api/dept/logout")
    assert out.status_code == 200 and client.get("/api/dept/me").status_code == 401


def test_department_accounts_are_not_agents_to_forward_to_or_count_online(gateway):
    ticket = gateway.desk_store.open_ticket(TicketOpening("web:someone", "web", "zh", "user_request"))
    gateway.client("zhang").get("/api/dept/orders")  # a department user is online at /dept
    alice = gateway.client("alice")
    assert {a["username"] for a in alice.get("/api/agent/agents").json()["agents"]} == {"alice", "root"}
    assert alice.get("/api/agent/queue").json()["agents_online"] == 1  # alice only: zhang answers no chats
    assert post(alice, f"/api/agent/tickets/{ticket.number}/claim").status_code == 200
    refused = post(alice, f"/api/agent/tickets/{ticket.number}/forward", {"to": "zhang"})
    assert refused.status_code == 400 and error_code(refused) == "not_an_agent"
    assert gateway.desk_store.ticket(ticket.number).agent == "alice"
    assert post(alice, f"/api/agent/tickets/{ticket.number}/forward", {"to": "root"}).status_code == 200


# --- isolation ---------------------------------------------------------------------------------------------------

def test_a_department_sees_and_acts_only_on_its_own_orders(gateway):
    water, gas = gateway.order("water"), gateway.order("gas")
    zhang, li = gateway.client("zhang"), gateway.client("li")
    assert [o["number"] for o in zhang.get("/api/dept/orders").json()["orders"]] == [water.number]
    assert [o["number"] for o in li.get("/api/dept/orders").json()["orders"]] == [gas.number]
    read = zhang.get(f"/api/dept/orders/{gas.number}")
    assert read.status_code == 404 and error_code(read) == "no_such_order"
    assert PHONE not in read.text and "停水" not in read.text
    steps = {"sign": None, "start": None, "reply": {"text": "已修好"}, "return": {"reason": "不归我们管"},
             "extension": {"until": (date.today() + timedelta(days=30)).isoformat(), "reason": "需要更多时间"}}
    for step, body in steps.items():
        answer = post(zhang, f"/api/dept/orders/{gas.number}/{step}", body)
        assert answer.status_code == 404 and error_code(answer) == "no_such_order", step
    unchanged(gateway, gas)
    assert gateway.notices.calls == []
    assert post(li, f"/api/dept/orders/{gas.number}/sign").status_code == 200  # its own department may


def test_an_unknown_order_is_404(gateway):
    zhang = gateway.client("zhang")
    for answer in (zhang.get("/api/dept/orders/GD209901010001"), post(zhang, "/api/dept/orders/GD209901010001/sign"),
                   zhang.get("/api/dept/orders/nothing-like-a-number")):
        assert answer.status_code == 404 and error_code(answer) == "no_such_order"
    too_long = zhang.get("/api/dept/orders/" + "9" * 40)
    assert too_long.status_code == 400


# --- the steps ---------------------------------------------------------------------------------------------------

def test_each_step_is_stored_and_told_to_the_citizen(gateway):
    order, other = gateway.order("water"), gateway.order("water")
    zhang = gateway.client("zhang")
    summary = post(zhang, f"/api/dept/orders/{order.number}/sign").json()
    assert summary["status"] == "signed" and summary["steps"] == ["start", "reply", "return", "extension"]
    assert post(zhang, f"/api/dept/orders/{order.number}/start").json()["status"] == "in_progress"
    until = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=20)).date()
    asked = post(zhang, f"/api/dept/orders/{order.number}/extension",
                 {"until": until.isoformat(), "reason": f"要换整段管道，联系人{PHONE}"})
    assert asked.status_code == 200, asked.text
    assert asked.json()["extension_state"] == "pending" and "extension" not in asked.json()["steps"]
    stored = gateway.store.order(order.number)
    due = stored.extension_deadline.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (due.date(), due.hour, due.minute) == (until, 23, 59)  # the end of that day, China time
    assert stored.reply_deadline == order.reply_deadline  # moves only when a dispatcher approves
    again = post(zhang, f"/api/dept/orders/{order.number}/extension", {"until": until.isoformat(), "reason": "再延"})
    assert again.status_code == 409 and error_code(again) == "extension_pending"
    replied = post(zhang, f"/api/dept/orders/{order.number}/reply", {"text": "管道已更换，已恢复供水。"})
    assert replied.json()["status"] == "replied" and replied.json()["steps"] == []
    returned = post(zhang, f"/api/dept/orders/{other.number}/return", {"reason": "这是燃气的问题"})
    assert returned.json()["status"] == "returned"

    assert gateway.notices.calls == [(order.number, Status.SIGNED, "signed"),
                                     (order.number, Status.IN_PROGRESS, "started"),
                                     (order.number, Status.IN_PROGRESS, "extension_requested"),
                                     (order.number, Status.REPLIED, "replied"),
                                     (other.number, Status.RETURNED, "returned")]
    trail = gateway.store.trail(order.number)
    assert [(e.action, e.role, e.actor) for e in trail[2:]] == [
        ("signed", Role.DEPARTMENT, "zhang"), ("started", Role.DEPARTMENT, "zhang"),
        ("extension_requested", Role.DEPARTMENT, "zhang"), ("replied", Role.DEPARTMENT, "zhang")]
    assert PHONE not in trail[4].note and trail[4].note.endswith("5678")  # masked when stored
    assert [m.text for m in gateway.store.messages(order.number)] == ["管道已更换，已恢复供水。"]
    assert gateway.store.order(other.number).return_reason == "这是燃气的问题"
    # the detail shows it all; the returned order has left the department's list
    detail = zhang.get(f"/api/dept/orders/{order.number}").json()
    assert detail["reply"] == "管道已更换，已恢复供水。" and detail["messages"][0]["text"] == detail["reply"]
    assert [e["action"] for e in detail["trail"]][-1] == "replied"
    assert [o["number"] for o in zhang.get("/api/dept/orders").json()["orders"]] == [order.number]


def test_a_failing_notice_does_not_undo_the_step(gateway, monkeypatch):
    order = gateway.order("water")
    monkeypatch.setattr(gateway.app.state.workorder_notices, "after", Failing().after)
    answer = post(gateway.client("zhang"), f"/api/dept/orders/{order.number}/sign")
    assert answer.status_code == 200
    assert gateway.store.order(order.number).status == Status.SIGNED


def test_the_detail_shows_the_contact_only_with_consent_and_never_the_conversation(gateway):
    agreed, not_agreed = gateway.order("water", citizen=True), gateway.order("water", consent=False)
    zhang = gateway.client("zhang")
    shown = zhang.get(f"/api/dept/orders/{agreed.number}").json()
    assert shown["contact"] == {"method": "phone", "value": PHONE}
    assert shown["address"] == "朝阳区某小区3号楼" and shown["since"] == "三天前"
    assert shown["description"].endswith("*******5678")  # masked as stored
    assert shown["trail"][0]["role"] == "citizen" and shown["trail"][0]["actor"] is None
    assert "telegram:42" not in zhang.get(f"/api/dept/orders/{agreed.number}").text
    assert zhang.get(f"/api/dept/orders/{not_agreed.number}").json()["contact"] is None


@pytest.mark.parametrize("step, body, status, code", [
    ("return", {"reason": ""}, 400, "reason_required"),
    ("return", {"reason": "   "}, 400, "reason_required"),
    ("return", {}, 400, "missing_field"),
    ("reply", {"text": "好" * 4001}, 400, "text_too_long"),
    ("reply", {"text": " \n "}, 400, "reply_required"),
    ("reply", {"text": "ok", "extra": 1}, 400, "unknown_field"),
    ("extension", {"until": "2020-01-01", "reason": "需要时间"}, 400, "invalid_deadline"),  # in the past
    ("extension", {"until": "tomorrow", "reason": "需要时间"}, 400, "invalid_until"),
    ("extension", {"until": "2999-01-01", "reason": "需要时间"}, 400, "invalid_deadline"),  # over a year ahead
    ("extension", {"until": "2999-01-01", "reason": ""}, 400, "reason_required"),
    ("extension", {"until": "2999-01-01", "reason": "x", "days": 3}, 400, "unknown_field"),
    ("sign", None, 409, "illegal_transition"),  # signed already
])
def test_bad_input_is_refused_and_changes_nothing(gateway, step, body, status, code):
    order = gateway.store.sign(gateway.order("water").number, Actor(Role.DEPARTMENT, "zhang", "water"))
    answer = post(gateway.client("zhang"), f"/api/dept/orders/{order.number}/{step}", body)
    assert answer.status_code == status, answer.text
    assert error_code(answer) == code
    unchanged(gateway, order, ("accepted", "dispatched", "signed"))
    assert gateway.notices.calls == []


@pytest.mark.parametrize("step, body", [("start", None), ("reply", {"text": "已处理"}),
                                        ("extension", {"until": (date.today() + timedelta(days=30)).isoformat(),
                                                       "reason": "x"})])
def test_a_step_the_state_does_not_allow_is_409(gateway, step, body):
    order = gateway.order("water")  # not signed for yet
    answer = post(gateway.client("zhang"), f"/api/dept/orders/{order.number}/{step}", body)
    assert answer.status_code == 409 and error_code(answer) == "illegal_transition"
    unchanged(gateway, order)
    assert gateway.notices.calls == []


def test_an_extension_not_later_than_the_current_deadline_is_refused(gateway):
    order = gateway.order("water")
    zhang = gateway.client("zhang")
    assert post(zhang, f"/api/dept/orders/{order.number}/sign").status_code == 200
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    answer = post(zhang, f"/api/dept/orders/{order.number}/extension", {"until": today.isoformat(), "reason": "x"})
    assert answer.status_code == 400 and error_code(answer) == "invalid_deadline"  # before the 7-day reply deadline
    assert gateway.store.order(order.number).extension_state is None


def test_writes_only_from_our_own_origin(gateway):
    order = gateway.order("water")
    zhang = gateway.client("zhang")
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = zhang.post(f"/api/dept/orders/{order.number}/sign", json={}, headers=headers)
        assert answer.status_code == 403 and error_code(answer) == "cross_origin"
    form = zhang.post(f"/api/dept/orders/{order.number}/return", data={"reason": "x"})
    assert form.status_code == 403
    unchanged(gateway, order)


def test_each_sessions_steps_are_rate_limited(tmp_path, monkeypatch):
    gateway = Gateway(settings_for(tmp_path, rate_dept=2), monkeypatch)
    orders = [gateway.order("water") for _ in range(3)]
    zhang = gateway.client("zhang")
    answers = [post(zhang, f"/api/dept/orders/{order.number}/sign") for order in orders]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert error_code(answers[2]) == "rate_limited" and int(answers[2].headers["Retry-After"]) >= 1
    assert gateway.store.order(orders[2].number).status == Status.DISPATCHED
    assert zhang.get("/api/dept/orders").status_code == 200  # reading is not limited
    li_order = gateway.order("gas")
    assert post(gateway.client("li"), f"/api/dept/orders/{li_order.number}/sign").status_code == 200  # per session


def test_the_inbox_page_is_served_as_a_console(gateway):
    page = gateway.client().get("/dept")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in \
        page.headers["content-security-policy"]
    assert '<html lang="zh-CN">' in page.text and "/static/dept.js" in page.text


# --- the supervisor's rates ------------------------------------------------------------------------------------------

def test_rates_per_department_with_names_and_nulls(gateway):
    signed, waiting = gateway.order("water"), gateway.order("gas")
    store = gateway.store
    zhang = Actor(Role.DEPARTMENT, "zhang", "water")
    store.sign(signed.number, zhang)
    store.reply(signed.number, zhang, "已修好")
    store.start_visit(signed.number, DISPATCHER)
    store.record_visit(signed.number, DISPATCHER, resolved=True, rating=Rating.BASICALLY_SATISFIED)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    for username in ("sun", "root"):
        answer = gateway.client(username).get(f"/api/supervisor/rates?start={today}&end={today}")
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
        rates = answer.json()
        assert (rates["start"], rates["end"]) == (today.isoformat(), today.isoformat())
        water = next(d for d in rates["departments"] if d["department"] == "water")
        assert water["name"] == {"zh": "市水务集团", "en": "City Water Group"}
        assert water["response"] == {"rate": 1.0, "count": 1, "total": 1}
        assert water["resolution"] == {"rate": 1.0, "count": 1, "total": 1}
        assert water["satisfaction"] == {"rate": 1.0, "count": 1, "total": 1}
        # the gas order is neither signed nor past its deadline: nothing decided, so gas has no rates to show
        assert [d["department"] for d in rates["departments"]] == ["water"]
    yesterday = today - timedelta(days=1)
    empty = gateway.client("sun").get(f"/api/supervisor/rates?start={yesterday}&end={yesterday}").json()
    assert empty["departments"] == []
    assert store.order(waiting.number).status == Status.DISPATCHED


def test_a_rate_with_nothing_to_count_is_null(gateway):
    order = gateway.order("water")
    gateway.store.sign(order.number, Actor(Role.DEPARTMENT, "zhang", "water"))
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    water = gateway.client("sun").get(f"/api/supervisor/rates?start={today}&end={today}").json()["departments"][0]
    assert water["response"]["rate"] == 1.0
    assert water["resolution"] == {"rate": None, "count": 0, "total": 0}
    assert water["satisfaction"] == {"rate": None, "count": 0, "total": 0}


@pytest.mark.parametrize("query, code", [
    ("start=2025-03-31&end=2025-03-01", "invalid_period"),
    ("start=2024-01-01&end=2025-03-01", "invalid_period"),
    ("start=2025-02-30&end=2025-03-01", "invalid_query.start"),
    ("end=2025-03-01", "missing_field"),
])
def test_a_bad_period_is_400(gateway, query, code):
    answer = gateway.client("sun").get(f"/api/supervisor/rates?{query}")
    assert answer.status_code == 400 and error_code(answer) == code


def test_the_new_endpoints_are_in_the_openapi_description(tmp_path, monkeypatch):
    gateway = Gateway(settings_for(tmp_path, openapi=True), monkeypatch)
    paths = gateway.client().get("/openapi.json").json()["paths"]
    for step in ("sign", "start", "reply", "return", "extension"):
        assert {"200", "400", "401", "403", "404", "409", "429"} <= set(paths[f"/api/dept/orders/{{number}}/{step}"]
                                                                        ["post"]["responses"]), step
    assert "/api/dept/orders" in paths and "/api/supervisor/rates" in paths
