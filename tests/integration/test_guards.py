"""The gateway's guards through the real app (channels.gateway.create_app, a fake Rasa behind it): rate limits with
429 and Retry-After, caps on live streams and voice, request bodies counted as they arrive, security headers,
text that used to crash, the OpenAPI switch. Streams, voice and chunked bodies use a real uvicorn on loopback."""

import asyncio
import json
import socket
import threading
import time
from typing import Awaitable, Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from channels.gateway import create_app, server_config
from channels.voice.audio import AudioError
from channels.voice.tts import SpeechError, TextToSpeech
from channels.web.guards import client_key, content_security_policy
from core.settings import Settings
from testkit.helpers import FakeRasa, WebConversation, free_port, open_conversation
from tests.integration.test_header_timeout import PATIENCE, read_until_closed, serving

ROOMY = {"rate_per_client": 10_000, "rate_per_conversation": 10_000, "rate_tts": 10_000,
         "rate_new_conversations": 10_000, "rate_login": 10_000}


@pytest.fixture
def rasa():
    fake = FakeRasa()
    with fake.serving() as url:
        yield fake, url


def settings_for(rasa_url: str, tmp_path, **overrides: object) -> Settings:
    return Settings(**{"rasa_url": rasa_url, "var_dir": tmp_path, "tts_gtts": False, **ROOMY, **overrides})


def client_for(rasa_url: str, tmp_path, **overrides: object) -> TestClient:
    return TestClient(create_app(settings_for(rasa_url, tmp_path, **overrides)))


def chat(client: TestClient, conversation: WebConversation, text: str = "hello") -> httpx.Response:
    return client.post("/api/chat", json={"sender": conversation.sender, "text": text}, headers=conversation.headers)


def refused_with(response: httpx.Response, code: str) -> int:
    """Assert a 429 in the envelope with a Retry-After; its seconds."""
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    seconds = int(response.headers["retry-after"])
    assert seconds >= 1
    return seconds


# --- rate limits -----------------------------------------------------------------------------------------------

def test_a_conversation_sending_too_fast_gets_429_and_the_bot_never_sees_it(rasa, tmp_path):
    fake, url = rasa
    with client_for(url, tmp_path, rate_per_conversation=3) as client:
        mine, other = open_conversation(client), open_conversation(client)
        statuses = [chat(client, mine).status_code for _ in range(3)]
        limited = chat(client, mine)
        others = chat(client, other)  # another conversation from the same address has its own allowance
    assert statuses == [200, 200, 200]
    assert 15 <= refused_with(limited, "rate_limited") <= 20  # 3 a minute: the next in 20 s
    assert others.status_code == 200
    assert len(fake.received) == 4


def test_the_cookie_counts_as_the_conversation_too(rasa, tmp_path):
    _, url = rasa
    with client_for(url, tmp_path, rate_per_conversation=2) as client:
        conversation = open_conversation(client)
        client.cookies.set("govbot_conversation", conversation.token, path="/api")
        body = {"sender": conversation.sender, "text": "hi"}
        statuses = [client.post("/api/chat", json=body).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_chat_voice_and_speech_share_the_address_allowance(rasa, tmp_path):
    _, url = rasa
    with client_for(url, tmp_path, rate_per_client=4) as client:
        conversations = [open_conversation(client) for _ in range(3)]
        statuses = [chat(client, conversation).status_code for conversation in conversations]
        statuses.append(client.post("/api/tts", json={"text": "hi", "language": "en"}).status_code)
        limited_chat = chat(client, conversations[0])
        limited_voice = client.post("/api/voice", data={"sender": conversations[0].sender},
                                    files={"audio": ("v.webm", b"x", "audio/webm")},
                                    headers=conversations[0].headers)
        limited_speech = client.post("/api/tts", json={"text": "hi", "language": "en"})
        health = client.get("/health")  # not limited
    assert statuses == [200, 200, 200, 200]
    for response in (limited_chat, limited_voice, limited_speech):
        refused_with(response, "rate_limited")
    assert health.status_code == 200


def test_speech_has_its_own_lower_allowance(rasa, tmp_path):
    _, url = rasa
    with client_for(url, tmp_path, rate_tts=2) as client:
        speech = [client.post("/api/tts", json={"text": "hi", "language": "en"}) for _ in range(3)]
        conversation = open_conversation(client)
        after = chat(client, conversation)
    assert [response.status_code for response in speech[:2]] == [200, 200]
    assert 25 <= refused_with(speech[2], "rate_limited") <= 30
    assert after.status_code == 200


def test_new_conversations_are_limited_per_hour(rasa, tmp_path):
    _, url = rasa
    with client_for(url, tmp_path, rate_new_conversations=2) as client:
        responses = [client.post("/api/conversations") for _ in range(3)]
    assert [response.status_code for response in responses[:2]] == [201, 201]
    assert 1700 <= refused_with(responses[2], "rate_limited") <= 1800  # 2 an hour: the next in 30 minutes
    assert "no-store" in responses[2].headers["cache-control"]


def test_agent_logins_are_limited_per_address_whatever_the_password(rasa, tmp_path):
    _, url = rasa
    with client_for(url, tmp_path, rate_login=3) as client:
        tries = [client.post("/api/agent/login", json={"username": f"agent{number}", "password": "wrong" * 3},
                             headers={"Origin": "http://testserver"}) for number in range(4)]
    assert all(response.status_code in (401, 403) for response in tries[:3])
    refused_with(tries[3], "rate_limited")


def test_limits_are_counted_per_app_and_refusals_are_logged_without_the_address(rasa, tmp_path, caplog):
    _, url = rasa
    with client_for(url, tmp_path, rate_tts=1) as client:
        client.post("/api/tts", json={"text": "hi", "language": "en"})
        with caplog.at_level("INFO", logger="govbot.gateway"):
            refused_with(client.post("/api/tts", json={"text": "hi", "language": "en"}), "rate_limited")
    [record] = [record for record in caplog.records if record.getMessage() == "rate_limited"]
    assert record.fields["path"] == "/api/tts" and "testclient" not in json.dumps(record.fields)


@pytest.mark.parametrize("address, key", [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),  # one IPv6 network: one caller
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("testclient", "testclient"),
])
def test_a_caller_is_its_address_and_an_ipv6_caller_its_network(address, key):
    assert client_key({"client": (address, 1234)}) == key
    assert client_key({}) == "unknown"


# --- text that used to crash -------------------------------------------------------------------------------------

@pytest.mark.parametrize("escaped", ["\\ud800", "\\udfff", "a\\u0000b", "\\u001b[31mred", "x\\u007f", "\\ud83d"])
def test_control_characters_and_lone_surrogates_in_chat_are_400(rasa, tmp_path, escaped):
    fake, url = rasa
    with client_for(url, tmp_path) as client:
        conversation = open_conversation(client)
        raw = f'{{"sender": "{conversation.sender}", "text": "{escaped}"}}'.encode()  # JSON text, as sent
        response = client.post("/api/chat", content=raw,
                               headers={"content-type": "application/json", **conversation.headers})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_text"
    assert fake.received == []


def test_ordinary_text_with_tabs_line_breaks_emoji_and_joiners_still_passes(rasa, tmp_path):
    fake, url = rasa
    with client_for(url, tmp_path) as client:
        conversation = open_conversation(client)
        text = "第一行\r\n第二行\t👨\u200d👩\u200d👧 😀"
        raw = json.dumps({"sender": conversation.sender, "text": text})  # 😀 travels as the pair "\ud83d\ude00"
        assert "\\ud83d\\ude00" in raw
        response = client.post("/api/chat", content=raw.encode(),
                               headers={"content-type": "application/json", **conversation.headers})
    assert response.status_code == 200 and fake.received[0]["message"] == text


def test_a_surrogate_in_a_field_name_or_a_body_that_is_not_utf8_is_400_in_the_envelope(rasa, tmp_path):
    _, url = rasa
    with client_for(url, tmp_path) as client:
        conversation = open_conversation(client)
        headers = {"content-type": "application/json", **conversation.headers}
        bodies = [f'{{"sender": "{conversation.sender}", "text": "x", "\\ud800": 1}}'.encode(),
                  f'{{"sender": "{conversation.sender}", "text": "\xff"}}'.encode("latin-1")]
        responses = [client.post("/api/chat", content=body, headers=headers) for body in bodies]
    for response in responses:
        assert response.status_code == 400 and "error" in response.json()


def test_unknown_paths_and_methods_answer_in_the_envelope(rasa, tmp_path):
    _, url = rasa
    with client_for(url, tmp_path) as client:
        missing, wrong = client.get("/no/such/page"), client.get("/api/chat")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "POST"


# --- headers -----------------------------------------------------------------------------------------------------

def test_every_response_has_the_security_headers(rasa, tmp_path):
    _, url = rasa
    with client_for(url, tmp_path) as client:
        conversation = open_conversation(client)
        responses = {"/": client.get("/"), "/agent": client.get("/agent"), "/static/chat.js": client.get(
            "/static/chat.js"), "/health": client.get("/health"), "/api/chat": chat(client, conversation),
            "/api/chat 401": client.post("/api/chat", json={"sender": conversation.sender, "text": "x"}),
            "/api/agent/me": client.get("/api/agent/me"), "404": client.get("/nothing")}
    for name, response in responses.items():
        headers = response.headers
        assert headers["content-security-policy"] == content_security_policy(""), name
        assert "frame-ancestors 'none'" in headers["content-security-policy"] and "'unsafe-inline'" not in \
            headers["content-security-policy"], name
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["referrer-policy"] == "no-referrer", name
        assert headers["x-frame-options"] == "DENY", name
        assert headers["permissions-policy"].endswith("microphone=(self)"), name
        assert "strict-transport-security" not in headers, name
    assert responses["/api/agent/me"].headers["cache-control"] == "no-store"
    assert "no-store" not in responses["/static/chat.js"].headers.get("cache-control", "")


def test_the_chat_page_may_be_framed_by_the_widget_hosts_only_and_the_console_never(rasa, tmp_path):
    _, url = rasa
    hosts = "https://www.example.gov.cn https://*.example.gov.cn:8443"
    with client_for(url, tmp_path, frame_ancestors=hosts, behind_tls=True) as client:
        page, console, api = client.get("/"), client.get("/agent"), client.get("/api/agent/queue")
    assert page.headers["content-security-policy"].endswith(f"frame-ancestors {hosts}")
    assert "x-frame-options" not in page.headers
    for response in (console, api):
        assert response.headers["content-security-policy"].endswith("frame-ancestors 'none'")
        assert response.headers["x-frame-options"] == "DENY"
    assert page.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize("bad", ["https://a.cn; script-src *", "*", "javascript:alert(1)", "'unsafe-inline'"])
def test_frame_ancestors_that_are_not_origins_are_refused_at_start(tmp_path, bad):
    with pytest.raises(ValueError, match="GOVBOT_FRAME_ANCESTORS"):
        create_app(Settings(var_dir=tmp_path, tts_gtts=False, frame_ancestors=bad))


def test_the_pages_need_nothing_the_policy_forbids():
    """No inline scripts, styles or event handlers in the pages; the scripts set no inline style attributes."""
    from channels.web.chat_routes import STATIC_DIR

    for page in ("index.html", "agent.html"):
        html = (STATIC_DIR / page).read_text(encoding="utf-8")
        assert "<style" not in html and " style=" not in html and " on" not in html.replace(" only", "")
        assert all('src="/static/' in tag for tag in html.split("<script")[1:])
    for script in STATIC_DIR.glob("*.js"):
        code = script.read_text(encoding="utf-8")
        assert "eval(" not in code and "new Function" not in code and "setAttribute(\"style\"" not in code


def test_openapi_is_off_unless_configured(rasa, tmp_path):
    _, url = rasa
    with client_for(url, tmp_path) as off, client_for(url, tmp_path, openapi=True) as on:
        assert off.get("/openapi.json").status_code == 404
        assert "/api/chat" in on.get("/openapi.json").json()["paths"]


# --- request bodies ----------------------------------------------------------------------------------------------

def test_a_declared_length_over_the_limit_or_not_a_number_is_413_at_once(rasa, tmp_path):
    _, url = rasa
    with client_for(url, tmp_path) as client:
        conversation = open_conversation(client)
        for length in ("70000", "-1", "1e3", "0x10"):
            response = client.post("/api/chat", content=b"{}", headers={"content-length": length,
                                                                          **conversation.headers})
            assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"


def test_a_streamed_body_without_a_length_is_counted(rasa, tmp_path):
    fake, url = rasa
    with client_for(url, tmp_path) as client:
        conversation = open_conversation(client)
        pieces = (b" " * 8192 for _ in range(16))  # 128 KiB, no Content-Length: sent chunked
        response = client.post("/api/chat", content=pieces,
                               headers={"content-type": "application/json", **conversation.headers})
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
    assert fake.received == []


@pytest.fixture
def live(rasa, tmp_path):
    """The gateway served by uvicorn as main() serves it; yields (settings, base URL) per settings asked for."""
    _, url = rasa
    stack = []

    def start(**overrides: object) -> tuple[Settings, str]:
        settings = settings_for(url, tmp_path / str(len(stack)), gateway_port=free_port(), **overrides)
        app = create_app(settings)
        context = serving(server_config(app, settings))
        base = context.__enter__()
        stack.append(context)
        return settings, base, app

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


def test_a_chunked_one_mebibyte_body_is_refused_before_it_is_all_sent(live):
    settings, base, _ = live(body_timeout=5.0)
    conversation = open_conversation(base)
    head = (f"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {conversation.token}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    piece = b"4000\r\n" + b" " * 0x4000 + b"\r\n"  # 16 KiB chunks
    sent, answer = 0, b""
    with socket.create_connection((settings.gateway_host, settings.gateway_port)) as connection:
        connection.sendall(head)
        connection.settimeout(0.05)
        while sent < 1024 * 1024:
            try:
                connection.sendall(piece)
                sent += 0x4000
                answer += connection.recv(65536)
                if answer:
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        try:
            answer += read_until_closed(connection)
        except (socket.timeout, OSError):
            pass
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"body_too_large"' in answer and b"connection: close" in answer.lower()
    assert sent <= 512 * 1024  # the server answered and closed long before the upload was over (80 KiB here)


def test_a_body_that_stalls_gets_408(live):
    settings, base, _ = live(body_timeout=0.5)
    conversation = open_conversation(base)
    head = (f"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
            f"Authorization: Bearer {conversation.token}\r\n\r\n").encode()
    with socket.create_connection((settings.gateway_host, settings.gateway_port)) as connection:
        started = time.monotonic()
        connection.sendall(head + b'{"sender": ')
        answer = read_until_closed(connection)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ") and b'"body_timeout"' in answer
    assert waited >= 0.45


# --- live streams and voice (a real server: these requests stay open) ------------------------------------------

async def open_stream(client: httpx.AsyncClient, conversation: WebConversation) -> httpx.Response:
    """A stream's response once its head is in (a refusal's body read too)."""
    request = client.build_request("GET", "/api/events", params={"sender": conversation.sender},
                                   headers=conversation.headers)
    response = await client.send(request, stream=True)
    if response.status_code != 200:
        await response.aread()
    return response


def test_streams_are_capped_per_address_and_in_total_and_freed_when_they_end(live):
    settings, base, _ = live(max_streams_per_client=2, max_streams=3)
    conversation = open_conversation(base)

    async def scenario() -> None:
        here = httpx.AsyncClient(base_url=base, timeout=PATIENCE)
        there = httpx.AsyncClient(base_url=base, timeout=PATIENCE,  # another address on the loopback network
                                  transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2"))
        async with here, there:
            first, second = await open_stream(here, conversation), await open_stream(here, conversation)
            assert first.status_code == second.status_code == 200
            third = await open_stream(here, conversation)
            assert refused_with(third, "too_many_streams") >= 1  # this address's limit
            elsewhere = await open_stream(there, conversation)
            assert elsewhere.status_code == 200
            fourth = await open_stream(there, conversation)
            refused_with(fourth, "too_many_streams")  # everyone's limit
            await first.aclose()  # the client goes: its stream ends, its place is free again
            for _ in range(100):
                again = await open_stream(here, conversation)
                if again.status_code == 200:
                    break
                await again.aclose()
                await asyncio.sleep(0.05)
            assert again.status_code == 200
            for response in (second, third, elsewhere, fourth, again):
                await response.aclose()

    asyncio.run(asyncio.wait_for(scenario(), PATIENCE * 2))


def assert_one_at_a_time(base: str, send: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]], busy: str,
                         gate: threading.Event, running: list[int], overlaps: list[int]) -> None:
    """Three requests from one address to a route whose work (held until `gate` is set) runs one at a time with a
    queue of one: the second waits, the third is refused with `busy`, then both are answered one after the other."""

    async def scenario() -> list[int]:
        async with httpx.AsyncClient(base_url=base, timeout=PATIENCE) as client:
            first = asyncio.create_task(send(client))
            while not running:
                await asyncio.sleep(0.01)
            second = asyncio.create_task(send(client))  # same address: waits for the first (the line holds 2)
            await asyncio.sleep(0.3)
            third = await send(client)  # the line is full
            refused_with(third, busy)
            assert not first.done() and not second.done() and overlaps == [1]
            gate.set()
            return [(await first).status_code, (await second).status_code]

    statuses = asyncio.run(asyncio.wait_for(scenario(), PATIENCE * 2))
    assert statuses == [400, 400] and overlaps == [1, 1]  # both answered, one after the other


def test_voice_is_one_at_a_time_per_address_with_a_bounded_queue(live):
    settings, base, app = live(voice_queue=1)
    gate, running, overlaps = threading.Event(), [], []

    async def slow_recognition(audio: bytes, language: str):
        running.append(1)
        overlaps.append(len(running))  # how many recognitions run at once
        await asyncio.to_thread(gate.wait, PATIENCE)  # until the test lets it finish
        running.pop()
        raise AudioError("empty_audio", "nothing heard")

    app.state.voice.supports = lambda language: True  # (no speech model needed: recognition is replaced)
    app.state.voice.handle = slow_recognition  # the route's VoiceInput
    conversation = open_conversation(base)

    def send(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        return client.post("/api/voice", data={"sender": conversation.sender, "language": "en"},
                           files={"audio": ("v.webm", b"\x1a\x45\xdf\xa3", "audio/webm")}, headers=conversation.headers)

    assert_one_at_a_time(base, send, "voice_busy", gate, running, overlaps)


def test_speech_synthesis_is_one_at_a_time_per_address_with_a_bounded_queue(live, monkeypatch):
    gate, running, overlaps = threading.Event(), [], []

    def slow_speech(self, text: str, language: str, slow: bool = False, piece=None):
        running.append(1)
        overlaps.append(len(running))  # how many syntheses run at once
        gate.wait(PATIENCE)  # until the test lets it finish
        running.pop()
        raise SpeechError("empty_text", "nothing to say")

    monkeypatch.setattr(TextToSpeech, "speak", slow_speech)  # (no engine needed: synthesis is replaced)
    settings, base, app = live(tts_queue=1)

    def send(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        return client.post("/api/tts", json={"text": "您好", "language": "zh", "piece": 0})

    assert_one_at_a_time(base, send, "speech_busy", gate, running, overlaps)
