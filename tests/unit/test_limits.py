"""channels/web/limits.py: rates per key with an injected clock, things held at once, the one-at-a-time line."""

import asyncio

import pytest

from channels.web.limits import ConcurrencyLimiter, RateLimiter, SerialLine, admit, retry_after_header


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_limit_then_one_per_interval():
    clock = Clock()
    limiter = RateLimiter(6, 60.0, clock=clock)  # 6 a minute: one every 10 s after the burst
    assert [limiter.hit("a") for _ in range(6)] == [0.0] * 6
    assert limiter.hit("a") == pytest.approx(10.0)
    clock.now += 9.9
    assert limiter.hit("a") == pytest.approx(0.1)
    clock.now += 0.1
    assert limiter.hit("a") == 0.0 and limiter.hit("a") == pytest.approx(10.0)


def test_keys_are_counted_apart():
    limiter = RateLimiter(2, 60.0, clock=Clock())
    assert limiter.hit("a") == limiter.hit("a") == 0.0
    assert limiter.hit("a") > 0 and limiter.hit("b") == 0.0


def test_a_refused_request_costs_nothing():
    clock = Clock()
    limiter = RateLimiter(1, 60.0, clock=clock)
    assert limiter.hit("a") == 0.0
    for _ in range(100):  # hammering while refused does not push the next allowance further away
        assert limiter.hit("a") == pytest.approx(60.0 - (clock.now - 1000.0))
        clock.now += 0.5
    clock.now = 1060.0
    assert limiter.hit("a") == 0.0


def test_over_a_long_run_the_rate_is_the_limit_per_window():
    clock = Clock()
    limiter = RateLimiter(30, 60.0, clock=clock)
    allowed = 0
    for _ in range(6000):  # a request every 0.1 s for 10 minutes
        allowed += limiter.hit("a") == 0.0
        clock.now += 0.1
    assert 30 * 10 <= allowed <= 30 * 10 + 30  # 30 a minute, plus the first burst


def test_memory_is_bounded_by_max_keys_and_forgets_after_a_window():
    clock = Clock()
    limiter = RateLimiter(5, 60.0, max_keys=100, clock=clock)
    for number in range(10_000):
        limiter.hit(f"key-{number}")
    assert len(limiter) == 100
    clock.now += 60.01
    assert len(limiter) == 0


def test_a_forgotten_key_has_its_full_allowance():
    clock = Clock()
    limiter = RateLimiter(3, 60.0, clock=clock)
    for _ in range(3):
        limiter.hit("a")
    assert limiter.hit("a") > 0
    clock.now += 61
    assert [limiter.hit("a") for _ in range(3)] == [0.0] * 3


def test_admit_counts_all_or_nothing():
    clock = Clock()
    shared, narrow = RateLimiter(10, 60.0, clock=clock), RateLimiter(1, 60.0, clock=clock)
    assert admit([(shared, "client"), (narrow, "client")]) == 0.0
    wait = admit([(shared, "client"), (narrow, "client")])
    assert wait == pytest.approx(60.0)
    # the refused request took nothing from the shared allowance: 9 of 10 left
    assert [shared.hit("client") for _ in range(9)] == [0.0] * 9 and shared.hit("client") > 0
    assert admit([]) == 0.0


@pytest.mark.parametrize("seconds, header", [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.99, "60")])
def test_retry_after_is_whole_seconds_rounded_up(seconds, header):
    assert retry_after_header(seconds) == header


def test_bad_limits_are_refused():
    with pytest.raises(ValueError):
        RateLimiter(0, 60.0)
    with pytest.raises(ValueError):
        ConcurrencyLimiter(0, 1)
    with pytest.raises(ValueError):
        SerialLine(0)


def test_concurrency_per_key_and_in_total():
    streams = ConcurrencyLimiter(per_key=2, total=3)
    assert streams.acquire("a") and streams.acquire("a")
    assert not streams.acquire("a")  # the key's limit
    assert streams.acquire("b")
    assert not streams.acquire("c")  # everyone's limit
    assert streams.in_use == 3 and streams.held_by("c") == 0
    streams.release("a")
    assert streams.acquire("c") and streams.held_by("a") == 1
    for key in ("a", "b", "c"):
        streams.release(key)
    assert streams.in_use == 0 and streams._held == {}  # nothing kept for keys holding nothing
    with pytest.raises(ValueError):
        streams.release("a")


async def test_the_line_serves_one_per_key_at_a_time_and_refuses_when_full():
    line = SerialLine(capacity=3)
    order: list[str] = []
    release_first = asyncio.Event()

    async def job(key: str, name: str, hold: asyncio.Event | None = None) -> bool:
        async with line.turn(key) as admitted:
            if not admitted:
                return False
            order.append(f"{name} start")
            if hold is not None:
                await hold.wait()
            order.append(f"{name} end")
            return True

    first = asyncio.create_task(job("a", "a1", release_first))
    await asyncio.sleep(0)
    second = asyncio.create_task(job("a", "a2"))  # same key: waits for a1
    other = asyncio.create_task(job("b", "b1"))  # another key: runs at once
    await asyncio.sleep(0.01)
    assert order == ["a1 start", "b1 start", "b1 end"] and line.admitted == 2
    third, fourth = asyncio.create_task(job("a", "a3")), asyncio.create_task(job("c", "c1"))
    await asyncio.sleep(0.01)
    assert await fourth is False  # a1 running, a2 and a3 waiting: the line is full
    release_first.set()
    assert await asyncio.gather(first, second, other, third) == [True, True, True, True]
    assert order[3:] == ["a1 end", "a2 start", "a2 end", "a3 start", "a3 end"]
    assert line.admitted == 0 and line._locks == {}


async def test_a_cancelled_wait_gives_its_place_back():
    line = SerialLine(capacity=2)
    hold = asyncio.Event()

    async def holder() -> None:
        async with line.turn("a"):
            await hold.wait()

    running = asyncio.create_task(holder())
    await asyncio.sleep(0)

    async def waiter() -> None:
        async with line.turn("a"):
            pass

    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    assert line.admitted == 2
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert line.admitted == 1
    hold.set()
    await running
    assert line.admitted == 0
