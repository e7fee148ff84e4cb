"""Handoff through the real gateway (uvicorn on a free port) in front of a FakeRasa, on SQLite and PostgreSQL:
ticket opening, routing around Rasa, the agent API and its sessions, live events, closing and rating,
cancelling, double claims over HTTP, and a gateway restart."""

import json
import re

import httpx
import pytest

from core.settings import Settings
from handoff.store import TicketStore
from testkit.handoff import EventStream, LiveGateway, race
from testkit.helpers import FakeRasa, WebConversation, open_conversation

PASSWORD = "violet-harbour-ladder-93"
HANDOFF = {"kind": "handoff", "language": "zh", "mode": {"large_text": True, "voice": False},
           "handoff": {"reason": "user_request", "item": "passport-apply", "language": "zh"}}
HANDOFF_EN = {"kind": "handoff", "language": "en", "mode": {"large_text": False, "voice": False},
              "handoff": {"reason": "user_request", "item": "passport-apply", "language": "en"}}


def bot_reply(sender: str, message: str) -> list[dict]:
    if message == "转人工":
        return [{"recipient_id": sender, "text": "好的，正在为您转人工客服。"},
                {"recipient_id": sender, "custom": HANDOFF}]
    if message == "a person please":
        return [{"recipient_id": sender, "text": "I will find a person for you."},
                {"recipient_id": sender, "custom": HANDOFF_EN}]
    return [{"recipient_id": sender, "text": f"echo: {message}"}]


@pytest.fixture
def rasa():
    fake = FakeRasa(reply=bot_reply)
    with fake.serving() as url:
        fake.url = url
        yield fake


@pytest.fixture
def setup(db_url, rasa, tmp_path, monkeypatch):
    """The environment of one gateway: its database, quick heartbeats, always open; two agents exist."""
    monkeypatch.setenv("GOVBOT_DATABASE_URL", db_url)
    monkeypatch.setenv("GOVBOT_HANDOFF_HEARTBEAT_SECONDS", "0.3")
    for name in ("GOVBOT_HANDOFF_HOURS", "GOVBOT_HANDOFF_TIMEZONE", "GOVBOT_SLA_FIRST_RESPONSE"):
        monkeypatch.delenv(name, raising=False)
    store = TicketStore(db_url)
    store.add_agent("alice", PASSWORD, "Alice")
    store.add_agent("bob", PASSWORD, "Bob")
    settings = Settings(rasa_url=rasa.url, var_dir=tmp_path / "var", tts_gtts=False,
                        conversation_secret="handoff-tests-conversation-secret")
    yield settings, store
    store.engine.dispose()


@pytest.fixture
def gateway(setup):
    settings, _ = setup
    with LiveGateway(settings) as live:
        yield live


@pytest.fixture
def store(setup) -> TicketStore:
    return setup[1]


def chat(gateway: LiveGateway, citizen: WebConversation, words: str) -> list[dict]:
    response = httpx.post(f"{gateway.url}/api/chat", json={"sender": citizen.sender, "text": words},
                          headers=citizen.headers, timeout=20)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def events_of(gateway: LiveGateway, citizen: WebConversation, query: str = "", **options) -> EventStream:
    """The citizen's event stream, opened as the page opens it (EventSource: the token in the query)."""
    return EventStream(f"{gateway.url}/api/events?sender={citizen.sender}&token={citizen.token}{query}", **options)


def console_origin(gateway: LiveGateway) -> dict[str, str]:
    """What the console's page sends with its requests: its origin (state-changing agent requests need it)."""
    return {"Origin": gateway.url}


def agent_client(gateway: LiveGateway, username: str) -> httpx.Client:
    # as the console page: a browser sends its Origin with every POST (bodiless ones need it)
    client = httpx.Client(base_url=gateway.url, timeout=20, headers=console_origin(gateway))
    response = client.post("/api/agent/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["username"] == username
    cookie = response.headers["set-cookie"]
    assert "govbot_agent=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    return client


def ask_for_person(gateway: LiveGateway, citizen: WebConversation) -> dict:
    """The citizen asks for a person; the ticket message the gateway added."""
    replies = chat(gateway, citizen, "转人工")
    tickets = [r for r in replies if (r.get("custom") or {}).get("kind") == "handoff_ticket"]
    assert len(tickets) == 1, replies
    return tickets[0]


# --- the whole flow -----------------------------------------------------------------------------------------------

def test_citizen_to_agent_and_back(gateway, rasa, store):
    conversation = open_conversation(gateway.url)
    alice = agent_client(gateway, "alice")
    assert chat(gateway, conversation, "办护照")[0]["text"] == "echo: 办护照"

    # the bot hands over: a ticket, its number and place in the queue, the bot's own reply kept
    replies = chat(gateway, conversation, "转人工")
    assert replies[0]["text"] == "好的，正在为您转人工客服。"
    opened = replies[-1]
    assert opened["custom"]["kind"] == "handoff_ticket" and opened["custom"]["language"] == "zh"
    number = opened["custom"]["ticket"]["number"]
    assert re.fullmatch(r"\d{8}-\d{4}", number)
    assert opened["custom"]["ticket"]["position"] == 1 and opened["custom"]["ticket"]["status"] == "waiting"
    assert opened["custom"]["ticket"]["agents_online"] == 1
    assert number in opened["text"] and "前面还有 0 位" in opened["text"]
    assert opened["buttons"] == [{"title": "取消转人工", "payload": "/cancel_handoff"}]
    to_rasa = len(rasa.received)

    # while the ticket is open the citizen's messages go into it, not to Rasa (as typed, for a call-back)
    waiting = chat(gateway, conversation, "我的护照过期了，电话13812345678")
    assert len(rasa.received) == to_rasa
    assert waiting[0]["custom"]["kind"] == "ticket" and waiting[0]["custom"]["ticket"]["position"] == 1
    assert number in waiting[0]["text"]

    queue = alice.get("/api/agent/queue").json()
    assert queue["agents_online"] >= 1 and queue["open_now"] is True
    [entry] = queue["tickets"]
    assert (entry["number"], entry["status"], entry["position"], entry["item"], entry["elderly"]) == \
        (number, "waiting", 1, "passport-apply", True)
    assert set(entry["sla"]) == {"first_response", "next_response", "resolution"}

    with EventStream(f"{gateway.url}/api/events?sender={conversation.sender}", headers=conversation.headers) as citizen:
        assert citizen.status == 200
        assert citizen.next(lambda e: e.get("event") == "ticket")["data"]["number"] == number

        claimed = alice.post(f"/api/agent/tickets/{number}/claim")
        assert claimed.status_code == 200
        assert claimed.json() == {"number": number, "status": "assigned", "agent": "alice"}
        joined = citizen.next(lambda e: e.get("event") == "handoff")
        assert joined["data"]["author"] == "system" and "Alice" in joined["data"]["text"]

        transcript = alice.get(f"/api/agent/tickets/{number}").json()
        said = [(m["author"], m["text"]) for m in transcript["messages"]]
        assert said[:4] == [("citizen", "办护照"), ("bot", "echo: 办护照"), ("citizen", "转人工"),
                            ("bot", "好的，正在为您转人工客服。")]  # the bot's turns are in the transcript
        assert ("citizen", "我的护照过期了，电话13812345678") in said
        assert transcript["ticket"]["item"] == "passport-apply"
        assert [e["action"] for e in transcript["events"]] == ["opened", "claimed"]

        replied = alice.post(f"/api/agent/tickets/{number}/reply", json={"text": "您好，请带上旧护照和身份证。"})
        assert replied.status_code == 200
        reply_id = replied.json()["id"]
        live = citizen.next(lambda e: e.get("event") == "handoff" and e["data"]["author"] == "agent")
        assert live["id"] == str(reply_id)  # an SSE id, to resume from after a reconnect
        assert live["data"]["text"] == "您好，请带上旧护照和身份证。" and live["data"]["agent"] == "Alice"
        assert live["data"]["ticket"] == {"number": number, "status": "assigned", "agent": "Alice"}  # display name

        assert chat(gateway, conversation, "好的，谢谢") == []  # with an agent: no queue message, nothing to Rasa
        assert len(rasa.received) == to_rasa
        note = alice.post(f"/api/agent/tickets/{number}/note", json={"text": "citizen is elderly"})
        assert note.status_code == 200

        closed = alice.post(f"/api/agent/tickets/{number}/close", json={"resolution": "explained the documents"})
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        # the next message the citizen gets is the closing one: the note in between stays internal
        closing = citizen.next(lambda e: e.get("event") == "handoff")
        assert closing["data"]["author"] == "system" and number in closing["data"]["text"]
        buttons = closing["data"]["buttons"]
        assert len(buttons) == 5
        assert [json.loads(b["payload"].removeprefix("/rate_ticket"))["rating"] for b in buttons] == \
            ["5", "4", "3", "2", "1"]
        assert all(json.loads(b["payload"].removeprefix("/rate_ticket"))["ticket"] == number for b in buttons)

    # Rasa was told what the agent said, as a bot event, so the bot knows the conversation
    [(told, events)] = rasa.appended
    assert told == conversation.sender
    bot_events = [e for e in events if e["event"] == "bot"]
    assert [e["text"] for e in bot_events] == ["您好，请带上旧护照和身份证。"]
    assert bot_events[0]["metadata"]["handoff_ticket"] == number

    # the citizen rates; the rating is stored, not sent to Rasa
    rated = chat(gateway, conversation, buttons[0]["payload"])
    assert rated[0]["custom"]["kind"] == "handoff_rated" and "非常满意" in rated[0]["text"]
    assert store.ticket(number).citizen_rating == 5
    assert len(rasa.received) == to_rasa
    assert chat(gateway, conversation, "还有别的问题") == [{"text": "echo: 还有别的问题", "buttons": [], "image": None,
                                                      "custom": None}]  # the bot is back
    assert len(rasa.received) == to_rasa + 1

    # a reconnecting page gets what it missed after its last event id, in order, with the rating buttons
    with events_of(gateway, conversation, headers={"Last-Event-ID": str(joined["id"])}) as again:
        replayed = again.next()
        assert replayed["id"] == str(reply_id) and replayed["data"]["author"] == "agent"
        assert replayed["data"]["agent"] == "Alice"  # the same name the live event showed, not the login
        last = again.next()
        assert last["data"]["author"] == "system" and last["data"]["buttons"] == []  # already rated
    alice.close()


def test_rate_ticket_payload_with_a_numeric_rating_and_other_citizens_cannot_rate(gateway, store):
    alice = agent_client(gateway, "alice")
    rater, other = open_conversation(gateway.url), open_conversation(gateway.url)
    number = ask_for_person(gateway, rater)["custom"]["ticket"]["number"]
    assert alice.post(f"/api/agent/tickets/{number}/claim").status_code == 200
    assert alice.post(f"/api/agent/tickets/{number}/close", json={"resolution": "done"}).status_code == 200
    assert chat(gateway, other, f'/rate_ticket{{"ticket": "{number}", "rating": "1"}}') == []
    assert chat(gateway, rater, f'/rate_ticket{{"ticket": "{number}", "rating": "9"}}') == []
    assert store.ticket(number).citizen_rating is None
    rated = chat(gateway, rater, f'/rate_ticket{{"ticket": "{number}", "rating": 4}}')
    assert rated[0]["custom"]["ticket"]["rating"] == 4
    assert store.ticket(number).citizen_rating == 4


def test_the_citizen_cancels_a_waiting_ticket(gateway, rasa, store):
    agent_client(gateway, "alice")
    citizen = open_conversation(gateway.url)
    number = ask_for_person(gateway, citizen)["custom"]["ticket"]["number"]
    [cancelled] = chat(gateway, citizen, "/cancel_handoff")
    assert cancelled["custom"]["kind"] == "handoff_closed" and number in cancelled["text"]
    ticket = store.ticket(number)
    assert (ticket.status, ticket.closed_by) == ("closed", "citizen")
    assert [sender for sender, _ in rasa.appended] == [citizen.sender]  # the bot was told to carry on
    assert chat(gateway, citizen, "hello")[0]["text"] == "echo: hello"
    assert chat(gateway, citizen, "/cancel_handoff") == []  # a stale button does nothing


def test_a_reconnecting_page_gets_rating_buttons_only_for_an_agent_closed_ticket(gateway):
    alice = agent_client(gateway, "alice")
    citizen = open_conversation(gateway.url)
    number = ask_for_person(gateway, citizen)["custom"]["ticket"]["number"]
    assert alice.post(f"/api/agent/tickets/{number}/claim").status_code == 200
    assert alice.post(f"/api/agent/tickets/{number}/release").status_code == 200
    chat(gateway, citizen, "/cancel_handoff")  # the citizen gave up: nothing to rate
    with events_of(gateway, citizen) as page:
        joined = page.next(lambda e: e.get("event") == "handoff")
        assert joined["data"]["author"] == "system" and "Alice" in joined["data"]["text"]
        assert joined["data"]["buttons"] == []
        assert joined["data"]["ticket"]["status"] == "closed"
    second = ask_for_person(gateway, citizen)["custom"]["ticket"]["number"]
    assert alice.post(f"/api/agent/tickets/{second}/claim").status_code == 200
    assert alice.post(f"/api/agent/tickets/{second}/close", json={"resolution": "done"}).status_code == 200
    with events_of(gateway, citizen, f"&after={joined['id']}") as page:
        replayed = [page.next(lambda e: e.get("event") == "handoff")["data"] for _ in range(2)]
    assert [(m["ticket"]["number"], len(m["buttons"])) for m in replayed] == [(second, 0), (second, 5)]


def test_no_agent_online_gives_the_number_a_follow_up_and_the_hotline(gateway, rasa):
    night = open_conversation(gateway.url)
    opened = ask_for_person(gateway, night)
    number = opened["custom"]["ticket"]["number"]
    assert opened["custom"]["ticket"]["agents_online"] == 0
    assert number in opened["text"] and "12345" in opened["text"] and "没有人工客服在线" in opened["text"]
    waiting = chat(gateway, night, "请回电")
    assert "12345" in waiting[0]["text"] and number in waiting[0]["text"]
    english = chat(gateway, open_conversation(gateway.url), "a person please")[-1]
    assert english["custom"]["kind"] == "handoff_ticket"
    assert english["text"].startswith("No agent is online") and "12345" in english["text"]


def test_outside_working_hours_the_citizen_is_told_when(setup):
    settings, _ = setup
    closed = settings.with_overrides(handoff_hours="mon 00:00-00:01")  # practically always closed
    with LiveGateway(closed) as live:
        agent_client(live, "alice")
        opened = ask_for_person(live, open_conversation(live.url))
    assert opened["custom"]["ticket"]["open_now"] is False
    assert "12345" in opened["text"] and "00:00以后" in opened["text"]


# --- who may do what ---------------------------------------------------------------------------------------------

AGENT_ENDPOINTS = [
    ("GET", "/api/agent/me", None), ("GET", "/api/agent/queue", None), ("GET", "/api/agent/agents", None),
    ("GET", "/api/agent/canned", None), ("GET", "/api/agent/metrics", None), ("GET", "/api/agent/events", None),
    ("GET", "/api/agent/tickets/{n}", None), ("POST", "/api/agent/tickets/{n}/claim", None),
    ("POST", "/api/agent/tickets/{n}/take_over", None), ("POST", "/api/agent/tickets/{n}/release", None),
    ("POST", "/api/agent/tickets/{n}/forward", {"to": "bob"}),
    ("POST", "/api/agent/tickets/{n}/reply", {"text": "hi"}), ("POST", "/api/agent/tickets/{n}/note", {"text": "x"}),
    ("POST", "/api/agent/tickets/{n}/close", {"resolution": "done"}),
]


def test_the_agent_api_refuses_requests_without_a_live_session(gateway, store):
    number = ask_for_person(gateway, open_conversation(gateway.url))["custom"]["ticket"]["number"]
    alice = agent_client(gateway, "alice")
    old_token = alice.cookies["govbot_agent"]
    assert alice.post("/api/agent/logout").status_code == 200
    attempts = [("none", {}), ("garbage", {"govbot_agent": "not-a-session"}),
                ("logged out", {"govbot_agent": old_token})]
    for label, cookies in attempts:
        with httpx.Client(base_url=gateway.url, headers=console_origin(gateway), cookies=cookies,
                          timeout=20) as client:
            for method, path, body in AGENT_ENDPOINTS:
                response = client.request(method, path.format(n=number), json=body)
                assert response.status_code == 401, (label, method, path, response.text)
                assert response.json()["error"]["code"] == "not_logged_in", (label, path)
            # also when the body is wrong: authentication comes first
            assert client.post(f"/api/agent/tickets/{number}/reply", json={}).status_code == 401
    ticket = store.ticket(number)
    assert (ticket.status, ticket.agent) == ("waiting", None)
    assert [m.author for m in store.transcript(number).messages] == ["citizen", "bot"]


def test_a_wrong_password_gets_no_session(gateway):
    with httpx.Client(base_url=gateway.url, headers=console_origin(gateway), timeout=20) as client:
        for body in ({"username": "alice", "password": "wrong-password"},
                     {"username": "nobody", "password": PASSWORD}):
            response = client.post("/api/agent/login", json=body)
            assert response.status_code == 401 and response.json()["error"]["code"] == "bad_credentials"
            assert "govbot_agent" not in client.cookies
        assert client.get("/api/agent/me").status_code == 401


def test_the_console_page_is_served(gateway):
    response = httpx.get(f"{gateway.url}/agent", timeout=20)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")


def test_an_agent_cannot_act_on_another_agents_ticket_without_taking_it_over(gateway, store):
    number = ask_for_person(gateway, open_conversation(gateway.url))["custom"]["ticket"]["number"]
    alice, bob = agent_client(gateway, "alice"), agent_client(gateway, "bob")
    assert alice.post(f"/api/agent/tickets/{number}/claim").status_code == 200
    refused = {
        "reply": bob.post(f"/api/agent/tickets/{number}/reply", json={"text": "hi"}),
        "close": bob.post(f"/api/agent/tickets/{number}/close", json={"resolution": "done"}),
        "release": bob.post(f"/api/agent/tickets/{number}/release"),
        "forward": bob.post(f"/api/agent/tickets/{number}/forward", json={"to": "bob"}),
        "note": bob.post(f"/api/agent/tickets/{number}/note", json={"text": "mine now"}),
    }
    for action, response in refused.items():
        assert response.status_code == 409, (action, response.text)
        assert response.json()["error"]["code"] == "not_your_ticket", action
    claim = bob.post(f"/api/agent/tickets/{number}/claim")
    assert claim.status_code == 409 and claim.json()["error"]["code"] == "already_claimed"
    assert [m.author for m in store.transcript(number).messages if m.author == "agent"] == []

    taken = bob.post(f"/api/agent/tickets/{number}/take_over")
    assert taken.status_code == 200 and taken.json()["agent"] == "bob"
    assert bob.post(f"/api/agent/tickets/{number}/reply", json={"text": "Bob here"}).status_code == 200
    late = alice.post(f"/api/agent/tickets/{number}/reply", json={"text": "me again"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "not_your_ticket"
    forwarded = bob.post(f"/api/agent/tickets/{number}/forward", json={"to": "nobody"})
    assert forwarded.status_code == 404 and forwarded.json()["error"]["code"] == "no_such_agent"
    events = bob.get(f"/api/agent/tickets/{number}").json()["events"]
    assert [(e["actor"], e["action"], e["detail"]) for e in events] == [
        ("system", "opened", "user_request"), ("alice", "claimed", None), ("bob", "took_over", "from alice")]
    missing = bob.post("/api/agent/tickets/20200101-0001/claim")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_such_ticket"
    empty = bob.post(f"/api/agent/tickets/{number}/close", json={"resolution": "   "})
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "resolution_required"
    assert store.ticket(number).status == "assigned"


def test_two_agents_claiming_at_once_over_http_exactly_one_wins(gateway, store):
    alice, bob = agent_client(gateway, "alice"), agent_client(gateway, "bob")
    clients, names = [alice, bob], ["alice", "bob"]
    trials = 10
    for trial in range(trials):
        number = ask_for_person(gateway, open_conversation(gateway.url))["custom"]["ticket"]["number"]
        results = race(2, lambda i, number=number: clients[i].post(f"/api/agent/tickets/{number}/claim"))
        assert all(kind == "ok" for kind, _ in results), results
        statuses = sorted(response.status_code for _, response in results)
        assert statuses == [200, 409], (trial, [r.text for _, r in results])
        winner = next(names[i] for i, (_, r) in enumerate(results) if r.status_code == 200)
        loser = next(r for _, r in results if r.status_code == 409)
        assert loser.json()["error"]["code"] == "already_claimed"
        transcript = store.transcript(number)
        assert transcript.ticket.agent == winner
        assert [e.actor for e in transcript.events if e.action == "claimed"] == [winner]
        assert len([m for m in transcript.messages if m.author == "system"]) == 1  # one "agent joined" message


def test_metrics_and_canned_replies_for_a_logged_in_agent(gateway):
    alice = agent_client(gateway, "alice")
    number = ask_for_person(gateway, open_conversation(gateway.url))["custom"]["ticket"]["number"]
    alice.post(f"/api/agent/tickets/{number}/claim")
    alice.post(f"/api/agent/tickets/{number}/reply", json={"text": "hello"})
    result = alice.get("/api/agent/metrics").json()
    assert result["tickets"] == 1 and result["answered"] == 1 and result["answered_within_target"] == 1
    canned = alice.get("/api/agent/canned").json()
    assert set(canned) == {"zh", "en"} and canned["zh"]
    assert alice.get("/api/agent/metrics", params={"days": 0}).status_code == 400


def test_agent_console_gets_live_queue_events(gateway):
    alice = agent_client(gateway, "alice")
    with EventStream(f"{gateway.url}/api/agent/events", cookies=dict(alice.cookies)) as console:
        assert console.next()["event"] == "hello"
        citizen = open_conversation(gateway.url)
        number = ask_for_person(gateway, citizen)["custom"]["ticket"]["number"]
        assert console.next(lambda e: e.get("event") == "queue")["data"]["ticket"] == number
        chat(gateway, citizen, "anyone?")
        assert console.next(lambda e: e.get("event") == "message")["data"]["ticket"] == number


# --- a restart ----------------------------------------------------------------------------------------------------

def test_a_restarted_gateway_loses_nothing(setup, rasa):
    settings, store = setup
    with LiveGateway(settings) as first:
        conversation = open_conversation(first.url)  # its token is valid on the second gateway: the same secret
        alice = agent_client(first, "alice")
        cookies = dict(alice.cookies)
        number = ask_for_person(first, conversation)["custom"]["ticket"]["number"]
        chat(first, conversation, "第一条留言")
        assert alice.post(f"/api/agent/tickets/{number}/claim").status_code == 200
        first_reply = alice.post(f"/api/agent/tickets/{number}/reply", json={"text": "我在看"}).json()["id"]
        alice.close()
    to_rasa = len(rasa.received)

    with LiveGateway(settings) as second:  # a new process in effect: new app, new store, same database
        assert second.app is not first.app
        assert chat(second, conversation, "重启后的留言") == []  # still routed to the agent's ticket
        assert len(rasa.received) == to_rasa
        with httpx.Client(base_url=second.url, headers=console_origin(second), cookies=cookies,
                          timeout=20) as alice:  # the session survived
            [entry] = alice.get("/api/agent/queue").json()["tickets"]
            assert (entry["number"], entry["status"], entry["agent"]) == (number, "assigned", "alice")
            said = [(m["author"], m["text"]) for m in alice.get(f"/api/agent/tickets/{number}").json()["messages"]]
            assert ("citizen", "第一条留言") in said and ("agent", "我在看") in said
            assert said[-1] == ("citizen", "重启后的留言")
            with events_of(second, conversation, f"&after={first_reply}") as citizen:
                second_reply = alice.post(f"/api/agent/tickets/{number}/reply", json={"text": "收到"}).json()["id"]
                live = citizen.next(lambda e: e.get("event") == "handoff")
                assert live["id"] == str(second_reply) and live["data"]["text"] == "收到"
            with events_of(second, conversation) as replay:  # from the start
                texts = [replay.next(lambda e: e.get("event") == "handoff")["data"]["text"] for _ in range(3)]
                assert texts[1:] == ["我在看", "收到"]
            assert alice.post(f"/api/agent/tickets/{number}/close", json={"resolution": "ok"}).status_code == 200
        assert chat(second, conversation, "bot again")[0]["text"] == "echo: bot again"
    transcript = store.transcript(number)
    assert [m.text for m in transcript.messages if m.author in ("citizen", "agent")][-4:] == \
        ["第一条留言", "我在看", "重启后的留言", "收到"]
