"""Live updates inside the gateway: citizens' web pages and agents' consoles subscribe to event streams."""

import asyncio
import json
from collections import defaultdict
from contextlib import contextmanager
from typing import Any, Iterator, Optional

QUEUE_LIMIT = 200  # a stream that stops reading loses its oldest events, never blocks the gateway


class Hub:
    """Fan-out of events: to one conversation's open pages, or to every agent console."""

    def __init__(self) -> None:
        self._citizens: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._agents: set[asyncio.Queue] = set()

    @staticmethod
    def _put(queue: asyncio.Queue, event: dict[str, Any]) -> None:
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(event)

    @contextmanager
    def citizen_stream(self, sender: str) -> Iterator[asyncio.Queue]:
        queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self._citizens[sender].add(queue)
        try:
            yield queue
        finally:
            self._citizens[sender].discard(queue)
            if not self._citizens[sender]:
                del self._citizens[sender]

    @contextmanager
    def agent_stream(self) -> Iterator[asyncio.Queue]:
        queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self._agents.add(queue)
        try:
            yield queue
        finally:
            self._agents.discard(queue)

    def to_citizen(self, sender: str, event: dict[str, Any]) -> None:
        for queue in list(self._citizens.get(sender, ())):
            self._put(queue, event)

    def to_agents(self, event: dict[str, Any]) -> None:
        for queue in list(self._agents):
            self._put(queue, event)

    def watching(self, sender: str) -> bool:
        """Whether a page of this conversation is listening now."""
        return bool(self._citizens.get(sender))


def sse(event: dict[str, Any], event_id: Optional[int] = None) -> str:
    """One server-sent event: its type, optional id (for Last-Event-ID) and JSON data."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event.get('type', 'message')}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


async def next_event(queue: asyncio.Queue, heartbeat: float) -> Optional[dict[str, Any]]:
    """The next event, or None after heartbeat seconds of silence (time to send a keep-alive)."""
    try:
        return await asyncio.wait_for(queue.get(), timeout=heartbeat)
    except asyncio.TimeoutError:
        return None
