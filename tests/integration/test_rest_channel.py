"""Rasa's REST webhook answers only the gateway (issue 14, item 2): bot.rest_channel.TokenRestInput.

The first tests serve the channel on a small Sanic app inside .venv-rasa (where rasa is installed), with a stand-in
agent that echoes, to pin down the token check: `?token=` or `Authorization: Bearer`, 401 with a generic body
otherwise, the health route open, malformed bodies refused without being repeated, and a channel without a
token refusing everything. The slow test starts the real Rasa server the way `govbot run` does (credentials.yml,
govbot.rasa_launcher) and checks that the webhook refuses callers without the token, that the gateway's Rasa
client still gets answers, and that the token is on no command line, in no initial environment and in no log.
"""

import asyncio
import os
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Iterator

import httpx
import psutil
import pytest

from channels.common.rasa_client import RasaClient
from core.settings import PROJECT_ROOT
from testkit.helpers import free_port
from testkit.stack import rasa_and_action_server

TOKEN = "rest-channel-token-0123456789abcdefghijklmnopqrstuvwxyz"
RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
MESSAGE = {"sender": "web:probe", "message": "my phone is 13812345678"}
NOT_AUTHENTICATED = {"status": "failure", "reason": "NotAuthenticated", "message": "User is not authenticated.",
                     "code": 401}

# Two channels on one app: /webhooks/rest/ with the token (read from stdin), /closed/rest/ with none configured.
CHANNEL_APP = textwrap.dedent('''
    import sys
    from sanic import Sanic
    from rasa.core.channels.channel import register
    from bot.rest_channel import TokenRestInput

    class ClosedRestInput(TokenRestInput):
        """The same channel under another blueprint name, so both fit on one app."""

    class EchoAgent:
        async def handle_message(self, message):
            await message.output_channel.send_text_message(message.sender_id, "echo " + message.text)

    token = sys.stdin.readline().strip()
    app = Sanic("rest_channel_probe")
    app.ctx.agent = EchoAgent()
    register([TokenRestInput.from_credentials({"token": token})], app, "/webhooks/")
    register([ClosedRestInput.from_credentials({})], app, "/closed/")
    app.run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False)
''')


@pytest.fixture(scope="module")
def channel_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a Sanic app serving TokenRestInput in .venv-rasa on a free loopback port."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("rest-channel") / "channel.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([str(RASA_PYTHON), "-c", CHANNEL_APP, str(port)], cwd=PROJECT_ROOT,
                                   stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert process.stdin is not None  # opened with stdin=PIPE
    process.stdin.write(f"{TOKEN}\n".encode())
    process.stdin.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # importing rasa is slow on a loaded machine
        while True:
            if process.poll() is not None:
                pytest.fail(f"the channel app exited:\n{log_path.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"{url}/webhooks/rest/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the channel app did not answer its health route")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def webhook(url: str, prefix: str = "webhooks", **kwargs: object) -> httpx.Response:
    return httpx.post(f"{url}/{prefix}/rest/webhook", timeout=30, **kwargs)  # type: ignore[arg-type]


def assert_refused(response: httpx.Response) -> None:
    """401, with the generic body only: nothing the caller sent (its sender, message or token) comes back."""
    assert response.status_code == 401 and response.json() == NOT_AUTHENTICATED
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_health_stays_open(channel_url: str) -> None:
    assert httpx.get(f"{channel_url}/webhooks/rest/").json() == {"status": "ok"}
    assert httpx.get(f"{channel_url}/closed/rest/").json() == {"status": "ok"}


@pytest.mark.parametrize("credentials", [
    {}, {"params": {"token": ""}}, {"params": {"token": "wrong"}}, {"params": {"token": TOKEN[:-1]}},
    {"params": {"token": TOKEN + "x"}}, {"headers": {"Authorization": "Bearer wrong"}},
    {"headers": {"Authorization": TOKEN}}, {"headers": {"Authorization": f"Basic {TOKEN}"}},
    {"headers": {"X-Token": TOKEN}}, {"params": {"token": "wrong"}, "headers": {"Authorization": f"Bearer {TOKEN}"}},
], ids=["none", "empty", "wrong", "prefix", "longer", "wrong bearer", "no scheme", "basic", "other header",
        "wrong query wins"])
def test_a_message_without_the_right_token_is_refused(channel_url: str, credentials: dict) -> None:
    response = webhook(channel_url, json=MESSAGE, **credentials)
    assert_refused(response)
    assert "13812345678" not in response.text and "web:probe" not in response.text


@pytest.mark.parametrize("credentials", [
    {"params": {"token": TOKEN}}, {"headers": {"Authorization": f"Bearer {TOKEN}"}},
    {"headers": {"Authorization": f"bearer {TOKEN}"}},
], ids=["query", "bearer", "lower-case scheme"])
def test_the_right_token_gets_the_bot_answer(channel_url: str, credentials: dict) -> None:
    response = webhook(channel_url, json=MESSAGE, **credentials)
    assert response.status_code == 200
    assert response.json() == [{"recipient_id": "web:probe", "text": "echo my phone is 13812345678"}]


def test_streaming_needs_the_token_too(channel_url: str) -> None:
    assert_refused(webhook(channel_url, json=MESSAGE, params={"stream": "true"}))
    streamed = webhook(channel_url, json=MESSAGE, params={"stream": "true", "token": TOKEN})
    assert streamed.status_code == 200 and '"echo my phone is 13812345678"' in streamed.text


@pytest.mark.parametrize("body", [b"", b"not json {", b"[1, 2]", b'"text"', b'{"sender": "web:probe"}',
                                  b'{"sender": 7, "message": "13812345678"}', b'{"message": "13812345678"}'])
def test_a_malformed_body_with_the_token_gets_a_generic_400(channel_url: str, body: bytes) -> None:
    response = webhook(channel_url, content=body, params={"token": TOKEN},
                       headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["reason"] == "BadRequest"
    assert "13812345678" not in response.text and "web:probe" not in response.text


def test_a_malformed_body_without_the_token_is_refused_before_it_is_read(channel_url: str) -> None:
    assert_refused(webhook(channel_url, content=b"not json {", headers={"Content-Type": "application/json"}))


@pytest.mark.parametrize("credentials", [{}, {"params": {"token": ""}}, {"params": {"token": TOKEN}},
                                         {"headers": {"Authorization": "Bearer"}}],
                         ids=["none", "empty", "another channel's", "empty bearer"])
def test_a_channel_without_a_configured_token_refuses_everything(channel_url: str, credentials: dict) -> None:
    assert_refused(webhook(channel_url, "closed", json=MESSAGE, **credentials))


# --- the real Rasa server, started as `govbot run` starts it ---------------------------------------------------------

@pytest.mark.slow
def test_rasa_webhook_answers_only_the_token_which_stays_off_command_lines_environments_and_logs(
        tmp_path: Path) -> None:
    with rasa_and_action_server(tmp_path, "rasa-" + TOKEN, "actions-" + TOKEN) as (settings, services):
        rasa = f"http://127.0.0.1:{settings.rasa_port}"
        hello = {"sender": "web:rest-probe", "message": "hello"}
        assert httpx.get(f"{rasa}/webhooks/rest/").json() == {"status": "ok"}
        for credentials in ({}, {"params": {"token": "wrong"}}, {"headers": {"Authorization": "Bearer wrong"}},
                            {"params": {"token": settings.actions_token}}):
            response = httpx.post(f"{rasa}/webhooks/rest/webhook", json=hello, timeout=60, **credentials)
            assert response.status_code == 401 and response.json() == NOT_AUTHENTICATED, response.text
        # nothing reached the conversation: its tracker has no user message
        events = httpx.get(f"{rasa}/conversations/web:rest-probe/tracker",
                           params={"token": settings.rasa_token}).json().get("events") or []
        assert not [event for event in events if event.get("event") == "user"]
        answered = httpx.post(f"{rasa}/webhooks/rest/webhook", json=hello, params={"token": settings.rasa_token},
                              timeout=60)
        assert answered.status_code == 200 and any(m.get("text") for m in answered.json()), answered.text
        bearer = httpx.post(f"{rasa}/webhooks/rest/webhook", json=hello, timeout=60,
                            headers={"Authorization": f"Bearer {settings.rasa_token}"})
        assert bearer.status_code == 200 and any(m.get("text") for m in bearer.json()), bearer.text

        async def through_the_gateways_client() -> list[str]:
            client = RasaClient(rasa, 60, token=settings.rasa_token)
            try:
                return [m.text or "" for m in await client.send("web:rest-gateway", "hello")]
            finally:
                await client.close()

        assert any(asyncio.run(through_the_gateways_client()))
        assert services[1].process is not None
        rasa_process = psutil.Process(services[1].process.pid)
        for process in [rasa_process, *rasa_process.children(recursive=True)]:
            assert not any(settings.rasa_token in argument for argument in process.cmdline())
            environment = process.environ()
            assert "GOVBOT_RASA_TOKEN" not in environment
            assert not any(settings.rasa_token in value for value in environment.values())
    for service in services:
        assert settings.rasa_token not in service.log_path.read_text(errors="replace")
