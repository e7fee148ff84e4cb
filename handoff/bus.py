"""Live events across gateways: what one gateway's hub sends reaches the pages and consoles of the others.

`LocalBus` (one gateway) relays nothing. `PostgresBus` relays through PostgreSQL's LISTEN/NOTIFY on the
application database: each gateway listens on one channel with one connection and notifies on another; a
notification names the gateway that sent it (its origin), which ignores its own (it delivered them already).
An event too big for a notification (PostgreSQL takes less than 8000 bytes) travels as a pointer: the receivers'
streams catch up from the database, which stays the source of truth. When PostgreSQL goes away the bus
reconnects with growing waits; meanwhile each gateway still delivers to its own pages, and once it listens again
every stream on it catches up from the database (what was notified meanwhile is lost to it).
"""

import asyncio
import json
import logging
import uuid
from typing import Any, Literal, Optional, Protocol

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from core.settings import Settings
from handoff.hub import Hub, Relayed, resync_event

log = logging.getLogger("govbot.handoff.bus")

CHANNEL = "govbot_events"
MAX_PAYLOAD_BYTES = 7900  # PostgreSQL refuses a notification payload of 8000 bytes or more
OUTBOX_LIMIT = 1000  # events waiting to be notified (PostgreSQL down); the oldest go first when it is full
BACKOFF = (0.5, 30.0)  # first and longest wait between attempts to reach PostgreSQL
CONNECT_TIMEOUT = 5  # seconds

BusStatus = Literal["stopped", "connecting", "up", "down"]


class EventBus(Protocol):
    """What the gateway starts and stops with itself."""

    async def start(self) -> None:
        """Begin relaying (returns at once; the work goes on in the background)."""

    async def stop(self) -> None:
        """Stop relaying and close any connection."""


class LocalBus:
    """One gateway: events stay in its hub."""

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""


def postgres_conninfo(url: str) -> Optional[str]:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (postgresql+psycopg://…); None for another
    database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def encode(relayed: Relayed, origin: str) -> str:
    """The notification payload: the event itself, or (too big) a pointer telling receivers to catch up."""
    message: dict[str, Any] = {"o": origin, "a": relayed.audience, "s": relayed.sender, "e": relayed.event}
    payload = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)
    if len(payload.encode()) < MAX_PAYLOAD_BYTES:
        return payload
    del message["e"]
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def deliver(hub: Hub, payload: str, origin: str) -> bool:
    """Hand a notification from another gateway to this gateway's streams; False if it was ours or unreadable."""
    try:
        message = json.loads(payload)
        if not isinstance(message, dict) or message.get("o") == origin:
            return False
        audience, sender, event = message["a"], str(message.get("s", "")), message.get("e")
    except (ValueError, KeyError):
        log.warning("event_bus_bad_notification", extra={"fields": {"bytes": len(payload)}})
        return False
    if event is not None and not isinstance(event, dict):
        return False
    if audience == "citizen" and sender:
        if event is None:
            hub.resync(sender)
        else:
            hub.here_to_citizen(sender, event)
    elif audience == "agents":
        hub.here_to_agents(event if event is not None else resync_event())
    else:
        return False
    return True


class PostgresBus:
    """The hub's relay through PostgreSQL LISTEN/NOTIFY; `start()` attaches it to the hub."""

    def __init__(self, conninfo: str, hub: Hub, channel: str = CHANNEL, origin: Optional[str] = None,
                 backoff: tuple[float, float] = BACKOFF, outbox_limit: int = OUTBOX_LIMIT) -> None:
        self.conninfo, self.hub, self.channel = conninfo, hub, channel
        self.origin = origin or uuid.uuid4().hex[:12]
        self.backoff = backoff
        self.status: BusStatus = "stopped"
        self.connections = 0  # times the bus started listening (1 + reconnections)
        self._outbox: asyncio.Queue[str] = asyncio.Queue(outbox_limit)
        self._unsent: Optional[str] = None  # taken from the outbox, not yet notified
        self._dropped = 0
        self._task: Optional[asyncio.Task[None]] = None

    @property
    def application_name(self) -> str:
        """How the bus's connections show in pg_stat_activity."""
        return f"govbot-bus-{self.origin}"

    def publish(self, relayed: Relayed) -> None:
        """Queue an event for the other gateways (never blocks; when the outbox is full the oldest is dropped)."""
        if self._task is None:
            return
        if self._outbox.full():
            self._outbox.get_nowait()
            self._dropped += 1
        self._outbox.put_nowait(encode(relayed, self.origin))

    async def start(self) -> None:
        """Relay the hub's events and listen for the other gateways' in the background."""
        if self._task is None:
            self.hub.relay_to(self.publish)
            self.status = "connecting"
            self._task = asyncio.create_task(self._run(), name="event-bus")

    async def stop(self) -> None:
        """Stop relaying (events not yet notified are dropped) and close the connections."""
        self.hub.relay_to(None)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self.status = "stopped"

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, application_name=self.application_name, connect_timeout=CONNECT_TIMEOUT,
            keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)

    async def _run(self) -> None:
        delay, longest = self.backoff
        while True:
            listened = self.connections
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - whatever happened, reconnect; local delivery goes on
                reason = type(error).__name__
            else:  # pragma: no cover - a session only ends by an error
                reason = "ended"
            if self.connections != listened:  # it was up: the first retry comes soon again
                delay = self.backoff[0]
            self.status = "down"
            log.warning("event_bus_down", extra={"fields": {"origin": self.origin, "error": reason,
                                                            "retry_in": delay}})
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)

    async def _session(self) -> None:
        """Listen and notify until a connection fails (raises)."""
        listener = await self._connect()
        try:
            notifier = await self._connect()
            try:
                await listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                self.status = "up"
                self.connections += 1
                log.info("event_bus_up", extra={"fields": {"origin": self.origin, "connections": self.connections,
                                                           "dropped": self._dropped}})
                self._dropped = 0
                self.hub.resync()  # what was notified while we were not listening is lost: catch up from the database
                await _first_failure(self._listen(listener), self._notify(notifier))
            finally:
                await notifier.close()
        finally:
            await listener.close()

    async def _listen(self, connection: psycopg.AsyncConnection[Any]) -> None:
        async for notification in connection.notifies():
            deliver(self.hub, notification.payload, self.origin)
        raise ConnectionError("the notifications ended")

    async def _notify(self, connection: psycopg.AsyncConnection[Any]) -> None:
        while True:
            if self._unsent is None:
                self._unsent = await self._outbox.get()
            try:
                await connection.execute("SELECT pg_notify(%s, %s)", (self.channel, self._unsent))
            except (psycopg.DataError, psycopg.ProgrammingError) as error:  # refused, not a lost connection:
                log.error("event_bus_notify_refused",  # sending it again would only be refused again
                          extra={"fields": {"origin": self.origin, "error": type(error).__name__,
                                            "bytes": len(self._unsent.encode())}})
            self._unsent = None


async def _first_failure(*work: Any) -> None:
    """Run the coroutines until one ends; cancel the others and raise its error."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in work]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()


def event_bus(settings: Settings, database_url: str, hub: Hub) -> EventBus:
    """The bus the settings ask for (GOVBOT_EVENT_BUS): local, or PostgreSQL on the application database."""
    if settings.event_bus == "local":
        return LocalBus()
    conninfo = postgres_conninfo(database_url)
    if conninfo is None:  # Settings refuses this already; a caller passing another URL is a bug
        raise ValueError("GOVBOT_EVENT_BUS=postgres needs a PostgreSQL GOVBOT_DATABASE_URL")
    return PostgresBus(conninfo, hub)
