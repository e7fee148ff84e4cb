"""Training the Rasa model, only when the model for the current inputs is missing."""

import hashlib
import os
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Optional

from core.settings import Settings, child_environment, env_name, variables

# Everything that changes what `rasa train` produces. The Rasa lock is included so that a
# new Rasa version retrains instead of loading a model it may not read; the code of our
# own NLU components is included because the model stores what they computed.
TRAINING_FILES = ("config.yml", "bot/domain.yml", "locks/rasa.lock", "core/language.py")
TRAINING_DIRS = {"bot/data": {".yml", ".yaml"}, "bot/nlu": {".py"}}


class TrainingError(RuntimeError):
    """`rasa train` failed; the message names the log with the details."""


class TrainingInterrupted(TrainingError):
    """Training was stopped on request before it finished."""


def training_inputs(root: Path) -> list[Path]:
    """List the files whose content determines the trained model, in a stable order."""
    files = [root / name for name in TRAINING_FILES]
    for directory, suffixes in TRAINING_DIRS.items():
        files.extend(sorted(p for p in (root / directory).rglob("*") if p.is_file() and p.suffix in suffixes))
    return files


def fingerprint(root: Path) -> str:
    """Hash of the training inputs' paths and contents (hex, 16 characters)."""
    digest = hashlib.sha256()
    for path in training_inputs(root):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(settings: Settings) -> Path:
    """Where the model for the current training inputs is (or will be) stored."""
    return settings.models_dir / f"govbot-{fingerprint(settings.root)}.tar.gz"


def is_stale(settings: Settings) -> bool:
    """True when no trained model matches the current config, domain and data."""
    return not model_path(settings).is_file()


# The one secret Rasa needs in its environment: endpoints.yml sends it to the action server. Its own API token
# reaches it on standard input (govbot.rasa_launcher); govbot's other secrets are none of its business.
RASA_SECRETS = ("actions_token",)


def without_secrets(env: dict[str, str], settings: Settings, keep: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment without the variables of secret settings, except those named in `keep`."""
    kept = {env_name(field_name) for field_name in keep}
    secret = {variable.name for variable in variables(settings) if variable.secret and variable.name not in kept}
    return {name: value for name, value in env.items() if name not in secret}


def rasa_environment(settings: Settings) -> dict[str, str]:
    """Environment for any Rasa process: telemetry off, project importable, files placed, only its own secret."""
    env = without_secrets(child_environment(settings), settings, keep=RASA_SECRETS)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONPATH=os.pathsep.join(filter(None, [str(settings.root), env.get("PYTHONPATH", "")])),
        GOVBOT_ACTION_ENDPOINT=settings.action_endpoint,
        GOVBOT_TRACKER_DB=str(settings.tracker_db),
        RASA_CACHE_DIRECTORY=str(settings.var_dir / "rasa-cache"),
    )
    # A Rasa server handles one message at a time (its NLU runs on the event loop), so its e5 engine gets one OpenMP
    # thread: two gained nothing (22 vs 23 ms a message) and made two Rasa servers on two cores fight over them (4 to
    # 8 times slower). Scale with GOVBOT_RASA_REPLICAS instead. Set beforehand, it is kept.
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def train(settings: Settings, force: bool = False, stop: Optional[threading.Event] = None) -> Path:
    """Train the Rasa model unless an up-to-date one exists; return the model's path.

    Setting `stop` ends a training in progress (TrainingInterrupted is raised).
    """
    target = model_path(settings)
    if target.is_file() and not force:
        return target
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.log_dir / "train.log"
    # Train into a scratch folder and move the result into place, so an interrupted
    # training never leaves a file that looks like a finished model.
    with tempfile.TemporaryDirectory(dir=settings.models_dir, prefix=".training-") as scratch:
        command = [
            str(settings.rasa_venv / "bin" / "rasa"), "train",
            "--config", "config.yml", "--domain", "bot/domain.yml", "--data", "bot/data",
            "--out", scratch, "--fixed-model-name", target.name.removesuffix(".tar.gz"),
        ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, cwd=settings.root, env=rasa_environment(settings),
                                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
            returncode = _wait_or_stop(process, stop or threading.Event())
        produced = Path(scratch) / target.name
        if returncode is None:
            raise TrainingInterrupted("training was interrupted; nothing was saved")
        if returncode != 0 or not produced.is_file():
            raise TrainingError(f"rasa train failed (exit {returncode}); see {log_path}")
        os.replace(produced, target)
    return target


def _wait_or_stop(process: subprocess.Popen, stop: threading.Event) -> Optional[int]:
    """Wait for the process; if `stop` is set first, end it and return None."""
    while True:
        try:
            return process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            if stop.is_set():
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                return None
