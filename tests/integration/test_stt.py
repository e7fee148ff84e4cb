"""The speech-to-text interface and its engines.

Whisper (English) runs for real (marked slow: it loads the model). The Chinese sherpa-onnx
engine has no model on this machine, so its configuration checks and load errors are tested
with the real sherpa-onnx package, and the routing by language with a fake engine.
"""

import math
from pathlib import Path

import numpy as np
import pytest

from channels.voice.audio import AudioError
from channels.voice.service import VoiceInput, not_set_up
from channels.voice.stt import (EngineConfigError, EngineNotConfigured, Recognition, RecognitionFailed,
                                SherpaParaformerEngine, SpeechToText, WhisperEngine, whisper_confidence)
from core.settings import Settings, SettingsError
from testkit.speech import ENCODINGS, encode, needs_speech_tools, silence, speak


class FakeEngine:
    """Stands in for the Chinese engine, whose model cannot be installed here."""

    name = "fake"

    def __init__(self, text: str = "身份证怎么补办", confidence: float = 0.9) -> None:
        self.text, self.confidence, self.heard = text, confidence, []

    def recognize(self, samples: np.ndarray) -> Recognition:
        self.heard.append(samples)
        return Recognition(self.text, self.confidence)


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("stt")


# --- the interface -----------------------------------------------------------------------------

@needs_speech_tools
def test_transcribe_decodes_and_routes_by_language(speech_dir):
    clip = speak("ni3 hao3", speech_dir, voice="cmn-latn-pinyin", name="nihao")
    zh = FakeEngine()
    transcript = SpeechToText({"zh": zh}).transcribe(encode(clip, "ogg-opus").read_bytes(), "zh")
    assert (transcript.text, transcript.language, transcript.engine) == ("身份证怎么补办", "zh", "fake")
    assert transcript.confidence == 0.9 and 0.3 < transcript.seconds < 3
    assert zh.heard[0].dtype == np.float32 and len(zh.heard[0]) == round(transcript.seconds * 16000)
    assert transcript.as_dict()["seconds"] == round(transcript.seconds, 2)


def test_a_language_without_an_engine_is_refused_before_decoding():
    stt = SpeechToText({"en": FakeEngine("hello")})
    with pytest.raises(EngineNotConfigured) as caught:
        stt.transcribe(b"", "zh")  # not even decoded: empty audio would be another error
    assert caught.value.language == "zh"
    with pytest.raises(ValueError, match="language must be one of"):
        stt.transcribe(b"x", "fr")


def test_engine_confidence_is_clamped_and_engine_crashes_become_recognition_failed(tmp_path):
    class Broken:
        name = "broken"

        def recognize(self, samples):  # type: ignore[no-untyped-def]
            raise MemoryError("boom")

    pcm_wav = _wav(tmp_path)
    assert SpeechToText({"en": FakeEngine("hi", 1.7)}).transcribe(pcm_wav, "en").confidence == 1.0
    with pytest.raises(RecognitionFailed, match="broken failed"):
        SpeechToText({"en": Broken()}).transcribe(pcm_wav, "en")


def _wav(folder: Path) -> bytes:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes((np.sin(np.arange(16000) / 5) * 8000).astype("<i2").tobytes())
    return buffer.getvalue()


def test_whisper_confidence_combines_logprob_and_no_speech():
    assert whisper_confidence([("hello there", 0.0, 0.0)]) == 1.0
    assert whisper_confidence([("hello", -0.5, 0.0)]) == pytest.approx(math.exp(-0.5))
    assert whisper_confidence([("hello", -0.5, 0.5)]) == pytest.approx(math.exp(-0.5) * 0.5)
    # weighted by length: the long confident segment counts more than the short unsure one
    mixed = whisper_confidence([("a long and clear sentence", -0.1, 0.0), ("uh", -2.0, 0.0)])
    assert math.exp(-2.0) < mixed < math.exp(-0.1) and mixed > 0.8
    assert whisper_confidence([]) == 0.0


# --- the Chinese engine's configuration (sherpa-onnx Paraformer) -------------------------------

TOKENS = "<blank> 0\n<s> 1\n</s> 2\n你 3\n好 4\n"


def _paraformer_dir(root: Path, files: tuple[str, ...]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in files:
        (root / name).write_bytes(TOKENS.encode() if name == "tokens.txt" else b"not a real model")
    return root


def test_paraformer_dir_must_exist(tmp_path):
    with pytest.raises(EngineConfigError, match="is not a directory"):
        SherpaParaformerEngine(tmp_path / "missing")


@pytest.mark.parametrize("files, missing", [
    ((), "model.int8.onnx or model.onnx, tokens.txt"),
    (("tokens.txt",), "model.int8.onnx or model.onnx"),
    (("model.onnx",), "tokens.txt"),
    (("model.int8.onnx", "README.md"), "tokens.txt"),
])
def test_paraformer_dir_missing_files_are_named(tmp_path, files, missing):
    with pytest.raises(EngineConfigError) as caught:
        SherpaParaformerEngine(_paraformer_dir(tmp_path / "zh", files))
    assert str(caught.value).endswith(f"lacks {missing}")


def test_paraformer_prefers_the_int8_model(tmp_path):
    engine = SherpaParaformerEngine(_paraformer_dir(tmp_path / "zh", ("model.onnx", "model.int8.onnx", "tokens.txt")))
    assert engine.model_file.name == "model.int8.onnx" and engine.tokens_file.name == "tokens.txt"


def test_a_malformed_tokens_file_is_a_config_error(tmp_path):
    # sherpa-onnx would end the whole process (exit() in C++) on this file
    folder = _paraformer_dir(tmp_path / "zh", ("model.int8.onnx",))
    (folder / "tokens.txt").write_text("<blank> 0\nthis is not a token table\n")
    with pytest.raises(EngineConfigError, match="tokens.txt line 2 is not 'symbol id'"):
        SherpaParaformerEngine(folder)


def test_a_broken_paraformer_model_fails_cleanly_on_first_use(tmp_path):
    engine = SherpaParaformerEngine(_paraformer_dir(tmp_path / "zh", ("model.int8.onnx", "tokens.txt")))
    with pytest.raises(RecognitionFailed, match="could not load the Paraformer model"):
        SpeechToText({"zh": engine}).transcribe(_wav(tmp_path), "zh")


def test_whisper_dir_missing_files_are_named(tmp_path):
    with pytest.raises(EngineConfigError, match="lacks model.bin, config.json, tokenizer.json"):
        WhisperEngine(tmp_path)


# --- configuration ----------------------------------------------------------------------------

def test_settings_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GOVBOT_STT_ZH_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("GOVBOT_STT_MIN_CONFIDENCE", "0.6")
    monkeypatch.setenv("GOVBOT_STT_MAX_SECONDS", "30")
    monkeypatch.setenv("GOVBOT_STT_MAX_AUDIO_BYTES", "1000")
    monkeypatch.setenv("GOVBOT_STT_EN_ENGINE", "none")
    settings = Settings.from_env()
    assert (settings.stt_zh_model_dir, settings.stt_min_confidence, settings.stt_max_seconds,
            settings.stt_max_audio_bytes, settings.stt_en_engine) == (tmp_path, 0.6, 30.0, 1000, "none")
    monkeypatch.setenv("GOVBOT_STT_MIN_CONFIDENCE", "2")
    with pytest.raises(SettingsError, match="GOVBOT_STT_MIN_CONFIDENCE"):
        Settings.from_env()
    monkeypatch.setenv("GOVBOT_STT_MIN_CONFIDENCE", "0.5")
    monkeypatch.setenv("GOVBOT_STT_EN_ENGINE", "vosk")
    with pytest.raises(SettingsError, match="GOVBOT_STT_EN_ENGINE"):
        Settings.from_env()


def test_default_settings_have_english_only():
    voice = VoiceInput.from_settings(Settings())
    assert voice.supports("en") and not voice.supports("zh")
    assert voice.limits.max_seconds == 60


def test_a_misconfigured_chinese_dir_leaves_chinese_off_instead_of_failing(tmp_path, caplog):
    voice = VoiceInput.from_settings(Settings(stt_zh_model_dir=tmp_path / "nothing-here"))
    assert not voice.supports("zh") and voice.supports("en")
    assert "stt_engine_misconfigured" in caplog.text


def test_the_not_set_up_reply_is_honest_in_both_languages():
    reply = not_set_up("zh")
    assert reply.speech == "中文语音输入暂未开通，请打字或拨打12345。" and reply.speech_language == "zh"
    assert "Voice input in Chinese is not set up here — please type, or call 12345." in reply.message
    english = not_set_up("en")
    assert english.speech.startswith("Voice input in English is not set up") and english.speech_language == "en"


# --- confirmation ------------------------------------------------------------------------------

def test_low_confidence_asks_did_you_mean_with_yes_and_no():
    from channels.voice.stt import Transcript

    voice = VoiceInput(SpeechToText({}), min_confidence=0.5)
    unsure = Transcript("how do I apply for a passport", "en", 0.3, "fake", 2.0)
    assert voice.needs_confirmation(unsure) and not voice.needs_confirmation(
        Transcript("x", "en", 0.5, "fake", 1.0))
    message = voice.confirmation(unsure)
    assert message.text == "Did you mean “how do I apply for a passport”?"
    assert [(b.title, b.payload) for b in message.buttons] == [("Yes", "how do I apply for a passport"),
                                                               ("No", "/deny")]
    assert message.custom == {"kind": "voice_confirm", "language": "en", "transcript": unsure.text}
    chinese = voice.confirmation(Transcript("护照怎么办", "zh", 0.2, "fake", 1.0))
    assert chinese.text == "您是说“护照怎么办”吗？" and chinese.buttons[0].title == "是"


# --- Whisper for real ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def whisper() -> SpeechToText:
    return SpeechToText({"en": WhisperEngine()})


@pytest.mark.slow
@needs_speech_tools
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_whisper_understands_a_service_question_in_every_format(whisper, speech_dir, encoding):
    clip = speak("How do I apply for a passport", speech_dir, name="passport")
    source = clip if encoding == "wav" else encode(clip, encoding)
    transcript = whisper.transcribe(source.read_bytes(), "en")
    words = transcript.text.lower().replace("?", "").replace(".", "").split()
    assert words[0] == "how" and {"apply", "passport"} <= set(words)  # tiny.en may hear "I" as "my"
    assert transcript.engine == "faster-whisper" and 0.2 < transcript.confidence <= 1.0
    assert transcript.elapsed < 20


@pytest.mark.slow
@needs_speech_tools
async def test_silence_is_no_speech_not_a_made_up_sentence(speech_dir):
    voice = VoiceInput(SpeechToText({"en": WhisperEngine()}))
    with pytest.raises(AudioError) as caught:
        await voice.handle(silence(speech_dir, 2.0).read_bytes(), "en")
    assert caught.value.code == "no_speech" and caught.value.status == 422
