"""Running the Telegram bot inside the gateway: long polling or a webhook, started and stopped with it.

Nothing here may stop the gateway: a missing token leaves Telegram off, a rejected token gives one log
line, and network trouble is retried in the background. With a PostgreSQL application database several
gateways may run: in polling mode only the one holding the polling lock (channels/telegram/leader.py) polls;
the others stand by, still able to send (an agent's reply), and one takes over when the poller goes away.
"""

import asyncio
import hmac
import logging
from typing import Any, Optional

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramServerError, TelegramUnauthorizedError
from aiogram.types import BotCommand, Update
from aiogram.utils.token import TokenValidationError
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from channels.common.conversation import Conversation
from channels.common.errors import error_response
from channels.telegram.bot import TelegramChats, build_routers
from channels.telegram.leader import PollingLock, lock_key
from channels.telegram.retry import RetryRequests
from channels.telegram.texts import COMMANDS
from channels.voice.service import VoiceInput
from channels.voice.tts import TextToSpeech
from core.database import database_url
from core.messages import BotMessage
from core.settings import Settings
from handoff.bus import postgres_conninfo

log = logging.getLogger("govbot.telegram")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLLING_TIMEOUT = 25        # seconds a getUpdates long poll may wait
START_BACKOFF = (1.0, 60.0)  # first and longest wait between attempts to reach Telegram at start
STOP_POLLING_TIMEOUT = 5    # seconds to wait for aiogram's polling to end


class TelegramService:
    """The bot's life cycle: `start()` returns at once (the work goes on in a task), `stop()` ends it."""

    def __init__(self, settings: Settings, conversation: Conversation, tts: Optional[TextToSpeech],
                 polling_timeout: int = POLLING_TIMEOUT, start_backoff: tuple[float, float] = START_BACKOFF,
                 voice: Optional[VoiceInput] = None) -> None:
        """`conversation` takes the users' messages (the gateway's message routing, or a bare Rasa client)."""
        self.settings = settings
        self.conversation = TelegramChats(conversation, tts, max_chars=settings.max_message_chars, voice=voice)
        self.polling_timeout, self.start_backoff = polling_timeout, start_backoff
        self.status = "off"  # off, starting, standby, polling, webhook, rejected, failed, stopped
        self.bot: Optional[Bot] = None
        self.dispatcher: Optional[Dispatcher] = None
        self.lock = self._polling_lock()  # None: this gateway polls alone (SQLite, or webhook mode)
        self._task: Optional[asyncio.Task[None]] = None
        self._updates: set[asyncio.Task[Any]] = set()
        self._rejected_logged = False

    def _polling_lock(self) -> Optional[PollingLock]:
        """The lock deciding which gateway polls, when several may share the (PostgreSQL) database."""
        conninfo = postgres_conninfo(database_url(self.settings))
        if self.webhook_mode or conninfo is None or not self.settings.telegram_token:
            return None
        bot_id = self.settings.telegram_token.split(":", 1)[0]  # public (it is the bot's user id), not the secret
        return PollingLock(conninfo, lock_key(bot_id), self.settings.telegram_leader_retry)

    @property
    def webhook_mode(self) -> bool:
        return self.settings.telegram_mode == "webhook"

    def _make_bot(self) -> Bot:
        api_url = self.settings.telegram_api_url
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else AiohttpSession()
        session.middleware(RetryRequests(on_unauthorized=self._token_rejected))
        return Bot(self.settings.telegram_token, session=session,
                   default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True))

    async def start(self) -> None:
        """Begin polling (or register the webhook) in the background; Telegram stays off without a token."""
        if not self.settings.telegram_token:
            log.info("telegram_off", extra={"fields": {"reason": "TELEGRAM_BOT_TOKEN is not set"}})
            return
        try:
            self.bot = self._make_bot()
        except TokenValidationError:
            self.status = "rejected"
            log.error("telegram_token_invalid", extra={"fields": {
                "reason": "TELEGRAM_BOT_TOKEN does not look like a bot token (123456:ABC...); Telegram is off"}})
            return
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # not a line per update; errors still show
        self.dispatcher = Dispatcher()
        self.dispatcher["conversation"] = self.conversation
        self.dispatcher.include_routers(*build_routers())
        self.status = "starting"
        self._task = asyncio.create_task(self._run(), name="telegram")

    async def _run(self) -> None:
        assert self.bot is not None and self.dispatcher is not None
        try:
            me = await self._connect()
            if me is None:
                return
            if self.webhook_mode:
                await self._set_commands()
                await self.bot.set_webhook(self.settings.telegram_webhook_url,
                                           secret_token=self.settings.telegram_webhook_secret,
                                           allowed_updates=self.dispatcher.resolve_used_update_types())
                self.status = "webhook"
                log.info("telegram_webhook", extra={"fields": {"bot": me, "url": self.settings.telegram_webhook_url}})
                return
            if self.lock is None:
                await self._poll(me)
            else:
                await self._lead(me)
        except TelegramUnauthorizedError:
            return  # already logged by _token_rejected
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the gateway must keep running whatever happens here
            self.status = "failed"
            log.error("telegram_failed", extra={"fields": {"error": f"{type(error).__name__}: {error}"}})

    async def _poll(self, me: str) -> None:
        """Poll getUpdates until stopped."""
        assert self.bot is not None and self.dispatcher is not None
        await self._set_commands()
        await self.bot.delete_webhook()  # getUpdates is refused while a webhook is set
        self.status = "polling"
        log.info("telegram_polling", extra={"fields": {"bot": me}})
        await self.dispatcher.start_polling(self.bot, handle_signals=False, close_bot_session=False,
                                            polling_timeout=self.polling_timeout)

    async def _lead(self, me: str) -> None:
        """Stand by until this gateway holds the polling lock, poll while it does, stand by again if it is lost."""
        assert self.lock is not None
        wait = self.settings.telegram_leader_retry
        while True:
            self.status = "standby"
            log.info("telegram_standby", extra={"fields": {"bot": me, "retry_every": wait}})
            while not await self.lock.try_acquire():
                await asyncio.sleep(wait)
            if not await self._hold(me, wait):
                return
            self.status = "standby"
            await asyncio.sleep(2 * wait)  # having lost the lock, let a standby gateway (which tries every `wait`) win

    async def _hold(self, me: str, wait: float) -> bool:
        """Poll while the lock is held; True if it was lost, False if the polling ended by itself."""
        assert self.lock is not None
        lost = asyncio.create_task(self.lock.lost())
        polling: Optional[asyncio.Task[None]] = None
        try:
            # a poller that just lost the lock notices within `wait` seconds: give it that time to stop
            await asyncio.wait({lost}, timeout=wait)
            if lost.done():
                return True
            log.info("telegram_leader", extra={"fields": {"bot": me}})
            polling = asyncio.create_task(self._poll(me))
            await asyncio.wait({lost, polling}, return_when=asyncio.FIRST_COMPLETED)
            if polling.done():  # it ended by itself: stop() or an error, not a lost lock
                polling.result()
                return False
            return True
        finally:
            if polling is not None:
                await self._halt(polling)  # before anything else: never two pollers
            lost.cancel()
            await asyncio.gather(lost, return_exceptions=True)
            await self.lock.release()

    async def _halt(self, polling: asyncio.Task[None]) -> None:
        """End a polling task: no getUpdates of this gateway is in flight once this returns."""
        assert self.dispatcher is not None
        if not polling.done():
            try:
                async with asyncio.timeout(STOP_POLLING_TIMEOUT):
                    await self.dispatcher.stop_polling()  # raises at once if the polling has not begun
            except (RuntimeError, TimeoutError):
                polling.cancel()  # still in its set-up calls (or stopping took too long)
        await asyncio.gather(polling, return_exceptions=True)

    async def _connect(self) -> Optional[str]:
        """getMe until Telegram answers (waits doubling up to a minute); the bot's username, or None if rejected."""
        assert self.bot is not None
        delay, longest = self.start_backoff
        while True:
            try:
                me = await self.bot.get_me()
                return f"@{me.username}" if me.username else str(me.id)
            except TelegramUnauthorizedError:
                return None
            except (TelegramNetworkError, TelegramServerError) as error:
                log.warning("telegram_unreachable",
                            extra={"fields": {"error": type(error).__name__, "retry_in": delay}})
                await asyncio.sleep(delay)
                delay = min(delay * 2, longest)

    async def _set_commands(self) -> None:
        """The command menu in Chinese and English (a failure is only logged)."""
        assert self.bot is not None
        try:
            for language, names in COMMANDS.items():
                commands = [BotCommand(command=name, description=text) for name, text in names.items()]
                await self.bot.set_my_commands(commands, language_code=language)
            await self.bot.set_my_commands([BotCommand(command=name, description=text)
                                            for name, text in COMMANDS["en"].items()])
        except TelegramUnauthorizedError:
            raise
        except TelegramAPIError as error:
            log.warning("telegram_commands_not_set", extra={"fields": {"error": type(error).__name__}})

    def _token_rejected(self) -> None:
        """Telegram said 401: one clear log line, then Telegram stops (the rest of the gateway runs on)."""
        self.status = "rejected"
        if not self._rejected_logged:
            self._rejected_logged = True
            log.error("telegram_token_rejected", extra={"fields": {
                "reason": "Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized: wrong or revoked); Telegram is off"}})
        if self._task is not None and not self._task.done() and self._task is not asyncio.current_task():
            self._task.cancel()  # a revoked token while polling: end the polling loop

    async def push(self, sender: str, replies: list[BotMessage]) -> None:
        """Send messages that did not answer a Telegram update (an agent's reply) to the user of `sender`."""
        if self.bot is None or self.status not in ("polling", "webhook", "standby"):
            raise RuntimeError(f"Telegram is {self.status}")
        if not sender.startswith("telegram:") or not sender.removeprefix("telegram:").lstrip("-").isdigit():
            raise ValueError("not a Telegram conversation")
        user_id = int(sender.removeprefix("telegram:"))
        state = self.conversation.states.get(user_id)
        await self.conversation.deliver(self.bot, user_id, replies, state, state)

    def accepts(self, secret: str) -> bool:
        """The webhook request carries our secret token."""
        expected = self.settings.telegram_webhook_secret
        return bool(expected) and hmac.compare_digest(secret.encode(), expected.encode())

    def feed(self, body: dict[str, Any]) -> None:
        """Handle a webhook update in the background (Telegram gets its 200 at once and does not resend)."""
        assert self.bot is not None and self.dispatcher is not None
        update = Update.model_validate(body, context={"bot": self.bot})
        task = asyncio.create_task(self.dispatcher.feed_update(self.bot, update))
        self._updates.add(task)
        task.add_done_callback(self._updates.discard)

    async def stop(self) -> None:
        """Stop polling, finish webhook updates in flight (a few seconds at most), close the HTTP session."""
        if self._task is not None and not self._task.done():
            if self.status == "polling" and self.dispatcher is not None and self.lock is None:
                try:
                    await asyncio.wait_for(self.dispatcher.stop_polling(), STOP_POLLING_TIMEOUT)
                except (RuntimeError, asyncio.TimeoutError):
                    pass
            self._task.cancel()  # leading: _lead halts the polling and gives the lock up
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._updates:
            await asyncio.wait(self._updates, timeout=5)
        if self.bot is not None:
            await self.bot.session.close()
        if self.status != "off":
            self.status = "stopped" if self.status != "rejected" else "rejected"


def webhook_router(service: TelegramService) -> APIRouter:
    """POST /telegram/webhook: updates from Telegram in webhook mode (the secret token header is checked)."""
    router = APIRouter()

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def telegram_webhook(request: Request) -> JSONResponse:
        if service.status != "webhook":
            return error_response(404, "telegram_webhook_off", "the Telegram webhook is not enabled")
        if not service.accepts(request.headers.get(SECRET_HEADER, "")):
            return error_response(401, "bad_secret_token", f"missing or wrong {SECRET_HEADER}")
        try:
            body = await request.json()
            service.feed(body if isinstance(body, dict) else {})
        except (ValueError, ValidationError, RecursionError):  # RecursionError: JSON nested too deep to parse
            return error_response(400, "invalid_update", "the body is not a Telegram update")
        return JSONResponse({"ok": True})

    return router
