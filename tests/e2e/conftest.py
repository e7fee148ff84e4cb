"""Shared fixtures of the end-to-end tests."""

from typing import Any, Iterator

import pytest


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """One Playwright driver per test module (its sync API allows only one at a time). Not for the whole
    session: while it runs, its event loop is the thread's, and later asyncio tests could not start theirs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def standin() -> Iterator[Any]:
    """A stand-in Telegram Bot API server on loopback (testkit/telegram_standin.py) for the module."""
    from testkit.telegram_standin import TelegramStandIn

    with TelegramStandIn() as server:
        yield server


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    """One headless Debian Chromium for the module's tests."""
    from testkit.browser import CHROMIUM_ARGS, chromium_path

    launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield launched
    launched.close()
