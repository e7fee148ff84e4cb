"""Rasa and the action server are closed to everyone but govbot's own processes (issue 14, item 2).

The action server (govbot.action_server, a real Sanic server on a free loopback port) answers only callers with
its token, only JSON, with error bodies that never echo the request, and listens on loopback only. The gateway's
Rasa client sends Rasa's API token on every call. The slow test starts the real Rasa server the way `govbot run`
does and checks that its API refuses calls without the token, that the token is on no command line and in no log,
and that Rasa still reaches the action server with its own token.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import psutil
import pytest

from channels.common.rasa_client import RasaClient
from core.settings import PROJECT_ROOT, Settings
from govbot.stack import build_services
from govbot.supervisor import Supervisor
from testkit.conversation import tracker
from testkit.helpers import free_port
from testkit.stack import rasa_and_action_server

TOKEN = "probe-token-0123456789abcdefghijklmnopqrstuvwxyz"
MAX_BODY = 64 * 1024
PHONE = "13812345678"

PROBE_ACTIONS = '''
from rasa_sdk import Action
from rasa_sdk.interfaces import ActionExecutionRejection


class Hello(Action):
    def name(self):
        return "action_probe_hello"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="hi " + tracker.latest_message.get("text", ""))
        return []


class Reject(Action):
    def name(self):
        return "action_probe_reject"

    def run(self, dispatcher, tracker, domain):
        raise ActionExecutionRejection("action_probe_reject", "rejected " + tracker.latest_message["text"])


class Explode(Action):
    def name(self):
        return "action_probe_explode"

    def run(self, dispatcher, tracker, domain):
        raise RuntimeError("internal detail " + tracker.latest_message["text"])
'''


def call(action: str, text: str = f"my phone is {PHONE}") -> dict[str, Any]:
    """An action call as Rasa sends it."""
    return {"next_action": action, "sender_id": "probe", "version": "3.6.21", "domain": {},
            "tracker": tracker(text, "greet", sender="probe").current_state()}


def wait_for_health(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the action server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail("the action server did not become healthy")


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    """govbot.action_server's app with a few probe actions, served on a free loopback port (URL, process, log)."""
    folder = tmp_path_factory.mktemp("probe")
    (folder / "probe_actions").mkdir()
    (folder / "probe_actions" / "__init__.py").write_text(PROBE_ACTIONS)
    port = free_port()
    code = textwrap.dedent(f"""
        from core.log import configure_logging
        from govbot.action_server import create_app, serve
        configure_logging("INFO")
        serve(create_app("probe_actions", {TOKEN!r}, max_body_bytes={MAX_BODY}), "127.0.0.1", {port})
    """)
    log_path = folder / "actions.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT, stdout=log,
                                   stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(folder)])})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process)
        yield url, process, log_path
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def url(action_server: tuple[str, subprocess.Popen, Path]) -> str:
    return action_server[0]


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def post(url: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(f"{url}/webhook", content=content, headers=headers, timeout=30)


def assert_generic(response: httpx.Response, status: int, code: str) -> None:
    """The error has the one shape and contains nothing the caller sent."""
    assert response.status_code == status
    assert set(response.json()) == {"error", "code"} and response.json()["code"] == code
    for sent in (PHONE, "probe", "tracker", "action_probe", "request_body"):
        assert sent not in response.text


# --- the action server ------------------------------------------------------------------------------------------

def test_health_is_open(url: str) -> None:
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": "Bearer " + TOKEN[:-1]}, {"Authorization": "Bearer"}])
def test_webhook_without_the_token_is_401(url: str, headers: dict[str, str]) -> None:
    response = post(url, call("action_probe_hello"), {"Content-Type": "application/json", **headers})
    assert_generic(response, 401, "unauthorized")


def test_the_token_in_the_query_string_is_not_enough(url: str) -> None:
    response = httpx.post(f"{url}/webhook", params={"token": TOKEN}, json=call("action_probe_hello"))
    assert_generic(response, 401, "unauthorized")
    assert httpx.get(f"{url}/actions").status_code == 401  # the list of actions is not public either


def test_a_valid_call_runs_the_action(url: str) -> None:
    response = post(url, call("action_probe_hello", "ping"), {"Content-Type": "application/json", **AUTH})
    assert response.status_code == 200
    assert [m["text"] for m in response.json()["responses"]] == ["hi ping"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "", "application/jsonp", "text/json"])
def test_only_json_bodies_are_accepted(url: str, content_type: str) -> None:
    # a web page can post text/plain or a form to any address without a preflight: the CSRF hole of the finding
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    assert_generic(post(url, call("action_probe_hello"), headers), 415, "unsupported_media_type")


def test_json_with_a_charset_is_json(url: str) -> None:
    response = post(url, call("action_probe_hello"), {"Content-Type": "application/json; charset=utf-8", **AUTH})
    assert response.status_code == 200


def test_a_browser_form_post_without_the_token_is_refused_before_anything_runs(url: str) -> None:
    response = post(url, json.dumps(call("action_probe_hello")), {"Content-Type": "text/plain",
                                                                   "Origin": "https://evil.example"})
    assert response.status_code == 401
    assert "access-control-allow-origin" not in response.headers  # no CORS: a page cannot read any answer


def test_an_unknown_action_is_a_generic_404(url: str) -> None:
    response = post(url, call("action_probe_missing"), {"Content-Type": "application/json", **AUTH})
    assert_generic(response, 404, "action_not_found")


def test_a_failing_action_is_a_generic_500_and_its_log_masks_personal_numbers(
        action_server: tuple[str, subprocess.Popen, Path]) -> None:
    url, _, log_path = action_server
    response = post(url, call("action_probe_explode"), {"Content-Type": "application/json", **AUTH})
    assert_generic(response, 500, "internal_error")
    time.sleep(0.2)  # the log line is written after the response
    log = log_path.read_text()
    assert "action_server_error" in log and "RuntimeError" in log
    assert PHONE not in log and TOKEN not in log


def test_a_rejection_names_only_the_action_rasa_called(url: str) -> None:
    # Rasa reads `action_name` from a 400 to let another policy act; nothing else from the call comes back
    response = post(url, call("action_probe_reject"), {"Content-Type": "application/json", **AUTH})
    assert response.status_code == 400
    assert response.json() == {"error": "the action rejected the call", "code": "action_rejected",
                               "action_name": "action_probe_reject"}


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"tracker": {}}', b'{"next_action": 7}', b"\xff\xfe",
                                  b'"' + PHONE.encode() + b'"'])
def test_a_malformed_call_is_a_generic_400(url: str, body: bytes) -> None:
    assert_generic(post(url, body, {"Content-Type": "application/json", **AUTH}), 400, "bad_request")


def test_unknown_routes_and_methods_answer_generically(url: str) -> None:
    assert_generic(httpx.get(f"{url}/probe/{PHONE}", headers=AUTH), 404, "not_found")
    assert_generic(httpx.put(f"{url}/webhook", headers=AUTH), 405, "method_not_allowed")


def test_a_body_over_the_limit_is_413_also_when_chunked(url: str) -> None:
    big = json.dumps({**call("action_probe_hello"), "padding": "x" * MAX_BODY})
    assert_generic(post(url, big, {"Content-Type": "application/json", **AUTH}), 413, "too_large")

    def chunks() -> Iterator[bytes]:
        for _ in range(64):  # 4 MiB in all, far more than the limit
            yield b" " * 65536
    response = httpx.post(f"{url}/webhook", content=chunks(), headers={"Content-Type": "application/json", **AUTH})
    assert response.status_code == 413


def test_compressed_calls_work_and_a_compression_bomb_is_413(url: str) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": "deflate", **AUTH}
    small = zlib.compress(json.dumps(call("action_probe_hello", "zipped")).encode())
    assert post(url, small, headers).json()["responses"][0]["text"] == "hi zipped"
    bomb = zlib.compress(b" " * (MAX_BODY * 50))  # a few hundred bytes that inflate past the limit
    assert len(bomb) < MAX_BODY
    assert_generic(post(url, bomb, headers), 413, "too_large")
    assert_generic(post(url, b"not deflate at all", headers), 400, "bad_request")


def test_it_listens_on_loopback_only(action_server: tuple[str, subprocess.Popen, Path]) -> None:
    url, process, _ = action_server
    port = int(url.rsplit(":", 1)[1])
    listening = {c.laddr.ip for c in psutil.Process(process.pid).net_connections("tcp") if c.status == "LISTEN"}
    assert listening == {"127.0.0.1"}
    with pytest.raises(ConnectionRefusedError):  # another address of this machine reaches nothing
        socket.create_connection(("127.0.0.2", port), timeout=2).close()


def test_a_server_on_all_interfaces_would_be_reached_through_that_other_address() -> None:
    """The control for the test above: 127.0.0.2 does reach a socket bound to 0.0.0.0."""
    with socket.socket() as everywhere:
        everywhere.bind(("0.0.0.0", 0))
        everywhere.listen()
        socket.create_connection(("127.0.0.2", everywhere.getsockname()[1]), timeout=2).close()


def test_the_action_server_does_not_start_without_a_token() -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "GOVBOT_ACTIONS_TOKEN": "",
           "GOVBOT_ACTIONS_PORT": str(free_port())}
    done = subprocess.run([sys.executable, "-m", "govbot.action_server"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "GOVBOT_ACTIONS_TOKEN is empty" in done.stderr


def test_the_real_action_server_as_govbot_run_starts_it(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, index_root=PROJECT_ROOT / "var" / "index", actions_port=free_port(),
                        rasa_token="rasa-" + TOKEN, actions_token=TOKEN)
    [service, _, _] = build_services(settings, tmp_path / "unused.tar.gz")
    supervisor = Supervisor([service], poll_interval=0.2)
    supervisor.start()
    try:
        supervisor.wait_until_healthy(timeout=600)
        assert service.process is not None
        process = psutil.Process(service.process.pid)
        assert {c.laddr.ip for c in process.net_connections("tcp") if c.status == "LISTEN"} == {"127.0.0.1"}
        assert not any(TOKEN in argument for argument in process.cmdline())
        url = f"http://127.0.0.1:{settings.actions_port}"
        body = call("action_reply_out_of_scope", "讲个笑话")
        assert httpx.post(f"{url}/webhook", json=body, timeout=60).status_code == 401
        answered = httpx.post(f"{url}/webhook", json=body, headers=AUTH, timeout=60)
        assert answered.status_code == 200
        assert [m["response"] for m in answered.json()["responses"]] == ["utter_out_of_scope"]
    finally:
        supervisor.stop(grace=10)


# --- the gateway's Rasa client ------------------------------------------------------------------------------------

@contextmanager
def recording_rasa() -> Iterator[tuple[str, list[tuple[str, str, dict[str, list[str]]]]]]:
    """A loopback server answering like Rasa; records (method, path, query) of every request."""
    seen: list[tuple[str, str, dict[str, list[str]]]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, body: Any) -> None:
            parts = urlsplit(self.path)
            seen.append((self.command, parts.path, parse_qs(parts.query)))
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer({"model_file": "m.tar.gz", "events": []})

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._answer([{"recipient_id": "s", "text": "hello"}] if "webhook" in self.path else {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


async def test_the_rasa_client_sends_the_token_on_every_call() -> None:
    with recording_rasa() as (base, seen):
        client = RasaClient(base, 5, token=TOKEN)
        assert await client.is_up()
        await client.conversation_events("web:abc")
        await client.append_events("web:abc", [{"event": "bot", "text": "x"}])
        assert [m.text for m in await client.send("web:abc", "hi")] == ["hello"]
        await client.close()
        assert TOKEN not in repr(client)
    assert [(method, path) for method, path, _ in seen] == [
        ("GET", "/status"), ("GET", "/conversations/web:abc/tracker"),
        ("POST", "/conversations/web:abc/tracker/events"), ("POST", "/webhooks/rest/webhook")]
    assert all(query.get("token") == [TOKEN] for _, _, query in seen)
    assert seen[1][2]["include_events"] == ["ALL"] and seen[2][2]["include_events"] == ["NONE"]  # still merged


async def test_without_a_token_the_client_sends_none() -> None:
    with recording_rasa() as (base, seen):
        client = RasaClient(base, 5)
        assert await client.is_up()
        await client.close()
    assert "token" not in seen[0][2]


# --- the real Rasa server, started as `govbot run` starts it ---------------------------------------------------------

@pytest.mark.slow
def test_rasa_api_needs_the_token_which_stays_off_command_lines_and_logs(tmp_path: Path) -> None:
    with rasa_and_action_server(tmp_path, "rasa-" + TOKEN, "actions-" + TOKEN) as (settings, services):
        rasa = f"http://127.0.0.1:{settings.rasa_port}"
        token = {"token": settings.rasa_token}
        assert httpx.get(f"{rasa}/status").status_code == 401
        assert httpx.get(f"{rasa}/status", params={"token": "wrong"}).status_code == 401
        assert httpx.get(f"{rasa}/status", params=token).json()["model_file"]
        assert httpx.get(f"{rasa}/conversations/web:someone/tracker").status_code == 401
        assert httpx.post(f"{rasa}/conversations/web:someone/tracker/events",
                          json=[{"event": "slot", "name": "language", "value": "en"}]).status_code == 401
        assert httpx.put(f"{rasa}/model", json={"model_server": {"url": "http://127.0.0.1:9/m"}}).status_code == 401
        # a turn that runs a custom action: Rasa reaches the action server with the action server's token
        reply = httpx.post(f"{rasa}/webhooks/rest/webhook", json={"sender": "probe", "message": "讲个笑话"},
                           params=token, timeout=60)  # the REST channel wants the token too (bot.rest_channel)
        assert reply.status_code == 200 and any(m.get("text") for m in reply.json()), reply.text
        assert httpx.get(f"{rasa}/conversations/probe/tracker", params=token).status_code == 200
        assert services[1].process is not None
        process = psutil.Process(services[1].process.pid)
        assert not any(settings.rasa_token in argument for argument in process.cmdline())
        assert "GOVBOT_RASA_TOKEN" not in process.environ()
    for service in services:
        log = service.log_path.read_text(errors="replace")
        assert settings.rasa_token not in log and settings.actions_token not in log
    assert "action_server_error" not in services[0].log_path.read_text()


# --- the supervisor hands a secret over on standard input and checks health with it ------------------------------

TOKEN_CHECKING_SERVER = '''
import http.server, sys
from urllib.parse import parse_qs, urlsplit
token = sys.stdin.readline().strip()

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        given = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
        self.send_response(200 if token and given == token else 401)
        self.end_headers()

http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
'''


def test_a_service_gets_its_secret_on_stdin_and_is_checked_with_it(tmp_path: Path) -> None:
    from govbot.supervisor import Service, StartupError

    def service(health_token: str) -> Service:
        port = free_port()
        return Service(name="probe", argv=[sys.executable, "-c", TOKEN_CHECKING_SERVER, str(port)], port=port,
                       bind_host="127.0.0.1", health_url=f"http://127.0.0.1:{port}/status",
                       health_params={"token": health_token}, stdin_text=TOKEN + "\n",
                       log_path=tmp_path / "probe.log", cwd=tmp_path, env=dict(os.environ))

    right = Supervisor([service(TOKEN)], poll_interval=0.1)
    right.start()
    try:
        right.wait_until_healthy(timeout=30)
        assert right.services[0].process is not None
        assert TOKEN not in " ".join(psutil.Process(right.services[0].process.pid).cmdline())
    finally:
        right.stop(grace=5)
    wrong = Supervisor([service("not-" + TOKEN)], poll_interval=0.1)
    wrong.start()
    try:
        with pytest.raises(StartupError, match="not healthy"):
            wrong.wait_until_healthy(timeout=3)
    finally:
        wrong.stop(grace=5)
