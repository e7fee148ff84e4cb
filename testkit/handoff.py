"""Helpers for the handoff tests: a clock the tests move, and the two databases the store runs on."""

import threading
from datetime import datetime, timedelta, timezone
from typing import Callable, TypeVar

T = TypeVar("T")
START = datetime(2025, 3, 14, 9, 30, tzinfo=timezone.utc)


class Clock:
    """A settable UTC clock, for the store's and the policy's `clock`/`now`."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def race(count: int, action: Callable[[int], T]) -> list[tuple[str, object]]:
    """Run action(0..count-1) in threads released together by a barrier; [("ok", result) | ("error", exc)]."""
    barrier = threading.Barrier(count)
    results: list[tuple[str, object]] = [("missing", None)] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = ("ok", action(index))
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results[index] = ("error", error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


class LiveGateway:
    """The real gateway app (`channels.gateway.create_app`) served by uvicorn on a free loopback port."""

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        import uvicorn

        from channels.gateway import create_app
        from testkit.helpers import free_port

        self.app = create_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None,
                                                    access_log=False, lifespan="on", timeout_graceful_shutdown=3,
                                                    ws="websockets"))  # as channels.gateway.main does
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveGateway":
        import time

        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(30)
        assert not self._thread.is_alive(), "the gateway did not stop"


class EventStream:
    """Reads a server-sent event stream in a thread; `next()` gives parsed events {"id", "event", "data"}."""

    def __init__(self, url: str, cookies: dict | None = None, headers: dict | None = None) -> None:
        import queue

        import httpx

        self.events: "queue.Queue[dict]" = queue.Queue()
        self.status: int | None = None
        self._closed = threading.Event()
        self._opened = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=30), cookies=cookies)
        self._thread = threading.Thread(target=self._read, args=(url, headers or {}), daemon=True)
        self._thread.start()
        if not self._opened.wait(15):
            raise RuntimeError(f"no answer from {url}")

    def _read(self, url: str, headers: dict) -> None:
        import json

        try:
            with self._client.stream("GET", url, headers=headers) as response:
                self.status = response.status_code
                self._opened.set()
                event: dict = {}
                for line in response.iter_lines():
                    if self._closed.is_set():
                        return
                    if line == "":
                        if event:
                            if "data" in event:
                                try:
                                    event["data"] = json.loads(event["data"])
                                except ValueError:
                                    pass
                            self.events.put(event)
                        event = {}
                    elif not line.startswith(":"):
                        key, _, value = line.partition(":")
                        event[key] = value.removeprefix(" ")
        except Exception as error:  # noqa: BLE001 - closing the client ends the read
            if not self._closed.is_set():
                self.events.put({"event": "reader_error", "data": repr(error)})
        finally:
            self._opened.set()

    def next(self, match: Callable[[dict], bool] = lambda event: True, timeout: float = 10) -> dict:
        """The next event that matches (others are skipped); AssertionError after timeout seconds."""
        import queue
        import time

        deadline = time.monotonic() + timeout
        skipped: list[dict] = []
        while True:
            left = deadline - time.monotonic()
            try:
                event = self.events.get(timeout=max(0.01, left))
            except queue.Empty:
                raise AssertionError(f"no matching event within {timeout} s; skipped {skipped}") from None
            if match(event):
                return event
            skipped.append(event)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self._client.close()

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
