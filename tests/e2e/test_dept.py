"""The department inbox (/dept) in real Chromium against the real gateway app (no Rasa needed): a department user
logs in from the keyboard, sees only their department's order, opens it, signs for it and replies; every control
is reached by Tab with a visible focus ring and has a label; the page passes axe (WCAG 2.2 AA) in normal and large
text; a department account at /agent is told where it works."""

import pytest

from core.settings import Settings
from handoff.records import AccountRole
from testkit.browser import audit
from testkit.handoff import LiveGateway
from testkit.helpers import free_port
from workorders.records import Actor, Contact, ContactMethod, Draft, RequestKind, Role, Status

pytestmark = pytest.mark.slow

PASSWORD = "violet-harbour-ladder-93"
DISPATCHER = Actor(Role.DISPATCHER, "alice")


def draft(description: str) -> Draft:
    return Draft(sender_id="web:e2e-dept", channel="web", language="zh", kind=RequestKind.COMPLAINT,
                 description=description, address="朝阳区某小区3号楼", since="三天前",
                 contact=Contact(True, ContactMethod.PHONE, "13812345678"))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):  # type: ignore[no-untyped-def]
    settings = Settings(var_dir=tmp_path_factory.mktemp("govbot-dept"), rasa_url=f"http://127.0.0.1:{free_port()}",
                        tts_gtts=False)
    with LiveGateway(settings) as live:
        store = live.app.state.desk.store
        store.add_agent("zhang", PASSWORD, "张工", role=AccountRole.DEPARTMENT, department="water")
        workorders = live.app.state.workorders
        live.water = workorders.create_and_dispatch(draft("小区停水三天了"), DISPATCHER, "water", DISPATCHER)
        live.gas = workorders.create_and_dispatch(draft("楼道里有煤气味"), DISPATCHER, "gas", DISPATCHER)
        yield live


def serious(page) -> list:  # type: ignore[no-untyped-def]
    return [violation for violation in audit(page) if violation["impact"] in ("serious", "critical")]


def test_a_department_user_signs_and_replies_from_the_keyboard(browser, gateway):
    number = gateway.water.number
    context = browser.new_context(locale="zh-CN", viewport={"width": 1300, "height": 900})
    page = context.new_page()
    try:
        page.goto(gateway.url + "/dept")
        page.wait_for_selector("#login:not([hidden])")
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert page.evaluate("document.activeElement.id") == "username"  # the login form takes the focus
        assert serious(page) == []
        page.keyboard.type("zhang")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#orders >> text={number}")
        assert page.locator(f"#orders >> text={gateway.gas.number}").count() == 0  # another department's
        assert "市水务集团" in page.inner_text("#account-name")

        def tab_to(label: str) -> None:
            for _ in range(80):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.getAttribute('aria-label') || "
                                 "document.activeElement.textContent.trim()") == label:
                    ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                    assert ring != "none", f"{label}: no visible focus ring"
                    return
            pytest.fail(f"{label!r} is not reachable by keyboard")

        tab_to(f"打开工单 Open order {number}")
        page.keyboard.press("Enter")
        page.wait_for_selector("#order:not([hidden])")
        page.wait_for_function("document.activeElement.id === 'order-title'")
        assert "小区停水三天了" in page.inner_text("#order-description")
        assert "13812345678" in page.inner_text("#order-facts")  # the citizen agreed to be contacted
        assert serious(page) == []
        tab_to("签收 Sign for it")
        page.keyboard.press("Enter")
        page.wait_for_selector("#notice >> text=已签收")
        page.wait_for_selector("#sign", state="hidden")
        # every visible form control has a label
        unlabelled = page.evaluate("""[...document.querySelectorAll('input, textarea, select')]
            .filter((e) => e.offsetParent !== null && !(e.labels && e.labels.length)).map((e) => e.id)""")
        assert unlabelled == []
        # an empty reply is refused on the page, with the error tied to the field
        page.click("#reply-form button[type=submit]")
        page.wait_for_function("document.activeElement.id === 'reply-text'")
        assert page.get_attribute("#reply-text", "aria-invalid") == "true"
        assert page.inner_text("#reply-error")
        page.keyboard.type("管道已修好，已恢复供水。")
        tab_to("反馈 Send the reply")
        page.keyboard.press("Enter")
        page.wait_for_selector("#notice >> text=已反馈")
        page.wait_for_selector("#messages >> text=管道已修好，已恢复供水。")
        assert gateway.app.state.workorders.order(number).status in (Status.REPLIED, Status.VISITING)
        # large text: the same page, bigger, still without serious violations
        page.click("#large-text")
        assert page.get_attribute("#large-text", "aria-pressed") == "true"
        assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") >= 20
        assert serious(page) == []
    finally:
        context.close()


def test_a_department_account_at_the_agent_console_is_told_where_it_works(browser, gateway):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(gateway.url + "/agent")
        page.wait_for_selector("#login:not([hidden])")
        page.fill("#username", "zhang")
        page.fill("#password", PASSWORD)
        page.click("#login button[type=submit]")
        page.wait_for_selector("#wrong-role:not([hidden]) a[href='/dept']")
        assert page.locator("#desk").is_hidden()
        page.click("#wrong-role a")
        page.wait_for_selector("#desk:not([hidden])")  # the same session: already logged in at /dept
    finally:
        context.close()
