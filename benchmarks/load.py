"""Load on the whole stack through the gateway's chat API: throughput and latency with concurrent users (locust,
headless, bounded in time), the cost of a long conversation, and the memory of each process.

Usage: .venv/bin/python -m benchmarks.load [--users 1,16,48] [--seconds 30] [--turns 1] [--long 200]
                                           [--pool dev|all] [--rasa-replicas N] [--url URL]

Without --url it starts `govbot run` on free loopback ports with a scratch var/ folder (model and index from var/)
and rate limits raised for one client; with --url it loads a running gateway (loopback only) and skips memory.
Each simulated user opens a web conversation, sends `--turns` messages in it (questions from the dev set and small
talk, in both languages), then starts a new conversation. Figures are for POST /api/chat only.
"""

# locust patches the standard library with gevent when imported: it must come before the other imports
from locust import FastHttpUser, constant, task  # isort: skip
from locust.env import Environment  # isort: skip

import argparse
import itertools
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import gevent
import httpx
import psutil

from benchmarks.foundation import services, start, stop
from testkit.helpers import open_conversation
from testkit.stack import GENEROUS_LIMITS

ROOT = Path(__file__).resolve().parents[1]
SMALL_TALK = ["你好", "hello", "谢谢", "thank you", "要带什么材料", "how much does it cost", "在哪里办", "bye"]
LONG_CONVERSATION = ["你好", "身份证丢了怎么补办", "要带什么材料", "收费吗", "多久能拿到", "在哪里办",
                     "How do I apply for a passport?", "what documents do I need", "how long does it take",
                     "谢谢"]


POOLS = {"dev": ["dev_queries.jsonl"],
         "all": ["dev_queries.jsonl", "robust_queries.jsonl", "near_miss.jsonl", "near_miss_fresh.jsonl"]}


def messages(pool: str = "dev") -> list[str]:
    """The messages users send, small talk between questions. Pool "dev": the dev set's answerable questions (typed:
    the mix the figures before this benchmark were taken with); "all": every question of the test sets, also the
    spoken-style, long narrative and near-miss ones (longer texts, more refusals)."""
    questions: dict[str, None] = {}
    for name in POOLS[pool]:
        for line in (ROOT / "tests" / "data" / name).read_text(encoding="utf-8").splitlines():
            query = json.loads(line) if line.strip() else None
            if query and (pool == "all" or query["expected"]):
                questions[query["query"]] = None
    mixed = []
    for index, question in enumerate(questions):  # in file order: distinct until the pool is used up
        mixed.append(question)
        if index % 3 == 2:
            mixed.append(SMALL_TALK[index % len(SMALL_TALK)])
    return mixed


MESSAGES = messages()
_next_message = itertools.count()


class Citizen(FastHttpUser):
    """One citizen: a web conversation, `turns` messages in it, then a new conversation."""

    wait_time = constant(0)
    turns = 1

    def on_start(self) -> None:
        self.sender, self.headers, self.sent = "", {}, 0

    def _open(self) -> None:
        response = self.client.post("/api/conversations", name="/api/conversations")
        body = response.json()
        self.sender, self.headers, self.sent = body["sender"], {"Authorization": f"Bearer {body['token']}"}, 0

    @task
    def ask(self) -> None:
        if not self.sender or self.sent >= self.turns:
            self._open()
        text = MESSAGES[next(_next_message) % len(MESSAGES)]
        with self.client.post("/api/chat", json={"sender": self.sender, "text": text}, headers=self.headers,
                              name="/api/chat", catch_response=True) as response:
            if response.status_code != 200 or not response.json().get("messages"):
                response.failure(f"HTTP {response.status_code}")
        self.sent += 1


def cpu_seconds(process: Optional[psutil.Process]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each service `govbot run` supervises (Rasa servers summed)."""
    totals: dict[str, float] = {}
    for name, members in services(process) if process is not None else []:
        for member in members:
            times = member.cpu_times()
            totals[name] = totals.get(name, 0.0) + times.user + times.system
    return totals


def load(url: str, users: int, seconds: float, turns: int, warm_up: float,
         process: Optional[psutil.Process] = None) -> tuple[dict[str, float], dict[str, float]]:
    """Run `users` citizens for `warm_up` + `seconds`; the chat API's figures over the last `seconds`, and the CPU
    milliseconds per message of the load generator and (with the stack's process) of each service."""
    Citizen.turns = turns
    environment = Environment(user_classes=[Citizen], host=url)
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=users)
    gevent.sleep(warm_up)
    environment.stats.reset_all()
    cpu_before, own_before = cpu_seconds(process), time.process_time()
    started = time.monotonic()
    gevent.sleep(seconds)
    elapsed = time.monotonic() - started
    cpu_used = {name: used - cpu_before.get(name, 0.0) for name, used in cpu_seconds(process).items()}
    cpu_used["load generator"] = time.process_time() - own_before  # shares the machine with the stack
    chat = environment.stats.get("/api/chat", "POST")
    figures = {"requests": chat.num_requests, "failures": chat.num_failures, "rps": chat.num_requests / elapsed,
               "p50": chat.get_response_time_percentile(0.5), "p95": chat.get_response_time_percentile(0.95),
               "p99": chat.get_response_time_percentile(0.99)}
    cpu_ms = {name: 1000 * used / max(chat.num_requests, 1) for name, used in cpu_used.items()}
    runner.quit()
    return figures, cpu_ms


def long_conversation(url: str, turns: int) -> list[float]:
    """Milliseconds of each of `turns` messages of one conversation, one after another."""
    timings = []
    with httpx.Client(base_url=url, timeout=60) as client:
        conversation = open_conversation(client)
        for turn in range(turns):
            started = time.perf_counter()
            response = client.post("/api/chat", headers=conversation.headers,
                                   json={"sender": conversation.sender,
                                         "text": LONG_CONVERSATION[turn % len(LONG_CONVERSATION)]})
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return timings


def print_long(timings: list[float]) -> None:
    blocks = [timings[start:start + 40] for start in range(0, len(timings), 40)]
    medians = [statistics.median(block) for block in blocks if block]
    print("one conversation, median ms per 40 turns: " + ", ".join(f"{m:.0f}" for m in medians)
          + f"; last/first = {medians[-1] / medians[0]:.2f}", flush=True)


def print_memory(process: psutil.Process) -> None:
    """Resident memory of each service `govbot run` supervises (each Rasa server on its own line)."""
    for name, members in services(process):
        print(f"RSS {name}: {sum(member.memory_info().rss for member in members) / 1e6:.0f} MB", flush=True)


def run(url: str, args: argparse.Namespace, process: Optional[psutil.Process]) -> None:
    print(f"message pool: {len(MESSAGES)} messages, {len(set(MESSAGES))} distinct (each run starts where the last "
          "one stopped; repeats come only after the pool is used up)", flush=True)
    for users in [int(value) for value in args.users.split(",")]:
        figures, cpu_ms = load(url, users, args.seconds, args.turns, args.warm_up, process)
        print(f"{users} users, {args.turns} message(s) per conversation: {figures['rps']:.1f} messages/s, "
              f"p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms, p99 {figures['p99']:.0f} ms, "
              f"{figures['requests']:.0f} requests, {figures['failures']:.0f} failed", flush=True)
        print("  CPU ms per message: " + ", ".join(f"{name} {value:.1f}" for name, value in cpu_ms.items()), flush=True)
        if process is not None:
            print_memory(process)
    if args.long:
        print_long(long_conversation(url, args.long))
    if process is not None:
        print_memory(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="1,16,48", help="comma-separated numbers of concurrent users")
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds per number of users")
    parser.add_argument("--warm-up", type=float, default=5, help="unmeasured seconds before each measurement")
    parser.add_argument("--turns", type=int, default=1, help="messages per conversation")
    parser.add_argument("--long", type=int, default=200, help="turns of the one long conversation (0: skip)")
    parser.add_argument("--url", help="a running gateway on loopback (default: start one)")
    parser.add_argument("--pool", choices=sorted(POOLS), default="dev", help="which questions users ask")
    parser.add_argument("--rasa-replicas", type=int, default=1, help="Rasa servers of the stack it starts")
    args = parser.parse_args()
    MESSAGES[:] = messages(args.pool)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    if args.url:
        if urlsplit(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("load is sent to loopback only")
        run(args.url, args, None)
        return
    os.environ.update(GENEROUS_LIMITS, GOVBOT_RASA_REPLICAS=str(args.rasa_replicas))
    with tempfile.TemporaryDirectory() as scratch:
        process, port, seconds = start(Path(scratch), ROOT / "var")
        print(f"stack with {args.rasa_replicas} Rasa server(s) ready in {seconds:.0f} s", flush=True)
        try:
            run(f"http://127.0.0.1:{port}", args, psutil.Process(process.pid))
        finally:
            stop(process)


if __name__ == "__main__":
    main()
