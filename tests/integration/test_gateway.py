"""The gateway's chat API: validation, forwarding to Rasa, and Rasa being down or slow."""

import re
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from channels.common.rasa_replicas import replica_of
from channels.gateway import MAX_BODY_BYTES, create_app
from core.settings import Settings
from testkit.helpers import FakeRasa, free_port, open_conversation


def client_for(rasa_url: str, **settings: object) -> TestClient:
    return TestClient(create_app(Settings(rasa_url=rasa_url, **settings)))


def post_chat(client: TestClient, text: str) -> tuple[str, httpx.Response]:
    """Send text in a new web conversation: (its sender, the response)."""
    conversation = open_conversation(client)
    response = client.post("/api/chat", json={"sender": conversation.sender, "text": text},
                           headers=conversation.headers)
    return conversation.sender, response


@pytest.fixture
def fake_rasa():
    rasa = FakeRasa(reply=lambda sender, message: [
        {"recipient_id": sender, "text": f"echo: {message}"},
        {"recipient_id": sender, "text": "pick one",
         "buttons": [{"title": "ID card", "payload": "/choose{\"item\":\"id\"}"}],
         "custom": {"mode": "large"}},
    ])
    with rasa.serving() as url:
        yield rasa, url


def test_chat_forwards_message_and_returns_replies(fake_rasa):
    rasa, url = fake_rasa
    with client_for(url) as client:
        sender, response = post_chat(client, "  你好  ")
    assert response.status_code == 200
    body = response.json()
    assert body["sender"] == sender
    assert body["messages"][0]["text"] == "echo: 你好"
    assert body["messages"][1]["buttons"] == [{"title": "ID card", "payload": "/choose{\"item\":\"id\"}"}]
    assert body["messages"][1]["custom"] == {"mode": "large"}
    [received] = rasa.received
    request_id = received["metadata"].pop("request_id")
    assert received == {"sender": sender, "message": "你好", "metadata": {"channel": "web"}}
    assert re.fullmatch(r"[0-9a-f]{32}", request_id) and response.headers["X-Request-Id"] == request_id


def test_a_valid_x_request_id_goes_to_rasa_and_back_and_an_invalid_one_is_replaced(fake_rasa):
    rasa, url = fake_rasa
    given = "m-0f3c2a1e-9b7d-4c1e-8f00-123456789abc"
    with client_for(url) as client:
        conversation = open_conversation(client)
        sent = [client.post("/api/chat", json={"sender": conversation.sender, "text": "你好"},
                            headers={**conversation.headers, "X-Request-Id": header})
                for header in (given, given, "no spaces allowed", "x" * 65)]
    assert all(response.status_code == 200 for response in sent)
    ids = [body["metadata"]["request_id"] for body in rasa.received]
    assert ids[:2] == [given, given]  # a retry keeps its id (Rasa answers it once: bot/rasa_patches.py)
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids[2:]) and ids[2] != ids[3]
    assert [response.headers["X-Request-Id"] for response in sent] == ids


def test_a_rasa_server_down_is_failed_over_with_the_same_request_id(fake_rasa):
    rasa, url = fake_rasa
    down = f"http://127.0.0.1:{free_port()}"
    with client_for(f"{down},{url}", rate_new_conversations=100) as client:
        conversations = [open_conversation(client) for _ in range(40)]
        on_down = [c for c in conversations if replica_of(c.sender, 2) == 0][:3]
        answered = [client.post("/api/chat", json={"sender": c.sender, "text": "你好"},
                                headers={**c.headers, "X-Request-Id": f"r-{n}"})
                    for n, c in enumerate(on_down)]
        health = client.get("/health").json()
    assert len(on_down) == 3 and [response.status_code for response in answered] == [200] * 3
    assert [(body["sender"], body["metadata"]["request_id"]) for body in rasa.received] == \
        [(c.sender, f"r-{n}") for n, c in enumerate(on_down)]
    assert health["rasa"] == "degraded"  # one of the two servers answers: messages are still answered


@pytest.mark.parametrize("payload, code", [
    ({"sender": "OWN", "text": ""}, "empty_text"),
    ({"sender": "OWN", "text": "   \n\t "}, "empty_text"),
    ({"sender": "OWN"}, "missing_field"),
    ({"text": "hello"}, "missing_field"),
    ({"sender": "OWN", "text": 42}, "invalid_text"),
    ({"sender": "OWN", "text": "hi", "admin": True}, "unknown_field"),
    ({"sender": "", "text": "hi"}, "invalid_sender"),
    ({"sender": "../../etc/passwd", "text": "hi"}, "invalid_sender"),
    ({"sender": "x" * 65, "text": "hi"}, "invalid_sender"),
])
def test_invalid_requests_get_400_with_a_clear_error(fake_rasa, payload, code):
    rasa, url = fake_rasa
    with client_for(url) as client:
        conversation = open_conversation(client)  # with a valid token: the body's faults are what is refused
        if payload.get("sender") == "OWN":
            payload = {**payload, "sender": conversation.sender}
        response = client.post("/api/chat", json=payload, headers=conversation.headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert rasa.received == []  # nothing invalid reaches Rasa


def test_text_over_the_limit_is_rejected_and_the_limit_itself_accepted(fake_rasa):
    rasa, url = fake_rasa
    with client_for(url) as client:
        _, too_long = post_chat(client, "办" * 2001)
        _, at_limit = post_chat(client, "办" * 2000)
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "text_too_long"
    assert "2000" in too_long.json()["error"]["message"]
    assert at_limit.status_code == 200
    assert len(rasa.received) == 1


def test_limit_is_configurable(fake_rasa):
    _, url = fake_rasa
    with client_for(url, max_message_chars=10) as client:
        _, response = post_chat(client, "hello world!")
    assert response.json()["error"]["code"] == "text_too_long"


@pytest.mark.parametrize("body, content_type, code", [
    (b"this is not json", "application/json", "invalid_json"),
    (b'{"sender": "web:1", "text": "hi"', "application/json", "invalid_json"),
    (b'["web:1", "hi"]', "application/json", "invalid_body"),
    (b'"just a string"', "application/json", "invalid_body"),
    (b"sender=web:1&text=hi", "application/x-www-form-urlencoded", "invalid_body"),
])
def test_non_json_bodies_get_400(fake_rasa, body, content_type, code):
    rasa, url = fake_rasa
    with client_for(url) as client:
        conversation = open_conversation(client)
        response = client.post("/api/chat", content=body,
                               headers={"Content-Type": content_type, **conversation.headers})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert rasa.received == []


def test_huge_body_is_refused_before_parsing(fake_rasa):
    rasa, url = fake_rasa
    with client_for(url) as client:
        response = client.post("/api/chat", content=b"{" + b" " * (MAX_BODY_BYTES + 1) + b"}",
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert rasa.received == []


def test_rasa_down_gives_503_with_a_clear_message():
    with client_for(f"http://127.0.0.1:{free_port()}") as client:
        _, response = post_chat(client, "你好")
        health = client.get("/health")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "rasa_unavailable"
    assert "12345" in error["message"]
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])
    assert health.status_code == 200
    assert health.json()["rasa"] == "down"


def test_rasa_that_never_answers_gives_503_instead_of_hanging():
    slow = FakeRasa(delay=30.0)
    with slow.serving() as url, client_for(url, rasa_timeout=0.5) as client:
        conversation = open_conversation(client)
        started = time.monotonic()
        response = client.post("/api/chat", json={"sender": conversation.sender, "text": "hello"},
                               headers=conversation.headers)
        waited = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "rasa_unavailable"
    assert waited < slow.delay  # it gave up instead of waiting for the stalled server


def test_rasa_error_status_gives_503():
    broken = FakeRasa(status=500)
    with broken.serving() as url, client_for(url) as client:
        _, response = post_chat(client, "hello")
    assert response.status_code == 503


def test_health_reports_rasa_up(fake_rasa):
    _, url = fake_rasa
    with client_for(url) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["rasa"] == "up"


def test_chat_page_is_served_with_its_assets(fake_rasa):
    _, url = fake_rasa
    with client_for(url) as client:
        page = client.get("/")
        modules = {name: client.get(f"/static/{name}") for name in ("chat.js", "conversation.js", "i18n.js",
                                                                     "render.js", "speech.js", "store.js", "chat.css")}
    assert page.status_code == 200
    assert 'role="log"' in page.text and 'role="status"' in page.text and '<label for="text"' in page.text
    assert all(response.status_code == 200 for response in modules.values())
    assert all("javascript" in modules[name].headers["content-type"] for name in modules if name.endswith(".js"))
    assert "/api/chat" in modules["chat.js"].text and "/api/tts" in modules["speech.js"].text
    assert "/api/conversations" in modules["conversation.js"].text
    # nothing from a CDN: every address the page and its scripts use is on the gateway itself
    for text in [page.text, *(response.text for response in modules.values())]:
        assert not re.search(r"""(src|href)=["']https?://|import[^;]+from\s+["']https?://|url\(["']?https?://""", text)


def test_a_reply_and_its_payload_arrive_as_one_message():
    rasa = FakeRasa(reply=lambda sender, message: [
        {"recipient_id": sender, "text": "护照首次申请\n1. 预约"},
        {"recipient_id": sender, "custom": {"kind": "answer", "item": "passport-apply"}},
        {"recipient_id": sender, "custom": {"kind": "extra"}},
        {"recipient_id": sender, "text": "second reply"},
    ])
    with rasa.serving() as url, client_for(url) as client:
        messages = post_chat(client, "护照")[1].json()["messages"]
    assert [(m["text"], m["custom"]) for m in messages] == [
        ("护照首次申请\n1. 预约", {"kind": "answer", "item": "passport-apply"}),
        (None, {"kind": "extra"}),  # a second payload has nothing left to attach to
        ("second reply", None)]
