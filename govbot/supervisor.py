"""Starting, watching and stopping govbot's child processes as one unit."""

import ctypes
import errno
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import httpx

log = logging.getLogger("govbot.supervisor")

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    """Ask Linux to send SIGTERM to this child if the supervisor itself dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


class StartupError(RuntimeError):
    """A service could not be started or did not become healthy."""


class PortsInUse(StartupError):
    """A port a service needs is already taken by another program."""


@dataclass
class Service:
    """One child process: how to start it and how to tell it is ready."""

    name: str
    argv: list[str]
    port: int
    bind_host: str
    health_url: str
    log_path: Path
    cwd: Path
    env: dict[str, str]
    is_healthy: Callable[[httpx.Response], bool] = lambda response: response.status_code == 200
    # query parameters of the health check (a token), kept out of health_url, which messages may show
    health_params: dict[str, str] = field(default_factory=dict, repr=False)
    # written to the child's standard input, which is then closed (a secret that must not be on the command line)
    stdin_text: Optional[str] = field(default=None, repr=False)
    process: Optional[subprocess.Popen] = field(default=None, repr=False)

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of this service's log, for error messages."""
        try:
            with self.log_path.open("r", errors="replace") as handle:
                return "".join(deque(handle, maxlen=lines))
        except OSError:
            return ""


def port_is_free(host: str, port: int) -> bool:
    """True when nothing is listening on host:port (checked by binding to it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


class Supervisor:
    """Runs services together: all healthy, or none left running."""

    def __init__(self, services: list[Service], poll_interval: float = 0.5) -> None:
        self.services = services
        self.poll_interval = poll_interval
        self.stop_requested = threading.Event()

    def check_ports(self) -> None:
        """Raise StartupError naming every port that is already in use."""
        busy = [f"{s.name} port {s.port} ({s.bind_host})" for s in self.services
                if not port_is_free(s.bind_host, s.port)]
        if busy:
            raise PortsInUse("already in use: " + ", ".join(busy)
                               + ". Stop whatever uses it, or choose other ports (see govbot run --help).")

    def start(self) -> None:
        """Start every service (each in its own session, logging to its file)."""
        for service in self.services:
            service.log_path.parent.mkdir(parents=True, exist_ok=True)
            with service.log_path.open("ab") as log_file:
                service.process = subprocess.Popen(
                    service.argv, cwd=service.cwd, env=service.env,
                    stdin=subprocess.DEVNULL if service.stdin_text is None else subprocess.PIPE,
                    stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            if service.stdin_text is not None:
                _hand_over(service.process, service.stdin_text)
            log.info("service_started", extra={"fields": {"service": service.name, "pid": service.process.pid}})

    def failed_service(self) -> Optional[Service]:
        """The first service whose process has exited, if any."""
        for service in self.services:
            if service.process is not None and service.process.poll() is not None:
                return service
        return None

    def describe_exit(self, service: Service) -> str:
        """A message saying which service stopped, with the end of its log."""
        code = service.process.returncode if service.process else None
        tail = service.log_tail()
        return (f"{service.name} exited (code {code}); log: {service.log_path}"
                + (f"\n--- last lines of {service.log_path.name} ---\n{tail}" if tail else ""))

    def wait_until_healthy(self, timeout: float, on_ready: Callable[[Service], None] = lambda s: None) -> None:
        """Block until every service answers its health check; raise StartupError otherwise."""
        deadline = time.monotonic() + timeout
        pending = list(self.services)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                if self.stop_requested.is_set():
                    raise StartupError("interrupted while starting")
                failed = self.failed_service()
                if failed:
                    raise StartupError(self.describe_exit(failed))
                for service in list(pending):
                    try:
                        if service.is_healthy(client.get(service.health_url, params=service.health_params)):
                            pending.remove(service)
                            on_ready(service)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    names = ", ".join(s.name for s in pending)
                    raise StartupError(f"not healthy after {timeout:.0f} s: {names} "
                                       f"(logs in {pending[0].log_path.parent})")
                if pending:
                    time.sleep(self.poll_interval)

    def watch(self) -> Optional[Service]:
        """Block until a stop is requested (returns None) or a service dies (returns it)."""
        while not self.stop_requested.is_set():
            time.sleep(self.poll_interval)
            failed = self.failed_service()
            if failed:
                code = failed.process.returncode if failed.process is not None else None
                log.error("service_exited", extra={"fields": {"service": failed.name, "code": code}})
                return failed
        return None

    def stop(self, grace: float = 15.0) -> None:
        """Stop all services: SIGTERM to each process group, SIGKILL after `grace` seconds."""
        running = [(s, s.process) for s in self.services if s.process is not None and s.process.poll() is None]
        for _, process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for service, process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("service_killed", extra={"fields": {"service": service.name}})
                _signal_group(process, signal.SIGKILL)
                process.wait()
        for service in self.services:
            if service.process is not None:
                log.info("service_stopped", extra={"fields": {"service": service.name,
                                                              "code": service.process.returncode}})

    def request_stop(self, *_: object) -> None:
        """Signal handler: ask the supervisor to stop everything.

        The handler runs on the main thread, which must therefore never block in
        `stop_requested.wait()`: the event's lock could be held right when the signal lands,
        and `set()` here would wait for it forever. The loops above sleep and poll instead.
        """
        self.stop_requested.set()


def _hand_over(process: subprocess.Popen, text: str) -> None:
    """Write text to a child's standard input and close it (a child that already died is reported by the watch)."""
    assert process.stdin is not None  # started with stdin=PIPE
    try:
        process.stdin.write(text.encode())
        process.stdin.close()
    except BrokenPipeError:
        pass


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
