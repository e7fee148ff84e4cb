"""The dispatch page (/dispatch) in real Chromium against the real gateway app (no Rasa needed): an agent logs in from
the keyboard, confirms the classifier's proposal for an accepted order with one key press, and the order leaves the
waiting list (dispatched to the proposed department); every control reached has a visible focus ring, every form
control a label, and the page passes axe (WCAG 2.2 AA)."""

from datetime import timedelta

import pytest

from core.settings import Settings
from testkit.browser import audit
from testkit.handoff import LiveGateway
from testkit.helpers import free_port
from workorders.records import Actor, Draft, RequestKind, Role, Status

pytestmark = pytest.mark.slow

PASSWORD = "violet-harbour-ladder-93"
CENTRE = Actor(Role.DISPATCHER, "centre")
WATER = Actor(Role.DEPARTMENT, "zhang", "water")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):  # type: ignore[no-untyped-def]
    settings = Settings(var_dir=tmp_path_factory.mktemp("govbot-dispatch"),
                        rasa_url=f"http://127.0.0.1:{free_port()}", tts_gtts=False)
    with LiveGateway(settings) as live:
        live.app.state.desk.store.add_agent("wang", PASSWORD, "小王")
        draft = Draft(sender_id="web:e2e-dispatch", channel="web", language="zh", kind=RequestKind.COMPLAINT,
                      description="小区停水三天了", address="朝阳区某小区3号楼", since="三天前",
                      proposed_department="water", proposal_confidence=0.62)
        store = live.app.state.workorders
        live.order = store.create(draft, Actor(Role.CITIZEN, "web:e2e-dispatch"))
        # the other lists' cards, for the accessibility audit: returned, an extension request, in the return visit
        for step in ("return", "extension", "visit"):
            order = store.sign(store.create_and_dispatch(draft, CENTRE, "water", CENTRE).number, WATER).number
            if step == "return":
                store.return_order(order, WATER, "不归水务")
            elif step == "extension":
                store.request_extension(order, WATER, store.order(order).reply_deadline + timedelta(days=2), "换管道")
            else:
                store.reply(order, WATER, "已修复")
                store.start_visit(order, CENTRE)
        yield live


def serious(page) -> list:  # type: ignore[no-untyped-def]
    return [violation for violation in audit(page) if violation["impact"] in ("serious", "critical")]


def test_an_agent_confirms_a_proposal_from_the_keyboard(browser, gateway):
    number = gateway.order.number
    context = browser.new_context(locale="zh-CN", viewport={"width": 1300, "height": 900})
    page = context.new_page()
    try:
        page.goto(gateway.url + "/dispatch")
        page.wait_for_selector("#login:not([hidden])")
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert page.evaluate("document.activeElement.id") == "username"  # the login form takes the focus
        page.keyboard.type("wang")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#waiting >> text={number}")
        for group in ("returned", "extensions", "visiting"):
            assert page.locator(f"#{group} li.card").count() == 1, group
        assert "62%" in page.inner_text("#waiting") and "市水务集团" in page.inner_text("#waiting")
        assert serious(page) == []
        unlabelled = page.evaluate("""[...document.querySelectorAll('input, textarea, select')]
            .filter((e) => e.offsetParent !== null && !(e.labels && e.labels.length)).map((e) => e.id)""")
        assert unlabelled == []

        label = f"确认派往 Confirm: 市水务集团 City Water Group · {number}"
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.getAttribute('aria-label')") == label:
                assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
                break
        else:
            pytest.fail(f"{label!r} is not reachable by keyboard")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#notice >> text={number} 已派往")
        page.wait_for_selector("#waiting .empty")
        assert page.locator(f"#waiting >> text={number}").count() == 0
        assert page.evaluate("document.activeElement.id") == "waiting-title"  # the focus is not lost
        stored = gateway.app.state.workorders.order(number)
        assert (stored.status, stored.department) == (Status.DISPATCHED, "water")
        page.click("#large-text")
        assert serious(page) == []
    finally:
        context.close()
