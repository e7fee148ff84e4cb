"""Audio decoding for voice input: real WAV, OGG/Opus, WebM/Opus and MP3 made here; bad inputs rejected by code."""

import os
import random
import tempfile
from pathlib import Path

import numpy as np
import pytest

from channels.voice.audio import SAMPLE_RATE, AudioDecoder, AudioError, AudioLimits
from testkit.speech import ENCODINGS, encode, needs_speech_tools, silence, speak

pytestmark = needs_speech_tools


@pytest.fixture(scope="module")
def question(tmp_path_factory) -> Path:
    return speak("How do I apply for a passport", tmp_path_factory.mktemp("speech"))


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_each_client_format_decodes_to_16k_mono_pcm(question, encoding):
    source = question if encoding == "wav" else encode(question, encoding)
    decoded = AudioDecoder().decode(source.read_bytes())
    assert 1.2 < decoded.seconds < 3.0  # espeak-ng says the question in about two seconds
    samples = decoded.samples()
    assert samples.dtype == np.float32 and len(samples) == round(decoded.seconds * SAMPLE_RATE)
    assert 0.05 < float(np.abs(samples).max()) <= 1.0  # real sound, not silence
    wav = decoded.to_wav()
    assert wav[:4] == b"RIFF" and AudioDecoder().decode(wav).pcm == decoded.pcm


def test_stereo_48k_is_mixed_down_and_resampled(question):
    stereo = encode(question, "webm-opus", extra=("-ac", "2"))
    decoded = AudioDecoder().decode(stereo.read_bytes())
    assert decoded.source_format == "matroska,webm"
    assert abs(decoded.seconds - AudioDecoder().decode(question.read_bytes()).seconds) < 0.1


DEFAULT_LIMITS = AudioLimits()


def _code(data: bytes, limits: AudioLimits = DEFAULT_LIMITS) -> tuple[str, int]:
    with pytest.raises(AudioError) as caught:
        AudioDecoder(limits).decode(data)
    return caught.value.code, caught.value.status


def test_empty_input_is_empty_audio():
    assert _code(b"") == ("empty_audio", 400)


def test_random_bytes_are_not_audio():
    noise = random.Random(8).randbytes(50_000)
    assert _code(noise) == ("not_audio", 400)


def test_a_text_file_is_not_audio():
    assert _code("身份证丢了怎么补办？ How do I apply for a passport?\n".encode() * 50) == ("not_audio", 400)


def test_a_truncated_header_is_not_audio(question):
    assert _code(question.read_bytes()[:40]) == ("not_audio", 400)


def test_too_large_is_refused_before_decoding(question):
    data = question.read_bytes()
    assert _code(data, AudioLimits(max_bytes=len(data) - 1)) == ("too_large", 413)


def test_too_long_is_refused(tmp_path):
    long_clip = silence(tmp_path, 4.0)
    assert _code(long_clip.read_bytes(), AudioLimits(max_seconds=3.0)) == ("too_long", 400)
    assert AudioDecoder(AudioLimits(max_seconds=5.0)).decode(long_clip.read_bytes()).seconds == pytest.approx(4.0)


def test_default_limit_is_a_minute(tmp_path):
    assert AudioLimits().max_seconds == 60
    assert _code(silence(tmp_path, 61).read_bytes()) == ("too_long", 400)


def test_no_temporary_files_are_left_behind(question):
    before = set(os.listdir(tempfile.gettempdir()))
    AudioDecoder().decode(question.read_bytes())
    _code(b"not audio at all" * 100)
    leftovers = {name for name in set(os.listdir(tempfile.gettempdir())) - before if name.startswith("govbot-audio-")}
    assert leftovers == set()
