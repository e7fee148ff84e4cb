"""Measure the dialogue: Rasa training time, and the round trip of a service question through
the real Rasa server's REST webhook (NLU, policies, action server, knowledge search).

Usage: .venv/bin/python -m benchmarks.dialogue [--requests 100] [--train]
Starts `govbot run` on free ports with a scratch var/ folder (model and index from var/).
Each request is a different service question from tests/data/dev_queries.jsonl, from a new
sender, so that no cache answers it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.foundation import start, stop
from core.secrets import with_local_secrets
from core.settings import Settings
from core.stats import percentile
from testkit.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]


def service_questions(count: int) -> list[str]:
    """`count` distinct answerable questions from the dev set, Chinese and English mixed."""
    lines = (ROOT / "tests" / "data" / "dev_queries.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["query"] for line in lines if line.strip() and json.loads(line)["expected"]]
    if len(questions) < count:
        raise SystemExit(f"only {len(questions)} questions in the dev set, asked for {count}")
    step = len(questions) // count
    return questions[::step][:count]


def train_seconds() -> float:
    """Seconds for `govbot train --force` with a scratch var/ folder (so Rasa's training cache is empty)."""
    with tempfile.TemporaryDirectory() as scratch:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "govbot.cli", "train", "--force"], cwd=ROOT, check=True,
                       env={**os.environ, "GOVBOT_VAR_DIR": scratch, "GOVBOT_MODELS_DIR": f"{scratch}/models"},
                       stdout=subprocess.DEVNULL)
        return time.monotonic() - started


def rasa_token(var_dir: Path) -> str:
    """The token of the Rasa server `govbot run` started with this var/ folder (the environment's, else the one it
    made in secrets.json): Rasa's REST webhook answers only callers that send it."""
    return with_local_secrets(Settings.from_env().with_overrides(var_dir=var_dir)).rasa_token


def webhook_round_trips(rasa_port: int, token: str, questions: list[str]) -> tuple[list[float], dict[str, int]]:
    """Milliseconds per question through Rasa's REST webhook, and how the replies were decided."""
    timings, kinds = [], {}
    with httpx.Client(base_url=f"http://127.0.0.1:{rasa_port}", params={"token": token}, timeout=60) as client:
        client.post("/webhooks/rest/webhook", json={"sender": "bench-warmup", "message": "护照怎么办理"})
        for number, question in enumerate(questions):
            started = time.perf_counter()
            response = client.post("/webhooks/rest/webhook", json={"sender": f"bench-{number}", "message": question})
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            custom = next((m["custom"] for m in response.json() if m.get("custom")), {})
            kinds[custom.get("kind", "?")] = kinds.get(custom.get("kind", "?"), 0) + 1
    return timings, kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--train", action="store_true", help="also time a full `govbot train --force`")
    args = parser.parse_args()
    if args.train:
        print(f"Rasa training (govbot train --force): {train_seconds():.0f} s", flush=True)
    questions = service_questions(args.requests)
    with tempfile.TemporaryDirectory() as scratch:
        rasa_port = free_port()
        process, _, seconds = start(Path(scratch), ROOT / "var", rasa_port=rasa_port)
        print(f"govbot run ready in {seconds:.1f} s", flush=True)
        try:
            timings, kinds = webhook_round_trips(rasa_port, rasa_token(Path(scratch)), questions)
        finally:
            stop(process)
    print(f"REST webhook, service question, {len(timings)} requests: p50 {statistics.median(timings):.1f} ms, "
          f"p95 {percentile(timings, 0.95):.1f} ms, max {max(timings):.1f} ms")
    print("replies: " + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))


if __name__ == "__main__":
    main()
