"""Small helpers shared by the tests."""

import json
import re
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator, NamedTuple, Optional
from urllib.parse import unquote, urlsplit

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebConversation(NamedTuple):
    """A web conversation the gateway issued (POST /api/conversations): its sender id and token."""

    sender: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The request headers that prove the conversation is ours."""
        return {"Authorization": f"Bearer {self.token}"}


def open_conversation(gateway: httpx.Client | str) -> WebConversation:
    """Start a web conversation on a gateway (a client such as FastAPI's TestClient, or a base URL). A client does
    not keep the conversation's cookie: the tests send the token they mean (`headers`) and nothing else."""
    if isinstance(gateway, str):
        response = httpx.post(f"{gateway}/api/conversations", timeout=30)
    else:
        response = gateway.post("/api/conversations")
        gateway.cookies.delete("govbot_conversation")
    assert response.status_code == 201, response.text
    body = response.json()
    return WebConversation(body["sender"], body["token"])


class FakeRasa:
    """A stand-in Rasa server on loopback that speaks the REST channel's protocol.

    `reply(sender, message)` returns the list of bot messages; `delay` makes it slow;
    `status` makes it fail with that HTTP status. Like Rasa it keeps each conversation's tracker
    (user and bot events; GET /conversations/<id>/tracker) and takes new events
    (POST /conversations/<id>/tracker/events, recorded in `appended` as (sender, events)).
    """

    def __init__(self, reply: Optional[Callable[[str, str], list[dict[str, Any]]]] = None,
                 delay: float = 0.0, status: int = 200) -> None:
        self.reply = reply or (lambda sender, message: [{"recipient_id": sender, "text": f"echo: {message}"}])
        self.delay = delay
        self.status = status
        self.received: list[dict[str, Any]] = []
        self.trackers: dict[str, list[dict[str, Any]]] = {}
        self.appended: list[tuple[str, list[dict[str, Any]]]] = []

    @contextmanager
    def serving(self) -> Iterator[str]:
        """Serve on a free port; yields the base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send_json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                tracker = re.fullmatch(r"/conversations/([^/]+)/tracker", path)
                if path == "/status":
                    self._send_json(200, {"model_file": "fake.tar.gz", "model_id": "fake"})
                elif tracker:
                    sender = unquote(tracker.group(1))
                    self._send_json(200, {"sender_id": sender, "events": fake.trackers.get(sender, [])})
                else:
                    self._send_json(404, {})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                appending = re.fullmatch(r"/conversations/([^/]+)/tracker/events", urlsplit(self.path).path)
                if appending:
                    sender = unquote(appending.group(1))
                    fake.appended.append((sender, body))
                    fake.trackers.setdefault(sender, []).extend(body if isinstance(body, list) else [body])
                    self._send_json(200, {"sender_id": sender})
                    return
                fake.received.append(body)
                time.sleep(fake.delay)
                if fake.status != 200:
                    self._send_json(fake.status, {"error": "boom"})
                else:
                    replies = fake.reply(body["sender"], body["message"])
                    events = fake.trackers.setdefault(body["sender"], [])
                    events.append({"event": "user", "text": body["message"], "timestamp": time.time()})
                    events += [{"event": "bot", "text": r["text"], "timestamp": time.time()}
                               for r in (replies if isinstance(replies, list) else [])
                               if isinstance(r, dict) and r.get("text")]
                    self._send_json(200, replies)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
