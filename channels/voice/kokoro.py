"""Kokoro-82M speech synthesis, offline: Mandarin text → phonemes (misaki's Chinese G2P) → the int8 ONNX model
(onnxruntime, CPU) with one voice's style vectors → 24 kHz WAV.

The model folder is assembled at set-up (channels/voice/models.py); it is checked thoroughly (sha256) when the
engine first loads, so a missing or corrupt model fails as EngineFailed and the next engine (espeak-ng) speaks.
"""

import io
import json
import logging
import threading
import time
import wave
from pathlib import Path
from typing import Any, Optional

import numpy as np

from channels.voice.models import KOKORO_MODEL, KOKORO_VOCAB, check_kokoro
from channels.voice.tts import EngineFailed

log = logging.getLogger("govbot.tts")

SAMPLE_RATE = 24_000
MAX_TOKENS = 510  # the model's context, less the two pad tokens



def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """Float samples in [-1, 1] as a mono 16-bit WAV file."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())
    return out.getvalue()


def trim_silence(samples: np.ndarray, threshold: float = 0.01, pad_seconds: float = 0.03) -> np.ndarray:
    """The samples without the near-silence at either end (a little padding kept)."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if not len(loud):
        return samples
    pad = int(pad_seconds * SAMPLE_RATE)
    return samples[max(0, loud[0] - pad): loud[-1] + pad]


class KokoroEngine:
    """Kokoro-82M with one voice (e.g. zm_yunxi); `speed` normal, `slow_speed` for the elderly form."""

    media_type = "audio/wav"
    languages: tuple[str, ...] = ("zh",)

    def __init__(self, model_dir: Path, voice: str = "zm_yunxi", speed: float = 1.0, slow_speed: float = 0.8,
                 threads: int = 2) -> None:
        self.model_dir, self.voice, self.speed, self.slow_speed, self.threads = (
            Path(model_dir), voice, speed, slow_speed, threads)
        self.name = f"kokoro-82m/{voice}"
        self.identity = f"{self.name}@{speed}/{slow_speed}"  # what the cache key depends on
        self._session: Any = None
        self._vocab: dict[str, int] = {}
        self._styles: Optional[np.ndarray] = None
        self._g2p: Any = None
        self._lock = threading.Lock()  # one synthesis at a time: it uses both cores

    def load(self) -> None:
        """Check (sha256) and load the model, vocabulary, voice and phonemizer once; EngineFailed if unusable."""
        if self._session is not None:
            return
        started = time.perf_counter()
        status = check_kokoro(self.model_dir, thorough=True)
        if not status.ready:
            raise EngineFailed(f"Kokoro cannot be used: {status.problem}")
        voice_file = self.model_dir / "voices" / f"{self.voice}.bin"
        if not voice_file.is_file():
            raise EngineFailed(f"Kokoro has no voice {self.voice!r} in {voice_file.parent}")
        try:
            import onnxruntime
            from misaki.zh import ZHG2P

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(str(self.model_dir / KOKORO_MODEL), sess_options=options,
                                                   providers=["CPUExecutionProvider"])
            self._vocab = json.loads((self.model_dir / KOKORO_VOCAB).read_text(encoding="utf-8"))["vocab"]
            self._styles = np.fromfile(voice_file, dtype=np.float32).reshape(-1, 1, 256)
            self._g2p = ZHG2P()
        except Exception as error:  # onnxruntime's own errors on a bad model, a missing phonemizer
            raise EngineFailed(f"Kokoro could not load: {type(error).__name__}: {error}") from error
        self._session = session
        log.info("tts_model_loaded", extra={"fields": {"engine": self.name,
                                                       "s": round(time.perf_counter() - started, 2)}})

    def phonemes(self, text: str) -> list[int]:
        """The model's token ids for the text (characters it has no phoneme for are left out)."""
        said, _ = self._g2p(text)
        return [self._vocab[symbol] for symbol in said if symbol in self._vocab][:MAX_TOKENS]

    def samples(self, text: str, slow: bool) -> np.ndarray:
        """Float samples of one piece of text (a sentence or so), silence trimmed."""
        with self._lock:
            self.load()
            tokens = self.phonemes(text)
            if not tokens:
                return np.zeros(0, np.float32)
            assert self._styles is not None
            style = self._styles[min(len(tokens), len(self._styles)) - 1].reshape(1, 256)
            audio = self._session.run(None, {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": style.astype(np.float32),
                "speed": np.array([self.slow_speed if slow else self.speed], dtype=np.float32)})[0]
        return trim_silence(np.asarray(audio, np.float32).ravel())

    def synthesise(self, text: str, language: str, slow: bool) -> bytes:
        if language not in self.languages:
            raise EngineFailed(f"{self.name} does not speak {language!r}")
        samples = self.samples(text, slow)
        if not len(samples):
            raise EngineFailed(f"{self.name} found nothing to say in the text")
        return wav_bytes(samples)


__all__ = ["KokoroEngine", "SAMPLE_RATE", "trim_silence", "wav_bytes"]
