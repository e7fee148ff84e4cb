"""Live updates inside the gateway: citizens' pages and agents' consoles subscribe to streams of events.

An event is a JSON-ready dict with a "type" ("handoff", "ticket", "queue", "message", "hello") and, for a
stored message, its "id". How the events travel (server-sent events) is the HTTP layer's business.
"""

import asyncio
from collections import defaultdict
from contextlib import contextmanager
from typing import Any, Iterator, Optional

QUEUE_LIMIT = 200  # a stream that stops reading loses its oldest events, never blocks the gateway

LiveEvent = dict[str, Any]
EventQueue = asyncio.Queue[LiveEvent]


class Hub:
    """Fan-out of events: to one conversation's open pages, or to every agent console."""

    def __init__(self) -> None:
        self._citizens: dict[str, set[EventQueue]] = defaultdict(set)
        self._agents: set[EventQueue] = set()

    @staticmethod
    def _put(queue: EventQueue, event: LiveEvent) -> None:
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(event)

    @contextmanager
    def citizen_stream(self, sender: str) -> Iterator[EventQueue]:
        """Subscribe to one conversation's events for as long as the block runs."""
        queue: EventQueue = asyncio.Queue(QUEUE_LIMIT)
        self._citizens[sender].add(queue)
        try:
            yield queue
        finally:
            self._citizens[sender].discard(queue)
            if not self._citizens[sender]:
                del self._citizens[sender]

    @contextmanager
    def agent_stream(self) -> Iterator[EventQueue]:
        """Subscribe to the agents' events for as long as the block runs."""
        queue: EventQueue = asyncio.Queue(QUEUE_LIMIT)
        self._agents.add(queue)
        try:
            yield queue
        finally:
            self._agents.discard(queue)

    def to_citizen(self, sender: str, event: LiveEvent) -> None:
        """Send an event to every open page of the conversation."""
        for queue in list(self._citizens.get(sender, ())):
            self._put(queue, event)

    def to_agents(self, event: LiveEvent) -> None:
        """Send an event to every agent console."""
        for queue in list(self._agents):
            self._put(queue, event)

    def watching(self, sender: str) -> bool:
        """Whether a page of this conversation is listening now."""
        return bool(self._citizens.get(sender))


async def next_event(queue: EventQueue, wait: float) -> Optional[LiveEvent]:
    """The next event, or None after `wait` seconds of silence."""
    try:
        return await asyncio.wait_for(queue.get(), timeout=wait)
    except asyncio.TimeoutError:
        return None
