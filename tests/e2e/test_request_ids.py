"""The chat page sends each message with an X-Request-Id that stays the same when it sends it again (after a network
error, a 503 while Rasa is down), so Rasa answers it once (bot/rasa_patches.py). A gateway process in front of a
stand-in Rasa, and Debian's Chromium; no Rasa model needed."""

import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from core.settings import PROJECT_ROOT, process_environment
from testkit.helpers import FakeRasa, free_port
from testkit.stack import GENEROUS_LIMITS

REQUEST_ID = r"^m-[0-9A-Za-z-]{8,62}$"


@pytest.fixture
def rasa() -> Iterator[tuple[FakeRasa, str]]:
    fake = FakeRasa(reply=lambda sender, text: [{"recipient_id": sender, "text": f"answer to {text}"}])
    with fake.serving() as url:
        yield fake, url


@pytest.fixture
def gateway(rasa: tuple[FakeRasa, str], tmp_path: Path) -> Iterator[str]:
    """A gateway process (`python -m channels.gateway`) on a free port, in front of the stand-in Rasa."""
    port = free_port()
    env = {**process_environment(), **GENEROUS_LIMITS, "GOVBOT_GATEWAY_PORT": str(port),
           "GOVBOT_VAR_DIR": str(tmp_path), "GOVBOT_RASA_URL": rasa[1], "GOVBOT_TTS_GTTS": "0",
           "GOVBOT_CONVERSATION_SECRET": secrets.token_urlsafe(32)}
    process = subprocess.Popen([sys.executable, "-m", "channels.gateway"], env=env, cwd=PROJECT_ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the gateway did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def open_chat(browser: Any, url: str) -> Any:
    context = browser.new_context(locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    page.goto(url + "/")
    return page


def wait_until(condition: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def test_a_message_sent_again_after_a_network_error_keeps_its_request_id(browser, gateway, rasa):
    fake, _ = rasa
    page = open_chat(browser, gateway)
    sent: list[dict[str, str]] = []

    def first_one_lost(route: Any) -> None:
        sent.append(route.request.headers)
        if len(sent) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/chat", first_one_lost)
    page.fill("#text", "护照怎么办理")
    page.press("#text", "Enter")
    page.wait_for_function("document.querySelectorAll('#log .msg.bot').length >= 1", timeout=30000)
    assert "answer to 护照怎么办理" in page.inner_text("#log")
    ids = [headers.get("x-request-id") for headers in sent]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert [body["metadata"]["request_id"] for body in fake.received] == ids[1:]
    # the next message has an id of its own
    page.fill("#text", "身份证")
    page.press("#text", "Enter")
    wait_until(lambda: len(fake.received) == 2)
    assert fake.received[1]["metadata"]["request_id"] not in ids
    page.context.close()


def test_a_message_refused_while_rasa_is_down_is_sent_again_with_the_same_id(browser, gateway, rasa):
    fake, _ = rasa
    fake.status = 503  # the gateway answers 503 rasa_unavailable; the page keeps the message and tries again
    page = open_chat(browser, gateway)
    page.fill("#text", "社保卡")
    page.press("#text", "Enter")
    wait_until(lambda: len(fake.received) >= 1)
    fake.status = 200
    page.wait_for_function("document.querySelectorAll('#log .msg.bot').length >= 1", timeout=30000)
    ids = {body["metadata"]["request_id"] for body in fake.received}
    assert len(fake.received) >= 2 and len(ids) == 1
    assert re.match(REQUEST_ID, ids.pop())
    page.context.close()
