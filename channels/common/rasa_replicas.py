"""Several Rasa servers behind one client: each conversation goes to its own server, and to the next one while that
server is not serving.

Rasa keeps a conversation consistent with a lock per conversation, and the open-source lock stores cannot give that
lock atomically across servers (an in-memory lock is per process; the Redis lock store's ticket is read, then written:
Rasa PR #11256). So the gateway does not spread a conversation over servers: its messages, transcript reads and
appended events all go to the server chosen by a hash of its sender id (`replica_of`). Servers share the tracker
store (and the model), so the choice only has to be stable, not remembered.

Failover. When that server is not serving — the connection is refused or dropped, or it answers HTTP 5xx
(`RasaUnreachable`) — the same call goes to the next server in the conversation's own order (its server + 1, + 2, …
modulo their number), and the failed server is marked down for `cooldown` seconds, during which every conversation
skips it (and tries it last, when all are down). After the cooldown a conversation's own server is tried first again;
when it answers, the conversation is back on it. A timeout is not failed over: the server may still be working on the
message, and a second server working on it at the same time is what the lock could not prevent.

Why failing over is safe although the lock is not shared: the server a message leaves is not serving it (it refused
the connection, lost it — in practice the process died — or failed the request, and Rasa saves a turn's events only
at its end), so only one server works on the message. And each message carries a request id (rasa_client), kept
across the retry: when the first server did store the turn before it died, the next one finds the id in the shared
tracker and sends the stored replies instead of processing it again (bot/rasa_patches.py). Appending events has no
such id, so it moves to another server only when the first surely never got the request (the connection did not
open). Conversations move between servers only when a server fails or comes back; a conversation that sends its
next message while its previous one is still being answered by the other server at that very moment is the one
case the (unshared) lock does not cover.

Each gateway keeps its own view of which servers are down.
"""

import hashlib
import logging
import time
from typing import Any, Awaitable, Callable, Optional, TypeVar

from channels.common.rasa_client import RasaClient, RasaUnavailable, RasaUnreachable, with_request_id
from core.messages import BotMessage

log = logging.getLogger("govbot.rasa_client")

DEFAULT_COOLDOWN = 10.0  # seconds a server that failed is skipped before conversations try it again
Result = TypeVar("Result")


def replica_of(sender: str, replicas: int) -> int:
    """The index of the replica that handles `sender`'s conversation (stable across processes and restarts)."""
    digest = hashlib.sha256(sender.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % replicas


def always(_: RasaUnreachable) -> bool:
    """Any failure of a server that is not serving may be retried on the next one."""
    return True


def not_sent(error: RasaUnreachable) -> bool:
    """Only a request that never reached the server may be retried on the next one."""
    return not error.request_sent


class RasaReplicas:
    """The RasaClient interface over one or more Rasa servers: a conversation on its own server, on the next ones in
    turn while that one is not serving (`cooldown`: seconds a failed server is skipped; `timer`: the clock)."""

    def __init__(self, clients: list[RasaClient], cooldown: float = DEFAULT_COOLDOWN,
                 timer: Callable[[], float] = time.monotonic) -> None:
        if not clients:
            raise ValueError("RasaReplicas needs at least one Rasa server")
        if cooldown < 0:
            raise ValueError("the cooldown cannot be negative")
        self.clients = clients
        self.cooldown = cooldown
        self._timer = timer
        self._down_until: dict[int, float] = {}

    @classmethod
    def from_urls(cls, urls: list[str], timeout: float, token: str = "",
                  cooldown: float = DEFAULT_COOLDOWN) -> "RasaReplicas":
        """One client per URL, each with Rasa's API token."""
        return cls([RasaClient(url, timeout, token=token) for url in urls], cooldown=cooldown)

    def __repr__(self) -> str:
        return f"RasaReplicas({[client.base_url for client in self.clients]!r})"

    def client_for(self, sender: str) -> RasaClient:
        """The client of the server that handles this conversation when every server is serving."""
        return self.clients[replica_of(sender, len(self.clients))]

    def is_down(self, index: int) -> bool:
        """True while the server at `index` is in its cooldown after a failure."""
        return self._down_until.get(index, 0.0) > self._timer()

    def order_for(self, sender: str) -> list[int]:
        """The servers to try for this conversation: its own, then the next ones in turn; those down go last."""
        count = len(self.clients)
        first = replica_of(sender, count)
        ring = [(first + step) % count for step in range(count)]
        return [index for index in ring if not self.is_down(index)] + [index for index in ring if self.is_down(index)]

    async def _call(self, sender: str, call: Callable[[RasaClient], Awaitable[Result]],
                    retry: Callable[[RasaUnreachable], bool]) -> Result:
        """`call` on the conversation's servers in order, until one answers or fails in a way `retry` refuses."""
        order = self.order_for(sender)
        for position, index in enumerate(order):
            try:
                result = await call(self.clients[index])
            except RasaUnreachable as error:
                self._down_until[index] = self._timer() + self.cooldown
                last = position == len(order) - 1
                log.warning("rasa_replica_failed", extra={"fields": {
                    "replica": self.clients[index].base_url, "reason": str(error),
                    "next": None if last or not retry(error) else self.clients[order[position + 1]].base_url}})
                if last or not retry(error):
                    raise
                continue
            self._down_until.pop(index, None)
            return result
        raise AssertionError("unreachable: the order holds every server")  # pragma: no cover

    async def send(self, sender: str, text: str, metadata: Optional[dict[str, Any]] = None) -> list[BotMessage]:
        """Deliver one user message to the conversation's server (the next ones while it is not serving), the same
        request id to each, and return the bot's replies."""
        metadata = with_request_id(metadata)
        return await self._call(sender, lambda client: client.send(sender, text, metadata), always)

    async def conversation_events(self, sender: str) -> list[dict[str, Any]]:
        """The events of the conversation's tracker (empty when no server can be asked)."""
        try:
            return await self._call(sender, lambda client: client.tracker_events(sender), always)
        except RasaUnavailable:
            return []

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Add events to the conversation's tracker, through its server (another only if it never got them)."""
        await self._call(sender, lambda client: client.append_events(sender, events), not_sent)

    async def is_up(self) -> bool:
        """True when every server answers with a loaded model (full capacity)."""
        for client in self.clients:
            if not await client.is_up():
                return False
        return True

    async def any_up(self) -> bool:
        """True when at least one server answers with a loaded model (messages can be answered)."""
        for client in self.clients:
            if await client.is_up():
                return True
        return False

    async def state(self) -> str:
        """"up" (every server answers with a loaded model), "degraded" (some do: messages are still answered) or
        "down" (none does)."""
        answering = [await client.is_up() for client in self.clients]
        return "up" if all(answering) else "degraded" if any(answering) else "down"

    async def close(self) -> None:
        """End every server's HTTP connections."""
        for client in self.clients:
            await client.close()
