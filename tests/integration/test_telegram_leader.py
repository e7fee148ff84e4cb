"""Several gateways polling Telegram through one PostgreSQL database: exactly one polls (it holds the advisory
lock), the others stand by and can still send, and one takes over when the poller's lock connection dies or it
stops; at no moment do two poll. Real aiogram against the stand-in Bot API (which, like Telegram, answers 409 to
a second getUpdates while one is waiting), a real PostgreSQL server, Rasa faked."""

import asyncio
import time
from contextlib import AsyncExitStack
from typing import AsyncIterator, Callable

import psycopg
import pytest
from aiohttp import web

from channels.common.rasa_client import RasaClient
from channels.telegram.service import TelegramService
from core.messages import BotMessage
from core.settings import Settings
from handoff.bus import postgres_conninfo
from testkit.helpers import FakeRasa
from testkit.telegram_standin import TelegramStandIn

USER = 4242
RETRY = 0.2  # GOVBOT_TELEGRAM_LEADER_RETRY in these tests
WAIT = 15.0


class OnePollerStandIn(TelegramStandIn):
    """The stand-in Bot API, counting getUpdates calls in flight: a second one while one waits is a conflict
    (Telegram's 409), and a poll whose client went away ends (as Telegram ends it)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.conflicts = 0

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"].lower() != "getupdates" or request.match_info["token"] != self.token:
            return await super()._api(request)
        with self._lock:
            conflict = self.in_flight > 0
            self.in_flight += 1
            self.conflicts += conflict
        try:
            if conflict:
                self._record_call(request.match_info["method"], 409)
                return self._error(409, "Conflict: terminated by other getUpdates request; make sure that only "
                                        "one bot instance is running")
            poll = asyncio.ensure_future(super()._api(request))
            while not poll.done():
                await asyncio.wait({poll}, timeout=0.01)
                if request.transport is None or request.transport.is_closing():  # the client gave up the poll
                    poll.cancel()
                    await asyncio.gather(poll, return_exceptions=True)
                    return web.Response(status=499)
            return poll.result()
        finally:
            with self._lock:
                self.in_flight -= 1


async def until(condition: Callable[[], object], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.fixture
def standin():
    with OnePollerStandIn() as server:
        yield server


@pytest.fixture
def rasa_url():
    fake = FakeRasa(reply=lambda sender, message: [{"recipient_id": sender, "text": f"answer to {message}"}])
    with fake.serving() as url:
        yield url


class Watch:
    """Samples the services' statuses every few milliseconds: the most that were ever polling at once."""

    def __init__(self, services: list[TelegramService]) -> None:
        self.services, self.most = services, 0
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            self.most = max(self.most, sum(s.status == "polling" for s in self.services))
            await asyncio.sleep(0.002)

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@pytest.fixture
async def gateways(standin, rasa_url, postgres_url) -> AsyncIterator[list[TelegramService]]:
    settings = Settings(rasa_url=rasa_url, telegram_token=standin.token, telegram_api_url=standin.base_url,
                        database_url=postgres_url, telegram_leader_retry=RETRY)
    async with AsyncExitStack() as stack:
        services = []
        for _ in range(2):
            client = RasaClient(rasa_url, 5)
            stack.push_async_callback(client.close)
            service = TelegramService(settings, client, None, polling_timeout=1, start_backoff=(0.1, 0.5))
            stack.push_async_callback(service.stop)
            services.append(service)
        for service in services:
            await service.start()
        yield services


async def lock_holder(url: str) -> list[int]:
    """The server processes holding an advisory lock (the poller's lock connection)."""
    info = postgres_conninfo(url)
    assert info is not None
    async with await psycopg.AsyncConnection.connect(info, autocommit=True) as admin:
        rows = await (await admin.execute("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")
                      ).fetchall()
    return [row[0] for row in rows]


async def terminate(url: str, pid: int) -> None:
    info = postgres_conninfo(url)
    assert info is not None
    async with await psycopg.AsyncConnection.connect(info, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def answered(standin: TelegramStandIn, text: str) -> None:
    """A user writes; exactly one answer comes back (one gateway handled the update)."""
    before = len(standin.sent(USER))
    standin.send_text(text, USER)
    [sent] = await asyncio.to_thread(standin.wait_sent, USER, 1, None, before, WAIT, 0.5)
    assert sent.text == f"answer to {text}"


def roles(services: list[TelegramService]) -> list[str]:
    return sorted(s.status for s in services)


async def test_one_gateway_polls_the_other_stands_by_and_takes_over_without_two_pollers(standin, gateways,
                                                                                      postgres_url):
    watch = Watch(gateways)
    try:
        await until(lambda: roles(gateways) == ["polling", "standby"])
        await until(lambda: standin.calls("getUpdates"))
        [leader] = [s for s in gateways if s.status == "polling"]
        [standby] = [s for s in gateways if s.status == "standby"]
        await asyncio.sleep(5 * RETRY)  # the standby keeps trying, and keeps failing
        assert leader.status == "polling" and standby.status == "standby"
        await answered(standin, "护照")

        # the poller's lock connection dies (a failover, an administrator): the standby takes over
        [pid] = await lock_holder(postgres_url)
        await terminate(postgres_url, pid)
        await until(lambda: standby.status == "polling")
        await until(lambda: leader.status == "standby")
        await answered(standin, "身份证")
        assert len(await lock_holder(postgres_url)) == 1

        # the new poller stops (its gateway shuts down): the first one takes over again
        await standby.stop()
        await until(lambda: leader.status == "polling")
        await answered(standin, "社保")
    finally:
        await watch.close()
    assert watch.most == 1  # never two services polling at once ...
    assert standin.conflicts == 0  # ... nor two getUpdates in flight at the Bot API
    assert [status for _, _, status in standin.calls("getUpdates")].count(409) == 0


async def test_a_standby_gateway_still_sends_an_agents_reply(standin, gateways):
    await until(lambda: roles(gateways) == ["polling", "standby"])
    [standby] = [s for s in gateways if s.status == "standby"]
    await standby.push(f"telegram:{USER}", [BotMessage(text="人工客服 小王：请带上身份证")])
    [sent] = await asyncio.to_thread(standin.wait_sent, USER, 1)
    assert sent.text == "人工客服 小王：请带上身份证"


def test_the_lock_is_only_used_with_postgresql_and_polling(postgres_url, tmp_path):
    def service(**values: object) -> TelegramService:
        settings = Settings(telegram_token="123456:" + "x" * 35, var_dir=tmp_path, **values)  # type: ignore[arg-type]
        return TelegramService(settings, RasaClient("http://127.0.0.1:9", 1), None)

    assert service().lock is None  # SQLite: one gateway, it polls as before
    assert service(database_url=postgres_url).lock is not None
    assert service(database_url=postgres_url, telegram_mode="webhook", telegram_webhook_url="https://x.example/hook",
                   telegram_webhook_secret="s3cret").lock is None
    assert service(database_url=postgres_url).lock.key == service(database_url=postgres_url).lock.key


async def test_without_the_lock_two_gateways_would_both_poll_and_the_standin_sees_it(standin, rasa_url, tmp_path):
    """The check above can fail: two gateways on their own SQLite databases (no lock) both poll."""
    services, clients = [], [RasaClient(rasa_url, 5), RasaClient(rasa_url, 5)]
    for name, client in zip("ab", clients):
        settings = Settings(rasa_url=rasa_url, telegram_token=standin.token, telegram_api_url=standin.base_url,
                            var_dir=tmp_path / name)
        services.append(TelegramService(settings, client, None, polling_timeout=1, start_backoff=(0.1, 0.5)))
    watch = Watch(services)
    try:
        for service in services:
            await service.start()
        await until(lambda: standin.conflicts > 0)
        assert watch.most == 2
    finally:
        await watch.close()
        for service, client in zip(services, clients):
            await service.stop()
            await client.close()
