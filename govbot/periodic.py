"""A job `govbot run` repeats in the background: at once, then every `interval` seconds, until stopped."""

import threading
from typing import TypeVar

Run = TypeVar("Run", bound="PeriodicRun")


class PeriodicRun:
    """Calls `run_once` at once and then every `interval` seconds in a daemon thread; `stop()` ends it. A subclass
    keeps its own failures from ending the loop (a failed run is logged, the next one tried)."""

    def __init__(self, interval: float, name: str) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self: Run) -> Run:
        """Start the periodic runs."""
        self._thread.start()
        return self

    def stop(self, wait: float = 5.0) -> bool:
        """Stop; a run in progress gets `wait` seconds to finish its transaction (the thread is a daemon). True
        when the thread has ended."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(wait)
        return not self._thread.is_alive()

    def run_once(self) -> object:
        """One run (the subclass's work)."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)
