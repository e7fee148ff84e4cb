"""core.settings: one Settings object for every variable: defaults, parsing, readable errors, masked secrets."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.database import database_url
from core.settings import PROJECT_ROOT, SECRET_MASK, Settings, SettingsError, child_environment, env_name, variables
from handoff.config import HandoffConfig

NAMES = [name for name in map(env_name, Settings.model_fields) if name is not None]
TOKEN = "123456789:AAsecretsecretsecretsecretsecretXYZ"
WEBHOOK_SECRET = "hush-hush_42"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No govbot variable set: every test starts from the defaults."""
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_variable_is_declared_once_with_a_description():
    assert len(NAMES) == len(set(NAMES)) >= 40
    for name in NAMES:
        assert name.startswith(("GOVBOT_", "TELEGRAM_")), name
    for variable in variables(Settings()):
        assert len(variable.description) > 10, variable.name
    assert env_name("root") is None and "GOVBOT_ROOT" not in NAMES  # the project folder is not configurable


def test_defaults():
    settings = Settings.from_env()
    assert settings.var_dir == PROJECT_ROOT / "var"
    assert (settings.gateway_host, settings.gateway_port, settings.rasa_port, settings.actions_port) == (
        "127.0.0.1", 8080, 5005, 5055)
    assert settings.rasa_base_url == "http://127.0.0.1:5005" and settings.gateway_url == "http://localhost:8080/"
    assert (settings.telegram_token, settings.telegram_mode, settings.stt_en_engine) == ("", "polling", "whisper")
    assert settings.stt_zh_model_dir is None and settings.tts_gtts is False and settings.log_level == "INFO"
    assert (settings.stt_zh_engine, settings.tts_zh_engine) == ("whisper", "kokoro")
    assert settings.speech_models_dir == settings.var_dir / "speech-models"
    assert settings.kb_dir == PROJECT_ROOT / "knowledge" / "items"
    assert settings.search_config == PROJECT_ROOT / "knowledge" / "search.yml"
    assert settings.canned_replies == PROJECT_ROOT / "handoff" / "canned_replies.yml"
    assert (settings.handoff_hours, settings.handoff_timezone, settings.sla_first_response,
            settings.sla_next_response, settings.sla_resolution, settings.sla_warn_share) == (
        "always", "Asia/Shanghai", 120, 300, 1800, 0.8)
    assert (settings.handoff_minutes_per_ticket, settings.handoff_update_seconds,
            settings.handoff_heartbeat_seconds) == (4, 15, 15)
    assert Settings() == settings


def test_paths_under_var_dir_follow_it_unless_set(clean_env, tmp_path):
    clean_env.setenv("GOVBOT_VAR_DIR", str(tmp_path))
    settings = Settings.from_env()
    assert (settings.models_dir, settings.tracker_db, settings.index_root) == (
        tmp_path / "models", tmp_path / "tracker.db", tmp_path / "index")
    assert (settings.log_dir, settings.tts_cache_dir) == (tmp_path / "log", tmp_path / "tts-cache")
    assert database_url(settings) == f"sqlite:///{tmp_path / 'govbot.db'}"
    # the embedding model is installed by scripts/setup into the project's var/, whatever GOVBOT_VAR_DIR says
    assert settings.embedding_model_dir == PROJECT_ROOT / "var" / "embeddings" / "multilingual-e5-small"
    clean_env.setenv("GOVBOT_MODELS_DIR", str(tmp_path / "elsewhere"))
    clean_env.setenv("GOVBOT_DATABASE_URL", "postgresql+psycopg://govbot@db/govbot")
    settings = Settings.from_env()
    assert settings.models_dir == tmp_path / "elsewhere" and settings.index_root == tmp_path / "index"
    assert database_url(settings) == "postgresql+psycopg://govbot@db/govbot"
    clean_env.delenv("GOVBOT_MODELS_DIR")
    assert Settings(var_dir=tmp_path / "v").models_dir == tmp_path / "v" / "models"  # also when built in code


def test_values_are_parsed_from_the_environment(clean_env, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    clean_env.setenv("GOVBOT_GATEWAY_PORT", "9000")
    clean_env.setenv("GOVBOT_RASA_TIMEOUT", "2.5")
    clean_env.setenv("GOVBOT_TTS_GTTS", "off")
    clean_env.setenv("GOVBOT_TELEGRAM_MODE", " Webhook ")
    clean_env.setenv("TELEGRAM_BOT_TOKEN", f" {TOKEN} ")
    clean_env.setenv("GOVBOT_TELEGRAM_WEBHOOK_URL", "https://bot.example.org/telegram")
    clean_env.setenv("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    clean_env.setenv("GOVBOT_STT_ZH_MODEL_DIR", "~/zh-model")
    clean_env.setenv("GOVBOT_KB_DIR", "~/kb")
    clean_env.setenv("GOVBOT_LOG_LEVEL", "debug")
    clean_env.setenv("GOVBOT_SLA_WARN_SHARE", "0.5")
    settings = Settings.from_env()
    assert (settings.gateway_port, settings.rasa_timeout, settings.tts_gtts) == (9000, 2.5, False)
    assert (settings.telegram_mode, settings.telegram_token) == ("webhook", TOKEN)
    assert settings.stt_zh_model_dir == tmp_path / "zh-model" and settings.kb_dir == tmp_path / "kb"
    assert settings.log_level == "DEBUG" and settings.sla_warn_share == 0.5


def test_empty_or_blank_values_mean_the_default(clean_env):
    for name in ("GOVBOT_GATEWAY_PORT", "GOVBOT_VAR_DIR", "GOVBOT_TTS_GTTS", "GOVBOT_LOG_LEVEL"):
        clean_env.setenv(name, "")
    clean_env.setenv("GOVBOT_TELEGRAM_MODE", "  ")
    clean_env.setenv("GOVBOT_STT_ZH_MODEL_DIR", "  ")
    assert Settings.from_env() == Settings()


@pytest.mark.parametrize(("name", "value", "message"), [
    ("GOVBOT_GATEWAY_PORT", "eighty", "GOVBOT_GATEWAY_PORT must be a whole number, got 'eighty'"),
    ("GOVBOT_RASA_PORT", "70000", "GOVBOT_RASA_PORT must be between 1 and 65535, got 70000"),
    ("GOVBOT_ACTIONS_PORT", "0", "GOVBOT_ACTIONS_PORT must be between 1 and 65535, got 0"),
    ("GOVBOT_RASA_TIMEOUT", "soon", "GOVBOT_RASA_TIMEOUT must be a number, got 'soon'"),
    ("GOVBOT_STARTUP_TIMEOUT", "0", "GOVBOT_STARTUP_TIMEOUT must be positive, got '0'"),
    ("GOVBOT_MAX_MESSAGE_CHARS", "0", "GOVBOT_MAX_MESSAGE_CHARS must be at least 1, got '0'"),
    ("GOVBOT_LOG_LEVEL", "loud", "GOVBOT_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got 'loud'"),
    ("GOVBOT_TTS_GTTS", "maybe", "GOVBOT_TTS_GTTS must be on or off (1/0, true/false, yes/no), got 'maybe'"),
    ("GOVBOT_TTS_GTTS_TIMEOUT", "-1", "GOVBOT_TTS_GTTS_TIMEOUT must be positive, got '-1'"),
    ("GOVBOT_TELEGRAM_MODE", "push", "GOVBOT_TELEGRAM_MODE must be polling or webhook, got 'push'"),
    ("GOVBOT_STT_EN_ENGINE", "vosk", "GOVBOT_STT_EN_ENGINE must be whisper or none, got 'vosk'"),
    ("GOVBOT_STT_MIN_CONFIDENCE", "2", "GOVBOT_STT_MIN_CONFIDENCE must be between 0 and 1, got 2.0"),
    ("GOVBOT_STT_MAX_AUDIO_BYTES", "0", "GOVBOT_STT_MAX_AUDIO_BYTES must be positive, got '0'"),
    ("GOVBOT_STT_MAX_SECONDS", "0", "GOVBOT_STT_MAX_SECONDS must be positive, got '0'"),
    ("GOVBOT_STT_THREADS", "0", "GOVBOT_STT_THREADS must be at least 1, got '0'"),
    ("GOVBOT_SLA_FIRST_RESPONSE", "soon", "GOVBOT_SLA_FIRST_RESPONSE must be a number, got 'soon'"),
    ("GOVBOT_SLA_NEXT_RESPONSE", "0", "GOVBOT_SLA_NEXT_RESPONSE must be positive, got '0'"),
    ("GOVBOT_SLA_RESOLUTION", "-5", "GOVBOT_SLA_RESOLUTION must be positive, got '-5'"),
    ("GOVBOT_SLA_WARN_SHARE", "0", "GOVBOT_SLA_WARN_SHARE must be positive, got '0'"),
    ("GOVBOT_HANDOFF_MINUTES_PER_TICKET", "x", "GOVBOT_HANDOFF_MINUTES_PER_TICKET must be a number, got 'x'"),
    ("GOVBOT_HANDOFF_UPDATE_SECONDS", "0", "GOVBOT_HANDOFF_UPDATE_SECONDS must be positive, got '0'"),
    ("GOVBOT_HANDOFF_HEARTBEAT_SECONDS", "0", "GOVBOT_HANDOFF_HEARTBEAT_SECONDS must be positive, got '0'"),
])
def test_a_bad_value_is_named_with_its_variable(clean_env, name, value, message):
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        Settings.from_env()
    assert str(raised.value) == message  # one line, the variable's name first, no pydantic internals


def test_several_bad_values_are_all_reported(clean_env):
    clean_env.setenv("GOVBOT_GATEWAY_PORT", "eighty")
    clean_env.setenv("GOVBOT_STT_THREADS", "0")
    with pytest.raises(SettingsError) as raised:
        Settings.from_env()
    assert str(raised.value) == ("GOVBOT_GATEWAY_PORT must be a whole number, got 'eighty'; "
                                 "GOVBOT_STT_THREADS must be at least 1, got '0'")


def test_webhook_mode_needs_its_url_and_secret():
    with pytest.raises(SettingsError, match="^webhook mode needs GOVBOT_TELEGRAM_WEBHOOK_URL and "
                                            "TELEGRAM_WEBHOOK_SECRET$"):
        Settings(telegram_token=TOKEN, telegram_mode="webhook", telegram_webhook_url="https://x.example/t")
    Settings(telegram_mode="webhook")  # without a token Telegram is off: nothing to check


def test_a_bad_secret_is_refused_without_being_echoed(clean_env):
    clean_env.setenv("TELEGRAM_WEBHOOK_SECRET", "no spaces allowed!")
    with pytest.raises(SettingsError) as raised:
        Settings.from_env()
    assert str(raised.value) == "TELEGRAM_WEBHOOK_SECRET must be 1-256 letters, digits, _ or -"
    with pytest.raises(SettingsError) as raised:
        Settings(telegram_token=12345)  # type: ignore[arg-type]
    assert "12345" not in str(raised.value) and "TELEGRAM_BOT_TOKEN" in str(raised.value)


def test_secrets_stay_out_of_repr_and_are_masked_in_the_listing():
    settings = Settings(telegram_token=TOKEN, telegram_webhook_secret=WEBHOOK_SECRET)
    assert TOKEN not in repr(settings) and WEBHOOK_SECRET not in repr(settings)
    assert TOKEN not in str(settings) and WEBHOOK_SECRET not in str(settings)
    listed = {variable.name: variable for variable in variables(settings)}
    assert listed["TELEGRAM_BOT_TOKEN"].value == SECRET_MASK and listed["TELEGRAM_BOT_TOKEN"].secret
    assert listed["TELEGRAM_WEBHOOK_SECRET"].value == SECRET_MASK
    assert {variables(Settings())[NAMES.index("TELEGRAM_BOT_TOKEN")].value} == {""}  # unset: shown empty


def test_the_listing_shows_values_and_defaults(tmp_path):
    listed = {variable.name: variable for variable in variables(Settings(var_dir=tmp_path, gateway_port=9001))}
    assert (listed["GOVBOT_GATEWAY_PORT"].value, listed["GOVBOT_GATEWAY_PORT"].default) == ("9001", "8080")
    assert listed["GOVBOT_MODELS_DIR"].value == str(tmp_path / "models")
    assert listed["GOVBOT_MODELS_DIR"].default == "$GOVBOT_VAR_DIR/models"
    assert listed["GOVBOT_TTS_GTTS"].value == "false" and listed["GOVBOT_STT_ZH_MODEL_DIR"].value == ""


def test_govbot_config_prints_every_variable_with_secrets_masked(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "GOVBOT_VAR_DIR": str(tmp_path), "GOVBOT_GATEWAY_PORT": "9002"}
    text = subprocess.run([sys.executable, "-m", "govbot.cli", "config"], capture_output=True, text=True,
                          timeout=120, env=env, cwd=PROJECT_ROOT)
    assert text.returncode == 0, text.stderr
    assert TOKEN not in text.stdout + text.stderr and WEBHOOK_SECRET not in text.stdout + text.stderr
    for name in NAMES:
        assert f"\n{name}=" in "\n" + text.stdout, name
    assert f"TELEGRAM_BOT_TOKEN={SECRET_MASK}\n" in text.stdout and "GOVBOT_GATEWAY_PORT=9002\n" in text.stdout
    as_json = subprocess.run([sys.executable, "-m", "govbot.cli", "config", "--json"], capture_output=True,
                             text=True, timeout=120, env=env, cwd=PROJECT_ROOT)
    assert as_json.returncode == 0, as_json.stderr
    listed = {entry["name"]: entry for entry in json.loads(as_json.stdout)}
    assert list(listed) == NAMES
    assert listed["TELEGRAM_WEBHOOK_SECRET"]["value"] == SECRET_MASK and TOKEN not in as_json.stdout
    assert listed["GOVBOT_VAR_DIR"]["value"] == str(tmp_path) and listed["GOVBOT_GATEWAY_PORT"]["default"] == "8080"
    assert all(entry["description"] for entry in listed.values())


def test_with_overrides_replaces_given_values_and_validates_again(tmp_path):
    settings = Settings(var_dir=tmp_path)
    changed = settings.with_overrides(gateway_port=9003, rasa_port=None)
    assert (changed.gateway_port, changed.rasa_port, changed.var_dir) == (9003, 5005, tmp_path)
    assert settings.gateway_port == 8080  # frozen: the original is unchanged
    with pytest.raises(SettingsError, match="^GOVBOT_GATEWAY_PORT must be between 1 and 65535, got 0$"):
        settings.with_overrides(gateway_port=0)
    with pytest.raises(ValidationError, match="frozen"):
        settings.gateway_port = 1  # type: ignore[misc]


def test_a_child_process_environment_carries_the_same_settings(clean_env, tmp_path):
    settings = Settings(var_dir=tmp_path, gateway_port=9004, telegram_token=TOKEN, tts_gtts=False,
                        stt_zh_model_dir=tmp_path / "zh", sla_resolution=99.5)
    env = child_environment(settings)
    for name in NAMES:
        clean_env.setenv(name, env[name])
    assert Settings.from_env() == settings


def test_handoff_config_comes_from_the_settings():
    config = HandoffConfig.from_settings(Settings(sla_first_response=60, sla_warn_share=5,
                                                  handoff_hours="mon-fri 09:00-18:00", handoff_update_seconds=3))
    assert (config.sla.first_response, config.sla.next_response, config.sla.warn_share) == (60, 300, 0.99)
    assert not config.hours.always and config.hours_text == "mon-fri 09:00-18:00" and config.update_seconds == 3
    with pytest.raises(SettingsError, match="GOVBOT_HANDOFF_HOURS / GOVBOT_HANDOFF_TIMEZONE: unknown time zone"):
        HandoffConfig.from_settings(Settings(handoff_timezone="Mars/Olympus"))


LAYERS_WITHOUT_ENVIRONMENT = ("core", "knowledge", "handoff", "bot", "channels", "govbot")


def test_only_the_settings_module_reads_the_environment():
    offenders = []
    for layer in LAYERS_WITHOUT_ENVIRONMENT:
        for path in sorted((PROJECT_ROOT / layer).rglob("*.py")):
            relative = path.relative_to(PROJECT_ROOT).as_posix()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if "os.environ" not in line and "getenv" not in line:
                    continue
                if relative == "core/settings.py":
                    continue
                # the one allowed writer: the numeric libraries' own variables, set before they load
                # (bot/nlu runs inside the Rasa server, which has no govbot settings)
                if relative in ("knowledge/embedder.py", "bot/nlu/sentence_featurizer.py") \
                        and "os.environ.setdefault(" in line:
                    continue
                # the Rasa launcher (in .venv-rasa, no govbot settings) hands the token it read from stdin to
                # Rasa's credentials.yml through its own environment (docstring and comments mention it too)
                if relative == "govbot/rasa_launcher.py" and ("os.environ[" in line or "`os.environ`" in line):
                    continue
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []


def test_database_url_follows_the_var_dir_of_the_settings(clean_env, tmp_path: Path):
    clean_env.setenv("GOVBOT_VAR_DIR", str(tmp_path))
    assert database_url(Settings.from_env()) == f"sqlite:///{tmp_path / 'govbot.db'}"
