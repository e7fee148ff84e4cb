"""Several Rasa servers behind one client: each conversation always goes to the same one.

Rasa keeps a conversation consistent with a lock per conversation, and the open-source lock stores cannot give
that lock atomically across servers (an in-memory lock is per process; the Redis lock store's ticket is read, then
written: Rasa PR #11256). So the gateway never lets two servers handle one conversation: a conversation's messages,
transcript reads and appended events all go to the server chosen by a hash of its sender id. Servers share the
tracker store (and the model), so the choice only has to be stable, not remembered.
"""

import hashlib
from typing import Any, Optional

from channels.common.rasa_client import RasaClient
from core.messages import BotMessage


def replica_of(sender: str, replicas: int) -> int:
    """The index of the replica that handles `sender`'s conversation (stable across processes and restarts)."""
    digest = hashlib.sha256(sender.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % replicas


class RasaReplicas:
    """The RasaClient interface over one or more Rasa servers, a conversation always on the same server."""

    def __init__(self, clients: list[RasaClient]) -> None:
        if not clients:
            raise ValueError("RasaReplicas needs at least one Rasa server")
        self.clients = clients

    @classmethod
    def from_urls(cls, urls: list[str], timeout: float, token: str = "") -> "RasaReplicas":
        """One client per URL, each with Rasa's API token."""
        return cls([RasaClient(url, timeout, token=token) for url in urls])

    def __repr__(self) -> str:
        return f"RasaReplicas({[client.base_url for client in self.clients]!r})"

    def client_for(self, sender: str) -> RasaClient:
        """The client of the server that handles this conversation."""
        return self.clients[replica_of(sender, len(self.clients))]

    async def send(self, sender: str, text: str, metadata: Optional[dict[str, Any]] = None) -> list[BotMessage]:
        """Deliver one user message to the conversation's server and return the bot's replies."""
        return await self.client_for(sender).send(sender, text, metadata)

    async def conversation_events(self, sender: str) -> list[dict[str, Any]]:
        """The events of the conversation's tracker (empty when its server cannot be asked)."""
        return await self.client_for(sender).conversation_events(sender)

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Add events to the conversation's tracker, through its server."""
        await self.client_for(sender).append_events(sender, events)

    async def is_up(self) -> bool:
        """True when every server answers with a loaded model (a conversation may be on any of them)."""
        for client in self.clients:
            if not await client.is_up():
                return False
        return True

    async def close(self) -> None:
        """End every server's HTTP connections."""
        for client in self.clients:
            await client.close()
