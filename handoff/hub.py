"""Live updates inside the gateway: citizens' pages and agents' consoles subscribe to streams of events.

An event is a JSON-ready dict with a "type" ("handoff", "ticket", "queue", "message", "hello") and, for a
stored message, its "id". How the events travel (server-sent events) is the HTTP layer's business. With several
gateways, a relay (handoff/bus.py) carries what is sent to citizens and agents to the other gateways, which hand
it to their own subscribers with `here_to_citizen` / `here_to_agents`. A "resync" event in a stream means events
may have been missed (the relay was down, or an event was too big to relay): the stream's reader rebuilds them
from the database.
"""

import asyncio
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Literal, Optional

QUEUE_LIMIT = 200  # a stream that stops reading loses its oldest events, never blocks the gateway
RESYNC = "resync"  # the type of the event that tells a stream's reader to catch up from the database

LiveEvent = dict[str, Any]
EventQueue = asyncio.Queue[LiveEvent]


@dataclass(frozen=True)
class Relayed:
    """An event for the other gateways: to one conversation's pages (`sender`) or to every agent console."""

    audience: Literal["citizen", "agents"]
    event: LiveEvent
    sender: str = ""


Relay = Callable[[Relayed], None]


def resync_event() -> LiveEvent:
    """The event that tells a stream's reader it may have missed events."""
    return {"type": RESYNC}


class Hub:
    """Fan-out of events: to one conversation's open pages, or to every agent console (and through the relay,
    if one is attached, to those of the other gateways)."""

    def __init__(self) -> None:
        self._citizens: dict[str, set[EventQueue]] = defaultdict(set)
        self._agents: set[EventQueue] = set()
        self._relay: Optional[Relay] = None

    def relay_to(self, relay: Optional[Relay]) -> None:
        """Also hand every event sent with `to_citizen` / `to_agents` to `relay` (None: this gateway only)."""
        self._relay = relay

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
        """Send an event to every open page of the conversation, on every gateway."""
        self.here_to_citizen(sender, event)
        if self._relay is not None:
            self._relay(Relayed("citizen", event, sender))

    def to_agents(self, event: LiveEvent) -> None:
        """Send an event to every agent console, on every gateway."""
        self.here_to_agents(event)
        if self._relay is not None:
            self._relay(Relayed("agents", event))

    def here_to_citizen(self, sender: str, event: LiveEvent) -> None:
        """Send an event to the conversation's pages open on this gateway only."""
        for queue in list(self._citizens.get(sender, ())):
            self._put(queue, event)

    def here_to_agents(self, event: LiveEvent) -> None:
        """Send an event to the agent consoles open on this gateway only."""
        for queue in list(self._agents):
            self._put(queue, event)

    def resync(self, sender: Optional[str] = None) -> None:
        """Tell this gateway's streams they may have missed events: one conversation's pages, or (None) every
        page and every console."""
        if sender is not None:
            self.here_to_citizen(sender, resync_event())
            return
        for queues in list(self._citizens.values()):
            for queue in list(queues):
                self._put(queue, resync_event())
        self.here_to_agents(resync_event())

    def watching(self, sender: str) -> bool:
        """Whether a page of this conversation is listening on this gateway now."""
        return bool(self._citizens.get(sender))


class SeenIds:
    """Which stored messages a stream has sent: every id up to `through`, and the ids above it in `above`."""

    def __init__(self, through: int = 0) -> None:
        self.through, self.above = through, set[int]()

    def has(self, message_id: int) -> bool:
        return message_id <= self.through or message_id in self.above

    def add(self, message_id: int) -> None:
        if message_id > self.through:
            self.above.add(message_id)

    def caught_up(self, through: int) -> None:
        """Everything up to `through` has been sent (after a replay from the database)."""
        if through > self.through:
            self.through = through
            self.above = {message_id for message_id in self.above if message_id > through}


async def next_event(queue: EventQueue, wait: float) -> Optional[LiveEvent]:
    """The next event, or None after `wait` seconds of silence."""
    try:
        return await asyncio.wait_for(queue.get(), timeout=wait)
    except asyncio.TimeoutError:
        return None
