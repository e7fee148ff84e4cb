"""A `govbot run` stack on free ports, for end-to-end tests."""

import json
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator, Optional

import httpx
import psutil
import pytest

from core.secrets import SECRET_FIELDS, SECRETS_FILE
from core.settings import PROJECT_ROOT, Settings, env_name, process_environment
from govbot.stack import build_services
from govbot.supervisor import Service, Supervisor, port_is_free
from govbot.training import train
from testkit.helpers import WebConversation, free_port, open_conversation

STARTUP_TIMEOUT = 900  # a cold start trains the model first

# A test session is one client address starting many conversations in minutes: the stack's own rate limits
# would refuse it. Tests of the limits themselves build their app with the defaults (tests/integration).
GENEROUS_LIMITS = {"GOVBOT_RATE_PER_CLIENT": "100000", "GOVBOT_RATE_PER_CONVERSATION": "100000",
                   "GOVBOT_RATE_TTS": "100000", "GOVBOT_RATE_NEW_CONVERSATIONS": "100000",
                   "GOVBOT_RATE_LOGIN": "100000"}


SPEECH_MODELS = PROJECT_ROOT / "var" / "speech-models"  # assembled by scripts/setup; the tests share them


class Stack:
    """A `govbot run` process on free ports, with its output collected."""

    def __init__(self, var_dir: Path, env: Optional[dict[str, str]] = None, profile: str = "single") -> None:
        self.ports = {"gateway": free_port(), "rasa": free_port(), "actions": free_port()}
        self.var_dir = var_dir
        env = {**process_environment(), "GOVBOT_VAR_DIR": str(var_dir),
               # share trained models and knowledge indexes with the developer's own runs
               # (both are keyed by the hash of what they were built from)
               "GOVBOT_MODELS_DIR": str(PROJECT_ROOT / "var" / "models"),
               "GOVBOT_INDEX_ROOT": str(PROJECT_ROOT / "var" / "index"),
               "GOVBOT_SPEECH_MODELS_DIR": str(SPEECH_MODELS), **GENEROUS_LIMITS, **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "govbot.cli", "run", "--port", str(self.ports["gateway"]),
             "--rasa-port", str(self.ports["rasa"]), "--actions-port", str(self.ports["actions"]),
             "--profile", profile],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=PROJECT_ROOT)
        self.lines: list[str] = []
        self.conversations: dict[str, WebConversation] = {}
        threading.Thread(target=self._collect, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.ports['gateway']}"

    def _collect(self) -> None:
        assert self.process.stdout is not None  # opened with stdout=PIPE
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

    def conversation(self, name: str) -> WebConversation:
        """The web conversation a test calls `name`, started on the stack's gateway when first asked for."""
        if name not in self.conversations:
            self.conversations[name] = open_conversation(self.url)
        return self.conversations[name]

    def secrets_environment(self) -> dict[str, str]:
        """The secrets `govbot run` made for this stack, as environment variables for another process."""
        path = self.var_dir / SECRETS_FILE
        stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        return {str(env_name(name)): stored[name]
                for name in SECRET_FIELDS if isinstance(stored.get(name), str) and stored[name]}

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children()

    def all_ports_free(self) -> bool:
        return all(port_is_free("127.0.0.1", port) for port in self.ports.values())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


def post_chat(stack: Stack, name: str, text: str) -> httpx.Response:
    """POST /api/chat in the stack's web conversation `name` (started on first use), with its token."""
    conversation = stack.conversation(name)
    return httpx.post(f"{stack.url}/api/chat", json={"sender": conversation.sender, "text": text},
                      headers=conversation.headers, timeout=30)


def chat(stack: Stack, name: str, text: str) -> list[str]:
    """Send text in the stack's web conversation `name`; the replies' texts."""
    response = post_chat(stack, name, text)
    assert response.status_code == 200, response.text
    return [message["text"] for message in response.json()["messages"]]


def module_stack(name: str, env: Optional[dict[str, str]] = None):  # type: ignore[no-untyped-def]
    """A module-scoped pytest fixture: one ready `govbot run` stack for the module's tests (`env`: extra variables)."""
    @pytest.fixture(scope="module")
    def stack(tmp_path_factory):  # type: ignore[no-untyped-def]
        running = Stack(tmp_path_factory.mktemp(name), env)
        running.wait_ready()
        yield running
        running.stop()
    return stack


class Gateway:
    """A gateway process of its own (in front of the stack's Rasa), to stop and start again. It has the stack's
    secrets (its Rasa's token; conversations started on either gateway are valid on both), or else a conversation
    secret of its own that outlives its restarts."""

    def __init__(self, stack: Stack, var_dir: Path, env: Optional[dict[str, str]] = None) -> None:
        self.port = free_port()
        base = process_environment()
        shared = {"GOVBOT_CONVERSATION_SECRET": secrets.token_urlsafe(32), **stack.secrets_environment()}
        base.update({name: value for name, value in shared.items() if not base.get(name)})  # the environment wins
        self.env = {**base, **GENEROUS_LIMITS, "GOVBOT_SPEECH_MODELS_DIR": str(SPEECH_MODELS), **(env or {}),
                    "GOVBOT_GATEWAY_PORT": str(self.port),
                    "GOVBOT_VAR_DIR": str(var_dir),
                    "GOVBOT_RASA_URL": f"http://127.0.0.1:{stack.ports['rasa']}", "GOVBOT_TTS_GTTS": "0"}
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "channels.gateway"], env=self.env, cwd=PROJECT_ROOT,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        pytest.fail("the gateway did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@contextmanager
def rasa_and_action_server(var_dir: Path, rasa_token: str,
                           actions_token: str) -> Iterator[tuple[Settings, list[Service]]]:
    """The real action server and Rasa, as `govbot run` starts them (with these tokens, on free ports), healthy;
    stopped on leaving. Gives their settings and their services (whose processes and logs outlive the stop)."""
    settings = Settings(var_dir=var_dir, models_dir=PROJECT_ROOT / "var" / "models",
                        index_root=PROJECT_ROOT / "var" / "index", rasa_port=free_port(), actions_port=free_port(),
                        rasa_token=rasa_token, actions_token=actions_token)
    model = train(settings)  # nothing to do when the model for the current data exists
    services = build_services(settings, model)[:2]  # the action server and Rasa
    supervisor = Supervisor(services, poll_interval=0.5)
    supervisor.start()
    try:
        supervisor.wait_until_healthy(timeout=600)
        yield settings, services
    finally:
        supervisor.stop(grace=15)
