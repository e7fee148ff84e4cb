"""POST /api/voice in the gateway: validation, bad audio, Chinese not set up, and (slow: Whisper) the real round
trip."""

import random
import shutil

import pytest
from fastapi.testclient import TestClient

from channels.gateway import create_app
from channels.voice.models import WHISPER_DIR, check_whisper_base
from core.settings import PROJECT_ROOT, Settings
from testkit.helpers import FakeRasa, WebConversation, open_conversation
from testkit.speech import encode, needs_speech_tools, silence, speak

pytestmark = needs_speech_tools
ASSEMBLED = PROJECT_ROOT / "var" / "speech-models"


@pytest.fixture
def fake_rasa():
    rasa = FakeRasa(reply=lambda sender, message: [
        {"recipient_id": sender, "text": f"answer to: {message}"},
        {"recipient_id": sender, "custom": {"kind": "answer", "language": "en", "item": "passport-apply"}},
    ])
    with rasa.serving() as url:
        yield rasa, url


@pytest.fixture
def client(fake_rasa, tmp_path, request):
    _, url = fake_rasa
    overrides = getattr(request, "param", {})
    with TestClient(create_app(Settings(rasa_url=url, var_dir=tmp_path, tts_gtts=False, **overrides))) as client:
        yield client


@pytest.fixture(scope="module")
def passport(tmp_path_factory):
    return encode(speak("How do I apply for a passport", tmp_path_factory.mktemp("voice"), name="passport"),
                  "webm-opus")


def post_voice(client: TestClient, audio: bytes, conversation: WebConversation | None = None,
               language: str | None = "en", filename: str = "voice.webm", content_type: str = "audio/webm"):
    """Post a recording in `conversation` (by default a new one), with its token."""
    conversation = conversation or open_conversation(client)
    data = {"sender": conversation.sender}
    if language is not None:
        data["language"] = language
    return client.post("/api/voice", files={"audio": (filename, audio, content_type)}, data=data,
                       headers=conversation.headers)


def tampered(token: str) -> str:
    """The token with one character of its MAC changed."""
    mac_start = token.rindex(".") + 1
    return token[:mac_start] + ("B" if token[mac_start] == "A" else "A") + token[mac_start + 1:]


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_chinese_without_its_model_says_so_in_words_and_speech(client, fake_rasa, passport):
    # (this gateway's var dir has no speech-models folder: as on a machine where set-up has not run)
    response = post_voice(client, passport.read_bytes(), language="zh")
    assert error_of(response) == (501, "stt_not_configured")
    body = response.json()
    assert "中文语音输入暂未开通，请打字或拨打12345" in body["error"]["message"]
    assert "Voice input in Chinese is not set up here — please type, or call 12345" in body["error"]["message"]
    assert body["speech"] == {"text": "中文语音输入暂未开通，请打字或拨打12345。", "language": "zh"}
    spoken = client.post("/api/tts", json=body["speech"])  # the page reads the hint aloud with the TTS service
    assert spoken.status_code == 200 and spoken.content[:4] == b"RIFF"
    assert fake_rasa[0].received == []


@pytest.mark.parametrize("audio, code", [
    (b"", "empty_audio"),
    (random.Random(8).randbytes(20_000), "not_audio"),
    ("这不是音频 this is a text file\n".encode() * 100, "not_audio"),
])
def test_bad_audio_gets_400_with_its_code(client, fake_rasa, audio, code):
    response = post_voice(client, audio)
    assert error_of(response) == (400, code)
    assert response.json()["error"]["message"]
    assert fake_rasa[0].received == []


@pytest.mark.parametrize("client", [{"stt_max_seconds": 1.0}], indirect=True)
def test_too_long_audio_is_refused(client, passport):
    assert error_of(post_voice(client, passport.read_bytes())) == (400, "too_long")


@pytest.mark.parametrize("client", [{"stt_max_audio_bytes": 1000}], indirect=True)
def test_too_large_audio_gets_413_in_the_route_and_before_parsing(client, passport):
    assert len(passport.read_bytes()) > 1000
    assert error_of(post_voice(client, passport.read_bytes())) == (413, "too_large")  # read by the route
    huge = post_voice(client, b"\0" * (200 * 1024))  # over the limit plus form overhead: refused by its length
    assert error_of(huge) == (413, "too_large")


def test_audio_over_the_chat_limit_is_accepted_for_voice_only(client, fake_rasa, tmp_path):
    clip = silence(tmp_path, 3.0).read_bytes()  # about 96 KB of WAV: more than /api/chat's 64 KiB
    assert len(clip) > 64 * 1024
    assert post_voice(client, clip, language="zh").status_code == 501  # past the size check
    assert client.post("/api/chat", content=b"{" + b" " * 70_000 + b"}",
                       headers={"content-type": "application/json"}).json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize("form, code", [
    ({"sender": "../etc", "language": "en"}, "invalid_sender"),
    ({"sender": "OWN", "language": "fr"}, "unknown_language"),
])
def test_invalid_fields_get_400(client, passport, form, code):
    conversation = open_conversation(client)
    form = {**form, "sender": conversation.sender} if form["sender"] == "OWN" else form
    response = client.post("/api/voice", files={"audio": ("v.webm", passport.read_bytes(), "audio/webm")}, data=form,
                           headers=conversation.headers)
    assert error_of(response) == (400, code)


def test_missing_audio_or_sender_gets_400(client, passport):
    conversation = open_conversation(client)
    no_audio = client.post("/api/voice", data={"sender": conversation.sender}, headers=conversation.headers)
    assert error_of(no_audio) == (400, "missing_field")
    no_sender = client.post("/api/voice", files={"audio": ("v.webm", passport.read_bytes(), "audio/webm")},
                            headers=conversation.headers)
    assert error_of(no_sender) == (400, "missing_field")


def test_voice_needs_the_conversations_own_token(client, fake_rasa, passport):
    audio = {"audio": ("v.webm", passport.read_bytes(), "audio/webm")}
    mine, theirs = open_conversation(client), open_conversation(client)
    anonymous = client.post("/api/voice", files=audio, data={"sender": mine.sender, "language": "zh"})
    assert error_of(anonymous) == (401, "missing_token")
    forged = client.post("/api/voice", files=audio, data={"sender": mine.sender, "language": "zh"},
                         headers={"Authorization": f"Bearer {tampered(mine.token)}"})
    assert error_of(forged) == (401, "bad_token")
    for sender in (theirs.sender, "telegram:123456789"):  # another web conversation; another channel's user
        refused = client.post("/api/voice", files=audio, data={"sender": sender, "language": "zh"},
                              headers=mine.headers)
        assert error_of(refused) == (403, "wrong_conversation"), sender
    # the same request with the right token gets past the identity check (to "Chinese is not set up")
    allowed = client.post("/api/voice", files=audio, data={"sender": mine.sender, "language": "zh"},
                          headers=mine.headers)
    assert error_of(allowed) == (501, "stt_not_configured")
    assert fake_rasa[0].received == []


@pytest.mark.parametrize("client", [{"openapi": True}], indirect=True)  # the description is off by default
def test_the_endpoint_is_in_the_openapi_description(client):
    operation = client.get("/openapi.json").json()["paths"]["/api/voice"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"401", "403"} <= set(operation["responses"])


# --- with Whisper (slow: loads the model) -------------------------------------------------------

@pytest.mark.slow
def test_speech_is_transcribed_and_answered_like_chat(client, fake_rasa, passport):
    conversation = open_conversation(client)
    response = post_voice(client, passport.read_bytes(), conversation, language=None)  # English by default
    assert response.status_code == 200, response.text
    body = response.json()
    transcript = body["transcript"]
    assert transcript["language"] == "en" and transcript["engine"] == "faster-whisper"
    assert "passport" in transcript["text"].lower() and 1.0 < transcript["seconds"] < 3.0
    assert body["confirm"] is False and body["sender"] == conversation.sender
    assert body["messages"] == [{"text": f"answer to: {transcript['text']}", "buttons": [], "image": None,
                                 "custom": {"kind": "answer", "language": "en", "item": "passport-apply"}}]
    [received] = fake_rasa[0].received
    assert len(received["metadata"].pop("request_id")) == 32  # none was given: a new one
    assert received == {"sender": conversation.sender, "message": transcript["text"],
                        "metadata": {"channel": "web", "input": "voice"}}


@pytest.mark.slow
@pytest.mark.parametrize("client", [{"stt_min_confidence": 0.99}], indirect=True)
def test_low_confidence_asks_first_and_yes_sends_the_text(client, fake_rasa, passport):
    conversation = open_conversation(client)
    body = post_voice(client, passport.read_bytes(), conversation).json()
    heard = body["transcript"]["text"]
    assert body["confirm"] is True and body["transcript"]["confidence"] < 0.99
    [question] = body["messages"]
    assert question["text"] == f"Did you mean “{heard}”?"
    assert question["buttons"] == [{"title": "Yes", "payload": heard}, {"title": "No", "payload": "/deny"}]
    assert fake_rasa[0].received == []  # nothing acted on yet
    yes = client.post("/api/chat", json={"sender": conversation.sender, "text": question["buttons"][0]["payload"]},
                      headers=conversation.headers)
    assert yes.status_code == 200
    assert [m["message"] for m in fake_rasa[0].received] == [heard]


@pytest.mark.slow
def test_silence_gets_no_speech(client, fake_rasa, tmp_path):
    assert error_of(post_voice(client, silence(tmp_path, 2.0).read_bytes())) == (422, "no_speech")
    assert fake_rasa[0].received == []


@pytest.mark.skipif(not check_whisper_base(ASSEMBLED / WHISPER_DIR).ready, reason="scripts/setup assembles the models")
def test_a_corrupt_chinese_model_gets_the_honest_reply_not_a_crash(fake_rasa, tmp_path, passport):
    models = tmp_path / "speech-models"
    shutil.copytree(ASSEMBLED / WHISPER_DIR, models / WHISPER_DIR)
    with (models / WHISPER_DIR / "model.bin").open("r+b") as model:
        model.seek(4096)
        model.write(b"\x00" * 64)  # same size, different bytes: only the sha256 check before loading sees it
    _, url = fake_rasa
    settings = Settings(rasa_url=url, var_dir=tmp_path, speech_models_dir=models, tts_gtts=False)
    with TestClient(create_app(settings)) as client:
        first, again = (post_voice(client, passport.read_bytes(), language="zh") for _ in range(2))
        english = post_voice(client, passport.read_bytes(), language="auto")  # English still works, undetected
    for response in (first, again):
        assert error_of(response) == (501, "stt_not_configured")
        assert "中文语音输入暂未开通" in response.json()["error"]["message"]
    assert english.status_code == 200 and english.json()["transcript"]["language"] == "en"
    assert "passport" in english.json()["transcript"]["text"].lower() and fake_rasa[0].received
