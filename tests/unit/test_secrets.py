"""The services' shared secrets: made once and kept 0600 (core.secrets), handed to each child and only to the child
that uses it (govbot.stack, govbot.training), never on a command line, and redacted from what Rasa prints
(govbot.rasa_launcher)."""

import io
import json
import multiprocessing
import os
import stat
import subprocess
from pathlib import Path

import pytest

from core import secrets as local_secrets
from core.secrets import SECRET_FIELDS, secrets_path, with_local_secrets
from core.settings import Settings, SettingsError, env_name, variables
from govbot.rasa_launcher import RedactingStream, rasa_arguments
from govbot.stack import build_services
from govbot.supervisor import Service
from govbot.training import rasa_environment

SECRET_VARIABLES = ("GOVBOT_CONVERSATION_SECRET", "GOVBOT_RASA_TOKEN", "GOVBOT_ACTIONS_TOKEN", "TELEGRAM_BOT_TOKEN",
                    "TELEGRAM_WEBHOOK_SECRET")


@pytest.fixture(autouse=True)
def no_secrets_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def settings_in(folder: Path, **values: object) -> Settings:
    return Settings(var_dir=folder, **values)


# --- core.secrets.with_local_secrets -------------------------------------------------------------------------

def test_missing_secrets_are_made_once_and_kept_owner_only(tmp_path: Path) -> None:
    filled = with_local_secrets(settings_in(tmp_path))
    values = {name: getattr(filled, name) for name in SECRET_FIELDS}
    assert all(len(value) >= 43 for value in values.values())  # 32 random bytes, url-safe base64
    assert len(set(values.values())) == 3
    path = secrets_path(filled)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == values
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".secrets-")] == []  # no temporary file left


def test_a_second_run_reads_the_same_secrets_and_leaves_the_file_alone(tmp_path: Path) -> None:
    first = with_local_secrets(settings_in(tmp_path))
    path = secrets_path(first)
    written = path.read_bytes(), path.stat().st_mtime_ns
    second = with_local_secrets(settings_in(tmp_path))
    assert [getattr(second, name) for name in SECRET_FIELDS] == [getattr(first, name) for name in SECRET_FIELDS]
    assert (path.read_bytes(), path.stat().st_mtime_ns) == written


def test_secrets_from_the_environment_win_and_are_never_written(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with_local_secrets(settings_in(tmp_path))  # a file with all three
    monkeypatch.setenv("GOVBOT_RASA_TOKEN", "from-the-environment")
    filled = with_local_secrets(settings_in(tmp_path))
    assert filled.rasa_token == "from-the-environment"
    assert "from-the-environment" not in secrets_path(filled).read_text()


def test_only_secrets_the_environment_lacks_are_written(tmp_path: Path) -> None:
    filled = with_local_secrets(settings_in(tmp_path, rasa_token="given", actions_token="also-given"))
    assert (filled.rasa_token, filled.actions_token) == ("given", "also-given")
    assert set(json.loads(secrets_path(filled).read_text())) == {"conversation_secret"}


def test_settings_with_every_secret_touch_no_file(tmp_path: Path) -> None:
    given = settings_in(tmp_path, conversation_secret="a", rasa_token="b", actions_token="c")
    assert with_local_secrets(given) is given
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "\udcff"])
def test_a_corrupt_file_is_a_clear_settings_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "secrets.json").write_text(content, errors="surrogateescape")
    with pytest.raises(SettingsError, match=r"secrets\.json is not a .*secrets file.*delete it"):
        with_local_secrets(settings_in(tmp_path))


def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary_file(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"conversation_secret": "kept"}))
    path.chmod(0o600)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(local_secrets.json, "dump", disk_full)
    with pytest.raises(OSError, match="No space left"):
        with_local_secrets(settings_in(tmp_path))
    assert json.loads(path.read_text()) == {"conversation_secret": "kept"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".secrets.json.lock", "secrets.json"]


def test_a_file_readable_by_others_is_made_owner_only(tmp_path: Path) -> None:
    with_local_secrets(settings_in(tmp_path))
    path = tmp_path / "secrets.json"
    path.chmod(0o644)
    with_local_secrets(settings_in(tmp_path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _fill_and_report(folder: str, barrier: "multiprocessing.synchronize.Barrier",
                     results: "multiprocessing.Queue[str]") -> None:
    barrier.wait(timeout=30)
    results.put(with_local_secrets(Settings(var_dir=Path(folder))).rasa_token)


def test_processes_starting_together_agree_on_the_secrets(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    count = 4
    barrier, results = context.Barrier(count), context.Queue()
    processes = [context.Process(target=_fill_and_report, args=(str(tmp_path), barrier, results))
                 for _ in range(count)]
    for process in processes:
        process.start()
    tokens = {results.get(timeout=60) for _ in processes}
    for process in processes:
        process.join(timeout=30)
    assert len(tokens) == 1
    assert tokens == {json.loads((tmp_path / "secrets.json").read_text())["rasa_token"]}


def test_govbot_config_masks_the_three_secrets(tmp_path: Path) -> None:
    filled = with_local_secrets(settings_in(tmp_path))
    listed = {variable.name: variable for variable in variables(filled)}
    for name in SECRET_FIELDS:
        variable = listed[str(env_name(name))]
        assert variable.secret and variable.value == "********"
    assert all(getattr(filled, name) not in repr(filled) for name in SECRET_FIELDS)


# --- each child gets the secrets it uses, and nothing on its command line ---------------------------------------

@pytest.fixture
def stack(tmp_path: Path) -> tuple[Settings, dict[str, Service]]:
    """Settings with every secret (a Telegram token too) and the services built from them."""
    settings = with_local_secrets(settings_in(tmp_path, telegram_token="123456789:AAsecretsecretsecretsecretsecretXYZ"))
    return settings, {service.name: service for service in build_services(settings, tmp_path / "model.tar.gz")}


def test_no_secret_is_on_any_command_line(stack: tuple[Settings, dict[str, Service]]) -> None:
    settings, services = stack
    values = [getattr(settings, name) for name in (*SECRET_FIELDS, "telegram_token")]
    for service in services.values():
        assert not any(value in argument for value in values for argument in service.argv)
        assert not any(value in service.health_url for value in values)


def test_rasa_gets_its_token_on_stdin_and_only_the_action_servers_token_in_its_environment(
        stack: tuple[Settings, dict[str, Service]]) -> None:
    settings, services = stack
    rasa = services["rasa server"]
    assert rasa.argv[1:4] == ["-m", "govbot.rasa_launcher", "run"] and "--auth-token" not in rasa.argv
    assert rasa.stdin_text == settings.rasa_token + "\n"
    assert rasa.health_params == {"token": settings.rasa_token}  # Rasa's /status needs it
    assert rasa.env["GOVBOT_ACTIONS_TOKEN"] == settings.actions_token
    assert not set(rasa.env) & {"GOVBOT_RASA_TOKEN", "GOVBOT_CONVERSATION_SECRET", "TELEGRAM_BOT_TOKEN",
                                "TELEGRAM_WEBHOOK_SECRET"}


def test_the_action_server_gets_only_its_token_and_the_gateway_all_but_it(
        stack: tuple[Settings, dict[str, Service]]) -> None:
    settings, services = stack
    actions, gateway = services["action server"].env, services["gateway"].env
    assert actions["GOVBOT_ACTIONS_TOKEN"] == settings.actions_token
    assert not set(actions) & {"GOVBOT_RASA_TOKEN", "GOVBOT_CONVERSATION_SECRET", "TELEGRAM_BOT_TOKEN"}
    assert (gateway["GOVBOT_RASA_TOKEN"], gateway["GOVBOT_CONVERSATION_SECRET"], gateway["TELEGRAM_BOT_TOKEN"]) == (
        settings.rasa_token, settings.conversation_secret, settings.telegram_token)
    assert "GOVBOT_ACTIONS_TOKEN" not in gateway


def test_the_action_server_listens_where_the_settings_say_and_rasa_calls_it_there(tmp_path: Path) -> None:
    settings = with_local_secrets(settings_in(tmp_path))
    [actions, _, _] = build_services(settings, tmp_path / "model.tar.gz")
    assert actions.bind_host == "127.0.0.1" and actions.argv[actions.argv.index("--host") + 1] == "127.0.0.1"
    assert rasa_environment(settings)["GOVBOT_ACTION_ENDPOINT"] == f"http://127.0.0.1:{settings.actions_port}/webhook"
    everywhere = settings.with_overrides(actions_host="0.0.0.0")
    [actions, _, _] = build_services(everywhere, tmp_path / "model.tar.gz")
    assert actions.bind_host == "0.0.0.0" and actions.health_url.startswith("http://127.0.0.1:")
    assert everywhere.action_endpoint.startswith("http://127.0.0.1:")
    assert settings.with_overrides(actions_host="10.1.2.3").action_endpoint.startswith("http://10.1.2.3:")


def test_the_stack_refuses_to_start_services_without_their_tokens(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="GOVBOT_RASA_TOKEN and GOVBOT_ACTIONS_TOKEN must not be empty"):
        build_services(settings_in(tmp_path), tmp_path / "model.tar.gz")


# --- govbot.rasa_launcher -----------------------------------------------------------------------------------------

def test_rasa_sees_the_token_as_its_auth_token_argument() -> None:
    assert rasa_arguments(["run", "--enable-api"], "t0k") == ["rasa", "run", "--enable-api", "--auth-token=t0k"]


def test_a_token_beginning_with_a_dash_reaches_rasa_as_the_token() -> None:
    """secrets.token_urlsafe may begin with "-": Rasa's own argument parser must still read it as the token."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--enable-api", action="store_true")
    parser.add_argument("-t", "--auth-token")
    token = "-Xq3_secret-token"
    parsed = parser.parse_args(rasa_arguments(["--enable-api"], token)[1:])
    assert parsed.auth_token == token and parsed.enable_api


def test_what_rasa_prints_is_redacted_line_by_line() -> None:
    target = io.StringIO()
    stream = RedactingStream(target)  # type: ignore[arg-type]
    stream.write("Exception occurred while handling uri: 'http://127.0.0.1:5005/conversations/x/tracker?to")
    assert target.getvalue() == ""  # an incomplete line waits, so a token split across writes is still caught
    stream.write("ken=s3cr3t-value'\nheaders {'Authorization': 'Bearer abc.def'}\nuser said 11010519491231002X\n")
    stream.write("tail without newline token=xyz")
    stream.flush()
    written = target.getvalue()
    for leaked in ("s3cr3t-value", "abc.def", "1101051949123", "xyz"):
        assert leaked not in written
    assert written.count("\n") == 3 and written.startswith("Exception occurred while handling uri")


@pytest.mark.parametrize("venv", [".venv", ".venv-rasa"])
def test_the_launcher_loads_in_both_environments_and_refuses_to_start_rasa_without_a_token(venv: str) -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([str(root / venv / "bin" / "python"), "-m", "govbot.rasa_launcher", "run"], input="\n",
                          capture_output=True, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          timeout=60)
    assert done.returncode != 0 and "no auth token on standard input" in done.stderr, done.stderr[-2000:]
