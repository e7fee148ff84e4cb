"""Text-to-speech: espeak-ng offline, gTTS's requests and fallback, the cache, and the /api/tts endpoint."""

import io
import json
import logging
import os
import time
import wave
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from channels.gateway import create_app
from channels.voice.speech_text import chunks, clean_for_speech
from channels.voice.tts import (DAY, PAUSE_SECONDS, AudioCache, EngineFailed, EspeakEngine, GttsEngine, TextToSpeech,
                                purge_cached_audio)
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
    assert spoken == "护照办理。 办理步骤: 第1步，预约。 第2步，去 窗口。 身份证。 咨询电话: 一二三六七 见。"
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
    assert len([path for path in tmp_path.rglob("*") if path.is_file()]) == 2 and not list(tmp_path.rglob("tmp*"))


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


# --- the cache: compressed, within its size and age limits --------------------------------------------------------

class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Mp3Engine:
    """Stored as it is (MP3 is compressed already): every recording takes exactly `size` bytes on disk."""

    name, media_type = "fixed", "audio/mpeg"

    def __init__(self, size: int = 1000) -> None:
        self.size, self.calls = size, 0

    def synthesise(self, text: str, language: str, slow: bool) -> bytes:
        self.calls += 1
        return text.encode().ljust(self.size, b"\0")[:self.size]


def files_in(folder) -> list:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_wav_is_stored_compressed_and_served_back_unchanged(tmp_path):
    engine = CountingEngine()
    tts = TextToSpeech([engine], tmp_path)
    text = "Please bring your ID card and the household register to the police station. " * 2  # one piece
    made, served = tts.speak(text, "en"), tts.speak(text, "en")
    assert engine.calls == 1 and served.media_type == "audio/wav"
    assert served.audio == made.audio  # byte for byte, header included
    [stored] = files_in(tmp_path)
    assert stored.name.endswith(".wav.z") and stored.stat().st_size < 0.8 * len(made.audio)


def test_the_least_recently_used_recording_goes_first_when_the_cache_is_full(tmp_path):
    clock = Clock()
    cache = AudioCache(tmp_path, max_bytes=2500, clock=clock)
    tts = TextToSpeech([Mp3Engine(1000)], tmp_path, cache=cache)
    for text in ("one", "two"):
        tts.speak(text, "en")
        clock.now += 10
    tts.speak("one", "en")  # a hit: "one" is now the most recently used
    clock.now += 10
    tts.speak("three", "en")  # 3000 bytes > 2500: the least recently used ("two") goes
    engine = tts.engines[0]
    assert engine.calls == 3 and cache.total_bytes == 2000 and len(files_in(tmp_path)) == 2
    tts.speak("one", "en")
    tts.speak("three", "en")
    assert engine.calls == 3  # both still cached
    tts.speak("two", "en")
    assert engine.calls == 4  # made again


def test_recordings_older_than_the_age_limit_are_not_served_and_are_removed_on_write(tmp_path):
    clock = Clock()
    engine = Mp3Engine()
    tts = TextToSpeech([engine], tmp_path, cache=AudioCache(tmp_path, max_age=2 * DAY, clock=clock))
    tts.speak("old", "en")
    tts.speak("older", "en")
    clock.now += DAY
    tts.speak("old", "en")  # used again, but age counts from when it was made
    assert engine.calls == 2
    clock.now += DAY + 1
    tts.speak("old", "en")  # too old: made again (the old file is replaced)
    assert engine.calls == 3
    assert len(files_in(tmp_path)) == 1  # writing swept "older" away


def test_a_new_process_finds_the_cache_and_its_order_of_use(tmp_path):
    clock = Clock()
    first = AudioCache(tmp_path, max_bytes=10_000, clock=clock)
    for key in ("aa1", "bb2", "cc3"):
        first.put(key, "audio/mpeg", b"x" * 1000)
        clock.now += 10
    assert first.get("aa1", "audio/mpeg") == b"x" * 1000  # used last: kept longest
    clock.now += 10
    second = AudioCache(tmp_path, max_bytes=2500, clock=clock)  # smaller: the next write must evict
    assert second.total_bytes == 3000
    second.put("dd4", "audio/mpeg", b"y" * 1000)
    assert second.get("aa1", "audio/mpeg") is not None and second.get("dd4", "audio/mpeg") is not None
    assert second.get("bb2", "audio/mpeg") is None and second.get("cc3", "audio/mpeg") is None


def test_unreadable_or_vanished_files_are_misses(tmp_path):
    cache = AudioCache(tmp_path)
    cache.put("ab1", "audio/wav", EspeakEngine().synthesise("hello", "en", False))
    cache.put("cd2", "audio/mpeg", b"mp3")
    for path in files_in(tmp_path):
        if path.name.startswith("cd2"):
            path.unlink()  # govbot purge in another process
        else:
            path.write_bytes(b"damaged")  # cannot be decoded back
    assert cache.get("ab1", "audio/wav") is None and cache.get("cd2", "audio/mpeg") is None
    assert files_in(tmp_path) == [] and cache.total_bytes == 0


def test_purge_removes_recordings_made_before_the_retention_period(tmp_path):
    clock = Clock()
    tts = TextToSpeech([Mp3Engine()], tmp_path, cache=AudioCache(tmp_path, max_age=60 * DAY, clock=clock))
    tts.speak("a month ago", "en")
    clock.now += 20 * DAY
    tts.speak("today", "en")
    leftover = files_in(tmp_path)[0].parent / "tmpcrashed"
    leftover.write_bytes(b"half")
    os.utime(leftover, (clock.now - 40 * DAY, clock.now - 40 * DAY))
    assert purge_cached_audio(tmp_path, 30, now=clock.now + 15 * DAY) == 2  # the old one and the crash's
    assert len(files_in(tmp_path)) == 1
    assert tts.purge_older_than(1) == 0  # "today" is 0 days old by the cache's clock
    clock.now += 2 * DAY
    assert tts.purge_older_than(1) == 1 and files_in(tmp_path) == []
    tts.speak("today", "en")
    assert tts.engines[0].calls == 3  # purged: made again


def test_the_spoken_length_limit_comes_from_the_settings(tmp_path):
    with TestClient(create_app(Settings(var_dir=tmp_path, tts_gtts=False, tts_max_chars=20))) as client:
        too_long = client.post("/api/tts", json={"text": "a" * 21, "language": "en"})
        at_limit = client.post("/api/tts", json={"text": "Hello there, friend.", "language": "en"})
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "text_too_long"
    assert "20" in too_long.json()["error"]["message"]
    assert at_limit.status_code == 200 and at_limit.content[:4] == b"RIFF"


@pytest.mark.parametrize("text", ["\ud800", "a\u0000b", "bell\u0007", "\udfff\ud800"])
def test_text_that_cannot_be_spoken_is_400_not_500(tmp_path, text):
    body = json.dumps({"text": text, "language": "en"})  # ASCII JSON: "\ud800" travels as an escape
    with TestClient(create_app(Settings(var_dir=tmp_path, tts_gtts=False))) as client:
        response = client.post("/api/tts", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_text"



def test_every_answer_of_the_knowledge_base_fits_the_spoken_length_limit():
    """The page speaks whole answers: the longest one must not be refused as text_too_long."""
    from bot.actions.render import render_answer
    from core.settings import Settings
    from knowledge.loader import load_items

    settings = Settings()
    loaded = load_items(settings.kb_dir)
    items = list(loaded.values()) if isinstance(loaded, dict) else list(loaded)
    longest = max(len(render_answer(item, language, large)) for item in items for language in ("zh", "en")
                  for large in (False, True))
    assert 2000 < longest <= settings.tts_max_chars


def test_a_long_answer_is_served_piece_by_piece_with_the_count_in_a_header(tmp_path):
    text = "Bring your ID card and a photo. " * 12  # about 380 characters: two pieces
    with TestClient(create_app(Settings(var_dir=tmp_path, tts_gtts=False))) as client:
        whole = client.post("/api/tts", json={"text": text, "language": "en"})
        first = client.post("/api/tts", json={"text": text, "language": "en", "piece": 0})
        count = int(first.headers["x-speech-pieces"])
        rest = [client.post("/api/tts", json={"text": text, "language": "en", "piece": k}) for k in range(1, count)]
        beyond = client.post("/api/tts", json={"text": text, "language": "en", "piece": count})
    assert whole.status_code == first.status_code == 200 and {r.status_code for r in rest} == {200} and count >= 2
    assert whole.headers["x-speech-pieces"] == str(count)
    assert wav_seconds(first.content) < wav_seconds(whole.content)
    pieces_and_pauses = sum(wav_seconds(r.content) for r in [first, *rest]) + PAUSE_SECONDS * (count - 1)
    assert abs(pieces_and_pauses - wav_seconds(whole.content)) < 0.1  # the whole is the pieces joined
    assert beyond.status_code == 400 and beyond.json()["error"]["code"] == "no_such_piece"


class MandarinOnly(CountingEngine):
    name, media_type, languages = "mandarin-only", "audio/wav", ("zh",)


def test_an_engine_is_asked_only_for_the_languages_it_speaks(tmp_path):
    mandarin, fallback = MandarinOnly(), CountingEngine()
    tts = TextToSpeech([mandarin, fallback], tmp_path)
    assert tts.speak("您好。", "zh").engine == "mandarin-only"
    assert tts.speak("Hello.", "en").engine == "counting" and mandarin.calls == 1


def test_without_the_kokoro_model_mandarin_falls_back_to_espeak(tmp_path, caplog):
    from channels.voice.output import speech_output

    caplog.set_level(logging.INFO, logger="govbot.tts")
    tts = speech_output(Settings(var_dir=tmp_path))  # no speech-models folder in this var dir
    speech = tts.speak("请拨打12345。", "zh")
    assert speech.engine == "espeak-ng" and speech.audio[:4] == b"RIFF"
    reasons = {record.getMessage(): record.fields["error"] for record in caplog.records  # type: ignore[attr-defined]
               if record.getMessage() in ("tts_engine_misconfigured", "tts_engine_failed")}
    assert "run scripts/setup" in reasons["tts_engine_misconfigured"] and "Kokoro" in reasons["tts_engine_failed"]
