"""What one caller may cost: request rates per key, things held at once per key and in total, one-at-a-time lines.

Plain classes with an injectable clock (no web framework here); channels/web/guards.py applies them to requests.
Memory stays bounded whatever the callers do: a rate limiter remembers at most `max_keys` keys, each only as long
as it matters (one window), and the other two hold a key only while something is held.
"""

import asyncio
import math
import time
from collections import Counter
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable, Iterable

from cachetools import TTLCache

Clock = Callable[[], float]
DEFAULT_MAX_KEYS = 65_536  # about 10 MB of remembered keys at most
_EPSILON = 1e-9


class RateLimiter:
    """At most `limit` requests per `window` seconds for each key: a burst of `limit` at once, then one every
    `window / limit` seconds (the generic cell rate algorithm: one number per key, the theoretical arrival time).

    A key not seen for a whole window is forgotten, which is the same as a full allowance; when `max_keys` keys are
    remembered the least recently used is forgotten first.
    """

    def __init__(self, limit: int, window: float, max_keys: int = DEFAULT_MAX_KEYS,
                 clock: Clock = time.monotonic) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("a rate limit needs limit >= 1, window > 0 and max_keys >= 1")
        self.limit, self.window, self._clock = limit, window, clock
        self._interval = window / limit  # the time one request costs
        self._tolerance = window - self._interval  # how far ahead of now the arrival time may run: the burst
        self._arrival: TTLCache[str, float] = TTLCache(max_keys, ttl=window, timer=clock)

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may make its next request (0.0: now); records nothing."""
        now = self._clock()
        ahead = max(self._arrival.get(key, now), now) - now
        wait = ahead - self._tolerance
        return wait if wait > _EPSILON else 0.0  # float sums of the interval must not refuse the burst's last

    def hit(self, key: str) -> float:
        """Count one request of `key` if it is allowed (returns 0.0); else the seconds to wait (nothing counted)."""
        wait = self.retry_after(key)
        if wait == 0.0:
            now = self._clock()
            self._arrival[key] = max(self._arrival.get(key, now), now) + self._interval
        return wait

    def __len__(self) -> int:
        """How many keys are remembered right now."""
        self._arrival.expire()
        return len(self._arrival)


def admit(checks: Iterable[tuple[RateLimiter, str]]) -> float:
    """Count one request against every (limiter, key) pair if all allow it (0.0); else the longest wait, and
    nothing is counted anywhere (a refused request costs no allowance)."""
    pairs = list(checks)
    wait = max((limiter.retry_after(key) for limiter, key in pairs), default=0.0)
    if wait > 0.0:
        return wait
    for limiter, key in pairs:
        limiter.hit(key)
    return 0.0


def retry_after_header(seconds: float) -> str:
    """A Retry-After value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))


class ConcurrencyLimiter:
    """At most `per_key` things held at once by each key, and `total` by all keys together."""

    def __init__(self, per_key: int, total: int) -> None:
        if per_key < 1 or total < 1:
            raise ValueError("concurrency limits must be at least 1")
        self.per_key, self.total = per_key, total
        self._held: Counter[str] = Counter()
        self._in_use = 0

    @property
    def in_use(self) -> int:
        """Things held right now, by all keys."""
        return self._in_use

    def held_by(self, key: str) -> int:
        """Things `key` holds right now."""
        return self._held.get(key, 0)

    def acquire(self, key: str) -> bool:
        """Hold one more for `key` (True), or False when the key or everyone together is at the limit."""
        if self._in_use >= self.total or self._held.get(key, 0) >= self.per_key:
            return False
        self._held[key] += 1
        self._in_use += 1
        return True

    def release(self, key: str) -> None:
        """Give back one thing `key` holds."""
        if self._held.get(key, 0) <= 0:
            raise ValueError("release without acquire")
        self._held[key] -= 1
        self._in_use -= 1
        if not self._held[key]:
            del self._held[key]


class SerialLine:
    """One turn at a time per key (the next one of the same key waits in line), and at most `capacity` turns
    admitted at once in total, running or waiting; past that a turn is refused at once."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a line needs room for at least one")
        self.capacity = capacity
        self._admitted = 0
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @property
    def admitted(self) -> int:
        """Turns running or waiting right now."""
        return self._admitted

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[bool]:
        """`async with line.turn(key) as admitted:` False at once when the line is full; else True once the
        key's previous turns are over (the turn lasts until the block ends, also when it is cancelled)."""
        if self._admitted >= self.capacity:
            yield False
            return
        self._admitted += 1
        self._users[key] += 1
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield True
        finally:
            self._admitted -= 1
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


__all__ = ["ConcurrencyLimiter", "RateLimiter", "SerialLine", "admit", "retry_after_header"]
