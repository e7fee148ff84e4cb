"""The secrets govbot's own processes share, made once per installation when the environment gives none.

`govbot run` calls `with_local_secrets`: each empty secret setting (conversation tokens' key, Rasa's auth token,
the action server's token) is taken from $GOVBOT_VAR_DIR/secrets.json, or made at random and added there. The
file is written atomically with mode 0600 under a lock, so conversations stay valid across restarts, processes
starting together agree, and nothing is half-written. Secrets set in the environment always win and are never
written to the file.
"""

import fcntl
import json
import os
import secrets
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator

from core.settings import Settings, SettingsError

SECRET_FIELDS = ("conversation_secret", "rasa_token", "actions_token")
SECRETS_FILE = "secrets.json"


def secrets_path(settings: Settings) -> Path:
    """Where generated secrets are kept."""
    return settings.var_dir / SECRETS_FILE


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SettingsError(f"{path} is not a readable secrets file ({type(error).__name__}); "
                            "delete it to make new secrets") from None
    if not isinstance(stored, dict):
        raise SettingsError(f"{path} is not a secrets file (a JSON object); delete it to make new secrets")
    return {key: value for key, value in stored.items() if isinstance(value, str) and value}


def _write(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".secrets-", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(values, file, indent=1, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the secrets file, so processes starting together make the same secrets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def installation_secrets(settings: Settings, names: tuple[str, ...]) -> dict[str, str]:
    """The installation's secrets of these names: each read from the secrets file, or made at random and added."""
    path = secrets_path(settings)
    with _locked(path):
        stored = _read(path)
        made = {name: secrets.token_urlsafe(32) for name in names if name not in stored}
        if made:
            _write(path, {**stored, **made})
        elif path.exists() and path.stat().st_mode & 0o077:
            with suppress(PermissionError):  # a copy made readable by others: only its owner needs it
                os.chmod(path, 0o600)
    found = {**stored, **made}
    return {name: found[name] for name in names}


def with_local_secrets(settings: Settings) -> Settings:
    """These settings with every empty secret filled from (or newly added to) the installation's secrets file."""
    missing = tuple(name for name in SECRET_FIELDS if not getattr(settings, name))
    if not missing:
        return settings
    return settings.with_overrides(**installation_secrets(settings, missing))
