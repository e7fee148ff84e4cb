"""End to end: `govbot run` trains (or reuses) the model, starts the real action server,
Rasa server and gateway, and holds conversations through the gateway's chat API."""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from govbot.settings import PROJECT_ROOT
from govbot.supervisor import port_is_free
from tests.helpers import free_port

pytestmark = pytest.mark.slow

STARTUP_TIMEOUT = 900  # a cold start trains the model first


class Stack:
    """A `govbot run` process on free ports, with its output collected."""

    def __init__(self, var_dir: Path) -> None:
        self.ports = {"gateway": free_port(), "rasa": free_port(), "actions": free_port()}
        self.var_dir = var_dir
        env = {**os.environ, "GOVBOT_VAR_DIR": str(var_dir),
               # share trained models and knowledge indexes with the developer's own runs
               # (both are keyed by the hash of what they were built from)
               "GOVBOT_MODELS_DIR": str(PROJECT_ROOT / "var" / "models"),
               "GOVBOT_INDEX_ROOT": str(PROJECT_ROOT / "var" / "index")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "govbot.cli", "run", "--port", str(self.ports["gateway"]),
             "--rasa-port", str(self.ports["rasa"]), "--actions-port", str(self.ports["actions"])],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=PROJECT_ROOT)
        self.lines: list[str] = []
        threading.Thread(target=self._collect, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.ports['gateway']}"

    def _collect(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while "press Ctrl-C to stop" not in self.output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"govbot run did not become ready:\n{self.output[-4000:]}")
            time.sleep(0.5)

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children()

    def all_ports_free(self) -> bool:
        return all(port_is_free("127.0.0.1", port) for port in self.ports.values())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


def chat(stack: Stack, sender: str, text: str) -> list[str]:
    response = httpx.post(f"{stack.url}/api/chat", json={"sender": sender, "text": text}, timeout=30)
    assert response.status_code == 200, response.text
    return [message["text"] for message in response.json()["messages"]]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = Stack(tmp_path_factory.mktemp("govbot-var"))
    running.wait_ready()
    yield running
    running.stop()


def test_prints_the_urls(stack):
    assert f"chat page:     http://localhost:{stack.ports['gateway']}/" in stack.output
    assert httpx.get(stack.url + "/").status_code == 200


def test_health_sees_rasa_up(stack):
    assert httpx.get(stack.url + "/health").json() == {"status": "ok", "version": "0.1.0", "rasa": "up"}


def test_short_conversation_in_chinese(stack):
    assert any("您好" in text for text in chat(stack, "e2e-zh", "你好"))
    assert any("不客气" in text for text in chat(stack, "e2e-zh", "谢谢"))
    assert any("再见" in text for text in chat(stack, "e2e-zh", "再见"))


def test_short_conversation_in_english(stack):
    assert any(text.startswith("Hello") for text in chat(stack, "e2e-en", "hello"))
    assert any("welcome" in text for text in chat(stack, "e2e-en", "thank you"))
    assert any("Goodbye" in text for text in chat(stack, "e2e-en", "bye"))


def test_reply_follows_the_language_of_each_message(stack):
    assert any("您好" in text for text in chat(stack, "e2e-switch", "您好"))
    assert any(text.startswith("Hello") for text in chat(stack, "e2e-switch", "hi there"))
    assert any("不客气" in text for text in chat(stack, "e2e-switch", "多谢"))


def test_out_of_scope_is_answered_by_the_action_server(stack):
    # Only the custom action (served by the action server) produces this response.
    zh = chat(stack, "e2e-oos", "给我讲个笑话")
    en = chat(stack, "e2e-oos", "tell me a joke")
    assert any("不在我的服务范围" in text and "12345" in text for text in zh)
    assert any("outside what I can help with" in text for text in en)


def test_service_question_is_answered_from_the_knowledge_base(stack):
    zh = chat(stack, "e2e-service", "身份证丢了怎么办")
    assert any(text and text.startswith("居民身份证丢失补领") and "\n1. " in text for text in zh)
    en = chat(stack, "e2e-service", "how do I apply for a passport")
    assert any(text and text.startswith("Apply for an ordinary passport") and "Steps:" in text for text in en)


def test_answer_carries_the_item_for_the_channels(stack):
    response = httpx.post(f"{stack.url}/api/chat", json={"sender": "e2e-custom", "text": "我想办结婚登记"}, timeout=30)
    customs = [m["custom"] for m in response.json()["messages"] if m["custom"]]
    assert {"item": "marriage-registration", "decision": "answer", "language": "zh"} in customs


def test_conversations_are_stored_in_the_sqlite_tracker_store(stack):
    chat(stack, "e2e-stored", "你好")
    with sqlite3.connect(stack.var_dir / "tracker.db") as db:
        rows = db.execute("select type_name from events where sender_id = ?", ("e2e-stored",)).fetchall()
    assert ("user",) in rows and ("bot",) in rows


def test_sigterm_stops_every_process(stack):
    children = stack.children()
    assert len(children) == 3
    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(timeout=60) == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    assert stack.all_ports_free()
    assert "stopped" in stack.output


def test_a_dying_service_stops_the_rest_with_a_clear_message(tmp_path):
    stack = Stack(tmp_path)
    try:
        stack.wait_ready()
        children = stack.children()
        rasa = next(p for p in children if ".venv-rasa" in " ".join(p.cmdline()))
        rasa.kill()
        assert stack.process.wait(timeout=60) == 1
        assert "rasa server exited" in stack.output
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
        assert stack.all_ports_free()
    finally:
        stack.stop()
