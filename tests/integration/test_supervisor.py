"""The supervisor starts services together and never leaves a half-running system."""

import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from govbot.supervisor import PortsInUse, RestartPolicy, Service, StartupError, Supervisor, port_is_free
from testkit.helpers import free_port


def http_service(name: str, tmp_path: Path, port: int) -> Service:
    """A real child process that serves HTTP on `port` (its health URL is /)."""
    return Service(name=name, argv=[sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                   port=port, bind_host="127.0.0.1", health_url=f"http://127.0.0.1:{port}/",
                   log_path=tmp_path / f"{name}.log", cwd=tmp_path, env=dict(os.environ))


def crashing_service(name: str, tmp_path: Path) -> Service:
    return Service(name=name, argv=[sys.executable, "-c", "import sys; print('cannot load model'); sys.exit(3)"],
                   port=free_port(), bind_host="127.0.0.1", health_url="http://127.0.0.1:9/",
                   log_path=tmp_path / f"{name}.log", cwd=tmp_path, env=dict(os.environ))


def test_port_is_free_detects_a_listener():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
    assert port_is_free("127.0.0.1", port)


def test_busy_port_is_reported_by_name(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        supervisor = Supervisor([http_service("web", tmp_path, busy), http_service("api", tmp_path, free_port())])
        with pytest.raises(PortsInUse, match=f"web port {busy}") as raised:
            supervisor.check_ports()
    assert "api" not in str(raised.value)


def test_starts_waits_and_stops_all_services(tmp_path):
    services = [http_service("one", tmp_path, free_port()), http_service("two", tmp_path, free_port())]
    supervisor = Supervisor(services, poll_interval=0.1)
    ready = []
    supervisor.start()
    try:
        supervisor.wait_until_healthy(timeout=30, on_ready=lambda s: ready.append(s.name))
        assert sorted(ready) == ["one", "two"]
        assert not port_is_free("127.0.0.1", services[0].port)
    finally:
        supervisor.stop(grace=5)
    assert all(s.process.poll() is not None for s in services)
    assert all(port_is_free("127.0.0.1", s.port) for s in services)


def test_a_crashing_service_fails_startup_with_its_log(tmp_path):
    good = http_service("good", tmp_path, free_port())
    supervisor = Supervisor([good, crashing_service("bad", tmp_path)], poll_interval=0.1)
    supervisor.start()
    with pytest.raises(StartupError) as raised:
        supervisor.wait_until_healthy(timeout=30)
    supervisor.stop(grace=5)
    assert "bad exited (code 3)" in str(raised.value)
    assert "cannot load model" in str(raised.value)
    assert good.process.poll() is not None  # the healthy one was stopped too


def test_a_service_that_never_gets_healthy_times_out(tmp_path):
    never = Service(name="sleepy", argv=[sys.executable, "-c", "import time; time.sleep(60)"],
                    port=free_port(), bind_host="127.0.0.1", health_url=f"http://127.0.0.1:{free_port()}/",
                    log_path=tmp_path / "sleepy.log", cwd=tmp_path, env=dict(os.environ))
    supervisor = Supervisor([never], poll_interval=0.1)
    supervisor.start()
    with pytest.raises(StartupError, match="not healthy after 1 s: sleepy"):
        supervisor.wait_until_healthy(timeout=1)
    supervisor.stop(grace=5)
    assert never.process.poll() is not None


def test_watch_returns_the_service_that_died(tmp_path):
    services = [http_service("one", tmp_path, free_port()), http_service("two", tmp_path, free_port())]
    supervisor = Supervisor(services, poll_interval=0.1)
    supervisor.start()
    try:
        supervisor.wait_until_healthy(timeout=30)
        services[1].process.kill()
        assert supervisor.watch() is services[1]
    finally:
        supervisor.stop(grace=5)
    assert services[0].process.poll() is not None


def test_watch_returns_none_when_a_stop_is_requested(tmp_path):
    supervisor = Supervisor([http_service("one", tmp_path, free_port())], poll_interval=0.1)
    supervisor.start()
    try:
        threading.Timer(0.3, supervisor.request_stop).start()
        assert supervisor.watch() is None
    finally:
        supervisor.stop(grace=5)


def test_a_service_ignoring_sigterm_is_killed(tmp_path):
    ignore_sigterm = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                      "print('ignoring SIGTERM'); time.sleep(60)")
    stubborn = Service(name="stubborn", argv=[sys.executable, "-u", "-c", ignore_sigterm],
                       port=free_port(), bind_host="127.0.0.1", health_url="http://127.0.0.1:9/",
                       log_path=tmp_path / "stubborn.log", cwd=tmp_path, env=dict(os.environ))
    supervisor = Supervisor([stubborn])
    supervisor.start()
    deadline = time.monotonic() + 30
    while "ignoring SIGTERM" not in stubborn.log_tail() and time.monotonic() < deadline:
        time.sleep(0.05)
    supervisor.stop(grace=1)
    assert stubborn.process.returncode == -9


def _watch_in_background(supervisor: Supervisor) -> tuple[threading.Thread, list]:
    returned: list = []
    thread = threading.Thread(target=lambda: returned.append(supervisor.watch()), daemon=True)
    thread.start()
    return thread, returned


def _wait_for(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_restarting_service_comes_back_with_a_new_pid_in_the_pid_file(tmp_path):
    import json
    import signal

    service = http_service("web", tmp_path, free_port())
    service.restart = True
    pid_file = tmp_path / "services.json"
    supervisor = Supervisor([service], poll_interval=0.05, restart_policy=RestartPolicy(delay=0.1), pid_file=pid_file)
    supervisor.start()
    thread, returned = _watch_in_background(supervisor)
    try:
        supervisor.wait_until_healthy(timeout=30)
        first = json.loads(pid_file.read_text())["web"]
        assert first == service.process.pid
        os.kill(first, signal.SIGKILL)
        assert _wait_for(lambda: json.loads(pid_file.read_text()).get("web") not in (None, first))
        supervisor.wait_until_healthy(timeout=30)  # the new process serves again
        assert thread.is_alive() and not returned  # a restart is not a failure of the whole
    finally:
        supervisor.request_stop()
        thread.join(5)
        supervisor.stop(grace=5)
    assert returned == [None]
    assert not pid_file.exists()


def test_a_service_that_keeps_dying_is_given_up_after_the_limit(tmp_path):
    service = crashing_service("bad", tmp_path)
    service.restart = True
    supervisor = Supervisor([service], poll_interval=0.05, restart_policy=RestartPolicy(delay=0.0, limit=2))
    supervisor.start()
    thread, returned = _watch_in_background(supervisor)
    thread.join(20)
    supervisor.stop(grace=5)
    assert returned == [service]
    assert (tmp_path / "bad.log").read_text().count("cannot load model") == 3  # first start and two restarts


def test_a_service_without_restart_still_ends_the_watch(tmp_path):
    supervisor = Supervisor([crashing_service("bad", tmp_path)], poll_interval=0.05,
                            restart_policy=RestartPolicy(delay=0.0))
    supervisor.start()
    assert supervisor.watch() is supervisor.services[0]
    supervisor.stop(grace=5)


def test_a_probe_replaces_the_http_health_check(tmp_path):
    answers = iter([False, False, True])
    service = Service(name="db", argv=[sys.executable, "-c", "import time; time.sleep(30)"], port=free_port(),
                      bind_host="127.0.0.1", health_url="", log_path=tmp_path / "db.log", cwd=tmp_path,
                      env=dict(os.environ), probe=lambda: next(answers))
    supervisor = Supervisor([service], poll_interval=0.05)
    supervisor.start()
    try:
        supervisor.wait_until_healthy(timeout=30)
    finally:
        supervisor.stop(grace=5)
    assert next(answers, "used up") == "used up"  # asked until it said yes, not through HTTP
