"""Speech output as the settings ask for it: Kokoro for Mandarin (unless GOVBOT_TTS_ZH_ENGINE=espeak), gTTS when
GOVBOT_TTS_GTTS is on, espeak-ng always last; one disk cache."""

import logging

from channels.voice.kokoro import KokoroEngine
from channels.voice.models import KOKORO_DIR, check_kokoro
from channels.voice.tts import Engine, TextToSpeech, default_tts
from core.settings import Settings

log = logging.getLogger("govbot.tts")


def speech_output(settings: Settings) -> TextToSpeech:
    """The TextToSpeech the gateway serves /api/tts and the channels' spoken answers with."""
    first: list[Engine] = []
    if settings.tts_zh_engine == "kokoro":
        folder = settings.speech_models_dir / KOKORO_DIR
        status = check_kokoro(folder)
        if not status.ready:  # still added: it fails on use, and espeak-ng speaks instead
            log.error("tts_engine_misconfigured", extra={"fields": {"engine": "kokoro", "error": status.problem}})
        first.append(KokoroEngine(folder, voice=settings.tts_zh_voice, speed=settings.tts_speed,
                                  slow_speed=settings.tts_slow_speed, threads=settings.tts_threads))
    return default_tts(settings.tts_cache_dir, use_gtts=settings.tts_gtts, gtts_timeout=settings.tts_gtts_timeout,
                       max_chars=settings.tts_max_chars, cache_max_mb=settings.tts_cache_max_mb,
                       cache_max_days=settings.tts_cache_max_days, first=first)


__all__ = ["speech_output"]
