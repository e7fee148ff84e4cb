"""TTS audio to OGG/Opus with ffmpeg: WAV from espeak-ng and MP3 both become a valid voice file."""

import shutil
import subprocess

import pytest

from channels.telegram.audio import AudioConversionError, ogg_duration, to_ogg_opus
from channels.voice.tts import EspeakEngine

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (locks/apt.txt)")


def assert_ogg_opus(data: bytes) -> None:
    assert data.startswith(b"OggS")
    assert b"OpusHead" in data[:200] and b"OpusTags" in data


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_wav_becomes_ogg_opus_with_its_duration():
    wav = EspeakEngine().synthesise("你好，这是语音播报的测试。", "zh", slow=False)
    ogg = to_ogg_opus(wav)
    assert_ogg_opus(ogg)
    assert len(ogg) < len(wav) / 3  # speech-rate Opus is much smaller than 22 kHz PCM
    assert 1 <= ogg_duration(ogg) <= 6


def test_mp3_becomes_ogg_opus():
    # an MP3 as gTTS would send (made here with ffmpeg's own MP3 encoder from a sine tone)
    mp3 = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                          "sine=frequency=440:duration=2", "-f", "mp3", "pipe:1"],
                         capture_output=True, check=True, timeout=30).stdout
    assert mp3[:3] == b"ID3" or mp3[0] == 0xFF
    ogg = to_ogg_opus(mp3)
    assert_ogg_opus(ogg)
    assert ogg_duration(ogg) == 2


def test_garbage_gives_a_clear_error():
    with pytest.raises(AudioConversionError, match="ffmpeg failed"):
        to_ogg_opus(b"this is not audio" * 20)
    with pytest.raises(AudioConversionError, match="no audio"):
        to_ogg_opus(b"")


def test_a_missing_encoder_is_named():
    with pytest.raises(AudioConversionError, match="not installed"):
        to_ogg_opus(b"RIFF....", binary="ffmpeg-that-does-not-exist")
