"""Text-to-speech: the first engine that speaks the language and works (Kokoro for Mandarin, gTTS when configured,
espeak-ng offline for both languages); each answer in pieces (speech_text.speech_pieces), each piece cached on disk.

The cache (`AudioCache`) keeps each recording under a hash of what was said, compressed (espeak-ng's WAV with
zlib, gTTS's MP3 as it is), within a size limit (the least recently used goes first) and an age limit (days since
it was made); `purge_cached_audio` removes what is older than a retention period.
"""

import hashlib
import io
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
import wave
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Protocol, Sequence

from channels.voice.speech_text import clean_for_speech, speech_pieces

log = logging.getLogger("govbot.tts")

LANGUAGES = ("zh", "en")


class SpeechError(ValueError):
    """A request that cannot be spoken; `code` names why (for a 400 answer)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class EngineFailed(RuntimeError):
    """An engine could not synthesise (unreachable, timed out, missing)."""


@dataclass(frozen=True)
class Speech:
    """Synthesised audio: its bytes, media type, the engine that made it and how many pieces the whole text has
    (the audio is all of them, or the one piece asked for)."""

    audio: bytes
    media_type: str
    engine: str
    pieces: int = 1


class Engine(Protocol):
    """One synthesiser: a piece of cleaned text in, audio bytes of `media_type` out (EngineFailed when it cannot).
    `languages` are those it speaks."""

    name: str
    media_type: str
    languages: tuple[str, ...]

    def synthesise(self, text: str, language: str, slow: bool) -> bytes: ...


PAUSE_SECONDS = 0.25  # silence between the pieces of one answer, when they are joined


def join_audio(parts: Sequence[bytes], media_type: str) -> bytes:
    """Pieces of one answer as one recording: WAV frames joined with a short pause (same format as the first
    piece), MP3 frames one after another."""
    if media_type != "audio/wav" or len(parts) == 1:
        return b"".join(parts)
    frames, params = [], None
    for part in parts:
        with wave.open(io.BytesIO(part), "rb") as reader:
            params = params or reader.getparams()
            frames.append(reader.readframes(reader.getnframes()))
    assert params is not None
    pause = b"\0" * (int(PAUSE_SECONDS * params.framerate) * params.sampwidth * params.nchannels)
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setparams(params)
        writer.writeframes(pause.join(frames))
    return out.getvalue()


class EspeakEngine:
    """espeak-ng, offline: Mandarin with the cmn-latn-pinyin voice, English with en-us; WAV out."""

    name, media_type = "espeak-ng", "audio/wav"
    languages: tuple[str, ...] = ("zh", "en")
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
    languages: tuple[str, ...] = ("zh", "en")
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


# --- the cache -------------------------------------------------------------------------------------------------

DAY = 86_400.0
_TEMP_PREFIX = "tmp"  # a write in progress (or one a crash left behind)
# zlib at its fastest level: espeak-ng's WAV shrinks to about 70 % (level 9: the same within 1 %). FLAC through
# ffmpeg halves it, but reading it back costs an ffmpeg run, slower than speaking the text again (docs/web.md).
_ZLIB_LEVEL = 1
SUFFIXES = {"audio/mpeg": (".mp3",), "audio/wav": (".wav.z",)}


def pack(audio: bytes, media_type: str) -> tuple[bytes, str]:
    """Audio as it is stored, and the file suffix saying how: WAV zlib-compressed, MP3 (compressed already) as
    it is."""
    if media_type == "audio/wav":
        return zlib.compress(audio, _ZLIB_LEVEL), ".wav.z"
    return audio, ".mp3"


def unpack(stored: bytes, suffix: str) -> Optional[bytes]:
    """The audio a stored file holds, in its original form (None when it cannot be read back)."""
    if suffix == ".wav.z":
        try:
            return zlib.decompress(stored)
        except zlib.error:
            return None
    return stored


@dataclass
class _Entry:
    size: int
    made: float  # when it was written (the file's mtime): the age limit and retention count from here
    used: float  # when it was last served (the file's atime, set explicitly): the size limit evicts by this


class AudioCache:
    """Recordings on disk under a key, compressed, at most `max_bytes` in all (least recently used first out) and
    none older than `max_age` seconds. Limits are kept on every write, at the cost of a walk over an in-memory
    index (read from the folder once); a hit marks the file used."""

    def __init__(self, directory: Path, max_bytes: int = 200 * 1024 * 1024, max_age: float = 7 * DAY,
                 clock: Callable[[], float] = time.time) -> None:
        if max_bytes < 1 or max_age <= 0:
            raise ValueError("the cache needs a positive size and age limit")
        self.directory, self.max_bytes, self.max_age, self._clock = directory, max_bytes, max_age, clock
        self._lock = threading.Lock()
        self._entries: Optional[OrderedDict[Path, _Entry]] = None  # least recently used first
        self._bytes = 0

    def _path(self, key: str, suffix: str) -> Path:
        return self.directory / key[:2] / f"{key}{suffix}"

    def _index(self) -> OrderedDict[Path, _Entry]:
        """The index (call with the lock held), read from the folder the first time."""
        if self._entries is None:
            found = []
            for path in self.directory.glob("*/*"):
                if path.name.startswith(_TEMP_PREFIX):
                    continue
                try:
                    status = path.stat()
                except OSError:
                    continue
                found.append((path, _Entry(status.st_size, status.st_mtime, status.st_atime)))
            found.sort(key=lambda item: item[1].used)
            self._entries = OrderedDict(found)
            self._bytes = sum(entry.size for _, entry in found)
        return self._entries

    @property
    def total_bytes(self) -> int:
        """Bytes the cached recordings take on disk."""
        with self._lock:
            self._index()
            return self._bytes

    def _forget(self, path: Path) -> None:
        entry = self._index().pop(path, None)
        if entry is not None:
            self._bytes -= entry.size
        path.unlink(missing_ok=True)

    def get(self, key: str, media_type: str) -> Optional[bytes]:
        """The recording stored under `key` (None: not there, too old, or unreadable); marks it used."""
        now = self._clock()
        for suffix in SUFFIXES.get(media_type, ()):
            path = self._path(key, suffix)
            with self._lock:
                entry = self._index().get(path)
                if entry is None:
                    continue
                if now - entry.made > self.max_age:
                    self._forget(path)
                    continue
            try:
                stored = path.read_bytes()
            except OSError:  # removed meanwhile (govbot purge runs in another process)
                with self._lock:
                    self._forget(path)
                continue
            audio = unpack(stored, suffix)
            with self._lock:
                if audio is None:
                    self._forget(path)
                    continue
                entry.used = now
                if path in self._index():  # (another thread may have evicted it meanwhile)
                    self._index().move_to_end(path)
            try:
                os.utime(path, (now, entry.made))  # atime: last use, for the next process's index
            except OSError:
                pass
            return audio
        return None

    def put(self, key: str, media_type: str, audio: bytes) -> None:
        """Store a recording (atomically: a reader never sees half a file), then keep the limits."""
        stored, suffix = pack(audio, media_type)
        path = self._path(key, suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=_TEMP_PREFIX, delete=False) as part:
            part.write(stored)
        now = self._clock()
        os.utime(part.name, (now, now))
        Path(part.name).replace(path)
        with self._lock:
            replaced = self._index().pop(path, None)  # the same recording written again
            self._bytes += len(stored) - (replaced.size if replaced else 0)
            self._index()[path] = _Entry(len(stored), now, now)
            self._keep_limits(now)

    def _keep_limits(self, now: float) -> None:
        """Drop recordings past the age limit, then the least recently used until the size fits (lock held)."""
        entries = self._index()
        for path in [path for path, entry in entries.items() if now - entry.made > self.max_age]:
            self._forget(path)
        while self._bytes > self.max_bytes and entries:
            self._forget(next(iter(entries)))

    def purge_older_than(self, days: float) -> int:
        """Remove recordings made more than `days` ago (and writes a crash left behind); how many went."""
        removed = purge_cached_audio(self.directory, days, now=self._clock())
        with self._lock:
            self._entries = None  # read the folder again on next use
        return removed


def purge_cached_audio(directory: Path, older_than_days: float, now: Optional[float] = None) -> int:
    """Remove cached recordings made more than `older_than_days` days ago from a TTS cache folder (for
    `govbot purge`; no gateway needed); how many files went."""
    cutoff = (time.time() if now is None else now) - older_than_days * DAY
    removed = 0
    for path in directory.glob("*/*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


# --- speaking ----------------------------------------------------------------------------------------------------

class TextToSpeech:
    """Speaks text with the first engine that speaks its language and works, piece by piece, caching each piece on
    disk by content hash."""

    def __init__(self, engines: list[Engine], cache_dir: Path, max_chars: int = 3000,
                 retry_failed_after: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 cache: Optional[AudioCache] = None) -> None:
        if not engines:
            raise ValueError("at least one TTS engine is needed")
        self.engines, self.cache_dir, self.max_chars = engines, cache_dir, max_chars
        self.cache = cache or AudioCache(cache_dir)
        # an engine that just failed (Google unreachable, a broken model) is skipped for a while, so each
        # answer does not wait out its timeout again; the last engine of a language is always tried
        self.retry_failed_after, self._clock = retry_failed_after, clock
        self._resting_until: dict[str, float] = {}

    def pieces(self, text: str, language: str) -> list[str]:
        """The pieces the text is spoken in (cleaned for speech); SpeechError when it cannot be spoken."""
        if language not in LANGUAGES:
            raise SpeechError("unknown_language", f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
        if len(text) > self.max_chars:
            raise SpeechError("text_too_long", f"text is {len(text)} characters; the limit is {self.max_chars}")
        pieces = speech_pieces(clean_for_speech(text, language), language)
        if not pieces:
            raise SpeechError("empty_text", "there is no text to speak")
        return pieces

    def speak(self, text: str, language: str, slow: bool = False, piece: Optional[int] = None) -> Speech:
        """Audio for the text (cleaned for speech), or for its piece number `piece` (0 first: a client plays it
        while it asks for the next), from the cache or the first engine that succeeds."""
        pieces = self.pieces(text, language)
        if piece is not None and not 0 <= piece < len(pieces):
            raise SpeechError("no_such_piece", f"piece must be 0 to {len(pieces) - 1}, got {piece}")
        wanted = pieces if piece is None else [pieces[piece]]
        engines = [engine for engine in self.engines if language in getattr(engine, "languages", LANGUAGES)]
        failures = []
        for engine in engines:
            resting = self._resting_until.get(engine.name, 0.0) > self._clock()
            try:
                parts = [self._piece(engine, said, language, slow, resting and engine is not engines[-1])
                         for said in wanted]
            except EngineFailed as error:
                failures.append(f"{engine.name}: {error}")
                if str(error) != _RESTING:
                    self._resting_until[engine.name] = self._clock() + self.retry_failed_after
                    log.info("tts_engine_failed", extra={"fields": {"engine": engine.name, "error": str(error)}})
                continue
            return Speech(join_audio(parts, engine.media_type), engine.media_type, engine.name, len(pieces))
        raise EngineFailed("no TTS engine could speak: " + "; ".join(failures or [f"none speaks {language}"]))

    def _piece(self, engine: Engine, said: str, language: str, slow: bool, resting: bool) -> bytes:
        """One piece from the cache, else from the engine (unless it is resting after a failure)."""
        key = self._cache_key(engine, said, language, slow)
        cached = self.cache.get(key, engine.media_type)
        if cached is not None:
            return cached
        if resting:
            raise EngineFailed(_RESTING)
        audio = engine.synthesise(said, language, slow)
        self.cache.put(key, engine.media_type, audio)
        return audio

    def purge_older_than(self, days: float) -> int:
        """Remove cached recordings made more than `days` ago; how many went."""
        return self.cache.purge_older_than(days)

    @staticmethod
    def _cache_key(engine: Engine, text: str, language: str, slow: bool) -> str:
        identity = getattr(engine, "identity", engine.name)
        return hashlib.sha256(f"{identity}\0{language}\0{int(slow)}\0{text}".encode()).hexdigest()


_RESTING = "failed recently"


def default_tts(cache_dir: Path, use_gtts: bool = False, gtts_timeout: float = 3.0, max_chars: int = 3000,
                cache_max_mb: float = 200.0, cache_max_days: float = 7.0,
                first: Sequence[Engine] = ()) -> TextToSpeech:
    """The `first` engines (Kokoro for Mandarin), then gTTS when enabled, then espeak-ng as the offline fallback;
    the cache within its size and age limits."""
    engines: list[Engine] = [*first, *([GttsEngine(gtts_timeout)] if use_gtts else []), EspeakEngine()]
    cache = AudioCache(cache_dir, max_bytes=max(1, int(cache_max_mb * 1024 * 1024)), max_age=cache_max_days * DAY)
    return TextToSpeech(engines, cache_dir, max_chars, cache=cache)


__all__ = ["AudioCache", "Engine", "EngineFailed", "EspeakEngine", "GttsEngine", "PAUSE_SECONDS", "Speech",
           "SpeechError", "TextToSpeech", "default_tts", "join_audio", "pack", "purge_cached_audio", "unpack"]
