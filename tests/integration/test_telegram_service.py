"""The Telegram bot with the real aiogram client against the stand-in Bot API (Rasa faked): turns, buttons,
modes, voice, flood control, a bad or revoked token, webhook mode."""

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Optional

import httpx
import numpy as np
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from fastapi.testclient import TestClient

from channels.common.rasa_client import RasaClient
from channels.gateway import create_app
from channels.telegram.service import TelegramService
from channels.telegram.state import UserState
from channels.voice.service import VoiceInput
from channels.voice.stt import Recognition, SpeechToText
from channels.voice.tts import default_tts
from core.settings import Settings, SettingsError
from testkit.helpers import FakeRasa, open_conversation
from testkit.speech import encode, needs_speech_tools, speak
from testkit.telegram_standin import TelegramStandIn

USER = 4242
LONG_ID = "social-security-card-transfer-between-two-cities"


def mode_of(sender: str, modes: dict[str, dict[str, bool]]) -> dict[str, bool]:
    return modes.setdefault(sender, {"large_text": False, "voice": False})


def fake_bot():  # type: ignore[no-untyped-def]
    """A tiny Rasa: modes per sender, a clarify offer with a long payload, an answer with < & >."""
    modes: dict[str, dict[str, bool]] = {}

    def reply(sender: str, message: str) -> list[dict]:
        mode = mode_of(sender, modes)
        kind, buttons = "answer", [{"title": "有用", "payload": "/rate_good"}]
        if message.startswith(("/large_text_", "/voice_")):
            name, state = message[1:].rsplit("_", 1)
            mode[name] = state == "on"
            text, kind, buttons = f"{name} {state}", "mode", []
        elif message == "/rate_good":
            text, kind, buttons = "感谢您的评价！", "rating", []
        elif message == "社保卡":
            text, kind = "您想问的是下面哪一项？\n1. 转移", "clarify"
            buttons = [{"title": "转移", "payload": '/choose_item{"item_id": "%s"}' % LONG_ID}]
        else:
            text = f"标题\n您问的是 <{message}> & 其他\n1. 第一步"
        return [{"recipient_id": sender, "text": text, "buttons": buttons},
                {"recipient_id": sender, "custom": {"kind": kind, "language": "zh", "mode": dict(mode)}}]
    return FakeRasa(reply=reply)


@pytest.fixture
def standin():
    with TelegramStandIn() as server:
        yield server


@pytest.fixture
def rasa():
    fake = fake_bot()
    with fake.serving() as url:
        fake.url = url
        yield fake


@asynccontextmanager
async def running(standin: TelegramStandIn, rasa_url: str, tmp_path: Path, voice: Optional[VoiceInput] = None,
                  **settings: object) -> AsyncIterator[TelegramService]:
    config = Settings(rasa_url=rasa_url, telegram_token=standin.token, telegram_api_url=standin.base_url,
                      **settings)  # type: ignore[arg-type]
    client = RasaClient(rasa_url, 5)
    service = TelegramService(config, client, default_tts(tmp_path, use_gtts=False), polling_timeout=1,
                              start_backoff=(0.1, 0.5), voice=voice)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
        await client.close()


async def until(condition, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return value


async def turn(standin: TelegramStandIn, text: str, count: int = 1, **kwargs: object) -> list:
    before = len(standin.sent(USER))
    standin.send_text(text, USER, **kwargs)  # type: ignore[arg-type]
    return await asyncio.to_thread(standin.wait_sent, USER, count, None, before)


async def test_a_message_goes_to_rasa_and_the_escaped_answer_comes_back(standin, rasa, tmp_path):
    async with running(standin, rasa.url, tmp_path) as service:
        [sent] = await turn(standin, "护照 <b>怎么</b> & 办")
        assert service.status == "polling"
    received = rasa.received[-1]
    assert received["metadata"].pop("request_id").startswith(f"tg-{USER}-")  # the Telegram message's id
    assert received == {"sender": f"telegram:{USER}", "message": "护照 <b>怎么</b> & 办",
                        "metadata": {"channel": "telegram", "language_code": "zh-hans"}}
    assert sent.params["parse_mode"] == "HTML"
    assert sent.text == "<b>标题</b>\n您问的是 &lt;护照 &lt;b&gt;怎么&lt;/b&gt; &amp; 办&gt; &amp; 其他\n1. 第一步"
    assert sent.inline_keyboard == [[{"text": "有用", "callback_data": "/rate_good"}]]
    assert {"zh", "en", ""} <= set(standin.state.commands)  # the command menu in both languages


async def test_a_clarify_button_with_a_long_payload_reaches_rasa_whole(standin, rasa, tmp_path):
    async with running(standin, rasa.url, tmp_path):
        [offer] = await turn(standin, "社保卡")
        [[button]] = offer.inline_keyboard
        assert button["callback_data"].startswith("k:") and len(button["callback_data"].encode()) <= 64
        standin.press(button["callback_data"], offer.message_id, USER)
        await asyncio.to_thread(standin.wait_sent, USER, 1, None, 2)  # the edit and the answer
        answered = await asyncio.to_thread(standin.wait_for, lambda: standin.sent(method="answerCallbackQuery"))
    assert rasa.received[-1]["message"] == '/choose_item{"item_id": "%s"}' % LONG_ID
    assert rasa.received[-1]["metadata"]["request_id"].startswith("tgcb-")  # the callback query's id
    assert "show_alert" not in answered[0].params or answered[0].params["show_alert"] is False
    edits = standin.sent(USER, "editMessageReplyMarkup")
    assert edits and edits[0].params["message_id"] == offer.message_id  # the choice's buttons taken away


async def test_a_rating_callback_is_announced_with_show_alert(standin, rasa, tmp_path):
    async with running(standin, rasa.url, tmp_path):
        [answer] = await turn(standin, "护照")
        standin.press("/rate_good", answer.message_id, USER)
        [alert] = await asyncio.to_thread(standin.wait_for, lambda: standin.sent(method="answerCallbackQuery"))
        thanks = await asyncio.to_thread(standin.wait_for, lambda: [s for s in standin.sent(USER, "sendMessage")
                                                                    if "感谢" in s.text])
    assert alert.params["show_alert"] is True and alert.params["text"] == "感谢您的评价！"
    assert thanks  # and it stays in the chat history too


async def test_an_expired_button_says_so(standin, rasa, tmp_path):
    async with running(standin, rasa.url, tmp_path):
        standin.press("k:0000000000", 1, USER)
        [alert] = await asyncio.to_thread(standin.wait_for, lambda: standin.sent(method="answerCallbackQuery"))
    assert alert.params["show_alert"] is True and "过期" in alert.params["text"]


async def test_large_toggles_with_a_reply_keyboard_and_voice_answers(standin, rasa, tmp_path):
    async with running(standin, rasa.url, tmp_path):
        sent = await turn(standin, "/large", count=2)  # the confirmation and its voice message
        assert rasa.received[-1]["message"] == "/large_text_on"
        [confirmation] = [s for s in sent if s.method == "sendMessage"]
        keyboard = confirmation.reply_keyboard
        assert keyboard and confirmation.params["reply_markup"]["is_persistent"] is True
        assert [b["text"] for row in keyboard for b in row][:2] == ["🔊 语音 开/关", "👤 转人工"]
        [voice] = [s for s in sent if s.method == "sendVoice"]
        assert voice.voice.startswith(b"OggS") and b"OpusHead" in voice.voice
        await turn(standin, "👤 转人工", count=2)  # a keyboard button is its command
        assert rasa.received[-1]["message"] == "/ask_person"
        off = await turn(standin, "/large")
        assert rasa.received[-1]["message"] == "/large_text_off"
        assert off[0].params["reply_markup"] == {"remove_keyboard": True}


async def test_voice_mode_sends_every_answer_as_ogg_opus_too(standin, rasa, tmp_path):
    async with running(standin, rasa.url, tmp_path):
        await turn(standin, "/voice", count=2)
        assert rasa.received[-1]["message"] == "/voice_on"
        sent = await turn(standin, "护照", count=2)
    assert [s.method for s in sent] == ["sendMessage", "sendVoice"]
    assert sent[1].voice.startswith(b"OggS") and b"OpusHead" in sent[1].voice
    assert sent[1].params["duration"] >= 1


async def test_start_greets_in_the_telegram_language_and_lang_switches(standin, rasa, tmp_path):
    async with running(standin, rasa.url, tmp_path):
        sent = await turn(standin, "/start", count=2, language_code="en")
        assert rasa.received[-1]["message"] == "hello" and "/large" in sent[-1].text
        await turn(standin, "/lang en")
        assert rasa.received[-1]["message"] == '/switch_language{"target_language": "en"}'
        await turn(standin, "/human")
        assert rasa.received[-1]["message"] == "/ask_person"
        help_text = await turn(standin, "/unknown")
        assert "/voice" in help_text[0].text and rasa.received[-1]["message"] == "/ask_person"  # not sent to Rasa


async def test_a_flood_control_429_is_waited_out_and_retried(standin, rasa, tmp_path, caplog):
    caplog.set_level(logging.WARNING, "govbot.telegram")
    async with running(standin, rasa.url, tmp_path):
        await until(lambda: standin.calls("getUpdates"))
        standin.flood("sendMessage", times=2, retry_after=1)
        [sent] = await turn(standin, "护照")
    calls = standin.calls("sendMessage")
    assert [status for _, _, status in calls] == [429, 429, 200]
    assert calls[1][1] - calls[0][1] >= 0.95 and calls[2][1] - calls[1][1] >= 0.95  # waited as asked
    assert "标题" in sent.text
    assert [r.getMessage() for r in caplog.records].count("telegram_flood_control") == 2


async def test_a_429_on_get_updates_does_not_stop_polling(standin, rasa, tmp_path):
    standin.flood("getUpdates", times=1, retry_after=1)
    async with running(standin, rasa.url, tmp_path):
        [sent] = await turn(standin, "护照")
    assert "标题" in sent.text and standin.calls("getUpdates")[0][2] == 429


async def test_rasa_down_gives_the_user_a_message(standin, tmp_path):
    async with running(standin, "http://127.0.0.1:9", tmp_path):
        [sent] = await turn(standin, "护照")
    assert "12345" in sent.text


async def test_telegram_unreachable_at_start_is_retried_in_the_background(rasa, tmp_path):
    server = TelegramStandIn()
    config = Settings(rasa_url=rasa.url, telegram_token=server.token, telegram_api_url=server.base_url)
    client = RasaClient(rasa.url, 5)
    service = TelegramService(config, client, None, polling_timeout=1, start_backoff=(0.2, 0.4))
    await service.start()  # returns at once although nothing listens yet
    await asyncio.sleep(0.6)
    assert service.status == "starting"
    server.start()
    try:
        await until(lambda: service.status == "polling")
        server.send_text("护照", USER)
        await asyncio.to_thread(server.wait_sent, USER, 1)
    finally:
        await service.stop()
        await client.close()
        server.stop()


def test_a_bad_token_is_logged_once_and_the_gateway_keeps_running(standin, rasa, caplog):
    caplog.set_level(logging.INFO)
    settings = Settings(rasa_url=rasa.url, telegram_token="111111:WrongTokenWrongTokenWrongToken_xyz",
                        telegram_api_url=standin.base_url)
    with TestClient(create_app(settings)) as client:
        service = client.app.state.telegram
        deadline = time.monotonic() + 10
        while service.status != "rejected" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.status == "rejected"
        time.sleep(0.5)
        assert client.get("/health").status_code == 200
        web = open_conversation(client)
        chatted = client.post("/api/chat", json={"sender": web.sender, "text": "护照"}, headers=web.headers)
        assert chatted.status_code == 200
    rejected = [r for r in caplog.records if r.getMessage() == "telegram_token_rejected"]
    assert len(rejected) == 1 and rejected[0].levelno == logging.ERROR
    assert "WrongToken" not in caplog.text  # the token itself is never logged
    assert [status for _, _, status in standin.calls()] == [401]  # one getMe, then Telegram is off


async def test_a_token_revoked_while_polling_stops_telegram_with_one_log_line(standin, rasa, tmp_path, caplog):
    caplog.set_level(logging.INFO, "govbot.telegram")
    async with running(standin, rasa.url, tmp_path) as service:
        await until(lambda: standin.calls("getUpdates"))
        standin.revoke_token()
        await until(lambda: service.status == "rejected")
        await asyncio.sleep(1.5)
        assert service._task is not None and service._task.done()
    assert [r.getMessage() for r in caplog.records].count("telegram_token_rejected") == 1


def test_no_token_means_telegram_is_off(rasa):
    with TestClient(create_app(Settings(rasa_url=rasa.url))) as client:
        assert client.app.state.telegram.status == "off"
        assert client.post("/telegram/webhook", json={"update_id": 1}).status_code == 404
        assert client.get("/health").status_code == 200


def test_webhook_mode_registers_checks_the_secret_and_handles_updates(standin, rasa):
    import threading

    import uvicorn

    from testkit.helpers import free_port
    port = free_port()
    settings = Settings(rasa_url=rasa.url, telegram_token=standin.token, telegram_api_url=standin.base_url,
                        telegram_mode="webhook", telegram_webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
                        telegram_webhook_secret="s3cret-Token_1", tts_gtts=False)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None,
                                           ws="websockets"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        standin.wait_for(lambda: standin.state.webhook, timeout=20)
        assert standin.state.webhook == {"url": settings.telegram_webhook_url, "secret_token": "s3cret-Token_1"}
        standin.send_text("护照", USER)  # the stand-in POSTs it to the webhook with the secret header
        [sent] = standin.wait_sent(USER, 1)
        assert "标题" in sent.text and not standin.calls("getUpdates")
        update = {"update_id": 99, "message": {"message_id": 1, "date": 0, "chat": {"id": USER, "type": "private"},
                                               "from": {"id": USER, "is_bot": False, "first_name": "x"}, "text": "hi"}}
        url = settings.telegram_webhook_url
        assert httpx.post(url, json=update).status_code == 401
        assert httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code == 401
        assert httpx.post(url, content=b"[1]", headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1",
                                                         "content-type": "application/json"}).status_code == 400
    finally:
        server.should_exit = True
        thread.join(20)


def test_webhook_mode_needs_its_url_and_secret():
    with pytest.raises(SettingsError, match="GOVBOT_TELEGRAM_WEBHOOK_URL"):
        Settings(telegram_token="1:x", telegram_mode="webhook")
    with pytest.raises(SettingsError, match="polling or webhook"):
        Settings(telegram_mode="push")
    assert "x" * 8 not in repr(Settings(telegram_token="123:" + "x" * 40))  # the token stays out of repr


async def test_the_standin_serves_files_like_telegram(standin):
    """getFile and the file download, through aiogram's own Bot.download."""
    file_id = standin.send_voice_note(b"OggS-voice-note", USER)
    session = AiohttpSession(api=TelegramAPIServer.from_base(standin.base_url))
    bot = Bot(standin.token, session=session)
    try:
        downloaded = await bot.download(file_id)
        assert downloaded is not None and downloaded.read() == b"OggS-voice-note"
    finally:
        await session.close()


async def test_without_speech_recognition_a_voice_note_gets_the_honest_answer(standin, rasa, tmp_path):
    async with running(standin, rasa.url, tmp_path):
        standin.send_voice_note(b"OggS", USER)
        [sent] = await asyncio.to_thread(standin.wait_sent, USER, 1, "sendMessage")
        [spoken] = await asyncio.to_thread(standin.wait_sent, USER, 1, "sendVoice")
    assert "语音输入暂未开通" in sent.text and "打字" in sent.text and not rasa.received
    assert spoken.voice[:4] == b"OggS"


class FakeEngine:
    """A recogniser that always hears `text` (and counts the clips it was given)."""

    def __init__(self, text: str) -> None:
        self.name, self.text, self.clips = f"fake-{text}", text, 0

    def recognize(self, samples: np.ndarray) -> Recognition:
        self.clips += 1
        return Recognition(self.text, 0.9)


class FakeDetector:
    """Says the clip is in `language`, as Whisper base's language detection would."""

    def __init__(self, language: str) -> None:
        self.language = language

    def detect(self, samples: np.ndarray, languages: tuple[str, ...] = ("zh", "en")) -> dict[str, float]:
        return {language: 0.9 if language == self.language else 0.1 for language in languages}


@pytest.fixture(scope="module")
def voice_note(tmp_path_factory) -> bytes:  # type: ignore[no-untyped-def]
    """A real OGG/Opus voice note (its words do not matter: the engines are fakes)."""
    return encode(speak("hello", tmp_path_factory.mktemp("note")), "ogg-opus").read_bytes()


@needs_speech_tools
async def test_a_voice_note_is_heard_in_the_language_detected_unless_the_user_chose_one(standin, rasa, tmp_path,
                                                                                          voice_note):
    zh, en = FakeEngine("身份证怎么补办"), FakeEngine("passport")
    voice = VoiceInput(SpeechToText({"zh": zh, "en": en}, detector=FakeDetector("zh")))
    async with running(standin, rasa.url, tmp_path, voice=voice) as service:
        standin.send_voice_note(voice_note, USER, "en")  # an English Telegram, Chinese speech
        heard, answer = await asyncio.to_thread(standin.wait_sent, USER, 2, "sendMessage")
        assert heard.text == "我听到：身份证怎么补办" and rasa.received[-1]["message"] == "身份证怎么补办"
        assert "身份证怎么补办" in answer.text and (zh.clips, en.clips) == (1, 0)
        service.conversation.states.set(USER, UserState(language="en", language_chosen=True))  # /lang en
        standin.send_voice_note(voice_note, USER, "en")
        heard, _ = await asyncio.to_thread(standin.wait_sent, USER, 2, "sendMessage", 2)
    assert heard.text == "I heard: passport" and (zh.clips, en.clips) == (1, 1)  # no detection: heard in English


@needs_speech_tools
async def test_a_chinese_user_without_chinese_speech_recognition_gets_the_honest_answer(standin, rasa, tmp_path,
                                                                                        voice_note):
    en = FakeEngine("passport")
    async with running(standin, rasa.url, tmp_path, voice=VoiceInput(SpeechToText({"en": en}))):
        standin.send_voice_note(voice_note, USER, "zh-hans")
        [said] = await asyncio.to_thread(standin.wait_sent, USER, 1, "sendMessage")
        [spoken] = await asyncio.to_thread(standin.wait_sent, USER, 1, "sendVoice")
        assert "中文语音输入暂未开通" in said.text and "12345" in said.text and spoken.voice[:4] == b"OggS"
        assert en.clips == 0 and not rasa.received  # not guessed at in English
        standin.send_voice_note(voice_note, 4343, "en")  # an English user is heard
        [heard, _] = await asyncio.to_thread(standin.wait_sent, 4343, 2, "sendMessage")
    assert heard.text == "I heard: passport" and en.clips == 1


def test_json_shapes_of_errors():
    with TelegramStandIn() as server:
        response = httpx.post(f"{server.base_url}/botWRONG/getMe")
        assert response.status_code == 401 and response.json() == {"ok": False, "error_code": 401,
                                                                    "description": "Unauthorized"}
        server.flood("getMe", 1, 7)
        response = httpx.post(f"{server.base_url}/bot{server.token}/getMe")
        assert response.status_code == 429 and response.json()["parameters"] == {"retry_after": 7}
        assert json.loads(httpx.post(f"{server.base_url}/bot{server.token}/getMe").text)["result"]["is_bot"]


async def test_a_shared_location_goes_to_rasa_as_the_share_location_payload(standin, rasa, tmp_path):
    async with running(standin, rasa.url, tmp_path):
        before = len(standin.sent(USER))
        standin.send_location(39.9042, 116.4074, USER)
        [sent] = await asyncio.to_thread(standin.wait_sent, USER, 1, None, before)
    received = rasa.received[-1]
    assert received["message"] == '/share_location{"latitude": 39.9042, "longitude": 116.4074}'
    assert json.loads(received["message"].removeprefix("/share_location")) == {"latitude": 39.9042,
                                                                                "longitude": 116.4074}
    assert received["metadata"]["request_id"].startswith(f"tg-{USER}-")  # the Telegram message's id, like text
    assert received["sender"] == f"telegram:{USER}" and sent.method == "sendMessage"
