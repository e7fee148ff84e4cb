"""The 12345 closed loop end to end over a real `govbot run` stack (real Rasa, action server with the dispatch
classifier, gateway, SQLite): a citizen reports a broken street light on the web chat and in Telegram (the
stand-in Bot API), the report becomes an order dispatched to the city management bureau, a department user signs
for it and replies at /api/dept, the citizen is told on their own channel (the page's live event stream, a
Telegram message), answers the return visit, and the supervisor's rates move."""

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from handoff.records import AccountRole
from handoff.store import TicketStore
from testkit.handoff import EventStream
from testkit.stack import Stack, post_chat
from testkit.telegram_standin import TelegramStandIn

pytestmark = pytest.mark.slow

PASSWORD = "street lamp 42 repaired"
DEPARTMENT = "city-management"


@pytest.fixture(scope="module")
def stack(standin, tmp_path_factory):  # type: ignore[no-untyped-def]
    var_dir = tmp_path_factory.mktemp("govbot-workorders")
    store = TicketStore(f"sqlite:///{var_dir / 'govbot.db'}")
    store.add_agent("zhang", PASSWORD, "张工", role=AccountRole.DEPARTMENT, department=DEPARTMENT)
    store.add_agent("chief", PASSWORD, "主任", role=AccountRole.SUPERVISOR)
    store.add_agent("wang", PASSWORD, "小王")  # an agent: the 12345 centre's dispatcher
    store.engine.dispose()
    env = {"TELEGRAM_BOT_TOKEN": standin.token, "GOVBOT_TELEGRAM_API_URL": standin.base_url, "GOVBOT_TTS_GTTS": "0"}
    running = Stack(var_dir, env=env)
    running.wait_ready()
    yield running
    running.stop()


def console(url: str, username: str, login: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30, headers={"Origin": url})  # as the console page (POST)
    response = client.post(login, json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client


def web_say(stack: Stack, name: str, text: str) -> list[dict[str, Any]]:
    response = post_chat(stack, name, text)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def button(messages: list[Any], title: str) -> str:
    found = [b["payload"] for m in messages for b in (m.get("buttons") or []) if b["title"] == title]
    assert found, f"no button {title!r} in {messages}"
    return found[0]


def dispatched(stack: Stack, number: str, status: str) -> str:
    """The order sent to its department: by the classifier already ("dispatched"), or else by a dispatcher at
    /api/dispatch, who confirms the classifier's proposal or picks the right department; the way it went."""
    if status == "dispatched":
        return "automatic"
    assert status == "accepted"
    dispatcher = console(stack.url, "wang", "/api/agent/login")
    waiting = {o["number"]: o for o in dispatcher.get("/api/dispatch/orders").json()["waiting"]}
    proposal = waiting[number]["proposed_department"]  # the classifier's, for the dispatcher to confirm or change
    assert proposal is not None and 0 < waiting[number]["proposal_confidence"] < 1
    response = dispatcher.post(f"/api/dispatch/orders/{number}/dispatch", json={"department": DEPARTMENT})
    assert response.status_code == 200, response.text
    return "proposal confirmed by a dispatcher" if proposal == DEPARTMENT else f"dispatcher changed {proposal}"


def in_inbox(department: httpx.Client, number: str, deadline: float = 30) -> float:
    """Seconds until the order is in the department's inbox (polled)."""
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        orders = department.get("/api/dept/orders").json()["orders"]
        if any(order["number"] == number for order in orders):
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{number} never reached the department's inbox")


def sign_and_reply(department: httpx.Client, number: str, words: str) -> None:
    for step, body in (("sign", None), ("reply", {"text": words})):
        response = department.post(f"/api/dept/orders/{number}/{step}", json=body)
        assert response.status_code == 200, response.text


def rates(stack: Stack) -> dict[str, Any]:
    supervisor = console(stack.url, "chief", "/api/agent/login")
    today = datetime.now(timezone(timedelta(hours=8))).date().isoformat()
    response = supervisor.get("/api/supervisor/rates", params={"start": today, "end": today})
    assert response.status_code == 200, response.text
    return {row["department"]: row for row in response.json()["departments"]}


def test_a_street_light_reported_on_the_web_page_is_dispatched_answered_and_rated(stack):
    conversation = stack.conversation("citizen")
    events = EventStream(f"{stack.url}/api/events?sender={conversation.sender}&token={conversation.token}")
    department = console(stack.url, "zhang", "/api/dept/login")
    first = time.monotonic()
    web_say(stack, "citizen", "我家楼下路灯坏了三天了")
    web_say(stack, "citizen", "朝阳区人民路5号")
    contact = web_say(stack, "citizen", "三天了")
    readback = web_say(stack, "citizen", button(contact, "在这里联系"))
    filed = web_say(stack, "citizen", button(readback, "提交"))
    [receipt] = [m for m in filed if (m.get("custom") or {}).get("kind") == "workorder_filed"]
    number = receipt["custom"]["number"]
    assert number in receipt["text"]
    how = dispatched(stack, number, receipt["custom"]["status"])
    waited = in_inbox(department, number)
    print(f"\nfirst message to the department's inbox ({how}): {time.monotonic() - first:.2f} s "
          f"(after filing: {waited:.2f} s)")
    if how != "automatic":  # the citizen is told where it went
        sent = events.next(lambda e: e.get("event") == "workorder" and e["data"]["action"] == "dispatched",
                           timeout=30)
        assert "城市管理局" in sent["data"]["text"]
    detail = department.get(f"/api/dept/orders/{number}").json()
    assert detail["description"] == "我家楼下路灯坏了三天了" and detail["address"] == "朝阳区人民路5号"

    sign_and_reply(department, number, "路灯已经修好了")
    signed = events.next(lambda e: e.get("event") == "workorder" and e["data"]["action"] == "signed", timeout=30)
    assert number in signed["data"]["text"]
    visit = events.next(lambda e: e.get("event") == "workorder" and e["data"]["action"] == "visit_started",
                        timeout=30)["data"]
    assert "路灯已经修好了" in visit["text"] and [b["title"] for b in visit["buttons"]] == ["已解决", "没解决"]
    question = web_say(stack, "citizen", visit["buttons"][0]["payload"])
    closing = web_say(stack, "citizen", button(question, "满意"))
    assert "已办结" in closing[0]["text"]
    assert department.get(f"/api/dept/orders/{number}").json()["status"] == "closed"
    row = rates(stack)[DEPARTMENT]
    assert row["resolution"]["count"] >= 1 and row["satisfaction"]["count"] >= 1
    assert row["resolution"]["rate"] == 1.0 and row["satisfaction"]["rate"] == 1.0


def test_a_report_in_telegram_is_told_on_telegram_and_an_unsolved_one_goes_back(stack, standin: TelegramStandIn):
    user = 7301
    department = console(stack.url, "zhang", "/api/dept/login")

    def say(text: str, count: int = 1) -> list:
        before = len(standin.sent(user, "sendMessage"))
        standin.send_text(text, user)
        return standin.wait_sent(user, count, "sendMessage", before, timeout=90, settle=1.0)

    def tap(sent: Any, title: str) -> list:
        keyboard = [b for row in sent.params["reply_markup"]["inline_keyboard"] for b in row]
        [data] = [b["callback_data"] for b in keyboard if b["text"] == title]
        before = len(standin.sent(user, "sendMessage"))
        standin.press(data, sent.message_id, user)
        return standin.wait_sent(user, 1, "sendMessage", before, timeout=90, settle=1.0)

    say("小区门口的路灯不亮了")
    say("人民路8号小区门口")
    contact = say("昨天晚上开始")[-1]
    readback = tap(contact, "在这里联系")[-1]
    receipt = tap(readback, "提交")[-1]
    number = re.search(r"GD\d{12,13}", receipt.text).group()
    status = "dispatched" if "已派给" in receipt.text else "accepted"
    before = len(standin.sent(user, "sendMessage"))
    how = dispatched(stack, number, status)
    print(f"\ntelegram report: {how}")
    if how != "automatic":  # the citizen is told where it went
        assert "已派给" in standin.wait_sent(user, 1, "sendMessage", before, timeout=30)[0].text
    in_inbox(department, number)
    before = len(standin.sent(user, "sendMessage"))
    sign_and_reply(department, number, "已安排维修")
    told = standin.wait_sent(user, 2, "sendMessage", before, timeout=60, settle=1.0)
    assert "已签收" in told[0].text and "已安排维修" in told[1].text
    question = tap(told[1], "没解决")[-1]
    reopened = tap(question, "不满意")[-1]
    assert "重新派给" in reopened.text
    assert any(order["number"] == number and order["status"] == "dispatched"
               for order in department.get("/api/dept/orders").json()["orders"])


def test_the_citizen_asks_where_their_order_is(stack):
    status = web_say(stack, "citizen", "我的工单到哪一步了")
    assert "GD" in status[0]["text"] and "办结" in status[0]["text"]
