"""Real speech made on this machine for the voice tests: espeak-ng speaks, ffmpeg encodes like browsers and
Telegram do."""

import shutil
import subprocess
from pathlib import Path

import pytest

ENCODINGS = {  # what each client sends: name → (ffmpeg arguments, file suffix)
    "wav": ([], ".wav"),
    "ogg-opus": (["-c:a", "libopus", "-b:a", "24k"], ".ogg"),       # Telegram voice notes
    "webm-opus": (["-c:a", "libopus", "-b:a", "32k"], ".webm"),     # browsers' MediaRecorder
    "mp3": (["-c:a", "libmp3lame", "-b:a", "48k"], ".mp3"),
}

needs_speech_tools = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None,
    reason="espeak-ng and ffmpeg are installed by scripts/setup (locks/apt.txt)")


def speak(text: str, folder: Path, voice: str = "en-us", speed: int = 150, name: str = "speech") -> Path:
    """`text` spoken by espeak-ng into a WAV file in `folder` (espeak's own 22.05 kHz mono)."""
    out = folder / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), "--", text], check=True,
                   capture_output=True, timeout=60)
    return out


def encode(wav: Path, encoding: str, extra: tuple[str, ...] = ()) -> Path:
    """The WAV re-encoded by ffmpeg as `encoding` (a key of ENCODINGS), 48 kHz like real clients."""
    arguments, suffix = ENCODINGS[encoding]
    out = wav.with_name(f"{wav.stem}-{encoding}{suffix}")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), *extra, "-ar", "48000", *arguments,
                    str(out)], check=True, capture_output=True, timeout=60)
    return out


def silence(folder: Path, seconds: float, name: str = "silence") -> Path:
    """`seconds` of digital silence as a WAV file."""
    out = folder / f"{name}.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
                    "-t", str(seconds), str(out)], check=True, capture_output=True, timeout=60)
    return out
