"""Slow request heads (slowloris) against a real uvicorn on loopback, configured as `python -m channels.gateway`
serves the gateway (channels.gateway.server_config): a head that is not complete in time closes the connection."""

import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import pytest
import uvicorn

from channels.gateway import create_app, server_config
from core.settings import Settings
from testkit.helpers import FakeRasa, free_port

HEAD_TIMEOUT = 0.5
PATIENCE = 15.0  # how long a test waits for the server before calling it a hang (a bound, not a measurement)


@contextmanager
def serving(config: uvicorn.Config) -> Iterator[str]:
    """Run uvicorn with this config in a thread; yields its base URL, stops it afterwards."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + PATIENCE
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://{config.host}:{config.port}"
    finally:
        server.should_exit = True
        thread.join(PATIENCE)


@contextmanager
def gateway(tmp_path, **overrides: object) -> Iterator[tuple[str, int]]:
    """The real gateway (a fake Rasa behind it) served by uvicorn as main() serves it: (host, port)."""
    with FakeRasa().serving() as rasa_url:
        settings = Settings(rasa_url=rasa_url, var_dir=tmp_path, tts_gtts=False, gateway_port=free_port(),
                            **overrides)
        with serving(server_config(create_app(settings), settings)):
            yield settings.gateway_host, settings.gateway_port


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout fails the test: a hang)."""
    connection.settimeout(PATIENCE)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


@pytest.fixture
def server(tmp_path):
    with gateway(tmp_path, header_timeout=HEAD_TIMEOUT) as address:
        yield address


def test_a_partial_request_line_is_cut_off_after_the_timeout(server):
    with socket.create_connection(server) as connection:
        started = time.monotonic()
        connection.sendall(b"GET /health HT")
        answer = read_until_closed(connection)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert waited >= HEAD_TIMEOUT * 0.9


def test_headers_dribbled_byte_by_byte_do_not_keep_the_connection(server):
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    with socket.create_connection(server) as connection:
        started, sent, closed = time.monotonic(), 0, False
        for byte in request:
            try:
                connection.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sent += 1
            time.sleep(0.01)  # 200+ bytes at 100 a second: the head would take over 2 s
            if time.monotonic() - started > PATIENCE:
                break
        answer = b"" if closed else read_until_closed(connection)
    assert sent < len(request)  # cut off before the head was complete (each byte reset nothing)
    assert closed or answer.startswith(b"HTTP/1.1 408 ")


def test_a_normal_request_still_works_and_the_next_head_on_the_connection_gets_the_same_limit(server):
    with socket.create_connection(server) as connection:
        connection.settimeout(PATIENCE)
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while not first.rstrip().endswith(b"}"):
            first += connection.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ") and b'"status":"ok"' in first
        time.sleep(HEAD_TIMEOUT * 2)  # idle between requests: not the head's time (uvicorn's keep-alive is 5 s)
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        second = b""
        while not second.rstrip().endswith(b"}"):
            second += connection.recv(65536)
        assert second.startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # the third head stalls
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 408 ") and time.monotonic() - started >= HEAD_TIMEOUT * 0.9


def test_a_connection_that_sends_nothing_is_closed(server):
    with socket.create_connection(server) as connection:
        started = time.monotonic()
        assert read_until_closed(connection) == b""
    assert HEAD_TIMEOUT * 0.9 <= time.monotonic() - started


def test_a_slow_but_complete_head_within_the_limit_is_served(server):
    with socket.create_connection(server) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\n")
        time.sleep(HEAD_TIMEOUT / 3)
        connection.sendall(b"Host: x\r\nConnection: close\r\n\r\n")
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_an_oversized_head_is_refused(server):
    with socket.create_connection(server) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (20 * 1024))
        time.sleep(0.1)  # (a head that arrives whole in one read is parsed whatever its size)
        connection.sendall(b"a\r\n\r\n")
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 400 ")
