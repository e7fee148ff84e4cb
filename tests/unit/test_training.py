"""`govbot train`'s staleness logic: retrain exactly when config, domain or data change."""

import os
import shutil
import stat
from pathlib import Path

import pytest

from core.settings import Settings
from govbot.training import TrainingError, fingerprint, is_stale, model_path, train, training_inputs


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "bot" / "data").mkdir(parents=True)
    (tmp_path / "locks").mkdir()
    (tmp_path / "config.yml").write_text("pipeline: []\n")
    (tmp_path / "bot" / "domain.yml").write_text("intents: [greet]\n")
    (tmp_path / "bot" / "data" / "nlu.yml").write_text("nlu: []\n")
    (tmp_path / "locks" / "rasa.lock").write_text("rasa==3.6.21\n")
    return tmp_path


def settings_for(root: Path) -> Settings:
    return Settings(root=root, var_dir=root / "var", models_dir=root / "var" / "models")


def test_fingerprint_depends_on_contents_not_on_where_the_project_is(project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "project"
    shutil.copytree(project, elsewhere)
    assert fingerprint(elsewhere) == fingerprint(project)
    (elsewhere / "config.yml").write_text((elsewhere / "config.yml").read_text() + "# edited\n")
    assert fingerprint(elsewhere) != fingerprint(project)


@pytest.mark.parametrize("changed", ["config.yml", "bot/domain.yml", "bot/data/nlu.yml", "locks/rasa.lock"])
def test_fingerprint_changes_with_each_training_input(project, changed):
    before = fingerprint(project)
    (project / changed).write_text((project / changed).read_text() + "# edited\n")
    assert fingerprint(project) != before


def test_new_data_file_changes_fingerprint(project):
    before = fingerprint(project)
    (project / "bot" / "data" / "stories.yml").write_text("stories: []\n")
    assert fingerprint(project) != before


def test_renaming_a_data_file_changes_fingerprint(project):
    before = fingerprint(project)
    (project / "bot" / "data" / "nlu.yml").rename(project / "bot" / "data" / "nlu2.yml")
    assert fingerprint(project) != before


def test_unrelated_files_do_not_change_fingerprint(project):
    before = fingerprint(project)
    (project / "README.md").write_text("docs\n")
    (project / "bot" / "data" / "notes.txt").write_text("not training data\n")
    (project / "bot" / "actions").mkdir()
    (project / "bot" / "actions" / "x.py").write_text("print()\n")
    assert fingerprint(project) == before


def test_training_inputs_are_listed_in_a_stable_order(project):
    (project / "bot" / "data" / "b.yml").write_text("x\n")
    (project / "bot" / "data" / "a.yml").write_text("x\n")
    names = [p.relative_to(project).as_posix() for p in training_inputs(project)]
    assert names == ["config.yml", "bot/domain.yml", "locks/rasa.lock", "core/language.py",
                     "bot/data/a.yml", "bot/data/b.yml", "bot/data/nlu.yml"]


def test_changing_a_custom_nlu_component_changes_fingerprint(project):
    (project / "bot" / "nlu").mkdir()
    (project / "bot" / "nlu" / "featurizer.py").write_text("VERSION = 1\n")
    before = fingerprint(project)
    (project / "bot" / "nlu" / "featurizer.py").write_text("VERSION = 2\n")
    assert fingerprint(project) != before


def test_stale_until_a_model_for_the_current_inputs_exists(project):
    settings = settings_for(project)
    assert is_stale(settings)
    model_path(settings).parent.mkdir(parents=True)
    model_path(settings).write_bytes(b"model")
    assert not is_stale(settings)
    (project / "bot" / "domain.yml").write_text("intents: [greet, goodbye]\n")
    assert is_stale(settings)


# shell: read --out and --fixed-model-name like `rasa train` does
READ_ARGS = 'while [ $# -gt 0 ]; do case "$1" in --out) out=$2;; --fixed-model-name) name=$2;; esac; shift; done\n'


def fake_rasa(project: Path, body: str) -> None:
    """Install a stand-in `rasa` executable into the project's .venv-rasa."""
    script = project / ".venv-rasa" / "bin" / "rasa"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_train_runs_rasa_once_and_then_reuses_the_model(project):
    calls = project / "calls.txt"
    # Writes the model where --out/--fixed-model-name say, like `rasa train` does.
    fake_rasa(project, f'echo "$@" >> {calls}\n' + READ_ARGS +
                       'echo trained > "$out/$name.tar.gz"\n')
    settings = settings_for(project)
    path = train(settings)
    assert path == model_path(settings) and path.read_text() == "trained\n"
    assert train(settings) == path
    assert len(calls.read_text().splitlines()) == 1
    train(settings, force=True)
    assert len(calls.read_text().splitlines()) == 2


def test_failed_training_leaves_no_model_behind(project):
    fake_rasa(project, READ_ARGS +
                       'echo half > "$out/$name.tar.gz"; echo "boom" ; exit 3\n')
    settings = settings_for(project)
    with pytest.raises(TrainingError, match="exit 3"):
        train(settings)
    assert is_stale(settings)
    assert list(settings.models_dir.iterdir()) == []  # no partial model, no scratch folder
    assert "boom" in (settings.log_dir / "train.log").read_text()


def test_training_environment_turns_telemetry_off(project, monkeypatch):
    from govbot.training import rasa_environment
    monkeypatch.setenv("RASA_TELEMETRY_ENABLED", "true")
    env = rasa_environment(settings_for(project))
    assert env["RASA_TELEMETRY_ENABLED"] == "false"
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(project)


def test_stop_request_interrupts_training_and_saves_nothing(project):
    import threading

    from govbot.training import TrainingInterrupted
    pid_file = project / "pid"
    fake_rasa(project, f'echo $$ > {pid_file}; sleep 60\n')
    settings = settings_for(project)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    with pytest.raises(TrainingInterrupted):
        train(settings, stop=stop)
    assert is_stale(settings)
    assert list(settings.models_dir.iterdir()) == []
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the training process is gone
