"""Starting, watching and stopping govbot's child processes as one unit."""

import ctypes
import errno
import json
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
    # a readiness check of its own instead of the HTTP health check (a database: connect and ask)
    probe: Optional[Callable[[], bool]] = field(default=None, repr=False)
    # started again when it exits (the cluster profile), instead of stopping everything
    restart: bool = False
    stop_signal: int = signal.SIGTERM  # PostgreSQL: SIGINT, its fast shutdown (SIGTERM waits for every client)
    user: Optional[str] = None  # run as this system user (a database server refuses to run as root)
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


@dataclass(frozen=True)
class RestartPolicy:
    """How services marked `restart` come back: after `delay` seconds, at most `limit` times within `window`."""

    delay: float = 1.0
    limit: int = 5
    window: float = 300.0


class Supervisor:
    """Runs services together: all healthy, or none left running. Services marked `restart` are started again
    when they exit (within the restart policy's limit); `pid_file` lists the running processes (JSON name -> pid)."""

    def __init__(self, services: list[Service], poll_interval: float = 0.5,
                 restart_policy: RestartPolicy = RestartPolicy(), pid_file: Optional[Path] = None) -> None:
        self.services = services
        self.poll_interval = poll_interval
        self.restart_policy = restart_policy
        self.pid_file = pid_file
        self.stop_requested = threading.Event()
        self._restarts: dict[str, list[float]] = {}
        self._due: dict[str, float] = {}  # service name -> when it is started again

    def check_ports(self) -> None:
        """Raise StartupError naming every port that is already in use."""
        busy = [f"{s.name} port {s.port} ({s.bind_host})" for s in self.services
                if not port_is_free(s.bind_host, s.port)]
        if busy:
            raise PortsInUse("already in use: " + ", ".join(busy)
                               + ". Stop whatever uses it, or choose other ports (see govbot run --help).")

    def start(self, services: Optional[list[Service]] = None) -> None:
        """Start these services (default: every one), each in its own session, logging to its file."""
        for service in services if services is not None else self.services:
            self._start_one(service)
        self._write_pids()

    def _start_one(self, service: Service) -> None:
        service.log_path.parent.mkdir(parents=True, exist_ok=True)
        with service.log_path.open("ab") as log_file:
            service.process = subprocess.Popen(
                service.argv, cwd=service.cwd, env=service.env,
                stdin=subprocess.DEVNULL if service.stdin_text is None else subprocess.PIPE,
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent, user=service.user, group=service.user,
            )
        if service.stdin_text is not None:
            _hand_over(service.process, service.stdin_text)
        log.info("service_started", extra={"fields": {"service": service.name, "pid": service.process.pid}})

    def _write_pids(self) -> None:
        if self.pid_file is None:
            return
        running = {s.name: s.process.pid for s in self.services if s.process is not None and s.process.poll() is None}
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.pid_file.with_name(f".{self.pid_file.name}.tmp")
        temporary.write_text(json.dumps(running, indent=1, sort_keys=True), encoding="utf-8")
        temporary.replace(self.pid_file)

    def failed_service(self) -> Optional[Service]:
        """The first service whose process has exited, if any (one waiting to be restarted does not count)."""
        for service in self.services:
            if service.name not in self._due and service.process is not None and service.process.poll() is not None:
                return service
        return None

    def _may_restart(self, service: Service, now: float) -> bool:
        """Whether the service is to be started again (it restarts, and not too often lately)."""
        if not service.restart:
            return False
        recent = [t for t in self._restarts.get(service.name, []) if now - t < self.restart_policy.window]
        self._restarts[service.name] = recent
        return len(recent) < self.restart_policy.limit

    def _restart_due(self, now: float) -> None:
        for name, due in list(self._due.items()):
            if now >= due:
                del self._due[name]
                service = next(s for s in self.services if s.name == name)
                self._restarts.setdefault(name, []).append(now)
                self._start_one(service)
                log.warning("service_restarted", extra={"fields": {"service": name, "pid": service.process.pid
                                                                   if service.process else None}})
                self._write_pids()

    def describe_exit(self, service: Service) -> str:
        """A message saying which service stopped, with the end of its log."""
        code = service.process.returncode if service.process else None
        tail = service.log_tail()
        return (f"{service.name} exited (code {code}); log: {service.log_path}"
                + (f"\n--- last lines of {service.log_path.name} ---\n{tail}" if tail else ""))

    def wait_until_healthy(self, timeout: float, on_ready: Callable[[Service], None] = lambda s: None,
                           services: Optional[list[Service]] = None) -> None:
        """Block until these services (default: every one) pass their health check; raise StartupError otherwise."""
        deadline = time.monotonic() + timeout
        pending = list(services if services is not None else self.services)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                if self.stop_requested.is_set():
                    raise StartupError("interrupted while starting")
                failed = self.failed_service()
                if failed:
                    raise StartupError(self.describe_exit(failed))
                for service in list(pending):
                    if is_ready(service, client):
                        pending.remove(service)
                        on_ready(service)
                if pending and time.monotonic() > deadline:
                    names = ", ".join(s.name for s in pending)
                    raise StartupError(f"not healthy after {timeout:.0f} s: {names} "
                                       f"(logs in {pending[0].log_path.parent})")
                if pending:
                    time.sleep(self.poll_interval)

    def watch(self) -> Optional[Service]:
        """Block until a stop is requested (returns None) or a service dies that is not to be restarted (returns
        it); a service marked `restart` is started again after the policy's delay."""
        while not self.stop_requested.is_set():
            time.sleep(self.poll_interval)
            now = time.monotonic()
            self._restart_due(now)
            failed = self.failed_service()
            if failed:
                code = failed.process.returncode if failed.process is not None else None
                log.error("service_exited", extra={"fields": {"service": failed.name, "code": code}})
                if not self._may_restart(failed, now):
                    return failed
                self._due[failed.name] = now + self.restart_policy.delay
        return None

    def stop(self, grace: float = 15.0) -> None:
        """Stop all services: SIGTERM to each process group, SIGKILL after `grace` seconds."""
        self._due.clear()
        running = [(s, s.process) for s in self.services if s.process is not None and s.process.poll() is None]
        for service, process in running:
            _signal_group(process, service.stop_signal)
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
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)

    def request_stop(self, *_: object) -> None:
        """Signal handler: ask the supervisor to stop everything.

        The handler runs on the main thread, which must therefore never block in
        `stop_requested.wait()`: the event's lock could be held right when the signal lands,
        and `set()` here would wait for it forever. The loops above sleep and poll instead.
        """
        self.stop_requested.set()


def is_ready(service: Service, client: httpx.Client) -> bool:
    """Whether the service passes its readiness check now (its probe, else its HTTP health check)."""
    if service.probe is not None:
        return service.probe()
    try:
        return service.is_healthy(client.get(service.health_url, params=service.health_params))
    except httpx.HTTPError:
        return False


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
