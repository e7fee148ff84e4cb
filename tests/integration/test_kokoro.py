"""Kokoro-82M speaking Mandarin for real (the assembled model in var/speech-models), through /api/tts; a corrupt
model falls back to espeak-ng instead of failing."""

import io
import shutil
import wave

import pytest
from fastapi.testclient import TestClient

from channels.gateway import create_app
from channels.voice.kokoro import SAMPLE_RATE, KokoroEngine
from channels.voice.models import KOKORO_DIR, KOKORO_MODEL, check_kokoro
from core.settings import PROJECT_ROOT, Settings

MODELS = PROJECT_ROOT / "var" / "speech-models"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not check_kokoro(MODELS / KOKORO_DIR).ready,
                                 reason="scripts/setup assembles var/speech-models")]


def seconds(audio: bytes) -> float:
    with wave.open(io.BytesIO(audio)) as wav:
        return wav.getnframes() / wav.getframerate()


@pytest.fixture(scope="module")
def engine() -> KokoroEngine:
    return KokoroEngine(MODELS / KOKORO_DIR, voice="zm_yunxi")


def test_kokoro_speaks_mandarin_at_24_khz_and_slower_in_the_elderly_form(engine):
    normal = engine.synthesise("请带上身份证，到派出所办理。", "zh", slow=False)
    slow = engine.synthesise("请带上身份证，到派出所办理。", "zh", slow=True)
    with wave.open(io.BytesIO(normal)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (SAMPLE_RATE, 1, 2)
    assert 1.5 < seconds(normal) < 6 and seconds(slow) > 1.15 * seconds(normal)


def test_the_api_speaks_mandarin_with_kokoro_and_english_with_espeak(tmp_path):
    settings = Settings(var_dir=tmp_path, speech_models_dir=MODELS, tts_gtts=False)
    with TestClient(create_app(settings)) as client:
        zh = client.post("/api/tts", json={"text": "补办身份证，请拨打12345咨询。", "language": "zh", "piece": 0})
        en = client.post("/api/tts", json={"text": "Call 12345.", "language": "en"})
    assert zh.status_code == 200 and zh.headers["x-tts-engine"] == "kokoro-82m/zm_yunxi"
    assert zh.headers["x-speech-pieces"] == "2" and seconds(zh.content) > 0.8  # "补办身份证，" first
    assert en.status_code == 200 and en.headers["x-tts-engine"] == "espeak-ng"


def test_a_corrupt_kokoro_model_falls_back_to_espeak(tmp_path):
    broken = tmp_path / "speech-models"
    shutil.copytree(MODELS / KOKORO_DIR, broken / KOKORO_DIR)
    with (broken / KOKORO_DIR / KOKORO_MODEL).open("r+b") as model:
        model.seek(1000)
        model.write(b"\xff" * 64)  # same size, different bytes
    settings = Settings(var_dir=tmp_path, speech_models_dir=broken, tts_gtts=False)
    with TestClient(create_app(settings)) as client:
        response = client.post("/api/tts", json={"text": "请拨打12345。", "language": "zh"})
    assert response.status_code == 200 and response.headers["x-tts-engine"] == "espeak-ng"
