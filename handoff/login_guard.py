"""Failed agent logins slow the next ones down: per username and per client address, a lock-out that doubles.

After `free_failures` failures in a row a key (a username, or a client address) is locked for `first_lock`
seconds, then twice as long after each further failure, up to `max_lock`; a success resets the keys it
used, and a key without a failure for `forget_after` seconds starts afresh. While any key of an attempt is
locked, or another attempt on one of its keys is still being checked, the attempt is refused without looking
at the password (so concurrent guesses cannot slip past the count). The counts live in the gateway's memory:
a restart forgets them, and the table is bounded (the oldest entries go first).
"""

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable

from handoff.records import HandoffError

Key = tuple[str, str]  # ("user", name) or ("address", host)


@dataclass(frozen=True)
class Backoff:
    """How failures of one key turn into lock-outs."""

    free_failures: int = 5
    first_lock: float = 15.0
    max_lock: float = 900.0
    forget_after: float = 3600.0

    def lock_seconds(self, failures: int) -> float:
        """How long a key is locked after its `failures`-th failure in a row (0: not locked)."""
        if failures < self.free_failures:
            return 0.0
        return min(self.max_lock, self.first_lock * 2.0 ** min(failures - self.free_failures, 32))


class TooManyAttempts(HandoffError):
    """A login refused unchecked because of earlier failures; `retry_after` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too_many_attempts", f"too many failed log-ins: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class _Record:
    failures: int
    last_failure: datetime
    locked_until: datetime


def login_keys(username: str, address: str) -> list[Key]:
    """The keys a login attempt counts against: its username (case-folded) and, when known, its address."""
    keys: list[Key] = [("user", username.casefold())]
    return keys + [("address", address)] if address else keys


class LoginGuard:
    """The failure counts and lock-outs of log-ins; used from the event loop only (no locking)."""

    def __init__(self, user: Backoff, address: Backoff, clock: Callable[[], datetime],
                 max_entries: int = 50_000) -> None:
        self.backoff = {"user": user, "address": address}
        self.clock = clock
        self.max_entries = max_entries
        self._records: OrderedDict[Key, _Record] = OrderedDict()
        self._checking: set[Key] = set()

    def _record(self, key: Key, now: datetime) -> _Record | None:
        record = self._records.get(key)
        if record is not None and now - record.last_failure > timedelta(seconds=self.backoff[key[0]].forget_after):
            del self._records[key]
            return None
        return record

    def admit(self, keys: Iterable[Key]) -> None:
        """Let an attempt go on to the password check (call `settle` after it), or raise TooManyAttempts."""
        keys, now = list(keys), self.clock()
        if any(key in self._checking for key in keys):
            raise TooManyAttempts(1)
        wait = max([0.0] + [(record.locked_until - now).total_seconds()
                            for record in (self._record(key, now) for key in keys) if record is not None])
        if wait > 0:
            raise TooManyAttempts(max(1, math.ceil(wait)))
        self._checking.update(keys)

    def settle(self, keys: Iterable[Key], succeeded: bool) -> float:
        """Count an admitted attempt's outcome; the lock-out (seconds) it started, 0 when none."""
        keys, now = list(keys), self.clock()
        self._checking.difference_update(keys)
        if succeeded:
            for key in keys:
                self._records.pop(key, None)
            return 0.0
        longest = 0.0
        for key in keys:
            record = self._record(key, now) or _Record(0, now, now)
            record.failures += 1
            record.last_failure = now
            lock = self.backoff[key[0]].lock_seconds(record.failures)
            record.locked_until = now + timedelta(seconds=lock)
            longest = max(longest, lock)
            self._records[key] = record
            self._records.move_to_end(key)
        while len(self._records) > self.max_entries:
            self._records.popitem(last=False)
        return longest

    def failures(self, key: Key) -> int:
        """Failures in a row counted for a key (0 when none or forgotten)."""
        record = self._record(key, self.clock())
        return record.failures if record else 0
