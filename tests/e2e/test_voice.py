"""Voice input end to end: espeak-ng speaks a question → POST /api/voice of a real `govbot run` stack (Whisper,
Rasa, actions, knowledge search) → the right service answer → spoken back by /api/tts. Also Chinese without an
engine (honest, in words and speech) and bad audio, through the real gateway."""

import httpx
import pytest

from testkit.speech import encode, kokoro_speak, needs_speech_tools, speak
from testkit.stack import module_stack

pytestmark = [pytest.mark.slow, needs_speech_tools]

# GOVBOT_STT_ZH_MODEL_DIR is cleared: the test is about a machine without a Chinese model
stack = module_stack("voice", env={"GOVBOT_TTS_GTTS": "0", "GOVBOT_STT_ZH_MODEL_DIR": ""})


def post_voice(stack, path, language="en", sender="voice-e2e-1") -> httpx.Response:  # type: ignore[no-untyped-def]
    """POST the recording in the stack's web conversation called `sender` (started on first use, with its token)."""
    conversation = stack.conversation(sender)
    with open(path, "rb") as audio:
        return httpx.post(f"{stack.url}/api/voice", files={"audio": (path.name, audio.read(), "audio/webm")},
                          data={"sender": conversation.sender, "language": language},
                          headers=conversation.headers, timeout=120)


@pytest.mark.parametrize("encoding, sender", [("webm-opus", "voice-e2e-web"), ("ogg-opus", "voice-e2e-ogg")])
def test_a_spoken_passport_question_gets_the_passport_answer_and_is_spoken_back(stack, tmp_path, encoding, sender):
    clip = encode(speak("How do I apply for a passport", tmp_path), encoding)
    response = post_voice(stack, clip, sender=sender)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "passport" in body["transcript"]["text"].lower() and body["confirm"] is False
    answer = body["messages"][0]
    assert answer["custom"]["item"] == "passport-apply" and answer["custom"]["language"] == "en"
    assert "passport" in answer["text"].lower()
    spoken = httpx.post(f"{stack.url}/api/tts", json={"text": answer["text"], "language": "en"}, timeout=120)
    assert spoken.status_code == 200 and spoken.content[:4] == b"RIFF" and len(spoken.content) > 50_000


def test_a_chinese_question_is_heard_by_whisper_base_on_the_stack(stack, tmp_path):
    # (the honest "not set up" reply is tested with Chinese input turned off: tests/e2e/test_web.py, test_voice_api.py)
    clip = encode(kokoro_speak("护照怎么办理？", tmp_path, voice="zf_xiaobei", name="passport-zh"), "webm-opus")
    response = post_voice(stack, clip, language="zh")
    assert response.status_code == 200, response.text
    transcript = response.json()["transcript"]
    assert (transcript["language"], transcript["engine"]) == ("zh", "whisper-base") and "护照" in transcript["text"]


def test_a_text_file_is_refused_as_not_audio(stack, tmp_path):
    fake = tmp_path / "notes.webm"
    fake.write_text("How do I apply for a passport\n" * 20)
    response = post_voice(stack, fake)
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_audio"
