"""A stop signal must always end `watch()`, whenever it arrives (the handler runs on the
thread that is waiting, so it must not take a lock that thread may hold)."""

import os
import random
import select
import signal
import subprocess
import sys
import textwrap
import time

CHILD = textwrap.dedent("""
    import signal, sys
    from govbot.supervisor import Supervisor
    while True:
        supervisor = Supervisor([], poll_interval=0.0001)
        signal.signal(signal.SIGUSR1, supervisor.request_stop)
        print("watching", flush=True)
        assert supervisor.watch() is None
""")


def test_stop_signals_never_deadlock_the_watch_loop():
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    rng = random.Random(11)
    try:
        for attempt in range(5000):
            ready, _, _ = select.select([child.stdout], [], [], 10)
            assert ready and child.stdout.readline() == "watching\n", f"watch() hung after {attempt} stops"
            time.sleep(rng.random() * 0.001)
            os.kill(child.pid, signal.SIGUSR1)
    finally:
        child.kill()
        child.wait()
