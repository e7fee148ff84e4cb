"""Chinese voice input with the real models (Whisper base from var/speech-models): questions spoken by Kokoro voices
the product does not serve and by human syllable recordings (gcin-voice), language detection, the prompt-echo rule
and a corrupt model folder. Slow: it loads Whisper and Kokoro."""

import asyncio
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from channels.voice.audio import AudioError
from channels.voice.kokoro import wav_bytes
from channels.voice.models import WHISPER_DIR
from channels.voice.service import EngineNotConfigured, VoiceInput
from channels.voice.stt import Transcript
from core.settings import Settings
from knowledge.normalize import to_simplified
from testkit.speech import (SPEECH_MODELS, encode, gcin_speak, kokoro_speak, needs_gcin_voice, needs_speech_models,
                            needs_speech_tools, speak)

pytestmark = [pytest.mark.slow, needs_speech_tools, needs_speech_models]

PLAIN_PROMPT = "以下是普通话的句子。"


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("stt-zh")


@pytest.fixture(scope="module")
def voice() -> VoiceInput:
    return VoiceInput.from_settings(Settings())


@pytest.fixture(scope="module")
def id_card_question(speech_dir) -> bytes:
    """"I'd like to ask: I lost my ID card, where do I get a new one?" in zf_xiaobei's voice, as a browser sends it."""
    wav = kokoro_speak("我想问一下，我的身份证丢了，要去哪里补办？", speech_dir, voice="zf_xiaobei", name="id-card")
    return encode(wav, "webm-opus").read_bytes()


def heard(voice: VoiceInput, audio: bytes, language: str) -> Transcript:
    return asyncio.run(voice.handle(audio, language))


def shared_characters(said: str, heard_text: str) -> float:
    """Share of the said text's characters (punctuation left out) that the transcript has too."""
    said_chars = Counter(char for char in said if char.isalnum())
    heard_chars = Counter(char for char in heard_text if char.isalnum())
    return sum((said_chars & heard_chars).values()) / sum(said_chars.values())


def test_a_question_in_a_voice_the_product_does_not_serve_is_heard_in_simplified_characters(voice, id_card_question):
    transcript = heard(voice, id_card_question, "zh")
    assert (transcript.language, transcript.engine) == ("zh", "whisper-base")
    assert "身份证" in transcript.text and to_simplified(transcript.text) == transcript.text
    assert shared_characters("我想问一下，我的身份证丢了，要去哪里补办？", transcript.text) >= 0.8


@needs_gcin_voice
def test_human_syllable_recordings_joined_into_a_question_are_mostly_understood(voice, speech_dir):
    said = "我想问一下，结婚证要带什么去办？"
    wav = gcin_speak(said, speech_dir, name="gcin-marriage")
    transcript = heard(voice, encode(wav, "webm-opus").read_bytes(), "zh")
    assert transcript.language == "zh" and shared_characters(said, transcript.text) >= 0.6


def test_auto_hears_chinese_as_chinese_and_english_as_english(voice, speech_dir, id_card_question):
    assert heard(voice, id_card_question, "auto").language == "zh"
    english = encode(speak("How do I apply for a passport?", speech_dir, name="passport"), "webm-opus")
    transcript = heard(voice, english.read_bytes(), "auto")
    assert transcript.language == "en" and "passport" in transcript.text.lower()


def test_a_transcript_that_only_repeats_the_prompt_counts_as_nothing_heard(speech_dir):
    clip = encode(kokoro_speak(PLAIN_PROMPT, speech_dir, voice="zf_xiaobei", name="prompt"), "webm-opus").read_bytes()
    with_that_prompt = VoiceInput.from_settings(Settings().model_copy(update={"stt_zh_prompt": PLAIN_PROMPT}))
    with pytest.raises(AudioError) as caught:
        heard(with_that_prompt, clip, "zh")
    assert (caught.value.code, caught.value.status) == ("no_speech", 422)
    # the same words under another prompt are heard: it was the echo rule, not the audio
    other_prompt = VoiceInput.from_settings(Settings().model_copy(update={"stt_zh_prompt": "请问"}))
    assert "普通话" in heard(other_prompt, clip, "zh").text


def test_noise_is_nothing_heard_not_a_made_up_chinese_sentence(voice, speech_dir):
    noise = np.random.default_rng(17).normal(0.0, 0.05, 3 * 24_000).astype(np.float32)
    (speech_dir / "noise.wav").write_bytes(wav_bytes(noise))
    with pytest.raises(AudioError) as caught:
        heard(voice, encode(speech_dir / "noise.wav", "webm-opus").read_bytes(), "zh")
    assert caught.value.code == "no_speech"


def test_a_corrupt_whisper_model_says_chinese_is_not_set_up_instead_of_crashing(tmp_path, id_card_question):
    models = tmp_path / "speech-models"
    shutil.copytree(SPEECH_MODELS / WHISPER_DIR, models / WHISPER_DIR)  # assembled.json copied as it is
    model = models / WHISPER_DIR / "model.bin"
    with model.open("r+b") as data:
        data.seek(model.stat().st_size // 2)
        block = data.read(4096)
        data.seek(-len(block), 1)
        data.write(bytes(byte ^ 0xFF for byte in block))
    voice = VoiceInput.from_settings(Settings(speech_models_dir=models))
    assert voice.supports("zh")  # the quick check at start-up sees every file in place
    with pytest.raises(EngineNotConfigured) as caught:
        heard(voice, id_card_question, "zh")
    assert caught.value.language == "zh"
    assert not voice.supports("zh") and voice.supports("en")
