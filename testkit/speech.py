"""Real speech made on this machine for the voice tests: espeak-ng speaks, ffmpeg encodes like browsers and
Telegram do. Chinese: Kokoro voices the product does not serve (`kokoro_speak`), and human recordings of single
Mandarin syllables from the Debian package gcin-voice joined into sentences (`gcin_speak`)."""

import shutil
import subprocess
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from channels.voice.kokoro import KokoroEngine, wav_bytes
from channels.voice.models import KOKORO_DIR, WHISPER_DIR, check_kokoro, check_whisper_base
from core.settings import PROJECT_ROOT

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


# --- Chinese speech ------------------------------------------------------------------------------------------------

SPEECH_MODELS = PROJECT_ROOT / "var" / "speech-models"  # assembled by scripts/setup (channels/voice/models.py)
GCIN_VOICE = Path("/usr/share/gcin-voice/ogg")  # one folder per Zhuyin syllable and tone, one recording per speaker
GCIN_RATE = 16_000

needs_speech_models = pytest.mark.skipif(
    not (check_whisper_base(SPEECH_MODELS / WHISPER_DIR).ready and check_kokoro(SPEECH_MODELS / KOKORO_DIR).ready),
    reason="Whisper base and Kokoro are assembled in var/speech-models by scripts/setup")
needs_gcin_voice = pytest.mark.skipif(
    not GCIN_VOICE.is_dir(), reason="gcin-voice (Mandarin syllables) is installed by scripts/setup (locks/apt.txt)")

_kokoro_engines: dict[str, KokoroEngine] = {}
_kokoro_lock = threading.Lock()


def kokoro_engine(voice: str) -> KokoroEngine:
    """The Kokoro engine of one voice, loaded once per process."""
    with _kokoro_lock:
        if voice not in _kokoro_engines:
            _kokoro_engines[voice] = KokoroEngine(SPEECH_MODELS / KOKORO_DIR, voice=voice)
        return _kokoro_engines[voice]


def kokoro_speak(text: str, folder: Path, voice: str = "zf_xiaoxiao", speed: float = 1.0,
                 name: str = "speech") -> Path:
    """Chinese `text` spoken by a Kokoro voice at `speed` into a 24 kHz WAV file in `folder`, with a quarter second
    of silence before and after, as a recording has."""
    engine = kokoro_engine(voice)
    with _kokoro_lock:  # the speed is the engine's: one synthesis per engine at a time
        engine.speed = speed
        samples = engine.samples(text, slow=False)
    pad = np.zeros(int(0.25 * 24_000), np.float32)
    out = folder / f"{name}.wav"
    out.write_bytes(wav_bytes(np.concatenate([pad, samples, pad])))
    return out


TONE_DIGITS = {"ˊ": "2", "ˇ": "3", "ˋ": "4", "˙": "1"}  # gcin-voice's folder names: no digit is the first tone,
PAUSES = set("，,。.？?！!；;：:、")                   # "1" the neutral tone


def gcin_syllable(zhuyin: str) -> str | None:
    """The gcin-voice folder of a Zhuyin syllable as pypinyin writes it (tone mark last), or of the nearest tone
    recorded (None when the syllable has no recording at all)."""
    tone = TONE_DIGITS.get(zhuyin[-1:], "")
    bare = zhuyin.strip("ˊˇˋ˙")
    if not bare or not all("\u3105" <= letter <= "\u312f" for letter in bare):  # Zhuyin letters only
        return None
    for candidate in (bare + tone, bare, bare + "4", bare + "2", bare + "3", bare + "1"):
        if (GCIN_VOICE / candidate).is_dir():
            return candidate
    return None


@lru_cache(maxsize=2048)
def gcin_recording(syllable: str, speaker: str) -> np.ndarray:
    """One recorded syllable as 16 kHz float samples, silence trimmed, peak at 0.8 (the other speaker's recording
    when this one has none)."""
    recordings = [GCIN_VOICE / syllable / f"{who}.ogg" for who in (speaker, "3", "5")]
    recording = next(path for path in recordings if path.is_file())
    from faster_whisper.audio import decode_audio  # (imports the whole of faster-whisper: only when needed)

    samples = decode_audio(str(recording), sampling_rate=GCIN_RATE)  # PyAV in this process: no ffmpeg per syllable
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    if peak == 0.0:
        return samples
    loud = np.flatnonzero(np.abs(samples) > 0.05 * peak)
    return samples[loud[0]: loud[-1] + 1] * (0.8 / peak)


def gcin_silence(seconds: float) -> np.ndarray:
    """`seconds` of silence at gcin_speak's sample rate."""
    return np.zeros(int(seconds * GCIN_RATE), np.float32)


def gcin_speak(text: str, folder: Path, name: str = "speech", speaker: str = "3", gap: float = 0.04,
               pause: float = 0.3) -> Path:
    """Chinese `text` read syllable by syllable from gcin-voice's human recordings: the pinyin of each character
    (pypinyin, with its tone), `gap` seconds between syllables, `pause` at punctuation, into a 16 kHz mono WAV file
    in `folder`. Characters without a recording are left out. `speaker` "3" is a man who recorded every syllable
    (Whisper understands the sentences well), "5" a woman who recorded most of them (clipped: poorly understood)."""
    from pypinyin import Style, pinyin

    pieces = [gcin_silence(0.25)]
    for (said,) in pinyin(text, style=Style.BOPOMOFO):  # a syllable, or a run of other characters as they are
        syllable = gcin_syllable(said)
        if syllable is not None:
            pieces += [gcin_recording(syllable, speaker), gcin_silence(gap)]
        else:
            pieces += [gcin_silence(pause) for mark in said if mark in PAUSES]
    pieces.append(gcin_silence(0.25))
    out = folder / f"{name}.wav"
    out.write_bytes(wav_bytes(np.concatenate(pieces), rate=GCIN_RATE))
    return out
