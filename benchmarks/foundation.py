"""Measure the foundation: `govbot run` time to ready (cold, with training, and warm),
resident memory of each process, and the chat API's round-trip time.

Usage: .venv/bin/python -m benchmarks.foundation [--requests 50] [--skip-cold]
Prints one line per figure. Uses free ports and a scratch var/ folder; the warm start
reuses (or creates) the model in var/models.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import httpx
import psutil

from core.stats import percentile
from testkit.helpers import free_port, open_conversation

ROOT = Path(__file__).resolve().parents[1]

MESSAGES = ["你好", "hello", "谢谢", "thank you", "给我讲个笑话", "tell me a joke", "身份证丢了怎么办", "bye"]


def start(var_dir: Path, cache_dir: Path, rasa_port: Optional[int] = None) -> tuple[subprocess.Popen, int, float]:
    """Start `govbot run` (Rasa models and knowledge indexes kept in `cache_dir`; Rasa on `rasa_port`
    or a free port); return the process, the gateway port and seconds to ready."""
    port = free_port()
    env = {**os.environ, "GOVBOT_VAR_DIR": str(var_dir), "GOVBOT_MODELS_DIR": str(cache_dir / "models"),
           "GOVBOT_INDEX_ROOT": str(cache_dir / "index")}
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "govbot.cli", "run", "--port", str(port), "--rasa-port", str(rasa_port or free_port()),
         "--actions-port", str(free_port())], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if "press Ctrl-C to stop" in line:
            return process, port, time.monotonic() - started
    raise SystemExit(f"govbot run exited with {process.wait()} before it was ready")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def service_name(command: str) -> str:
    """The service a `govbot run` child's command line runs."""
    return ("rasa server" if ".venv-rasa" in command else "action server" if "action_server" in command
            else "gateway" if "channels.gateway" in command else command[:40])


def services(process: psutil.Process) -> list[tuple[str, list[psutil.Process]]]:
    """Each service `govbot run` supervises (a Rasa server per replica): its name and its processes."""
    return [(service_name(" ".join(child.cmdline())), [child, *child.children(recursive=True)])
            for child in process.children()]


def rss_by_service(process: subprocess.Popen) -> dict[str, float]:
    """Resident memory in MB of each child service, its own children included (replicas summed)."""
    figures: dict[str, float] = {}
    for name, members in services(psutil.Process(process.pid)):
        figures[name] = figures.get(name, 0.0) + sum(member.memory_info().rss for member in members) / 1e6
    figures["supervisor (govbot run)"] = psutil.Process(process.pid).memory_info().rss / 1e6
    return figures


def round_trips(port: int, count: int) -> list[float]:
    """Milliseconds for `count` sequential chat requests through the gateway."""
    timings = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        warmup, *conversations = [open_conversation(client) for _ in range(6)]  # web conversations need a token
        client.post("/api/chat", json={"sender": warmup.sender, "text": "你好"}, headers=warmup.headers)
        for i in range(count):
            conversation = conversations[i % len(conversations)]
            started = time.perf_counter()
            response = client.post("/api/chat", json={"sender": conversation.sender, "text": MESSAGES[i % len(MESSAGES)]},
                                   headers=conversation.headers)
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--skip-cold", action="store_true", help="do not measure a start with training")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        if not args.skip_cold:
            process, _, seconds = start(scratch / "cold", scratch / "cold-cache")
            print(f"govbot run, cold (trains the model, builds the index): ready in {seconds:.1f} s")
            stop(process)
        process, port, seconds = start(scratch / "warm", ROOT / "var")
        print(f"govbot run, warm (model and index cached): ready in {seconds:.1f} s")
        try:
            for name, megabytes in rss_by_service(process).items():
                print(f"RSS {name}: {megabytes:.0f} MB")
            timings = round_trips(port, args.requests)
            print(f"chat API round trip over {len(timings)} requests: p50 {statistics.median(timings):.1f} ms, "
                  f"p95 {percentile(timings, 0.95):.1f} ms, max {max(timings):.1f} ms")
        finally:
            stop(process)


if __name__ == "__main__":
    main()
