"""Reporting a problem end to end, through the real trained Rasa and the real action server (with the dispatch
classifier on the product's encoder): the report form in Chinese and English, changing a field at the read-back,
cancelling, a masked phone number, a shared location, the status question, and a staff complaint still handed off."""

import secrets
from typing import Any, Iterator

import httpx
import pytest

from core.privacy import mask
from testkit.stack import rasa_and_action_server

pytestmark = pytest.mark.slow

RASA_TOKEN = secrets.token_urlsafe(32)
WORKORDER_KEYS = {"kind", "description", "address", "latitude", "longitude", "since", "contact_consent",
                  "contact_method", "contact_value", "department", "confidence", "urgency", "automatic"}


@pytest.fixture(scope="module")
def rasa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real Rasa server with the real action server behind it."""
    with rasa_and_action_server(tmp_path_factory.mktemp("report"), RASA_TOKEN,
                                secrets.token_urlsafe(32)) as (settings, _):
        yield f"http://127.0.0.1:{settings.rasa_port}"


def say(rasa: str, sender: str, text: str) -> list[dict[str, Any]]:
    """One message to Rasa's REST webhook (as the gateway sends it); the bot's messages."""
    response = httpx.post(f"{rasa}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                          params={"token": RASA_TOKEN}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in messages if m.get("text"))


def customs(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["custom"] for m in messages if m.get("custom")]


def step(messages: list[dict[str, Any]]) -> str:
    """The form step the bot asks for now (its prompt's `step`)."""
    return [c for c in customs(messages) if c.get("form") == "workorder"][-1]["step"]


def buttons(messages: list[dict[str, Any]]) -> dict[str, str]:
    return {b["title"]: b["payload"] for m in messages for b in m.get("buttons") or []}


def submitted(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The one `workorder_draft` payload of the reply, which has no text of its own."""
    [draft] = [c for c in customs(messages) if c["kind"] == "workorder_draft"]
    assert not text(messages)
    assert set(draft) == {"kind", "language", "mode", "workorder"} and set(draft["workorder"]) == WORKORDER_KEYS
    return draft


def test_the_full_report_in_chinese(rasa):
    user = "report-zh"
    opened = say(rasa, user, "我家楼下路灯坏了三天了")
    assert step(opened) == "address" and "地址" in text(opened)  # what happened was in the first message
    assert step(say(rasa, user, "朝阳区人民路5号")) == "since"
    contact = say(rasa, user, "三天了")
    assert step(contact) == "contact_method" and set(buttons(contact)) == {"在这里联系", "打电话", "不用联系"}
    readback = say(rasa, user, buttons(contact)["在这里联系"])
    assert step(readback) == "review"
    assert readback[0]["text"].splitlines()[1:5] == ["1. 问题：我家楼下路灯坏了三天了", "2. 地点：朝阳区人民路5号",
                                                     "3. 开始时间：三天了", "4. 联系：在本对话中联系"]
    draft = submitted(say(rasa, user, buttons(readback)["提交"]))
    assert draft["language"] == "zh" and draft["mode"] == {"large_text": False, "voice": False}
    order = draft["workorder"]
    assert order | {"department": None, "confidence": None, "urgency": None, "automatic": None} == {
        "kind": "help", "description": "我家楼下路灯坏了三天了", "address": "朝阳区人民路5号", "latitude": None,
        "longitude": None, "since": "三天了", "contact_consent": True, "contact_method": "chat",
        "contact_value": None, "department": None, "confidence": None, "urgency": None, "automatic": None}
    assert order["department"] == "city-management" and 0 < order["confidence"] <= 1  # the real classifier
    assert order["urgency"] in ("urgent", "high", "normal", "low") and isinstance(order["automatic"], bool)
    # the report is over: a service question is answered as before
    assert any(c.get("item") for c in customs(say(rasa, user, "护照怎么办理")))


def test_the_full_report_in_english_with_a_vague_opening_and_a_shared_location(rasa):
    user = "report-en"
    opened = say(rasa, user, "I want to report a problem")
    assert step(opened) == "description" and customs(opened)[-1]["language"] == "en"
    assert step(say(rasa, user, "The fire exit at the shopping centre is blocked with boxes")) == "address"
    assert step(say(rasa, user, '/share_location{"latitude": 39.9042, "longitude": 116.4074}')) == "since"
    contact = say(rasa, user, "I don't know")
    assert step(contact) == "contact_method"
    readback = say(rasa, user, buttons(contact)["No contact"])
    assert "2. Where: (location shared)" in text(readback) and "3. Since: not known" in text(readback)
    order = submitted(say(rasa, user, "submit"))["workorder"]
    assert order["description"] == "The fire exit at the shopping centre is blocked with boxes"
    assert (order["address"], order["latitude"], order["longitude"]) == ("(location shared)", 39.9042, 116.4074)
    assert order["since"] is None and order["contact_consent"] is False and order["contact_method"] is None


def test_a_masked_phone_is_kept_as_it_arrived_and_a_field_is_changed_at_the_read_back(rasa):
    user = "report-change"
    say(rasa, user, "晚上工地施工噪音太大，我要投诉")
    say(rasa, user, "人民路3号")
    say(rasa, user, "上周一开始的")
    assert step(say(rasa, user, "打电话")) == "contact_value"
    phone = mask("13812345678")  # what the gateway sends Rasa
    readback = say(rasa, user, phone)
    assert f"4. 联系：电话 {phone}" in text(readback)
    which = say(rasa, user, buttons(readback)["修改"])
    assert step(which) == "change" and set(buttons(which)) == {"问题", "地点", "开始时间", "联系方式"}
    assert step(say(rasa, user, buttons(which)["地点"])) == "address"  # only that field is asked again
    again = say(rasa, user, "人民路5号")
    assert step(again) == "review" and "2. 地点：人民路5号" in text(again)
    order = submitted(say(rasa, user, "提交"))["workorder"]
    assert order["kind"] == "complaint" and order["address"] == "人民路5号"
    assert (order["contact_method"], order["contact_value"], order["contact_consent"]) == ("phone", phone, True)


def test_a_correction_mid_form(rasa):
    user = "report-correct"
    say(rasa, user, "小区垃圾三天没人收了")
    say(rasa, user, "幸福路8号")
    corrected = say(rasa, user, "地址说错了，是幸福路18号")
    assert step(corrected) == "since" and "已改好" in text(corrected)
    say(rasa, user, "三天了")
    readback = say(rasa, user, "不用联系")
    assert "2. 地点：幸福路18号" in text(readback)


@pytest.mark.parametrize("cancel", ["取消", "算了", "/cancel", "never mind"])
def test_cancel_mid_form_files_nothing(rasa, cancel):
    user = f"report-cancel-{cancel}"
    say(rasa, user, "我们小区停水一整天了")
    say(rasa, user, "和平街12号")
    stopped = say(rasa, user, cancel)
    assert not [c for c in customs(stopped) if c["kind"] == "workorder_draft"]
    assert "取消" in text(stopped) or "cancelled" in text(stopped).lower()
    # nothing is left of the report: a new one starts from its first question
    assert step(say(rasa, user, "我要反映问题")) == "description"


def test_a_service_question_mid_form_is_answered_and_the_form_goes_on(rasa):
    user = "report-question"
    say(rasa, user, "路口的红绿灯坏了")
    answered = say(rasa, user, "护照怎么办理")
    assert any(c.get("item") == "passport-apply" for c in customs(answered))
    assert step(answered) == "address"


@pytest.mark.parametrize("words, number", [("我的工单到哪一步了", None), ("GD202612040001 进度", "GD202612040001"),
                                           ("what's the status of my report", None),
                                           ("check order GD2026031410000", "GD2026031410000")])
def test_the_status_question_asks_the_gateway(rasa, words, number):
    reply = say(rasa, "report-status", words)
    assert not text(reply)
    [custom] = customs(reply)
    assert custom["kind"] == "workorder_status" and custom["number"] == number


def test_a_complaint_about_staff_still_goes_to_a_person(rasa):
    reply = say(rasa, "report-staff", "我要投诉窗口工作人员态度差")
    [custom] = customs(reply)
    assert custom["kind"] == "handoff" and custom["handoff"]["reason"] == "complaint" and "12345" in text(reply)
