"""A request middleware for aiogram: flood control (429 retry_after) and network errors retried with backoff."""

import asyncio
import logging
from typing import Any, Callable, Optional

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (TelegramNetworkError, TelegramRetryAfter, TelegramServerError,
                                TelegramUnauthorizedError)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response

log = logging.getLogger("govbot.telegram")


class RetryRequests(BaseRequestMiddleware):
    """Retries a Bot API call after a 429 (waiting what Telegram asks) or a network/server error (doubling waits).

    getUpdates is only retried after a 429: the polling loop has its own backoff for the rest.
    `on_unauthorized` is called when Telegram rejects the token (the error is then re-raised).
    """

    def __init__(self, attempts: int = 5, base_delay: float = 0.5, max_delay: float = 30.0,
                 max_retry_after: float = 60.0, on_unauthorized: Optional[Callable[[], None]] = None) -> None:
        self.attempts, self.base_delay, self.max_delay = attempts, base_delay, max_delay
        self.max_retry_after, self.on_unauthorized = max_retry_after, on_unauthorized

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:
        name = method.__api_method__
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramUnauthorizedError:
                if self.on_unauthorized is not None:
                    self.on_unauthorized()
                raise
            except TelegramRetryAfter as error:
                if attempt == self.attempts:
                    raise
                delay = min(float(error.retry_after), self.max_retry_after)
                log.warning("telegram_flood_control", extra={"fields": {"method": name,
                                                                        "retry_after": error.retry_after,
                                                                        "attempt": attempt}})
            except (TelegramNetworkError, TelegramServerError) as error:
                if attempt == self.attempts or isinstance(method, GetUpdates):
                    raise
                delay = min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
                log.warning("telegram_request_failed", extra={"fields": {
                    "method": name, "error": type(error).__name__, "attempt": attempt, "retry_in": delay}})
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover
