"""Voice input for every channel: audio → Transcript, the low-confidence question, and the honest "not set up" reply.

The web endpoint (`channels/voice/routes.py`) and Telegram's voice notes both use `VoiceInput`:

    transcript = await voice.handle(audio_bytes, "en")       # AudioError / EngineNotConfigured / ...
    if voice.needs_confirmation(transcript):
        reply = voice.confirmation(transcript)              # "Did you mean “…”?" with yes/no buttons
    else:
        replies = await rasa.send(sender, transcript.text, {...})
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import Callable, Optional

from channels.voice.audio import AudioDecoder, AudioError, AudioLimits
from channels.voice.models import WHISPER_DIR, check_whisper_base
from channels.voice.stt import (Engine, EngineConfigError, EngineNotConfigured, SherpaParaformerEngine,
                                SpeechToText, Transcript, WhisperEngine)
from core import payloads
from core.messages import BotMessage, Button
from core.settings import Settings
from core.texts import has, text

log = logging.getLogger("govbot.voice")

DENY_PAYLOAD = payloads.DENY  # "no" to "Did you mean …?": Rasa answers "no problem, what else?", the user speaks again


@dataclass(frozen=True)
class NotSetUp:
    """What to tell a user whose language has no speech engine: `message` to show, `speech` to read aloud."""

    message: str
    speech: str
    speech_language: str


def not_set_up(language: str) -> NotSetUp:
    """The honest answer when voice input in `language` is not configured (shown in both languages, spoken in it)."""
    zh, en = (text(said_in, "voice.not_set_up", name=language_name(language, said_in)) for said_in in ("zh", "en"))
    return NotSetUp(message=f"{zh} / {en}" if language == "zh" else f"{en} / {zh}",
                    speech=zh if language == "zh" else en, speech_language="zh" if language == "zh" else "en")


def language_name(language: str, said_in: str) -> str:
    """The name of a language ("中文", "English") in the language it is said in; its code when unknown."""
    key = f"language_name.{language}"
    return text(said_in, key) if has(key) else language


def chinese_whisper(settings: Settings) -> WhisperEngine:
    """Whisper base for Chinese from the speech models folder (EngineConfigError saying why when it is not there)."""
    folder = settings.speech_models_dir / WHISPER_DIR
    status = check_whisper_base(folder)
    if not status.ready:
        raise EngineConfigError(status.problem)
    return WhisperEngine(folder, language="zh", threads=settings.stt_threads, prompt=settings.stt_zh_prompt,
                         vad=True, simplify=True, name="whisper-base",
                         check=lambda path: check_whisper_base(path, thorough=True))


def paraformer(settings: Settings) -> SherpaParaformerEngine:
    """The operator's sherpa-onnx Paraformer folder (GOVBOT_STT_ZH_MODEL_DIR)."""
    if settings.stt_zh_model_dir is None:
        raise EngineConfigError("GOVBOT_STT_ZH_ENGINE=paraformer needs GOVBOT_STT_ZH_MODEL_DIR")
    return SherpaParaformerEngine(settings.stt_zh_model_dir, threads=settings.stt_threads)


class VoiceInput:
    """Recognises users' speech off the event loop and decides whether to ask before acting on it."""

    def __init__(self, stt: SpeechToText, min_confidence: float = 0.4) -> None:
        self.stt, self.min_confidence = stt, min_confidence

    @classmethod
    def from_settings(cls, settings: Settings) -> "VoiceInput":
        """The engines the settings ask for; a misconfigured engine is logged and left out (its language says
        "not set up" instead of taking the gateway down)."""
        limits = AudioLimits(max_bytes=settings.stt_max_audio_bytes, max_seconds=settings.stt_max_seconds)
        engines: dict[str, Engine] = {}
        wanted: dict[str, Callable[[], Engine]] = {}
        if settings.stt_en_engine == "whisper":
            wanted["en"] = lambda: WhisperEngine(settings.stt_en_model_dir, threads=settings.stt_threads)
        if settings.stt_zh_engine == "whisper":
            wanted["zh"] = lambda: chinese_whisper(settings)
        elif settings.stt_zh_engine == "paraformer":
            wanted["zh"] = lambda: paraformer(settings)
        for language, make in wanted.items():
            try:
                engines[language] = make()
            except EngineConfigError as error:
                log.error("stt_engine_misconfigured", extra={"fields": {"language": language, "error": str(error)}})
        log.info("stt_engines", extra={"fields": {lang: engine.name for lang, engine in engines.items()}})
        detector = engines.get("zh") if isinstance(engines.get("zh"), WhisperEngine) else None
        return cls(SpeechToText(engines, AudioDecoder(limits), detector=detector),  # type: ignore[arg-type]
                   settings.stt_min_confidence)

    @property
    def limits(self) -> AudioLimits:
        return self.stt.decoder.limits

    def supports(self, language: str) -> bool:
        return self.stt.supports(language)

    async def handle(self, audio: bytes, language: str) -> Transcript:
        """The transcript of one utterance.

        Raises EngineNotConfigured (use `not_set_up(language)`), AudioError (`.code`, `.status`: empty_audio,
        too_large, not_audio, too_long, no_speech), DecoderUnavailable or RecognitionFailed (server problems).
        """
        transcript = await asyncio.to_thread(self.stt.transcribe, audio, language)
        log.info("stt", extra={"fields": {"engine": transcript.engine, "language": transcript.language,
                                          "asked": language,
                                          "audio_s": round(transcript.seconds, 2),
                                          "confidence": round(transcript.confidence, 3),
                                          "ms": round(transcript.elapsed * 1000, 1)}})
        if not transcript.text.strip():
            raise AudioError("no_speech", "no words could be heard in the audio; please speak again, or type",
                             status=422)
        return transcript

    def needs_confirmation(self, transcript: Transcript) -> bool:
        """True when the engine is not sure enough to act on the transcript without asking."""
        return transcript.confidence < self.min_confidence

    @staticmethod
    def confirmation(transcript: Transcript, language: Optional[str] = None) -> BotMessage:
        """ "您是说“…”吗？" / "Did you mean “…”?" with yes (sends the transcript as the message) and no buttons."""
        language = language or transcript.language
        asked_in = "zh" if language == "zh" else "en"
        return BotMessage(text=text(asked_in, "voice.confirm", text=transcript.text),
                          buttons=[Button(title=text(asked_in, "voice.yes"), payload=transcript.text),
                                   Button(title=text(asked_in, "voice.no"), payload=DENY_PAYLOAD)],
                          custom={"kind": "voice_confirm", "language": language, "transcript": transcript.text})


__all__ = ["DENY_PAYLOAD", "EngineNotConfigured", "NotSetUp", "VoiceInput", "not_set_up"]
