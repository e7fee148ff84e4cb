"""Human handoff end to end over a real `govbot run` stack: a citizen's chat page and an agent's console in two
Chromium contexts, the same through Telegram's stand-in Bot API, a gateway restart in the middle of a ticket,
two agents claiming at once, and the console refusing strangers."""

import threading
import time

import httpx
import pytest

from handoff.store import TicketStore
from testkit.browser import audit
from testkit.stack import Gateway, Stack, post_chat

pytestmark = pytest.mark.slow

AGENTS = {"wang": ("小王", "bamboo lantern 7 river"), "li": ("小李", "copper kettle 52 orchard")}


@pytest.fixture(scope="module")
def stack(standin, tmp_path_factory):  # type: ignore[no-untyped-def]
    var_dir = tmp_path_factory.mktemp("govbot-handoff")
    store = TicketStore(f"sqlite:///{var_dir / 'govbot.db'}")
    for username, (name, password) in AGENTS.items():
        store.add_agent(username, password, name)
    env = {"TELEGRAM_BOT_TOKEN": standin.token, "GOVBOT_TELEGRAM_API_URL": standin.base_url,
           "GOVBOT_TTS_GTTS": "0", "GOVBOT_HANDOFF_UPDATE_SECONDS": "2"}
    running = Stack(var_dir, env=env)
    running.wait_ready()
    yield running
    running.stop()


def agent_client(url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30, headers={"Origin": url})  # as the console page (POST)
    response = client.post("/api/agent/login", json={"username": username, "password": AGENTS[username][1]})
    assert response.status_code == 200, response.text
    return client


def citizen_page(browser, url: str, locale: str = "zh-CN"):  # type: ignore[no-untyped-def]
    context = browser.new_context(bypass_csp=True, locale=locale, viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.goto(url + "/")
    return context, page


def ask(page, text: str) -> None:  # type: ignore[no-untyped-def]
    before = page.locator("#log .msg.bot").count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    page.locator("#log .msg.bot").nth(before).wait_for(timeout=60_000)


def test_no_agent_online_gives_the_ticket_number_and_12345(stack):
    reply = post_chat(stack, "e2e-offline", "/ask_person")
    texts = " ".join(m["text"] or "" for m in reply.json()["messages"])
    # the module's first test: no agent has logged in yet
    assert "现在没有人工客服在线" in texts and "12345" in texts and "工单" in texts and "预计等待" not in texts
    number = next(m["custom"]["ticket"]["number"] for m in reply.json()["messages"]
                  if (m.get("custom") or {}).get("ticket"))
    cancelled = post_chat(stack, "e2e-offline", "/cancel_handoff")
    assert "已取消人工服务" in cancelled.json()["messages"][0]["text"]
    assert TicketStore(f"sqlite:///{stack.var_dir / 'govbot.db'}").ticket(number).closed_by == "citizen"


def test_citizen_and_agent_in_two_browsers(browser, stack):
    citizen_context, citizen = citizen_page(browser, stack.url)
    agent_context = browser.new_context(bypass_csp=True, locale="zh-CN", viewport={"width": 1300, "height": 900})
    agent = agent_context.new_page()
    try:
        # the agent logs in first, so an agent is online when the citizen asks
        agent.goto(stack.url + "/agent")
        agent.fill("#username", "wang")
        agent.fill("#password", AGENTS["wang"][1])
        agent.click("#login button[type=submit]")
        agent.wait_for_selector("#desk:not([hidden])")

        ask(citizen, "护照怎么办理")
        ask(citizen, "我要找人工")
        citizen.wait_for_selector("#ticket-banner:not([hidden])")
        opened = citizen.locator("#log .msg.bot").last.inner_text()
        assert "工单号" in opened and "预计等待" in opened
        number = citizen.inner_text("#ticket-banner").split("工单 ")[1].split(" ")[0]

        # the ticket appears in the console without a reload; the transcript has the bot's turns
        agent.wait_for_selector(f"#queue >> text={number}", timeout=30_000)
        agent.get_by_role("button", name=f"打开工单 Open ticket {number}").click()
        agent.wait_for_selector("#ticket:not([hidden])")
        assert "passport-apply" in agent.inner_text("#ticket-facts")
        transcript = agent.inner_text("#transcript")
        assert "护照怎么办理" in transcript and "普通护照首次申请" in transcript and "智能助手 Bot" in transcript
        agent.click("#claim")
        agent.wait_for_selector("#reply-form:not([hidden])")
        citizen.wait_for_selector("#log >> text=人工客服 小王 已接入", timeout=30_000)
        # both screens pass the same accessibility audit as the chat page
        for page in (agent, citizen):
            assert [v for v in audit(page) if v["impact"] in ("serious", "critical")] == []

        # citizen → agent, live
        citizen.fill("#text", "加急要带什么证明？")
        citizen.press("#text", "Enter")
        agent.wait_for_selector("#transcript >> text=加急要带什么证明？", timeout=30_000)
        assert citizen.locator("#log .msg.bot").last.inner_text().count("排在第") == 0  # no queue talk once claimed

        # agent → citizen, live, with the agent's name
        agent.select_option("#canned", index=2)
        assert agent.input_value("#reply") == "请稍等，我帮您查一下。"
        agent.fill("#reply", "请带上能证明急事的材料，比如入学通知书。")
        agent.press("#reply", "Enter")
        citizen.wait_for_selector("#log .msg.agent >> text=入学通知书", timeout=30_000)
        agent.wait_for_function("document.getElementById('reply').value === ''")
        assert "人工客服 小王" in citizen.locator("#log .msg.agent").last.inner_text()

        # an internal note stays with the agents
        agent.fill("#reply", "备注：市民很着急")
        agent.click("#note")
        agent.wait_for_selector("#transcript >> text=备注：市民很着急")
        time.sleep(1)
        assert "市民很着急" not in citizen.inner_text("#log")

        # the agent closes; the citizen is asked to rate, rates, and the bot answers again
        agent.fill("#resolution", "已告知加急所需证明")
        agent.click("#close-form button[type=submit]")
        citizen.wait_for_selector("#log >> text=请为本次人工服务打分", timeout=30_000)
        assert citizen.locator("#ticket-banner").is_hidden()
        citizen.locator("#log .msg").last.get_by_role("button", name="满意", exact=True).click()
        citizen.wait_for_selector("#log >> text=感谢您的评价：满意")
        ask(citizen, "需要带什么材料")
        assert "需要带的材料" in citizen.locator("#log .msg.bot").last.inner_text()
        store = TicketStore(f"sqlite:///{stack.var_dir / 'govbot.db'}")
        ticket = store.ticket(number)
        assert (ticket.status, ticket.citizen_rating, ticket.resolution) == ("closed", 4, "已告知加急所需证明")
        actions = [event.action for event in store.transcript(number).events]
        assert actions == ["opened", "claimed", "closed", "rated"]
    finally:
        citizen_context.close()
        agent_context.close()


def test_telegram_user_reaches_an_agent_and_back(stack, standin):
    user = 7001
    standin.wait_for(lambda: standin.calls("getUpdates"), timeout=60)
    before = len(standin.sent(user, "sendMessage"))
    standin.send_text("/human", user)
    sent = standin.wait_sent(user, 2, "sendMessage", before, timeout=60, settle=1.0)
    assert any("工单号" in message.text or "工单" in message.text for message in sent)
    agent = agent_client(stack.url, "li")
    queue = agent.get("/api/agent/queue").json()["tickets"]
    ticket = next(t for t in queue if t["channel"] == "telegram" and t["status"] == "waiting")
    before = len(standin.sent(user, "sendMessage"))
    assert agent.post(f"/api/agent/tickets/{ticket['number']}/claim").status_code == 200
    [joined] = standin.wait_sent(user, 1, "sendMessage", before, timeout=30)
    assert "小李" in joined.text and "已接入" in joined.text
    before = len(standin.sent(user, "sendMessage"))
    assert agent.post(f"/api/agent/tickets/{ticket['number']}/reply",
                      json={"text": "您好，请问是哪个区？<测试&转义>"}).status_code == 200
    [reply] = standin.wait_sent(user, 1, "sendMessage", before, timeout=30)
    assert "人工客服 小李" in reply.text and "&lt;测试&amp;转义&gt;" in reply.text
    standin.send_text("朝阳区", user)
    deadline = time.monotonic() + 30
    while "朝阳区" not in str(agent.get(f"/api/agent/tickets/{ticket['number']}").json()["messages"]):
        assert time.monotonic() < deadline, "the Telegram message did not reach the ticket"
        time.sleep(0.5)
    before = len(standin.sent(user, "sendMessage"))
    assert agent.post(f"/api/agent/tickets/{ticket['number']}/close",
                      json={"resolution": "已告知办理地点"}).status_code == 200
    [closing] = standin.wait_sent(user, 1, "sendMessage", before, timeout=30)
    assert "请为本次人工服务打分" in closing.text and len(closing.inline_keyboard) >= 1
    best = [button for row in closing.inline_keyboard for button in row][0]
    standin.press(best["callback_data"], closing.message_id, user)
    store = TicketStore(f"sqlite:///{stack.var_dir / 'govbot.db'}")
    deadline = time.monotonic() + 30
    while store.ticket(ticket["number"]).citizen_rating is None:
        assert time.monotonic() < deadline, "the rating was not stored"
        time.sleep(0.5)
    assert store.ticket(ticket["number"]).citizen_rating == 5


def test_two_agents_claiming_at_once_exactly_one_wins(stack):
    wang, li = agent_client(stack.url, "wang"), agent_client(stack.url, "li")
    results = []
    for round_number in range(5):
        reply = post_chat(stack, f"e2e-race-{round_number}", "/ask_person")
        number = next(m["custom"]["ticket"]["number"] for m in reply.json()["messages"]
                      if (m.get("custom") or {}).get("ticket"))
        barrier, statuses = threading.Barrier(2), {}

        def claim(name, client, barrier=barrier, statuses=statuses, number=number):  # type: ignore[no-untyped-def]
            barrier.wait()
            statuses[name] = client.post(f"/api/agent/tickets/{number}/claim").status_code

        threads = [threading.Thread(target=claim, args=pair) for pair in (("wang", wang), ("li", li))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results.append(sorted(statuses.values()))
        owner = wang.get(f"/api/agent/tickets/{number}").json()["ticket"]["agent"]
        loser = li if owner == "wang" else wang
        refused = loser.post(f"/api/agent/tickets/{number}/reply", json={"text": "我来"})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_your_ticket"
        assert loser.post(f"/api/agent/tickets/{number}/take_over").status_code == 200  # explicitly
        assert loser.post(f"/api/agent/tickets/{number}/close", json={"resolution": "测试"}).status_code == 200
    assert results == [[200, 409]] * 5


def test_console_and_its_api_refuse_strangers(stack, browser):
    stranger = httpx.Client(base_url=stack.url, timeout=10, headers={"Origin": stack.url})
    for method, path in [("GET", "/api/agent/queue"), ("GET", "/api/agent/me"), ("GET", "/api/agent/metrics"),
                         ("GET", "/api/agent/tickets/20260101-0001"), ("GET", "/api/agent/canned"),
                         ("POST", "/api/agent/tickets/20260101-0001/claim"), ("GET", "/api/agent/agents")]:
        response = stranger.request(method, path)
        assert response.status_code == 401 and response.json()["error"]["code"] == "not_logged_in", path
    forged = httpx.Client(base_url=stack.url, timeout=10, cookies={"govbot_agent": "forged-token"})
    assert forged.get("/api/agent/queue").status_code == 401
    assert stranger.post("/api/agent/login", json={"username": "wang", "password": "wrong"}).status_code == 401
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(stack.url + "/agent")
    page.wait_for_selector("#login:not([hidden])")
    assert page.locator("#desk").is_hidden()
    page.fill("#username", "wang")
    page.fill("#password", "wrong-password")
    page.click("#login button[type=submit]")
    page.wait_for_selector("#login-error >> text=用户名或密码不对")
    context.close()


def test_gateway_restart_mid_ticket_loses_nothing(browser, stack, tmp_path):
    gateway = Gateway(stack, stack.var_dir, env={"GOVBOT_HANDOFF_UPDATE_SECONDS": "2"})
    gateway.start()
    context, citizen = citizen_page(browser, gateway.url)
    try:
        ask(citizen, "我要转人工")
        citizen.wait_for_selector("#ticket-banner:not([hidden])")
        agent = agent_client(gateway.url, "wang")
        number = next(t["number"] for t in agent.get("/api/agent/queue").json()["tickets"]
                      if t["status"] == "waiting" and "转人工" in str(agent.get(f"/api/agent/tickets/{t['number']}")
                                                                     .json()["messages"]))
        assert agent.post(f"/api/agent/tickets/{number}/claim").status_code == 200
        citizen.wait_for_selector("#log >> text=已接入", timeout=30_000)

        gateway.stop()
        citizen.fill("#text", "重启时发的消息")
        citizen.press("#text", "Enter")
        citizen.wait_for_function("document.getElementById('status').textContent.includes('连接中断')")
        gateway.start()
        deadline = time.monotonic() + 60
        while "重启时发的消息" not in str(agent.get(f"/api/agent/tickets/{number}").json()["messages"]):
            assert time.monotonic() < deadline, "the citizen's message was lost in the restart"
            time.sleep(0.5)
        assert agent.post(f"/api/agent/tickets/{number}/reply", json={"text": "重启后客服的回复"}).status_code == 200
        citizen.wait_for_selector("#log .msg.agent >> text=重启后客服的回复", timeout=60_000)
        # the ticket went on: same number, still assigned, each message stored once
        texts = [m["text"] for m in agent.get(f"/api/agent/tickets/{number}").json()["messages"]]
        assert texts.count("重启时发的消息") == 1 and texts.count("重启后客服的回复") == 1
    finally:
        context.close()
        gateway.stop()


def test_the_console_works_from_the_keyboard(browser, stack):
    reply = post_chat(stack, "e2e-keys", "/ask_person")
    number = next(m["custom"]["ticket"]["number"] for m in reply.json()["messages"]
                  if (m.get("custom") or {}).get("ticket"))
    context = browser.new_context(bypass_csp=True, locale="zh-CN", viewport={"width": 1300, "height": 900})
    page = context.new_page()
    try:
        page.goto(stack.url + "/agent")
        page.wait_for_selector("#login:not([hidden])")
        assert page.evaluate("document.activeElement.id") == "username"  # the login form takes the focus
        page.keyboard.type("li")
        page.keyboard.press("Tab")
        page.keyboard.type(AGENTS["li"][1])
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#queue >> text={number}")

        def tab_to(label: str) -> None:
            for _ in range(60):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.getAttribute('aria-label') || "
                                 "document.activeElement.textContent.trim()") == label:
                    ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                    assert ring != "none", f"{label}: no visible focus ring"
                    return
            pytest.fail(f"{label!r} is not reachable by keyboard")

        tab_to(f"打开工单 Open ticket {number}")
        # a live update rebuilds the queue (another citizen asks for a person): the focus stays where it was
        other = post_chat(stack, "e2e-keys-other", "/ask_person")
        other_number = next(m["custom"]["ticket"]["number"] for m in other.json()["messages"]
                            if (m.get("custom") or {}).get("ticket"))
        page.wait_for_selector(f"#queue >> text={other_number}")
        assert page.evaluate("document.activeElement.dataset.number") == number
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
        page.keyboard.press("Enter")
        page.wait_for_selector("#ticket:not([hidden])")
        tab_to("认领 Claim")
        page.keyboard.press("Enter")
        page.wait_for_selector("#reply-form:not([hidden])")
        page.wait_for_function("document.activeElement.id === 'reply'")  # claiming puts the cursor in the reply
        page.keyboard.type("键盘回复")
        page.keyboard.press("Enter")
        page.wait_for_selector("#transcript >> text=键盘回复")
    finally:
        context.close()
