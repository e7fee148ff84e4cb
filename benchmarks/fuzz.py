"""The fuzzer of tests/e2e/test_fuzz.py (testkit/fuzz.py) against a gateway that is already running, on loopback.

    .venv/bin/python -m benchmarks.fuzz [--url http://127.0.0.1:8080] [--count 2000] [--seed 14] [--workers 4]
                                        [--agent NAME] [--budget 300]

It starts a few web conversations of its own, logs in as agent NAME when given (the password is read from
standard input; the console's calls then run with that session), signs Telegram updates with the webhook secret
when the settings have one (TELEGRAM_WEBHOOK_SECRET), and prints the counts per endpoint and per status: with the
deployment's own rate limits most requests get 429 here, which is what those limits look like from one address.
It exits 1 when any answer was 500 or more (but the documented 501 for a language without a speech model), a
request timed out, or a path outside /static was served.
"""

import argparse
import sys
from dataclasses import replace

import httpx

from core.settings import Settings
from testkit import fuzz


def log_in(url: str, username: str, password: str) -> str:
    """An agent session on the gateway (its cookie's value)."""
    response = httpx.post(f"{url}/api/agent/login", json={"username": username, "password": password},
                          headers={"Origin": url}, timeout=30, trust_env=False)
    if response.status_code != 200:
        sys.exit(f"fuzz: log-in as {username} failed: {response.status_code} {response.text[:200]}")
    return response.cookies["govbot_agent"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds; what is left then is not sent")
    parser.add_argument("--agent", help="log in as this agent (password on standard input)")
    args = parser.parse_args()
    url = args.url.rstrip("/")
    context = fuzz.default_context(url)
    if args.agent:
        context = replace(context, agent_session=log_in(url, args.agent, sys.stdin.readline().rstrip("\n")),
                          agent_username=args.agent)
    secret = Settings.from_env().telegram_webhook_secret
    if secret:
        context = replace(context, telegram_secret=secret)
    requests = fuzz.generate(context, args.count, args.seed)
    report = fuzz.run_sync(url, requests, workers=args.workers, budget=args.budget)
    print(f"fuzz: {args.count} requests, seed {args.seed}, {args.workers} workers, against {url}")
    print(report.table())
    failures = report.failures()
    for line in failures:
        print(line[:1500])
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
