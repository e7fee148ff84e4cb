"""Telegram message round trip through the stand-in Bot API: from the user's message appearing in getUpdates
to the bot's (first) reply arriving at sendMessage, with the real aiogram bot polling.

Usage: .venv/bin/python -m benchmarks.telegram_roundtrip [--messages 40] [--fake-rasa]
Default: a real `govbot run` stack (Rasa, actions, knowledge search). --fake-rasa: the Telegram service alone
against an instant fake Rasa, i.e. the channel's own overhead (polling, rendering, HTTP to the Bot API).
Prints p50/p95/max in milliseconds.
"""

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from core.stats import percentile
from testkit.telegram_standin import TelegramStandIn

ROOT = Path(__file__).resolve().parents[1]

MESSAGES = ["护照怎么办理", "how do I apply for a passport", "身份证丢了怎么补办", "需要带什么材料",
            "社保卡", "how much does it cost", "你好", "公积金怎么提取"]


def measure(server: TelegramStandIn, count: int, first_user: int = 9000) -> list[float]:
    """Milliseconds from injecting each message to the bot's first sendMessage for it (one user per message)."""
    timings = []
    for number in range(count):
        user = first_user + number
        started = time.monotonic()
        server.send_text(MESSAGES[number % len(MESSAGES)], user)
        [reply] = server.wait_sent(user, 1, "sendMessage", timeout=60, settle=0)[:1]
        timings.append((reply.time - started) * 1000)
    return timings


def with_stack(count: int) -> list[float]:
    from testkit.stack import Stack

    with TelegramStandIn() as server, tempfile.TemporaryDirectory() as var_dir:
        stack = Stack(Path(var_dir), env={"TELEGRAM_BOT_TOKEN": server.token, "GOVBOT_TELEGRAM_API_URL": server.base_url})
        try:
            stack.wait_ready()
            server.wait_for(lambda: server.calls("getUpdates"), timeout=60)
            measure(server, 3, first_user=8000)  # warm-up
            return measure(server, count)
        finally:
            stack.stop()


def with_fake_rasa(count: int) -> list[float]:
    from channels.common.rasa_client import RasaClient
    from channels.telegram.service import TelegramService
    from core.settings import Settings
    from testkit.helpers import FakeRasa

    def reply(sender: str, message: str) -> list[dict]:
        return [{"recipient_id": sender, "text": f"标题\n{message}\n1. 第一步", "buttons": [
            {"title": "有用", "payload": "/rate_good"}]},
                {"recipient_id": sender, "custom": {"kind": "answer", "language": "zh",
                                                    "mode": {"large_text": False, "voice": False}}}]

    async def run() -> list[float]:
        with TelegramStandIn() as server, FakeRasa(reply=reply).serving() as url:
            settings = Settings(rasa_url=url, telegram_token=server.token, telegram_api_url=server.base_url)
            client = RasaClient(url, 5)
            service = TelegramService(settings, client, None)
            await service.start()
            try:
                await asyncio.to_thread(server.wait_for, lambda: server.calls("getUpdates"), 30)
                await asyncio.to_thread(measure, server, 3, 8000)
                return await asyncio.to_thread(measure, server, count)
            finally:
                await service.stop()
                await client.close()
    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--fake-rasa", action="store_true", help="measure the channel alone (instant fake Rasa)")
    args = parser.parse_args()
    timings = with_fake_rasa(args.messages) if args.fake_rasa else with_stack(args.messages)
    label = "channel only (fake Rasa)" if args.fake_rasa else "full stack"
    print(f"telegram round trip, {label}, {len(timings)} messages: p50 {percentile(timings, 0.5):.0f} ms, "
          f"p95 {percentile(timings, 0.95):.0f} ms, max {max(timings):.0f} ms")


if __name__ == "__main__":
    main()
