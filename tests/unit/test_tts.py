"""Text-to-speech: espeak-ng offline, gTTS's requests and fallback, the cache, and the /api/tts endpoint."""

import io
import time
import wave
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from channels.gateway import create_app
from channels.voice.tts import EngineFailed, EspeakEngine, GttsEngine, TextToSpeech, chunks, clean_for_speech
from core.settings import Settings


def wav_seconds(audio: bytes) -> float:
    with wave.open(io.BytesIO(audio)) as wav:
        return wav.getnframes() / wav.getframerate()


@pytest.mark.parametrize("language, text, low, high", [
    ("zh", "请带上身份证，到派出所办理。", 1.0, 8.0),
    ("en", "Please bring your ID card to the police station.", 1.0, 6.0),
])
def test_espeak_makes_valid_audio_of_plausible_length(language, text, low, high):
    audio = EspeakEngine().synthesise(text, language, slow=False)
    assert audio[:4] == b"RIFF" and low < wav_seconds(audio) < high


def test_slow_speech_takes_longer():
    engine = EspeakEngine()
    text = "Please bring your ID card to the police station."
    slow, normal = engine.synthesise(text, "en", slow=True), engine.synthesise(text, "en", False)
    assert wav_seconds(slow) > 1.2 * wav_seconds(normal)


def test_text_is_cleaned_for_speech():
    written = "护照办理\n办理步骤:\n1. 预约\n2. 去<b>窗口</b>\n- 身份证\n咨询电话: 12367 见 https://x.cn"
    spoken = clean_for_speech(written, "zh")
    assert spoken == "护照办理。 办理步骤: 第1步，预约。 第2步，去 窗口。 身份证。 咨询电话: 1 2 3 6 7 见。"
    assert clean_for_speech("Steps:\n1. Book", "en") == "Steps: Step 1: Book."


def test_long_text_is_chunked_at_sentence_ends():
    pieces = chunks("第一句话。" * 100, limit=50)
    assert all(len(piece) <= 50 for piece in pieces) and "".join(pieces).replace(" ", "") == "第一句话。" * 100
    assert all(piece.endswith("。") for piece in pieces)


def test_gtts_request_is_built_without_network():
    request = GttsEngine().request("护照怎么办理。" * 40, "zh", slow=True)
    bodies = request.get_bodies()
    assert len(bodies) >= 2  # long text goes as several requests
    decoded = unquote(bodies[0])
    assert '\\"zh\\",true' in decoded and "\\\\u62a4\\\\u7167" in decoded  # Mandarin, slow, "护照"


def test_unreachable_gtts_falls_back_to_espeak_within_the_timeout(tmp_path):
    tts = TextToSpeech([GttsEngine(timeout=2.0, tld="invalid"), EspeakEngine()], tmp_path)
    started = time.monotonic()
    speech = tts.speak("Hello, this is the assistant.", "en")
    assert speech.engine == "espeak-ng" and speech.media_type == "audio/wav"
    assert time.monotonic() - started < 10


def test_gtts_endpoint_that_never_answers_falls_back_after_the_timeout(tmp_path, monkeypatch):
    import socket

    import gtts.tts

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        monkeypatch.setattr(gtts.tts, "_translate_url", lambda tld="com", path="": f"http://127.0.0.1:{port}/{path}")
        tts = TextToSpeech([GttsEngine(timeout=1.0), EspeakEngine()], tmp_path)
        started = time.monotonic()
        speech = tts.speak("你好", "zh")
        elapsed = time.monotonic() - started
    assert speech.engine == "espeak-ng" and 1.0 <= elapsed < 5.0


class CountingEngine:
    name, media_type = "counting", "audio/wav"

    def __init__(self) -> None:
        self.calls = 0

    def synthesise(self, text: str, language: str, slow: bool) -> bytes:
        self.calls += 1
        return EspeakEngine().synthesise(text, language, slow)


def test_cache_serves_a_repeated_request_without_synthesising_again(tmp_path):
    engine = CountingEngine()
    tts = TextToSpeech([engine], tmp_path)
    first, second = tts.speak("您好", "zh"), tts.speak("您好", "zh")
    assert first.audio == second.audio and engine.calls == 1
    tts.speak("您好", "zh", slow=True)
    assert engine.calls == 2  # slow speech is a different recording
    assert len(list(tmp_path.rglob("*.wav"))) == 2 and not list(tmp_path.rglob("tmp*"))


def test_all_engines_failing_is_reported(tmp_path):
    class Broken:
        name, media_type = "broken", "audio/wav"

        def synthesise(self, text, language, slow):
            raise EngineFailed("down")

    with pytest.raises(EngineFailed, match="broken: down"):
        TextToSpeech([Broken()], tmp_path).speak("hi", "en")


@pytest.mark.parametrize("body, code", [
    ({"text": "hello", "language": "fr"}, "unknown_language"),
    ({"text": "   ", "language": "en"}, "empty_text"),
    ({"text": "<b></b>", "language": "en"}, "empty_text"),
    ({"text": "a" * 5000, "language": "en"}, "text_too_long"),
    ({"text": "hi", "language": "en", "voice": "x"}, "unknown_field"),
    ({"language": "en"}, "missing_field"),
])
def test_bad_tts_requests_get_400(body, code, tmp_path):
    with TestClient(create_app(Settings(var_dir=tmp_path, tts_gtts=False))) as client:
        response = client.post("/api/tts", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_tts_endpoint_speaks_offline_in_both_languages(tmp_path):
    with TestClient(create_app(Settings(var_dir=tmp_path, tts_gtts=False))) as client:
        for language, text in (("zh", "请拨打12345热线。"), ("en", "Call the 12345 hotline.")):
            response = client.post("/api/tts", json={"text": text, "language": language, "slow": True})
            assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
            assert response.headers["x-tts-engine"] == "espeak-ng" and wav_seconds(response.content) > 1



def test_a_failed_engine_rests_before_it_is_tried_again(tmp_path):
    class Flaky:
        name, media_type = "flaky", "audio/wav"
        calls = 0

        def synthesise(self, text, language, slow):
            self.calls += 1
            raise EngineFailed("unreachable")

    now = [100.0]
    flaky, fallback = Flaky(), CountingEngine()
    tts = TextToSpeech([flaky, fallback], tmp_path, retry_failed_after=60, clock=lambda: now[0])
    assert tts.speak("one", "en").engine == "counting" and flaky.calls == 1
    assert tts.speak("two", "en").engine == "counting" and flaky.calls == 1  # resting: not asked
    now[0] += 61
    tts.speak("three", "en")
    assert flaky.calls == 2 and fallback.calls == 3
