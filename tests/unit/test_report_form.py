"""The report form without the model: the kind rule, reading and checking answers, the read-back, the
`workorder_draft` and `workorder_status` payloads (the real trained dialogue: tests/e2e/test_report_dialogue.py)."""

from dataclasses import dataclass
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import ActionAskReview, ActionSubmitWorkorder, ActionWorkorderStatus, runtime
from bot.actions.report_draft import draft, readback
from bot.actions.report_form import ValidateWorkorderForm, answer_of
from bot.actions.report_kind import request_kind
from bot.actions.report_wording import correction, is_cancel, is_specific, phone_shape
from bot.actions.runtime import ActionRuntime
from bot.actions.workorder_status import order_number
from core.privacy import mask
from testkit.conversation import run, tracker
from workorders.classifier import Urgency
from workorders.lifecycle import MAX_SHORT, MAX_TEXT
from workorders.records import RequestKind

DOMAIN = {"forms": {"workorder_form": {"required_slots": ["wo_description", "wo_address", "wo_since",
                                                         "wo_contact_method", "wo_review"]}},
          "slots": {}}
FILLED = {"wo_description": "我家楼下路灯坏了三天了", "wo_address": "人民路5号", "wo_since": "三天了",
          "wo_contact_method": "phone", "wo_contact_value": "*******5678"}


@pytest.mark.parametrize("words, kind", [
    ("我家楼下路灯坏了三天了", RequestKind.HELP), ("停水一整天了", RequestKind.HELP),
    ("我要举报有人往河里偷倒垃圾", RequestKind.REPORT), ("someone is dumping waste illegally", RequestKind.REPORT),
    ("建议在学校门口加个红绿灯", RequestKind.SUGGESTION), ("it would be better to have a crossing here",
                                                        RequestKind.SUGGESTION),
    ("晚上广场舞太吵了，我要投诉", RequestKind.COMPLAINT),
    ("I want to complain about the noise", RequestKind.COMPLAINT),
    ("想咨询一下暖气什么时候来", RequestKind.CONSULTATION),
])
def test_the_kind_of_request_follows_the_citizens_words(words, kind):
    assert request_kind(words) is kind


@pytest.mark.parametrize("words, specific", [("我家楼下路灯坏了三天了", True), ("我要反映问题", False),
                                             ("I want to report a problem", False), ("我想反映一个情况", False),
                                             ("the fire exit at the mall is blocked", True), ("小区停水了", True)])
def test_a_report_is_specific_when_it_says_what_happened(words, specific):
    assert is_specific(words) is specific


@pytest.mark.parametrize("words", ["取消", "算了", "不报了", "cancel", "Never mind.", "算了吧！"])
def test_cancel_words(words):
    assert is_cancel(words)
    assert not is_cancel("取消的航班怎么退票")


@pytest.mark.parametrize("number, ok", [(mask("13812345678"), True), ("138****5678", True), ("***-****-5678", True),
                                        ("+86 *******5678", True), ("13812345678", True), ("010-12345678", True),
                                        ("12345", False), ("********", False), ("call me", False),
                                        ("1" * 20, False)])
def test_a_phone_is_accepted_masked_as_the_gateway_sends_it(number, ok):
    assert phone_shape(number) is ok


def test_corrections_name_the_field_and_the_new_value():
    assert correction("地址说错了，是人民路5号") == ("wo_address", "人民路5号")
    assert correction("the address is wrong, it's 5 Renmin Road") == ("wo_address", "5 Renmin Road")
    assert correction("人民路5号") is None


async def validate(slot: str, value: Any, text: str = "", **slots: Any) -> dict:
    form = ValidateWorkorderForm()
    method = getattr(form, f"validate_{slot}")
    return await method(value, CollectingDispatcher(), tracker(text or str(value), **slots), DOMAIN)


async def test_too_long_free_text_is_asked_again_with_the_limit():
    assert await validate("wo_address", "路" * (MAX_SHORT + 1), requested_slot="wo_address") == {
        "wo_address": None, "wo_note": f"too_long:{MAX_SHORT}", "wo_latitude": None, "wo_longitude": None}
    assert (await validate("wo_description", "灯" * (MAX_TEXT + 1), requested_slot="wo_description"))["wo_note"] \
        == f"too_long:{MAX_TEXT}"
    assert (await validate("wo_since", "三天了", requested_slot="wo_since")) == {"wo_since": "三天了"}


async def test_a_vague_opening_is_asked_about_and_a_vague_answer_is_asked_again():
    assert await validate("wo_description", "我要反映问题") == {"wo_description": None}
    assert await validate("wo_description", "我要反映问题", requested_slot="wo_description") == {
        "wo_description": None, "wo_note": "vague"}


async def test_contact_answers_and_a_masked_phone():
    assert await validate("wo_contact_method", "phone", requested_slot="wo_contact_method") == {
        "wo_contact_method": "phone"}
    assert await validate("wo_contact_method", "不用联系我", requested_slot="wo_contact_method") == {
        "wo_contact_method": "none", "wo_contact_value": None}
    assert await validate("wo_contact_method", "打 *******5678", requested_slot="wo_contact_method") == {
        "wo_contact_method": "phone", "wo_contact_value": "*******5678"}
    assert await validate("wo_contact_value", "138****5678", requested_slot="wo_contact_value") == {
        "wo_contact_value": "138****5678"}
    assert await validate("wo_contact_value", "不知道", requested_slot="wo_contact_value") == {
        "wo_contact_value": None, "wo_note": "phone"}


async def test_since_unknown_and_the_read_back_answers():
    assert await validate("wo_since", "不知道", requested_slot="wo_since") == {"wo_since": "unknown"}
    assert await validate("wo_review", "submit") == {"wo_review": "submit"}
    assert await validate("wo_review", "change") == {"wo_review": None, "wo_changing": True, "wo_change": None}
    assert await validate("wo_review", "改一下地址") == {"wo_review": None, "wo_address": None, "wo_latitude": None,
                                                        "wo_longitude": None}
    assert await validate("wo_change", "contact", wo_changing=True) == {
        "wo_change": "contact", "wo_changing": False, "wo_contact_method": None, "wo_contact_value": None}


def message_tracker(text: str, intent: str, confidence: float = 1.0, entities: Any = None,
                    **slots: Any) -> Tracker:
    made = tracker(text, intent, entities, **slots)
    made.latest_message["intent"]["confidence"] = confidence
    return made


def test_what_a_message_fills():
    assert answer_of(message_tracker("我家楼下路灯坏了", "report_problem")) == {"wo_description": "我家楼下路灯坏了"}
    assert answer_of(message_tracker("人民路5号", "nlu_fallback", 0.2, requested_slot="wo_address")) == {
        "wo_address": "人民路5号"}
    assert answer_of(message_tracker("算了", "deny", requested_slot="wo_since")) == {"wo_review": "cancel"}
    assert answer_of(message_tracker("/cancel", "cancel", requested_slot="wo_review")) == {"wo_review": "cancel"}
    assert answer_of(message_tracker("地址说错了，是人民路5号", "nlu_fallback", 0.3, requested_slot="wo_since")) == {
        "wo_address": "人民路5号"}
    assert answer_of(message_tracker('/report_choice{"choice": "phone"}', "report_choice",
                                     entities=[{"entity": "choice", "value": "phone"}],
                                     requested_slot="wo_contact_method")) == {"wo_contact_method": "phone"}
    location = [{"entity": "latitude", "value": 39.9}, {"entity": "longitude", "value": 116.4}]
    assert answer_of(message_tracker('/share_location{"latitude": 39.9, "longitude": 116.4}', "share_location",
                                     entities=location, requested_slot="wo_address")) == {
        "wo_address": "（位置已分享）"}
    # interruptions: another flow's button, a clear service question, a clear request for a person
    assert answer_of(message_tracker("/rate_good", "rate_good", requested_slot="wo_address")) == {}
    assert answer_of(message_tracker("身份证怎么补办", "service_question", 0.9, requested_slot="wo_since")) == {}
    assert answer_of(message_tracker("转人工", "ask_person", 0.95, requested_slot="wo_since")) == {}


async def test_a_shared_location_keeps_its_coordinates():
    location = [{"entity": "latitude", "value": 39.9}, {"entity": "longitude", "value": 116.4}]
    checked = await ValidateWorkorderForm().validate_wo_address(
        "（位置已分享）", CollectingDispatcher(), message_tracker("/share_location", "share_location",
                                                             entities=location, requested_slot="wo_address"), DOMAIN)
    assert checked == {"wo_address": "（位置已分享）", "wo_latitude": 39.9, "wo_longitude": 116.4}


async def test_the_form_run_fills_and_asks_the_next_slot():
    form = ValidateWorkorderForm()
    events = await form.run(CollectingDispatcher(), message_tracker("打电话", "nlu_fallback", 0.2,
                                                                    requested_slot="wo_contact_method",
                                                                    **{k: FILLED[k] for k in list(FILLED)[:3]}),
                            DOMAIN)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["wo_contact_method"] == "phone" and slots["requested_slot"] == "wo_contact_value"
    cancelled = await form.run(CollectingDispatcher(), message_tracker("不报了", "cancel", 0.9,
                                                                      requested_slot="wo_since"), DOMAIN)
    slots = {e["name"]: e["value"] for e in cancelled if e.get("event") == "slot"}
    assert slots == {"wo_review": "cancel", "requested_slot": None}


@pytest.mark.parametrize("language, lines", [
    ("zh", ["1. 问题：我家楼下路灯坏了三天了", "2. 地点：人民路5号", "3. 开始时间：三天了",
            "4. 联系：电话 *******5678"]),
    ("en", ["1. What happened: 我家楼下路灯坏了三天了", "2. Where: 人民路5号", "3. Since: 三天了",
            "4. Contact: phone *******5678"])])
def test_the_read_back_is_short_numbered_lines(language, lines):
    assert readback(FILLED, language).splitlines()[1:5] == lines


async def test_the_read_back_offers_submit_change_and_cancel():
    messages, slots = await run(ActionAskReview(), "三天了", **FILLED)
    [message] = messages
    assert [b["payload"] for b in message["buttons"]] == ['/report_choice{"choice": "submit"}',
                                                          '/report_choice{"choice": "change"}', "/cancel"]
    assert message["custom"]["kind"] == "prompt" and message["custom"]["step"] == "review"
    assert slots == {"wo_note": None}


@dataclass
class FakeProposal:
    department: str = "city_management"
    confidence: float = 0.8312345
    urgency: Urgency = Urgency.NORMAL
    automatic: bool = True


class FakeClassifier:
    def __init__(self, fails: bool = False) -> None:
        self.fails, self.texts = fails, []

    def propose(self, text: str) -> FakeProposal:
        self.texts.append(text)
        if self.fails:
            raise RuntimeError("broken")
        return FakeProposal()


def test_the_draft_is_exactly_the_contract():
    assert draft(FILLED, FakeProposal()) == {  # type: ignore[arg-type]
        "kind": "help", "description": "我家楼下路灯坏了三天了", "address": "人民路5号", "latitude": None,
        "longitude": None, "since": "三天了", "contact_consent": True, "contact_method": "phone",
        "contact_value": "*******5678", "department": "city_management", "confidence": 0.8312,
        "urgency": "normal", "automatic": True}
    none = draft({**FILLED, "wo_contact_method": "none", "wo_since": "unknown", "wo_kind": "complaint",
                  "wo_latitude": 39.9, "wo_longitude": 116.4}, None)
    assert none | {"description": None} == {
        "kind": "complaint", "description": None, "address": "人民路5号", "latitude": 39.9, "longitude": 116.4,
        "since": None, "contact_consent": False, "contact_method": None, "contact_value": None,
        "department": None, "confidence": None, "urgency": "normal", "automatic": False}


@pytest.mark.parametrize("classifier", [FakeClassifier(), FakeClassifier(fails=True), None])
async def test_submit_sends_one_payload_and_no_text_whatever_the_classifier(classifier):
    runtime.install(ActionRuntime(knowledge=None, open_ratings=lambda: pytest.fail("no rating"),  # type: ignore
                                  dispatch=classifier))
    try:
        messages, slots = await run(ActionSubmitWorkorder(), "/report_choice", "report_choice", **FILLED)
    finally:
        runtime.install(None)
    [message] = messages
    assert message["text"] is None and message["response"] is None
    custom = message["custom"]
    assert set(custom) == {"kind", "language", "mode", "workorder"} and custom["kind"] == "workorder_draft"
    assert custom["language"] == "zh" and custom["mode"] == {"large_text": False, "voice": False}
    proposed = classifier is not None and not classifier.fails
    assert custom["workorder"]["department"] == ("city_management" if proposed else None)
    assert custom["workorder"]["automatic"] is proposed
    assert all(value is None for value in slots.values()) and "wo_description" in slots


@pytest.mark.parametrize("text, entity, number", [("GD202612040001 进度", None, "GD202612040001"),
                                                  ("查询工单gd2026031410000", None, "GD2026031410000"),
                                                  ("我的工单到哪一步了", None, None),
                                                  ("status", "GD202612040002", "GD202612040002")])
async def test_the_status_payload_carries_the_number_if_any(text, entity, number):
    assert order_number(entity, text) == number
    entities = [{"entity": "order_number", "value": entity}] if entity else []
    [message], _ = await run(ActionWorkorderStatus(), text, "workorder_status", entities=entities)
    assert message["text"] is None
    assert message["custom"] == {"kind": "workorder_status", "language": "zh",
                                 "mode": {"large_text": False, "voice": False}, "number": number}
