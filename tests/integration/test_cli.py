"""The govbot command line."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from govbot import __version__
from testkit.helpers import free_port

GOVBOT = [sys.executable, "-m", "govbot.cli"]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*GOVBOT, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"govbot {__version__}"


def test_help_lists_the_real_subcommands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("run", "train"):
        assert f"    {command} " in result.stdout


def test_run_with_a_busy_port_exits_non_zero_before_training(tmp_path: Path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        result = run_cli("run", "--port", str(busy), "--rasa-port", str(free_port()),
                         "--actions-port", str(free_port()), env={"GOVBOT_VAR_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert f"gateway port {busy}" in result.stdout and "already in use" in result.stdout
    assert not (tmp_path / "models").exists()  # did not start training
    assert not (tmp_path / "log").exists()  # started no service


def test_bad_setting_is_a_clear_error():
    result = run_cli("run", env={"GOVBOT_GATEWAY_PORT": "eighty"})
    assert result.returncode == 2
    assert "GOVBOT_GATEWAY_PORT must be a whole number" in result.stdout


def test_installed_command_works_from_any_directory(tmp_path):
    # The console script imports every package itself, whatever the current directory.
    script = Path(sys.executable).parent / "govbot"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([str(script), "kb", "validate"], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "61 items, all valid" in result.stdout
    listed = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    for command in ("run", "train", "kb", "eval"):
        assert f"    {command} " in listed.stdout
