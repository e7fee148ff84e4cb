"""End to end through Telegram: the real aiogram bot in the gateway of a real `govbot run` stack, polling the
stand-in Bot API (tests/telegram_standin.py), with the real Rasa, action server and knowledge search behind it.

The knowledge base is ours plus one test item (tests/data/telegram-kb-extra) whose answer is over 4,000
characters and contains < > &.
"""

import json
import re
import shutil
from pathlib import Path

import pytest

from bot.actions.render import render_answer
from channels.telegram.audio import ogg_duration, to_ogg_opus
from channels.telegram.render import LARGE_TEXT_MESSAGE, MAX_MESSAGE, utf16_length
from channels.voice.tts import default_tts
from core.settings import PROJECT_ROOT
from knowledge.loader import load_items
from testkit.speech import encode, kokoro_speak, needs_speech_models
from testkit.stack import Stack
from testkit.telegram_standin import TelegramStandIn

pytestmark = pytest.mark.slow

EXTRA_ITEMS = PROJECT_ROOT / "tests" / "data" / "telegram-kb-extra"
KB_DIR = PROJECT_ROOT / "var" / "e2e-telegram-kb"  # a fixed path, so its index is built once and reused
LONG_QUESTION = "telegram channel very long answer test item"
TAG = re.compile(r"</?b>")


def knowledge_dir():  # type: ignore[no-untyped-def]
    """Our items plus the test item, copied afresh (the index is rebuilt only when the content changed)."""
    if KB_DIR.exists():
        shutil.rmtree(KB_DIR)
    KB_DIR.mkdir(parents=True)
    for source in [*(PROJECT_ROOT / "knowledge" / "items").glob("*.yml"), *EXTRA_ITEMS.glob("*.yml")]:
        shutil.copy2(source, KB_DIR / source.name)
    return KB_DIR


@pytest.fixture(scope="module")
def stack(standin, tmp_path_factory):  # type: ignore[no-untyped-def]
    # Spoken answers by espeak-ng in both languages: offline and quick (Kokoro needs minutes per answer on a busy
    # two-core machine; its Mandarin is tested with the voice channel itself).
    env = {"TELEGRAM_BOT_TOKEN": standin.token, "GOVBOT_TELEGRAM_API_URL": standin.base_url,
           "GOVBOT_KB_DIR": str(knowledge_dir()), "GOVBOT_TTS_GTTS": "0", "GOVBOT_TTS_ZH_ENGINE": "espeak"}
    running = Stack(tmp_path_factory.mktemp("govbot-telegram"), env=env)
    running.wait_ready()
    standin.wait_for(lambda: standin.calls("getUpdates"), timeout=60)  # the bot is polling
    yield running
    running.stop()


SPEAKING = 180  # seconds to wait for a voice message (a long answer, spoken on a busy two-core machine)


def say(standin: TelegramStandIn, user: int, text: str, count: int = 1, method: str | None = None,
        language_code: str = "zh-hans", timeout: float = 90) -> list:
    """The user sends text; the bot's next `count` sends (of `method`, if given) to that user."""
    before = len(standin.sent(user, method))
    standin.send_text(text, user, language_code)
    return standin.wait_sent(user, count, method, before, timeout=timeout, settle=1.0)


def readable(html_text: str) -> str:
    return TAG.sub("", html_text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_a_chinese_question_gets_the_answer(stack, standin):
    [answer] = say(standin, 501, "护照怎么办理", method="sendMessage")
    assert answer.text.startswith("<b>普通护照首次申请</b>\n")
    assert "<b>办理步骤:</b>" in answer.text and "\n1. " in answer.text
    assert [b["callback_data"] for b in answer.inline_keyboard[0]] == ["/rate_good", "/rate_bad", "/ask_person"]


def test_a_clarify_keyboard_appears_and_a_callback_selects_an_item(stack, standin):
    [offer] = say(standin, 502, "社保卡", method="sendMessage")
    choices = [row[0] for row in offer.inline_keyboard]
    assert len(choices) >= 2 and all(c["callback_data"].startswith("/choose_item") for c in choices)
    lost = next(c for c in choices if "挂失" in c["text"])
    before = len(standin.sent(502, "sendMessage"))
    answered = len(standin.sent(method="answerCallbackQuery"))
    standin.press(lost["callback_data"], offer.message_id, 502)
    [answer] = standin.wait_sent(502, 1, "sendMessage", before, timeout=60)
    assert answer.text.startswith("<b>社会保障卡挂失与补办</b>")
    assert standin.sent(502, "editMessageReplyMarkup")[-1].params["message_id"] == offer.message_id
    standin.wait_for(lambda: len(standin.sent(method="answerCallbackQuery")) == answered + 1, timeout=30)


def test_large_changes_the_form(stack, standin):
    [normal] = say(standin, 503, "护照怎么办理", method="sendMessage")
    switched = say(standin, 503, "/large", count=2, timeout=SPEAKING)  # the confirmation (reply keyboard), its voice
    confirmation = next(s for s in switched if s.method == "sendMessage")
    assert "大字" in confirmation.text and confirmation.reply_keyboard
    assert any(s.method == "sendVoice" for s in switched)  # large-text mode speaks too
    large = say(standin, 503, "护照怎么办理", method="sendMessage")
    texts = [s.text for s in large]
    assert "需要带的材料" in normal.text and not any("需要带的材料" in t for t in texts)
    assert any("想了解更多请回复数字" in t for t in texts)
    assert all(utf16_length(t) <= LARGE_TEXT_MESSAGE + 40 for t in texts)
    assert "\n\n1. " in "".join(texts)  # one step per line, with space between
    standin.wait_for(lambda: len(standin.sent(503, "sendVoice")) >= 2, timeout=SPEAKING)  # the answer is spoken too
    off = say(standin, 503, "/large", method="sendMessage")
    assert off[0].params["reply_markup"] == {"remove_keyboard": True}


def test_voice_makes_the_next_answer_arrive_as_a_voice_message(stack, standin):
    turned_on = say(standin, 504, "/voice", method="sendMessage")
    assert "语音" in turned_on[0].text
    standin.wait_for(lambda: standin.sent(504, "sendVoice"), timeout=SPEAKING)
    before = len(standin.sent(504, "sendVoice"))
    say(standin, 504, "身份证丢了怎么补办", method="sendMessage")
    [voice] = standin.wait_sent(504, 1, "sendVoice", before, timeout=SPEAKING)
    assert voice.voice.startswith(b"OggS") and b"OpusHead" in voice.voice[:200]
    assert len(voice.voice) > 5000 and voice.params["duration"] >= 3


def test_html_special_characters_are_escaped_and_a_long_answer_is_split(stack, standin):
    parts = say(standin, 505, LONG_QUESTION, count=2, method="sendMessage")
    assert len(parts) >= 2
    assert parts[0].text.startswith("<b>Telegram channel test item: a very long answer</b>")
    assert all(utf16_length(p.text) < MAX_MESSAGE for p in parts)
    whole = "\n".join(p.text for p in parts)
    assert "Check the form &lt;section 1&gt; &amp; sign it" in whole and "<section" not in whole
    assert len(readable(whole)) > 4000 and "40. Check the form <section 40>" in readable(whole)
    assert parts[-1].inline_keyboard and not any(p.inline_keyboard for p in parts[:-1])
    [real] = say(standin, 505, "how do I claim unemployment benefit", method="sendMessage")
    # our own item, with its structured hotlines rendered in the answer
    assert "12333 (human resources and social security hotline)" in real.text


def test_a_429_from_the_server_is_retried(stack, standin):
    standin.flood("sendMessage", times=1, retry_after=2)
    started = len(standin.calls("sendMessage"))
    [answer] = say(standin, 506, "护照怎么办理", method="sendMessage")
    assert answer.text.startswith("<b>普通护照首次申请</b>")
    calls = standin.calls("sendMessage")[started:]
    assert calls[0][2] == 429 and calls[1][2] == 200 and calls[1][1] - calls[0][1] >= 1.9


def spoken_ogg(text: str, tmp_path) -> bytes:  # type: ignore[no-untyped-def]
    """An OGG/Opus voice note of the text, as Telegram's apps record them (espeak-ng, then ffmpeg)."""
    import subprocess

    wav, ogg = tmp_path / "note.wav", tmp_path / "note.ogg"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-ac", "1", "-ar", "48000",
                    "-c:a", "libopus", "-b:a", "24k", str(ogg)], check=True)
    return ogg.read_bytes()


def test_an_english_voice_note_is_heard_answered_and_in_voice_mode_answered_by_voice(stack, standin, tmp_path):
    user = 507
    say(standin, user, "/start", count=2, method="sendMessage", language_code="en")  # greeted in English
    say(standin, user, "/voice", method="sendMessage", language_code="en")  # voice mode on
    before_text, before_voice = len(standin.sent(user, "sendMessage")), len(standin.sent(user, "sendVoice"))
    standin.send_voice_note(spoken_ogg("How do I apply for a passport?", tmp_path), user, "en")
    heard, answer = standin.wait_sent(user, 2, "sendMessage", before_text, timeout=240)
    assert heard.text.startswith("I heard: ") and "passport" in heard.text.lower()
    assert "passport" in answer.text.lower() and "<b>Steps:</b>" in answer.text
    [voice] = standin.wait_sent(user, 1, "sendVoice", before_voice, timeout=SPEAKING)
    assert voice.voice.startswith(b"OggS")


def voice_lines(stack: Stack) -> list[dict]:
    """The gateway's log lines about the voice messages it sent to Telegram."""
    lines = (stack.var_dir / "log" / "gateway.log").read_text(errors="replace").splitlines()
    return [entry for entry in map(json.loads, (line for line in lines if '"telegram_voice"' in line))
            if entry.get("event") == "telegram_voice"]


def spoken_seconds(text: str, folder: Path) -> int:
    """How long espeak-ng (the stack's voice here) takes to read the text in Chinese, as Telegram is told."""
    speech = default_tts(folder, use_gtts=False).speak(text, "zh")
    return ogg_duration(to_ogg_opus(speech.audio))


@needs_speech_models
def test_a_chinese_voice_note_is_heard_answered_and_in_voice_mode_spoken_in_the_short_form(stack, standin, tmp_path):
    user = 508
    say(standin, user, "/voice", method="sendMessage", language_code="en")  # voice mode on; no language chosen
    standin.wait_for(lambda: standin.sent(user, "sendVoice"), timeout=SPEAKING)  # the confirmation, spoken
    before_text, before_voice = len(standin.sent(user, "sendMessage")), len(standin.sent(user, "sendVoice"))
    # a Kokoro voice the product does not speak with, recorded as Telegram's apps do
    note = encode(kokoro_speak("身份证丢了怎么补办", tmp_path, voice="zf_xiaoxiao"), "ogg-opus").read_bytes()
    standin.send_voice_note(note, user, "en")  # an English Telegram app: the speech says Chinese
    heard, answer = standin.wait_sent(user, 2, "sendMessage", before_text, timeout=240)
    assert heard.text.startswith("我听到：") and "身份证" in heard.text
    assert answer.text.startswith("<b>居民身份证丢失补领</b>\n") and "<b>需要带的材料:</b>" in answer.text
    [voice] = standin.wait_sent(user, 1, "sendVoice", before_voice, timeout=SPEAKING)
    assert voice.voice.startswith(b"OggS") and b"OpusHead" in voice.voice[:200]
    item = {item.id: item for item in load_items(KB_DIR)}["id-card-lost-replace"]
    short, full = render_answer(item, "zh", large_text=True), render_answer(item, "zh")
    spoken = [line for line in voice_lines(stack) if line["bytes"] == len(voice.voice)][-1]  # what made it:
    assert spoken["chars"] == len(short) and spoken["engine"] == "espeak-ng"  # the short form, read in Chinese
    assert abs(voice.params["duration"] - spoken_seconds(short, tmp_path)) <= 1
    assert voice.params["duration"] < spoken_seconds(full, tmp_path) * 0.7  # much shorter than reading it all
