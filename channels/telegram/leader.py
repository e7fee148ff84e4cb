"""Which gateway polls Telegram: the one holding a PostgreSQL session advisory lock (the others stand by).

Telegram lets one client poll getUpdates at a time (a second one gets 409 Conflict), so behind a load
balancer the gateways elect one: `pg_try_advisory_lock(key)` on a connection of their own, the key derived
from the bot's id. PostgreSQL releases the lock when that connection ends (its gateway stopped, crashed, or lost
the database), and a standby gateway takes it at its next attempt.
"""

import asyncio
import hashlib
import logging
from typing import Any, Optional

import psycopg

log = logging.getLogger("govbot.telegram")

CONNECT_TIMEOUT = 5  # seconds
APPLICATION_NAME = "govbot-telegram-leader"  # how the lock's connection shows in pg_stat_activity


def lock_key(bot_id: str) -> int:
    """The advisory lock's key for a bot (a signed 64-bit integer, the same in every gateway)."""
    digest = hashlib.blake2b(f"govbot-telegram-polling:{bot_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PollingLock:
    """The lock, on a dedicated connection held for as long as this gateway polls."""

    def __init__(self, conninfo: str, key: int, check_every: float) -> None:
        self.conninfo, self.key, self.check_every = conninfo, key, check_every
        self._connection: Optional[psycopg.AsyncConnection[Any]] = None
        self._unreachable = False  # the last attempt failed (logged once until one succeeds)

    @property
    def held(self) -> bool:
        """The lock was taken and its connection has not been seen to fail."""
        return self._connection is not None

    async def try_acquire(self) -> bool:
        """Take the lock if no other gateway holds it; False if one does or PostgreSQL cannot be reached."""
        if self._connection is not None:
            return True
        connection: Optional[psycopg.AsyncConnection[Any]] = None
        try:
            connection = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, application_name=APPLICATION_NAME, connect_timeout=CONNECT_TIMEOUT,
                keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3)
            row = await (await connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))).fetchone()
        except (psycopg.Error, OSError) as error:
            if not self._unreachable:
                log.warning("telegram_leader_unreachable", extra={"fields": {"error": type(error).__name__}})
            self._unreachable = True
            await _close(connection)
            return False
        except BaseException:  # cancelled: do not leave the connection (maybe holding the lock) behind
            await _close(connection)
            raise
        self._unreachable = False
        if not (row and row[0]):
            await _close(connection)
            return False
        self._connection = connection
        return True

    async def lost(self) -> None:
        """Return when the lock is no longer held: its connection failed (checked every `check_every` seconds,
        at once when PostgreSQL closes it)."""
        connection = self._connection
        if connection is None:
            return
        try:
            while True:
                async for _ in connection.notifies(timeout=self.check_every):
                    pass  # nothing is notified on this connection; waiting on it notices a closed one at once
                await asyncio.wait_for(connection.execute("SELECT 1"), self.check_every)
        except (psycopg.Error, OSError, asyncio.TimeoutError) as error:
            log.warning("telegram_leader_lost", extra={"fields": {"error": type(error).__name__}})
        await self.release()

    async def release(self) -> None:
        """Give the lock up (by closing its connection)."""
        connection, self._connection = self._connection, None
        await _close(connection)


async def _close(connection: Optional[psycopg.AsyncConnection[Any]]) -> None:
    if connection is not None:
        try:
            await connection.close()
        except (psycopg.Error, OSError):
            pass
