"""End to end through the real Rasa server's REST webhook (with the real action server and knowledge
search behind it): answers, follow-ups, language, modes, ratings, handoff and odd messages."""

import json
import secrets
import sqlite3
import subprocess

import httpx
import pytest

from core.settings import PROJECT_ROOT, Settings
from govbot.training import model_path
from testkit.stack import Stack, module_stack

pytestmark = pytest.mark.slow


# Rasa's REST webhook answers only callers with its token (bot.rest_channel): the stack is given a known one.
RASA_TOKEN = secrets.token_urlsafe(32)
stack = module_stack("govbot-dialogue", {"GOVBOT_RASA_TOKEN": RASA_TOKEN})


def say(stack: Stack, sender: str, text: str) -> list[dict]:
    """Send one message to Rasa's REST webhook (with Rasa's token, as the gateway does); the bot's messages."""
    response = httpx.post(f"http://127.0.0.1:{stack.ports['rasa']}/webhooks/rest/webhook",
                          json={"sender": sender, "message": text}, params={"token": RASA_TOKEN}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def texts(messages: list[dict]) -> str:
    return "\n".join(m["text"] for m in messages if m.get("text"))


def payload(messages: list[dict]) -> dict:
    """The custom payload of the reply (each reply has exactly one)."""
    [custom] = [m["custom"] for m in messages if m.get("custom")]
    return custom


def test_answer_then_follow_ups_in_chinese_and_english(stack):
    answer = say(stack, "e2e-passport", "护照怎么办理")
    assert payload(answer)["item"] == "passport-apply" and texts(answer).startswith("普通护照首次申请")
    materials = say(stack, "e2e-passport", "需要带什么材料")
    assert payload(materials)["item"] == "passport-apply" and payload(materials)["field"] == "materials"
    assert "需要带的材料:" in texts(materials) and "居民身份证" in texts(materials)
    fee = say(stack, "e2e-passport", "How much does it cost?")
    assert payload(fee) | {"mode": None} == {"kind": "follow_up", "language": "en", "mode": None,
                                             "item": "passport-apply", "decision": "answer", "field": "fees"}
    assert texts(fee).startswith("Apply for an ordinary passport\nFee: ") and "yuan" in texts(fee)


def test_out_of_scope_is_not_answered_from_the_knowledge_base(stack):
    reply = say(stack, "e2e-oos", "给我讲个笑话")
    assert "不在我的服务范围" in texts(reply) and "item" not in payload(reply)


def test_large_text_mode_changes_the_next_answers_form_and_is_kept(stack):
    normal = say(stack, "e2e-normal", "护照怎么办理")
    assert "需要带的材料:" in texts(normal) and payload(normal)["mode"]["large_text"] is False
    switched = say(stack, "e2e-large", "字太小了")
    assert payload(switched)["mode"] == {"large_text": True, "voice": False}
    large = say(stack, "e2e-large", "护照怎么办理")
    assert payload(large)["mode"]["large_text"] is True and payload(large)["item"] == "passport-apply"
    assert "需要带的材料:" not in texts(large) and "回复数字" in texts(large)
    steps = [line for line in texts(large).splitlines() if line[:1].isdigit()]
    assert 1 <= len(steps) <= 5
    menu = say(stack, "e2e-large", "1")
    assert payload(menu)["field"] == "materials"
    # a new session (as after a long pause) carries the modes over
    say(stack, "e2e-large", "/session_start")
    assert payload(say(stack, "e2e-large", "结婚登记怎么办"))["mode"]["large_text"] is True
    say(stack, "e2e-large", "关闭大字模式")
    assert payload(say(stack, "e2e-large", "结婚登记怎么办"))["mode"]["large_text"] is False


def test_voice_mode_is_switched_by_words_and_by_button_payload(stack):
    assert payload(say(stack, "e2e-voice", "read the answers aloud"))["mode"]["voice"] is True
    assert payload(say(stack, "e2e-voice", "/voice_off"))["mode"]["voice"] is False


def test_explicit_language_switch_sticks(stack):
    assert payload(say(stack, "e2e-lang", "请用英文"))["language"] == "en"
    reply = say(stack, "e2e-lang", "结婚登记要带什么材料")
    assert payload(reply)["language"] == "en" and "marriage" in texts(reply).lower()
    assert payload(say(stack, "e2e-lang", "中文"))["language"] == "zh"
    assert payload(say(stack, "e2e-lang", "how do I get a passport"))["language"] == "zh"


def test_a_vague_question_offers_items_and_the_button_payload_picks_one(stack):
    offer = say(stack, "e2e-clarify", "社保卡")
    custom = payload(offer)
    assert custom["decision"] == "clarify"
    [buttons] = [m["buttons"] for m in offer if m.get("buttons")]
    picked = say(stack, "e2e-clarify", buttons[1]["payload"])
    assert payload(picked)["item"] == custom["items"][1]


def test_ratings_are_stored_and_a_bad_one_leads_to_a_person(stack):
    assert payload(say(stack, "e2e-rate", "我想办结婚登记"))["item"] == "marriage-registration"
    assert "满意" in texts(say(stack, "e2e-rate", "非常满意"))
    sorry = say(stack, "e2e-rate", "👎")
    assert "转人工" in texts(sorry)
    handoff = payload(say(stack, "e2e-rate", "/affirm"))["handoff"]
    assert handoff["reason"] == "bad_rating" and handoff["language"] == "zh"
    with sqlite3.connect(stack.var_dir / "govbot.db") as db:
        rows = db.execute("select level, item, decision, question from ratings where sender_id = 'e2e-rate'"
                          " order by id").fetchall()
    assert [row[0] for row in rows] == [5, 2]
    assert handoff["item"] == "marriage-registration"
    assert all(row[1:] == ("marriage-registration", "answer", "我想办结婚登记") for row in rows)


@pytest.mark.parametrize("text, reason", [("转人工", "user_request"), ("I want to make a complaint", "complaint")])
def test_asking_for_a_person_or_complaining_emits_the_handoff_payload(stack, text, reason):
    reply = say(stack, f"e2e-handoff-{reason}", text)
    assert payload(reply)["handoff"]["reason"] == reason and "12345" in texts(reply)


def test_two_unanswered_questions_in_a_row_hand_off(stack):
    first = say(stack, "e2e-none", "我想申请游艇驾驶执照")
    assert payload(first)["decision"] == "none"
    second = say(stack, "e2e-none", "无人机飞行执照怎么考")
    assert payload(second)["handoff"] == {"reason": "not_understood", "item": None, "language": "zh"}
    assert "人工" in texts(second)


@pytest.mark.parametrize("text", ["😀😀", "asdfghjkl qwerty", "？？？", "我想 apply for 护照 please",
                                  "请问" + "社保卡怎么办理，" * 150, "Hi!!! 👋👋"])
def test_odd_messages_get_a_sensible_reply(stack, text):
    reply = say(stack, "e2e-odd", text)
    assert texts(reply).strip() and payload(reply)["kind"]


def test_conversation_test_stories_pass(stack, tmp_path):
    settings = Settings(models_dir=PROJECT_ROOT / "var" / "models")
    result = subprocess.run([str(settings.rasa_venv / "bin" / "rasa"), "test", "core", "--stories", "tests/stories",
                             "--model", str(model_path(settings)), "--out", str(tmp_path)],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "story_report.json").read_text())
    assert report["conversation_accuracy"]["accuracy"] == 1.0, (tmp_path / "failed_test_stories.yml").read_text()
    assert report["conversation_accuracy"]["total"] >= 18
