"""Work orders from the conversation, through the message router in front of a stand-in bot and real stores on
SQLite: a draft from the bot is filed (dispatched when the classifier was confident) once per request id, with
the phone the citizen typed; status questions; the return visit closing or reopening the order; the notices on
the citizen's channel."""

from datetime import timedelta
from typing import Any, Optional

import pytest

from channels.common.routing import MessageRouter
from channels.common.workorder_intake import WorkOrderIntake
from channels.common.workorder_notices import WorkOrderNotices
from core import payloads
from core.messages import BotMessage
from handoff.config import HandoffConfig
from handoff.desk import Desk
from handoff.hub import Hub
from handoff.store import TicketStore
from testkit.handoff import Clock
from workorders.catalogue import load_catalogue
from workorders.records import Actor, ContactMethod, Role, Status
from workorders.store import WorkOrderStore

SENDER = "telegram:42"


def draft(automatic: bool = True, **changes: Any) -> dict[str, Any]:
    order = {"kind": "help", "description": "人民路5号路灯坏了三天", "address": "人民路5号", "since": "三天",
             "contact_consent": True, "contact_method": "phone", "contact_value": "*******5678",
             "department": "city-management", "confidence": 0.93, "urgency": "normal", "automatic": automatic}
    return {"kind": "workorder_draft", "language": "zh", "workorder": {**order, **changes}}


class ReportingBot:
    """Replies with whatever custom payload the test queued for the next message."""

    def __init__(self) -> None:
        self.next: list[dict[str, Any]] = []
        self.received: list[str] = []

    async def send(self, sender: str, text: str, metadata: Optional[dict[str, Any]] = None) -> list[BotMessage]:
        self.received.append(text)
        return [BotMessage(custom=custom) for custom in self.next] or [BotMessage(text=f"echo: {text}")]

    async def conversation_events(self, sender: str) -> list[dict[str, Any]]:
        return []

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        pass


class Pushes:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[BotMessage]]] = []

    async def __call__(self, sender: str, messages: list[BotMessage]) -> None:
        self.sent.append((sender, messages))


@pytest.fixture
def world(tmp_path):
    clock = Clock()
    url = f"sqlite:///{tmp_path / 'app.db'}"
    tickets, orders = TicketStore(url, clock=clock), WorkOrderStore(url, clock=clock)
    hub, bot, pushes = Hub(), ReportingBot(), Pushes()
    catalogue = load_catalogue()
    assert "city-management" in catalogue.ids
    notices = WorkOrderNotices(orders, catalogue, hub)
    notices.register_channel("telegram", pushes)
    router = MessageRouter(Desk(tickets, HandoffConfig(), hub=hub, bot=bot), bot,
                           workorders=WorkOrderIntake(orders, notices))
    yield router, bot, orders, notices, pushes, hub, clock
    tickets.engine.dispose()
    orders.engine.dispose()


async def test_a_confident_draft_is_filed_and_dispatched_with_the_phone_the_citizen_typed(world):
    router, bot, orders, *_ = world
    await router.send(SENDER, "我的电话 138 1234 5678", {"channel": "telegram", "request_id": "m1"})
    assert bot.received[-1] == "我的电话 *** **** 5678"  # the bot never saw the number
    bot.next = [draft(contact_value="*** **** 5678")]
    replies = await router.send(SENDER, "/affirm", {"channel": "telegram", "request_id": "m2"})
    number = replies[0].custom["number"]
    assert replies[0].custom["status"] == "dispatched" and number in replies[0].text and "城市管理" in replies[0].text
    order = orders.order(number)
    assert (order.status, order.department, order.channel, order.sender_id) == \
        (Status.DISPATCHED, "city-management", "telegram", SENDER)
    assert order.contact.method == ContactMethod.PHONE and order.contact.value == "138 1234 5678"
    assert (order.proposed_department, order.proposal_confidence) == ("city-management", 0.93)


async def test_a_retried_request_files_one_order(world):
    router, bot, orders, *_ = world
    bot.next = [draft()]
    first = await router.send(SENDER, "/affirm", {"channel": "telegram", "request_id": "same"})
    again = await router.send(SENDER, "/affirm", {"channel": "telegram", "request_id": "same"})
    assert first[0].custom["number"] == again[0].custom["number"]
    assert len(orders.orders_of(SENDER)) == 1
    other = await router.send(SENDER, "/affirm", {"channel": "telegram", "request_id": "another"})
    assert other[0].custom["number"] != first[0].custom["number"] and len(orders.orders_of(SENDER)) == 2


async def test_an_unsure_draft_waits_for_a_dispatcher_and_a_forgotten_phone_becomes_the_chat(world):
    router, bot, orders, *_ = world
    bot.next = [draft(automatic=False, confidence=0.41)]
    replies = await router.send(SENDER, "/affirm", {"channel": "telegram", "request_id": "u1"})
    order = orders.order(replies[0].custom["number"])
    assert order.status == Status.ACCEPTED and order.department is None
    assert (order.proposed_department, order.proposal_confidence) == ("city-management", 0.41)
    assert order.contact.method == ContactMethod.CHAT and order.contact.value is None  # the number was never typed
    assert "已受理" in replies[0].text


async def test_a_broken_draft_files_nothing_and_says_so(world):
    router, bot, orders, *_ = world
    bot.next = [draft(description=None)]
    replies = await router.send(SENDER, "/affirm", {"channel": "telegram", "request_id": "b1"})
    assert "12345" in replies[0].text and orders.orders_of(SENDER) == []
    bot.next = [draft(description="x" * 5000)]  # longer than an order's description may be
    replies = await router.send(SENDER, "/affirm", {"channel": "telegram", "request_id": "b2"})
    assert "12345" in replies[0].text and orders.orders_of(SENDER) == []


async def test_status_lists_the_citizens_own_orders_and_refuses_anothers_number(world):
    router, bot, orders, *_ = world
    bot.next = [draft()]
    number = (await router.send(SENDER, "/affirm", {"channel": "telegram", "request_id": "s1"}))[0].custom["number"]
    bot.next = [draft()]
    foreign = (await router.send("web:other", "/affirm", {"channel": "web", "request_id": "s2"}))[0].custom["number"]
    bot.next = [{"kind": "workorder_status", "language": "zh", "number": None}]
    mine = await router.send(SENDER, "我的工单到哪一步了", {"channel": "telegram"})
    assert number in mine[0].text and "派单" in mine[0].text and foreign not in mine[0].text
    bot.next = [{"kind": "workorder_status", "language": "en", "number": foreign}]
    theirs = await router.send(SENDER, f"status of {foreign}", {"channel": "telegram"})
    assert theirs[0].text == f"No order {foreign} of yours was found; please check the number."
    bot.next = [{"kind": "workorder_status", "language": "en", "number": None}]
    assert "no orders" in (await router.send("web:nobody", "status", {"channel": "web"}))[0].text


async def reply_from_department(orders, notices, number: str) -> None:
    staff = Actor(Role.DEPARTMENT, "zhang", "city-management")
    for step in (orders.sign(number, staff), orders.reply(number, staff, "路灯已修好")):
        await notices.after(step, "signed" if step.status == Status.SIGNED else "replied")


async def test_the_citizen_is_told_each_step_and_the_return_visit_closes_a_solved_order(world):
    router, bot, orders, notices, pushes, hub, clock = world
    bot.next = [draft()]
    number = (await router.send(SENDER, "/affirm", {"channel": "telegram", "request_id": "v1"}))[0].custom["number"]
    with hub.citizen_stream(SENDER) as live:
        await reply_from_department(orders, notices, number)
        events = [live.get_nowait() for _ in range(live.qsize())]
    assert [event["action"] for event in events] == ["signed", "visit_started"]
    told = [message for _, messages in pushes.sent for message in messages]
    assert "已签收" in told[0].text and "路灯已修好" in told[1].text and "解决了吗" in told[1].text
    assert orders.order(number).status == Status.VISITING
    solved = told[1].buttons[0].payload
    assert payloads.parse_visit_workorder(solved) == (number, True, None)
    rating_question = await router.send(SENDER, solved, {"channel": "telegram"})
    assert [button.title for button in rating_question[0].buttons] == ["满意", "基本满意", "不满意"]
    closing = await router.send(SENDER, rating_question[0].buttons[0].payload, {"channel": "telegram"})
    assert "已办结" in closing[0].text
    order = orders.order(number)
    assert (order.status, order.resolved, order.rating.value) == (Status.CLOSED, True, "satisfied")
    assert bot.received == ["/affirm"]  # the visit's answers never went to the bot
    assert await router.send(SENDER, solved, {"channel": "telegram"}) == []  # a stale button changes nothing
    assert orders.order(number).status == Status.CLOSED


async def test_an_unsolved_order_goes_back_to_its_department_and_a_stranger_cannot_answer_the_visit(world):
    router, bot, orders, notices, pushes, hub, clock = world
    bot.next = [draft()]
    number = (await router.send(SENDER, "/affirm", {"channel": "telegram", "request_id": "r1"}))[0].custom["number"]
    await reply_from_department(orders, notices, number)
    unsolved = payloads.visit_workorder(number, False, "unsatisfied")
    assert await router.send("web:stranger", unsolved, {"channel": "web"}) == []
    assert orders.order(number).status == Status.VISITING
    clock.now += timedelta(minutes=5)
    reopened = await router.send(SENDER, unsolved, {"channel": "telegram"})
    assert "重新派给" in reopened[0].text
    order = orders.order(number)
    assert (order.status, order.department, order.resolved) == (Status.DISPATCHED, "city-management", False)
    assert payloads.parse_visit_workorder("/visit_workorder{broken") is None
    assert payloads.parse_visit_workorder('/visit_workorder{"order": "x", "resolved": "maybe"}') is None


async def test_a_failing_channel_does_not_undo_the_step(world):
    router, bot, orders, notices, pushes, hub, clock = world

    async def broken(sender: str, messages: list[BotMessage]) -> None:
        raise ConnectionError("telegram is down")

    notices.register_channel("telegram", broken)
    bot.next = [draft()]
    number = (await router.send(SENDER, "/affirm", {"channel": "telegram", "request_id": "f1"}))[0].custom["number"]
    await reply_from_department(orders, notices, number)
    assert orders.order(number).status == Status.VISITING
