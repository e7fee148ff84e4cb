"""Text-to-speech: gTTS when Google's endpoint answers in time, espeak-ng offline otherwise; cached on disk."""

import hashlib
import io
import logging
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

log = logging.getLogger("govbot.tts")

LANGUAGES = ("zh", "en")
MAX_CHUNK_CHARS = 200  # espeak-ng and gTTS both read long text better in sentence-sized pieces


class SpeechError(ValueError):
    """A request that cannot be spoken; `code` names why (for a 400 answer)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class EngineFailed(RuntimeError):
    """An engine could not synthesise (unreachable, timed out, missing)."""


@dataclass(frozen=True)
class Speech:
    """Synthesised audio: its bytes, media type and the engine that made it."""

    audio: bytes
    media_type: str
    engine: str


class Engine(Protocol):
    name: str
    media_type: str

    def synthesise(self, text: str, language: str, slow: bool) -> bytes: ...


_MARKUP = re.compile(r"<[^>]+>|\*\*|__|`|https?://\S+")
_STEP = re.compile(r"^(\d+)\.\s*", re.M)
_BULLET = re.compile(r"^[-•]\s*", re.M)
_LONG_NUMBER = re.compile(r"\d{5,}")


def clean_for_speech(text: str, language: str) -> str:
    """The text as it should be read: no markup or links, steps announced, long numbers digit by digit."""
    text = _MARKUP.sub(" ", text)
    text = _STEP.sub(lambda m: f"第{m.group(1)}步，" if language == "zh" else f"Step {m.group(1)}: ", text)
    text = _BULLET.sub("", text)
    # "12345" is a hotline to dial, not twelve thousand...: read it digit by digit
    text = _LONG_NUMBER.sub(lambda m: " ".join(m.group()), text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    end = "。" if language == "zh" else "."
    return " ".join(line if line[-1] in "。！？.!?:：，," else line + end for line in lines)


def chunks(text: str, limit: int = MAX_CHUNK_CHARS) -> list[str]:
    """The text split at sentence ends into pieces of at most `limit` characters (longer sentences are cut)."""
    sentences = [s for s in re.split(r"(?<=[。！？.!?；;])\s*", text) if s.strip()]
    pieces: list[str] = []
    for sentence in sentences:
        while len(sentence) > limit:
            pieces.append(sentence[:limit])
            sentence = sentence[limit:]
        if pieces and len(pieces[-1]) + len(sentence) + 1 <= limit:
            pieces[-1] = f"{pieces[-1]} {sentence}"
        else:
            pieces.append(sentence)
    return pieces


class EspeakEngine:
    """espeak-ng, offline: Mandarin with the cmn-latn-pinyin voice, English with en-us; WAV out."""

    name, media_type = "espeak-ng", "audio/wav"
    VOICES = {"zh": "cmn-latn-pinyin", "en": "en-us"}

    def __init__(self, rate: int = 165, slow_rate: int = 120, binary: str = "espeak-ng") -> None:
        self.rate, self.slow_rate, self.binary = rate, slow_rate, binary

    def synthesise(self, text: str, language: str, slow: bool) -> bytes:
        if shutil.which(self.binary) is None:
            raise EngineFailed(f"{self.binary} is not installed")
        with tempfile.NamedTemporaryFile(suffix=".wav") as out:
            command = [self.binary, "-v", self.VOICES[language], "-s", str(self.slow_rate if slow else self.rate),
                       "-w", out.name, "--", text]
            result = subprocess.run(command, capture_output=True, timeout=60)
            if result.returncode != 0:
                raise EngineFailed(f"{self.binary} exited with {result.returncode}")
            return Path(out.name).read_bytes()


class GttsEngine:
    """Google's TTS through gTTS (MP3); fails fast with EngineFailed when the endpoint is unreachable."""

    name, media_type = "gtts", "audio/mpeg"
    LANGS = {"zh": "zh", "en": "en"}  # gTTS warns on "zh-CN" (it lower-cases it to a deprecated code)

    def __init__(self, timeout: float = 3.0, tld: str = "com") -> None:
        self.timeout, self.tld = timeout, tld

    def request(self, text: str, language: str, slow: bool):  # type: ignore[no-untyped-def]
        """The gTTS object for the text (building it does no network I/O)."""
        from gtts import gTTS

        return gTTS(text, lang=self.LANGS[language], slow=slow, tld=self.tld, timeout=self.timeout)

    def synthesise(self, text: str, language: str, slow: bool) -> bytes:
        from gtts.tts import gTTSError

        buffer = io.BytesIO()
        try:
            self.request(text, language, slow).write_to_fp(buffer)
        except (gTTSError, OSError) as error:
            raise EngineFailed(f"gTTS failed: {type(error).__name__}") from error
        return buffer.getvalue()


class TextToSpeech:
    """Speaks text with the first engine that works, caching each result on disk by content hash."""

    def __init__(self, engines: list[Engine], cache_dir: Path, max_chars: int = 2000,
                 retry_failed_after: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not engines:
            raise ValueError("at least one TTS engine is needed")
        self.engines, self.cache_dir, self.max_chars = engines, cache_dir, max_chars
        # an engine that just failed (Google unreachable) is skipped for a while, so each
        # answer does not wait out its timeout again; the last engine is always tried
        self.retry_failed_after, self._clock = retry_failed_after, clock
        self._resting_until: dict[str, float] = {}

    def speak(self, text: str, language: str, slow: bool = False) -> Speech:
        """Audio for the text (cleaned for speech), from the cache or the first engine that succeeds."""
        if language not in LANGUAGES:
            raise SpeechError("unknown_language", f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
        if len(text) > self.max_chars:
            raise SpeechError("text_too_long", f"text is {len(text)} characters; the limit is {self.max_chars}")
        spoken = clean_for_speech(text, language)
        if not spoken:
            raise SpeechError("empty_text", "there is no text to speak")
        failures = []
        for engine in self.engines:
            cached = self._cache_path(engine, spoken, language, slow)
            if cached.exists():
                return Speech(cached.read_bytes(), engine.media_type, engine.name)
            if engine is not self.engines[-1] and self._resting_until.get(engine.name, 0.0) > self._clock():
                failures.append(f"{engine.name}: failed recently")
                continue
            try:
                audio = b"".join(engine.synthesise(piece, language, slow) for piece in chunks(spoken)) \
                    if engine.media_type == "audio/mpeg" else engine.synthesise(spoken, language, slow)
            except EngineFailed as error:
                failures.append(f"{engine.name}: {error}")
                self._resting_until[engine.name] = self._clock() + self.retry_failed_after
                log.info("tts_engine_failed", extra={"fields": {"engine": engine.name, "error": str(error)}})
                continue
            self._store(cached, audio)
            return Speech(audio, engine.media_type, engine.name)
        raise EngineFailed("no TTS engine could speak: " + "; ".join(failures))

    def _cache_path(self, engine: Engine, text: str, language: str, slow: bool) -> Path:
        key = hashlib.sha256(f"{engine.name}\0{language}\0{int(slow)}\0{text}".encode()).hexdigest()
        suffix = ".mp3" if engine.media_type == "audio/mpeg" else ".wav"
        return self.cache_dir / key[:2] / f"{key}{suffix}"

    @staticmethod
    def _store(path: Path, audio: bytes) -> None:
        """Write atomically: a reader never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as part:
            part.write(audio)
        Path(part.name).replace(path)


def default_tts(cache_dir: Path, use_gtts: bool = True, gtts_timeout: float = 3.0,
                max_chars: int = 2000) -> TextToSpeech:
    """gTTS first (when enabled), espeak-ng as the offline fallback."""
    engines: list[Engine] = ([GttsEngine(gtts_timeout)] if use_gtts else []) + [EspeakEngine()]
    return TextToSpeech(engines, cache_dir, max_chars)


__all__ = ["EngineFailed", "EspeakEngine", "GttsEngine", "Speech", "SpeechError", "TextToSpeech", "chunks",
           "clean_for_speech", "default_tts"]
