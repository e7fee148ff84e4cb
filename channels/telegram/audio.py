"""TTS audio (WAV or MP3) to OGG/Opus, the format Telegram plays as a voice message, with ffmpeg."""

import shutil
import subprocess

FFMPEG = "ffmpeg"
VOICE_MEDIA_TYPE = "audio/ogg"


class AudioConversionError(RuntimeError):
    """ffmpeg is missing, failed, or took too long."""


def to_ogg_opus(audio: bytes, timeout: float = 30.0, binary: str = FFMPEG) -> bytes:
    """The audio re-encoded as mono 48 kHz OGG/Opus (speech settings, 32 kbit/s); input format is detected."""
    if not audio:
        raise AudioConversionError("there is no audio to convert")
    if shutil.which(binary) is None:
        raise AudioConversionError(f"{binary} is not installed (Debian package ffmpeg, see locks/apt.txt)")
    command = [binary, "-hide_banner", "-loglevel", "error", "-nostdin", "-i", "pipe:0",
               "-vn", "-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "32k", "-application", "voip",
               "-f", "ogg", "pipe:1"]
    try:
        result = subprocess.run(command, input=audio, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AudioConversionError(f"{binary} took longer than {timeout:g} s") from None
    except OSError as error:
        raise AudioConversionError(f"{binary} could not be started: {error}") from error
    if result.returncode != 0 or not result.stdout.startswith(b"OggS"):
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        last_line = detail[-1] if detail else "no output"
        raise AudioConversionError(f"{binary} failed (exit {result.returncode}): {last_line}")
    return result.stdout


def ogg_duration(ogg: bytes) -> int:
    """Whole seconds of an OGG/Opus stream, from the granule position of its last page (48 kHz clock)."""
    last = ogg.rfind(b"OggS")
    if last < 0 or len(ogg) < last + 14:
        return 0
    granule = int.from_bytes(ogg[last + 6:last + 14], "little", signed=True)
    return max(0, round(granule / 48000)) if granule > 0 else 0
