"""Audio decoding for speech input: any container/codec ffmpeg reads → 16 kHz mono 16-bit PCM, with limits.

Browsers record WebM/Opus (MediaRecorder), Telegram voice notes are OGG/Opus, uploads may be
WAV or MP3. Each input is written to a private temporary directory (removed afterwards, also
on errors and timeouts), probed with ffprobe (it must contain an audio stream that ffmpeg
recognises with confidence), then decoded by ffmpeg to raw PCM on a pipe. Decoding stops
just after the length limit, so an hour-long upload costs no more than a minute of work.
"""

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000  # what Whisper and Paraformer expect
MIN_PROBE_SCORE = 25  # ffprobe's certainty (0-100) that it knows the format; random bytes score low or fail


class AudioError(ValueError):
    """Audio that cannot be used; `code` names why and `status` is the HTTP status to answer with."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status


class DecoderUnavailable(RuntimeError):
    """ffmpeg/ffprobe is missing or broken on this machine (a server problem, not the user's)."""


@dataclass(frozen=True)
class AudioLimits:
    """What audio is accepted: at most `max_bytes` of input and `max_seconds` of sound."""

    max_bytes: int = 10 * 1024 * 1024
    max_seconds: float = 60.0
    timeout: float = 30.0  # seconds each ffprobe/ffmpeg run may take

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_seconds <= 0 or self.timeout <= 0:
            raise ValueError("audio limits must be positive")


@dataclass(frozen=True)
class DecodedAudio:
    """Mono 16-bit little-endian PCM at `SAMPLE_RATE`, and what it was decoded from."""

    pcm: bytes
    source_format: str

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / SAMPLE_RATE

    def samples(self) -> np.ndarray:
        """The PCM as float32 in [-1, 1], the form speech engines take."""
        return np.frombuffer(self.pcm, dtype="<i2").astype(np.float32) / 32768.0

    def to_wav(self) -> bytes:
        """The PCM in a WAV container (for logging, tests and engines that want files)."""
        import io
        import wave

        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(self.pcm)
        return buffer.getvalue()


class AudioDecoder:
    """Decodes uploaded audio with ffmpeg, enforcing `AudioLimits`."""

    def __init__(self, limits: AudioLimits = AudioLimits(), ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe") -> None:
        self.limits, self.ffmpeg, self.ffprobe = limits, ffmpeg, ffprobe

    def decode(self, data: bytes) -> DecodedAudio:
        """16 kHz mono PCM of `data`, or AudioError (empty_audio, too_large, not_audio, too_long)."""
        if not data:
            raise AudioError("empty_audio", "the audio is empty")
        if len(data) > self.limits.max_bytes:
            raise AudioError("too_large", f"the audio is {len(data)} bytes; the limit is {self.limits.max_bytes}",
                             status=413)
        for tool in (self.ffmpeg, self.ffprobe):
            if shutil.which(tool) is None:
                raise DecoderUnavailable(f"{tool} is not installed")
        with tempfile.TemporaryDirectory(prefix="govbot-audio-") as folder:
            source = Path(folder) / "input"  # no extension: the format is detected from the content
            source.write_bytes(data)
            source_format = self._probe(source)
            pcm = self._decode(source)
        if not pcm:
            raise AudioError("empty_audio", "the audio contains no sound")
        decoded = DecodedAudio(pcm, source_format)
        if decoded.seconds > self.limits.max_seconds:
            raise AudioError("too_long", f"the audio is longer than {self.limits.max_seconds:g} seconds")
        return decoded

    def _run(self, command: list[str]) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(command, capture_output=True, timeout=self.limits.timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise AudioError("not_audio", f"the audio could not be decoded within {self.limits.timeout:g} s") from None
        except OSError as error:
            raise DecoderUnavailable(f"{command[0]} could not run: {error}") from error

    def _probe(self, source: Path) -> str:
        """The container format, if ffprobe is sure of it and it holds an audio stream."""
        result = self._run([self.ffprobe, "-v", "error", "-of", "json", "-show_entries",
                            "format=format_name,probe_score:stream=codec_type", str(source)])
        try:
            info = json.loads(result.stdout or b"{}")
        except ValueError:
            info = {}
        fmt = info.get("format") or {}
        has_audio = any(stream.get("codec_type") == "audio" for stream in info.get("streams") or [])
        if result.returncode != 0 or not has_audio or int(fmt.get("probe_score", 0)) < MIN_PROBE_SCORE:
            raise AudioError("not_audio", "the file is not audio in a format that can be read "
                                          "(WebM/Opus, OGG/Opus, WAV or MP3)")
        return str(fmt.get("format_name", "unknown"))

    def _decode(self, source: Path) -> bytes:
        """Raw PCM of the first audio stream, stopped a little after the length limit."""
        result = self._run([self.ffmpeg, "-nostdin", "-v", "error", "-i", str(source), "-map", "0:a:0", "-vn",
                            "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "-acodec", "pcm_s16le",
                            "-t", f"{self.limits.max_seconds + 1:g}", "pipe:1"])
        if result.returncode != 0:
            raise AudioError("not_audio", "the audio could not be decoded")
        return result.stdout[: len(result.stdout) // 2 * 2]


__all__ = ["AudioDecoder", "AudioError", "AudioLimits", "DecodedAudio", "DecoderUnavailable", "SAMPLE_RATE"]
