"""Handoff latency as people see it: a citizen's message on the chat page until it shows on the agent's console,
and the agent's reply until it shows on the citizen's page. Two Chromium contexts against a running stack.

    .venv/bin/python benchmarks/handoff_roundtrip.py [--url http://127.0.0.1:8080] [--rounds 20]

It creates (or reuses) the agent `bench_agent` in the stack's database (GOVBOT_DATABASE_URL, or
GOVBOT_VAR_DIR/govbot.db as the running stack uses).
"""

import argparse
import statistics
import time

from core.database import database_url
from core.settings import Settings
from core.stats import percentile
from handoff.store import HandoffError, TicketStore
from testkit.browser import CHROMIUM_ARGS, chromium_path

AGENT, PASSWORD = "bench_agent", "bench-agent-password"



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    store = TicketStore(database_url(Settings.from_env()))
    try:
        store.add_agent(AGENT, PASSWORD, "测速客服")
    except HandoffError as error:
        if error.code != "agent_exists":  # made by an earlier run: fine
            raise

    from playwright.sync_api import sync_playwright

    to_agent, to_citizen = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        citizen = browser.new_context(locale="zh-CN").new_page()
        agent = browser.new_context(locale="zh-CN", viewport={"width": 1300, "height": 900}).new_page()
        agent.goto(args.url + "/agent")
        agent.fill("#username", AGENT)
        agent.fill("#password", PASSWORD)
        agent.click("#login button[type=submit]")
        agent.wait_for_selector("#desk:not([hidden])")
        citizen.goto(args.url + "/")
        citizen.click("#person")
        citizen.wait_for_selector("#ticket-banner:not([hidden])")
        number = citizen.inner_text("#ticket-banner").split("工单 ")[1].split(" ")[0]
        agent.wait_for_selector(f"#queue >> text={number}")
        agent.get_by_role("button", name=f"打开工单 Open ticket {number}").click()
        agent.click("#claim")
        agent.wait_for_selector("#reply-form:not([hidden])")
        citizen.wait_for_selector("#log >> text=已接入")
        for round_number in range(args.rounds):
            question = f"测速问题 {round_number}"
            started = time.perf_counter()
            citizen.fill("#text", question)
            citizen.press("#text", "Enter")
            agent.wait_for_selector(f"#transcript >> text={question}")
            to_agent.append((time.perf_counter() - started) * 1000)
            answer = f"测速回答 {round_number}"
            started = time.perf_counter()
            agent.fill("#reply", answer)
            agent.press("#reply", "Enter")
            citizen.wait_for_selector(f"#log .msg.agent >> text={answer}")
            to_citizen.append((time.perf_counter() - started) * 1000)
        agent.fill("#resolution", "benchmark")
        agent.click("#close-form button[type=submit]")
        citizen.wait_for_selector("#log >> text=请为本次人工服务打分")
        browser.close()
    for name, values in (("citizen page -> agent console", to_agent), ("agent console -> citizen page", to_citizen)):
        print(f"{name}: p50 {statistics.median(values):.0f} ms, p95 {percentile(values, 0.95):.0f} ms, "
              f"max {max(values):.0f} ms ({len(values)} messages)")


if __name__ == "__main__":
    main()
