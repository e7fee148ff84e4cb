"""Web conversations belong to whoever started them: POST /api/conversations, and the token that /api/chat and
/api/events require (401 without one, 403 for another conversation, never another channel's user); the event
stream's Last-Event-ID and after= never cause a 500. (/api/voice's refusals: test_voice_api.py.)"""

import httpx
import pytest
from fastapi.testclient import TestClient

from channels.gateway import create_app
from channels.web.event_routes import MAX_EVENT_ID
from channels.web.identity import COOKIE
from core.database import database_url
from core.settings import Settings
from handoff.store import TicketStore
from testkit.handoff import EventStream, LiveGateway
from testkit.helpers import FakeRasa, WebConversation, open_conversation

SECRET = "identity-tests-conversation-secret"
PASSWORD = "violet-harbour-ladder-93"
HANDOFF = {"kind": "handoff", "language": "zh", "mode": {"large_text": False, "voice": False},
           "handoff": {"reason": "user_request", "item": "passport-apply", "language": "zh"}}


def bot_reply(sender: str, message: str) -> list[dict]:
    if message == "转人工":
        return [{"recipient_id": sender, "text": "好的，正在为您转人工客服。"},
                {"recipient_id": sender, "custom": HANDOFF}]
    return [{"recipient_id": sender, "text": f"echo: {message}"}]


@pytest.fixture
def rasa():
    fake = FakeRasa(reply=bot_reply)
    with fake.serving() as url:
        fake.url = url
        yield fake


@pytest.fixture
def settings(rasa, tmp_path) -> Settings:
    return Settings(rasa_url=rasa.url, var_dir=tmp_path / "var", tts_gtts=False, conversation_secret=SECRET,
                    handoff_heartbeat_seconds=0.3)


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


def tampered(token: str) -> str:
    """The token with one character of its MAC changed."""
    mac_start = token.rindex(".") + 1
    return token[:mac_start] + ("B" if token[mac_start] == "A" else "A") + token[mac_start + 1:]


def chat(client: httpx.Client, sender: str, headers: dict | None = None, text: str = "你好") -> httpx.Response:
    return client.post("/api/chat", json={"sender": sender, "text": text}, headers=headers or {})


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# --- starting a conversation ----------------------------------------------------------------------------------

def test_a_new_conversation_gets_a_random_web_sender_a_token_and_an_httponly_cookie(client):
    response = client.post("/api/conversations")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"sender", "token"} and body["sender"].startswith("web:")
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={body['token']};")
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= set(attributes)
    assert attributes["samesite"].lower() == "samesite=strict" and attributes["path"] == "Path=/api"
    assert int(attributes["max-age"].split("=")[1]) >= 24 * 3600
    assert "secure" not in attributes  # plain HTTP here: a Secure cookie would never come back
    again = client.post("/api/conversations", json={}).json()  # an empty JSON object is fine too
    assert again["sender"] != body["sender"] and again["token"] != body["token"]


def test_behind_tls_the_cookie_is_secure(settings):
    with TestClient(create_app(settings.with_overrides(behind_tls=True))) as client:
        cookie = client.post("/api/conversations").headers["set-cookie"]
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


def test_the_openapi_description_has_the_new_endpoint_and_the_refusals(settings):
    with TestClient(create_app(settings.with_overrides(openapi=True))) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert "201" in paths["/api/conversations"]["post"]["responses"]
    assert {"401", "403"} <= set(paths["/api/chat"]["post"]["responses"])
    assert {"401", "403"} <= set(paths["/api/events"]["get"]["responses"])


# --- /api/chat ------------------------------------------------------------------------------------------------

def test_chat_works_with_the_conversations_own_token(client, rasa):
    conversation = open_conversation(client)
    response = chat(client, conversation.sender, conversation.headers)
    assert response.status_code == 200 and response.json()["sender"] == conversation.sender
    assert rasa.received[-1]["sender"] == conversation.sender


def test_chat_without_a_token_or_with_a_bad_one_gets_401(client, rasa):
    conversation = open_conversation(client)
    missing = chat(client, conversation.sender)
    assert error_of(missing) == (401, "missing_token")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for header in (f"Bearer {tampered(conversation.token)}", "Bearer not-a-token", "Bearer ",
                   f"Basic {conversation.token}"):
        assert error_of(chat(client, conversation.sender, {"Authorization": header})) == (401, "bad_token"), header
    # authentication comes before the body is looked at
    assert error_of(client.post("/api/chat", json={"text": 42})) == (401, "missing_token")
    assert rasa.received == []


def test_another_conversations_token_gets_403_and_nothing_reaches_rasa(client, rasa):
    mine, theirs = open_conversation(client), open_conversation(client)
    assert error_of(chat(client, theirs.sender, mine.headers)) == (403, "wrong_conversation")
    assert rasa.received == []


@pytest.mark.parametrize("sender", ["telegram:123456789", "telegram:1", "voice:1", "web-1", "agent:alice"])
def test_a_web_client_cannot_speak_for_another_channels_user(client, rasa, sender):
    mine = open_conversation(client)
    assert error_of(chat(client, sender, mine.headers)) == (403, "wrong_conversation")
    assert error_of(chat(client, sender)) == (401, "missing_token")
    assert rasa.received == []


def test_the_cookie_alone_is_enough_and_a_header_wins_over_it(client, rasa):
    issued = client.post("/api/conversations").json()  # the client keeps the cookie, as a browser does
    assert chat(client, issued["sender"]).status_code == 200
    other = open_conversation(client)  # (removes the cookie from the client again)
    client.cookies.set(COOKIE, issued["token"], path="/api")
    assert chat(client, other.sender, other.headers).status_code == 200  # the Bearer header decides
    assert error_of(chat(client, other.sender)) == (403, "wrong_conversation")  # the cookie is the first one's
    client.cookies.set(COOKIE, "garbage", path="/api")
    assert error_of(chat(client, issued["sender"])) == (401, "bad_token")


def test_a_token_in_the_query_is_accepted_only_by_the_event_stream(client, rasa):
    conversation = open_conversation(client)
    response = client.post(f"/api/chat?token={conversation.token}", json={"sender": conversation.sender,
                                                                          "text": "你好"})
    assert error_of(response) == (401, "missing_token")
    assert rasa.received == []


def test_tokens_survive_a_new_gateway_with_the_same_secret_and_not_a_changed_one(settings, rasa):
    with TestClient(create_app(settings)) as first:
        conversation = open_conversation(first)
    with TestClient(create_app(settings)) as second:
        assert chat(second, conversation.sender, conversation.headers).status_code == 200
    with TestClient(create_app(settings.with_overrides(conversation_secret="a new secret"))) as rotated:
        assert error_of(chat(rotated, conversation.sender, conversation.headers)) == (401, "bad_token")


# --- /api/events: nobody reads another citizen's handoff ---------------------------------------------------------

@pytest.fixture
def live(settings):
    store = TicketStore(database_url(settings))
    store.add_agent("alice", PASSWORD, "Alice")
    with LiveGateway(settings) as gateway:
        yield gateway
    store.engine.dispose()


def console_origin(gateway: LiveGateway) -> dict[str, str]:
    """What the console's page sends with its requests: its origin (state-changing agent requests need it)."""
    return {"Origin": gateway.url}


def handed_over(live: LiveGateway) -> tuple[WebConversation, str]:
    """A citizen whose ticket an agent claimed and answered: (the conversation, the agent's reply)."""
    citizen = open_conversation(live.url)
    replies = httpx.post(f"{live.url}/api/chat", json={"sender": citizen.sender, "text": "转人工"},
                         headers=citizen.headers, timeout=20).json()["messages"]
    ticket = next(r for r in replies if (r.get("custom") or {}).get("kind") == "handoff_ticket")["custom"]["ticket"]
    with httpx.Client(base_url=live.url, headers=console_origin(live), timeout=20) as alice:
        assert alice.post("/api/agent/login", json={"username": "alice", "password": PASSWORD}).status_code == 200
        assert alice.post(f"/api/agent/tickets/{ticket['number']}/claim").status_code == 200
        reply = "请带身份证原件到三号窗口办理"
        assert alice.post(f"/api/agent/tickets/{ticket['number']}/reply", json={"text": reply}).status_code == 200
    return citizen, reply


def test_another_citizen_cannot_replay_a_handoff_conversation(live):
    victim, reply = handed_over(live)
    attacker = open_conversation(live.url)
    url = f"{live.url}/api/events?sender={victim.sender}"
    attempts = {
        "no token": httpx.get(url, timeout=10),
        "own token, victim's sender": httpx.get(url, headers=attacker.headers, timeout=10),
        "own token in the query": httpx.get(f"{url}&token={attacker.token}", timeout=10),
        "own cookie": httpx.get(url, cookies={COOKIE: attacker.token}, timeout=10),
        "forged token": httpx.get(f"{url}&token={tampered(victim.token)}", timeout=10),
    }
    for label, response in attempts.items():
        assert response.status_code in (401, 403), label
        assert response.headers["content-type"].startswith("application/json"), label
        assert reply not in response.text and "Alice" not in response.text, label
    assert error_of(attempts["own token, victim's sender"]) == (403, "wrong_conversation")
    assert error_of(attempts["no token"]) == (401, "missing_token")
    assert error_of(attempts["forged token"]) == (401, "bad_token")
    # the victim's own page (EventSource: the token in the query) gets the whole replay
    with EventStream(f"{url}&token={victim.token}") as page:
        assert page.status == 200
        assert page.next(lambda e: e.get("event") == "handoff" and e["data"]["author"] == "agent")["data"]["text"] \
            == reply


def test_the_event_stream_takes_the_token_from_a_header_or_the_cookie_too(live):
    citizen, reply = handed_over(live)
    url = f"{live.url}/api/events?sender={citizen.sender}"
    for options in ({"headers": citizen.headers}, {"cookies": {COOKIE: citizen.token}}):
        with EventStream(url, **options) as page:
            assert page.status == 200, options
            assert page.next(lambda e: e.get("data", {}).get("author") == "agent")["data"]["text"] == reply


@pytest.mark.parametrize("last_event_id", [
    "²".encode("latin-1"),  # the server reads headers as Latin-1: "²" passes str.isdigit() and int() fails on it
    "٣".encode(), "１２".encode(), b"-5", b"9" * 30, str(MAX_EVENT_ID + 1).encode(), b"12abc"])
def test_a_strange_last_event_id_replays_from_the_start_instead_of_failing(live, last_event_id):
    citizen, reply = handed_over(live)
    with EventStream(f"{live.url}/api/events?sender={citizen.sender}&token={citizen.token}",
                     headers={"Last-Event-ID": last_event_id}) as page:
        assert page.status == 200
        assert page.next(lambda e: e.get("data", {}).get("author") == "agent")["data"]["text"] == reply


@pytest.mark.parametrize("after", ["٣", "²", "-1", "1.5", "9" * 30, str(MAX_EVENT_ID + 1), "x"])
def test_a_strange_after_is_a_400_not_a_500(live, after):
    citizen = open_conversation(live.url)
    response = httpx.get(f"{live.url}/api/events", params={"sender": citizen.sender, "after": after},
                         headers=citizen.headers, timeout=10)
    status, code = error_of(response)
    assert status == 400 and code.startswith("invalid_") and code.endswith("after"), code
