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
from channels.voice.stt import (EngineConfigError, EngineNotConfigured, ModelUnavailable, Recognition,
                                RecognitionFailed, SherpaParaformerEngine, SpeechToText, WhisperEngine, same_words,
                                whisper_confidence)
from core.settings import Settings, SettingsError
from testkit.speech import ENCODINGS, encode, needs_speech_models, needs_speech_tools, silence, speak


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
    stt = SpeechToText({"zh": engine})
    with pytest.raises(EngineNotConfigured) as caught:  # the honest "not set up" reply, not a server error
        stt.transcribe(_wav(tmp_path), "zh")
    assert isinstance(caught.value.__cause__, RecognitionFailed) and not stt.supports("zh")
    assert "could not load the Paraformer model" in str(caught.value.__cause__)


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


@needs_speech_models
def test_default_settings_serve_both_languages_with_whisper_base_for_chinese():
    voice = VoiceInput.from_settings(Settings())
    assert voice.supports("en") and voice.supports("zh") and voice.supports("auto")
    assert voice.stt.engines["zh"].name == "whisper-base" and voice.stt.detector is voice.stt.engines["zh"]
    assert voice.limits.max_seconds == 60


def misconfigured(caplog) -> list[str]:
    """The reasons the stt_engine_misconfigured log lines gave."""
    return [record.fields["error"] for record in caplog.records if record.getMessage() == "stt_engine_misconfigured"]


def test_without_the_assembled_models_chinese_is_off_and_says_why(tmp_path, caplog):
    voice = VoiceInput.from_settings(Settings(var_dir=tmp_path))  # no speech-models folder there
    assert not voice.supports("zh") and voice.supports("en") and voice.supports("auto")
    assert any("run scripts/setup" in problem for problem in misconfigured(caplog))


def test_a_misconfigured_paraformer_dir_leaves_chinese_off_instead_of_failing(tmp_path, caplog):
    for settings in (Settings(stt_zh_engine="paraformer", stt_zh_model_dir=tmp_path / "nothing-here"),
                     Settings(stt_zh_engine="paraformer")):
        voice = VoiceInput.from_settings(settings)
        assert not voice.supports("zh") and voice.supports("en")
    assert any("needs GOVBOT_STT_ZH_MODEL_DIR" in problem for problem in misconfigured(caplog))
    assert not VoiceInput.from_settings(Settings(stt_zh_engine="none")).supports("zh")


class FakeDetector:
    """Says which language is spoken, as Whisper base's language detection would."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores, self.asked = scores, []

    def detect(self, samples: np.ndarray, languages: tuple[str, ...] = ("zh", "en")) -> dict[str, float]:
        self.asked.append(languages)
        return {language: self.scores.get(language, 0.0) for language in languages}


@needs_speech_tools
def test_auto_detects_the_language_and_uses_its_engine(speech_dir):
    clip = encode(speak("hello", speech_dir, name="hello"), "wav").read_bytes()
    zh, en = FakeEngine("你好"), FakeEngine("hello")
    stt = SpeechToText({"zh": zh, "en": en}, detector=FakeDetector({"zh": 0.2, "en": 0.8}))
    transcript = stt.transcribe(clip, "auto")
    assert (transcript.text, transcript.language) == ("hello", "en") and not zh.heard
    stt.detector = FakeDetector({"zh": 0.9, "en": 0.1})
    assert stt.transcribe(clip, "auto").language == "zh"
    only_english = SpeechToText({"en": en}, detector=None)  # one language served: no detection needed
    assert only_english.transcribe(clip, "auto").language == "en"


class BrokenModel(FakeEngine):
    """An engine whose model folder turns out corrupt when it is loaded."""

    def recognize(self, samples: np.ndarray) -> Recognition:
        raise ModelUnavailable("the Whisper model cannot be used: model.bin is corrupt (sha256 differs)")

    def detect(self, samples: np.ndarray, languages: tuple[str, ...] = ("zh", "en")) -> dict[str, float]:
        raise ModelUnavailable("the Whisper model cannot be used: model.bin is corrupt (sha256 differs)")


@needs_speech_tools
def test_a_model_found_unusable_turns_its_language_off_honestly(speech_dir, caplog):
    clip = encode(speak("hello", speech_dir, name="hello"), "wav").read_bytes()
    broken = BrokenModel()
    stt = SpeechToText({"zh": broken, "en": FakeEngine("hello")}, detector=broken)
    with pytest.raises(EngineNotConfigured) as caught:
        stt.transcribe(clip, "zh")
    assert caught.value.language == "zh" and not stt.supports("zh") and "stt_model_unavailable" in caplog.text
    stt = SpeechToText({"zh": broken, "en": FakeEngine("hello")}, detector=broken)
    assert stt.transcribe(clip, "auto").language == "en" and not stt.supports("zh")  # English still heard


def test_an_answer_that_only_repeats_the_prompt_is_nothing_heard():
    prompt = "以下是普通话的句子。"
    assert same_words("以下是普通话的句子", prompt) and same_words(" 以下是 普通话的句子！", prompt)
    assert not same_words("以下是普通话的句子。补办身份证", prompt)
    assert same_words("Hello, World", "hello world") and not same_words("hello", "hello world")


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
