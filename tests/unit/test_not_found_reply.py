"""The reply to a question the knowledge base does not cover: the service is not in the guide, named in the
asker's words, with the 12345 hotline, the portal (from the settings) and a person, never a department."""

import re
from pathlib import Path

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.knowledge_answer import answer_nothing, portal
from core.settings import Settings, SettingsError
from testkit.conversation import tracker

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "bot" / "domain.yml").read_text(encoding="utf-8"))
DEPARTMENT_WORDS = re.compile(r"局|厅|委员会|部门|司法|公安|市场监管|department|bureau|ministry|office|agency",
                              re.IGNORECASE)


def rendered(message: dict, language: str) -> str:
    """The message's text as Rasa makes it: the response's variation for the language slot, its {placeholders}
    filled from the keywords the action sent (rasa.core.nlg.interpolator)."""
    variations = DOMAIN["responses"][message["response"]]
    [template] = [v["text"] for v in variations if [c["value"] for c in v.get("condition", [])] == [language]] or [
        v["text"] for v in variations if "condition" not in v]
    return re.sub(r"{([^\n{}]+?)}", r"{0[\1]}", template).format(message)


@pytest.fixture(autouse=True)
def default_portal(monkeypatch):
    """The portal's settings at their defaults (read once per process: the cache is cleared around each test)."""
    monkeypatch.delenv("GOVBOT_PORTAL_NAME", raising=False)
    monkeypatch.delenv("GOVBOT_PORTAL_URL", raising=False)
    portal.cache_clear()
    yield monkeypatch
    portal.cache_clear()


def reply(question: str, **slots) -> tuple[dict, dict]:
    """The one message answer_nothing sends for the question, and the slots it sets."""
    dispatcher = CollectingDispatcher()
    events = answer_nothing(dispatcher, tracker(question, "service_question", **slots), question)
    [message] = dispatcher.messages
    return message, {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


def test_a_chinese_near_miss_hears_that_the_service_is_not_in_the_guide_by_its_name():
    message, slots = reply("建筑施工许可证怎么办")
    assert rendered(message, "zh") == (
        "抱歉，“建筑施工许可证”不在我的办事指南里，我没法告诉您准确的办理方法。您可以拨打12345政务服务便民热线咨询，"
        "或登录国家政务服务平台（https://gjzwfw.www.gov.cn/）查询；也可以转人工客服。")
    assert message["custom"] == {"kind": "none", "language": "zh", "mode": {"large_text": False, "voice": False},
                                 "decision": "none"}
    assert [button["payload"] for button in message["buttons"]] == ["/ask_person"]
    assert slots["failed_turns"] == 1 and slots["last_decision"] == "none"


def test_an_english_near_miss_hears_it_in_english_with_the_portals_address():
    message, _ = reply("How do I get a Schengen visa?", language="en")
    text = rendered(message, "en")
    assert text.startswith("Sorry, \"Schengen visa\" is not in my guide to services")
    assert "12345" in text and "(https://gjzwfw.www.gov.cn/)" in text and "talk to a person" in text
    assert "国家政务服务平台" not in text  # the portal's (Chinese) name is for Chinese replies
    assert [button["title"] for button in message["buttons"]] == ["Talk to a person"]


@pytest.mark.parametrize("question, language", [("怎么办", "zh"), ("How do I apply?", "en"),
                                                ("我的身份证号是***************123X，帮我查一下", "zh")])
def test_without_a_sensible_topic_the_reply_says_it_in_general_words(question, language):
    message, _ = reply(question, language=language)
    text = rendered(message, language)
    assert text.startswith("抱歉，您问的这项服务不在我的办事指南里" if language == "zh"
                           else "Sorry, the service you asked about is not in my guide")
    assert "*" not in text and "123X" not in text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_reply_names_no_department_and_no_longer_leads_with_try_another_wording(language):
    for variation in DOMAIN["responses"]["utter_cannot_answer_service"]:
        assert not DEPARTMENT_WORDS.search(variation["text"]), variation["text"]
    message, _ = reply("我们公司想办营业性演出许可证去哪里申请", language=language)
    text = rendered(message, language)
    assert "营业性演出许可证" in text and not DEPARTMENT_WORDS.search(text)
    assert "换个说法" not in text and "another way" not in text


@pytest.mark.parametrize("large_text, voice", [(True, False), (False, True)])
def test_large_text_and_voice_get_the_same_short_reply(large_text, voice):
    message, _ = reply("如何申请南极科考站参观许可", large_text=large_text, voice=voice)
    text = rendered(message, "zh")
    assert "“南极科考站参观许可”" in text and len(text) <= 130 and "\n" not in text
    assert message["custom"]["mode"] == {"large_text": large_text, "voice": voice}
    english, _ = reply("How do I apply for a ham radio operator licence?", language="en", voice=voice)
    assert len(rendered(english, "en")) <= 300


def test_the_second_miss_in_a_row_still_hands_over_to_a_person():
    message, slots = reply("建筑施工许可证怎么办", failed_turns=1.0)
    assert message["response"] == "utter_handoff_after_failures" and "topic" not in message
    assert message["custom"]["handoff"]["reason"] == "not_understood" and slots["failed_turns"] == 0


def test_the_portal_comes_from_the_settings(default_portal):
    default_portal.setenv("GOVBOT_PORTAL_NAME", "浙江政务服务网")
    default_portal.setenv("GOVBOT_PORTAL_URL", "https://www.zjzwfw.gov.cn/")
    portal.cache_clear()
    message, _ = reply("建筑施工许可证怎么办")
    assert "或登录浙江政务服务网（https://www.zjzwfw.gov.cn/）查询" in rendered(message, "zh")
    english, _ = reply("How do I get a Schengen visa?", language="en")
    assert "(https://www.zjzwfw.gov.cn/)" in rendered(english, "en")


def test_the_portal_settings_have_defaults_and_refuse_a_bare_host():
    settings = Settings()
    assert (settings.portal_name, settings.portal_url) == ("国家政务服务平台", "https://gjzwfw.www.gov.cn/")
    with pytest.raises(SettingsError, match="GOVBOT_PORTAL_URL must be a web address"):
        Settings(portal_url="gjzwfw.www.gov.cn")
