"""End to end through the gateway's chat API (real Rasa, action server and knowledge search behind it): a question
about a service no item covers is told so honestly, by its name, with the 12345 hotline, the portal the
deployment configured and a person to talk to; no department is guessed and no item is answered."""

import pytest

from testkit.stack import Stack, module_stack, post_chat

pytestmark = pytest.mark.slow

# A deployment's own portal: the reply must carry what the settings say, not a built-in text.
PORTAL_NAME, PORTAL_URL = "浙江政务服务网", "https://www.zjzwfw.gov.cn/"
stack = module_stack("govbot-near-miss", {"GOVBOT_PORTAL_NAME": PORTAL_NAME, "GOVBOT_PORTAL_URL": PORTAL_URL})


def the_reply(stack: Stack, conversation: str, text: str) -> dict:
    """The one message the bot answers `text` with in a new web conversation."""
    response = post_chat(stack, conversation, text)
    assert response.status_code == 200, response.text
    [message] = response.json()["messages"]
    return message


def test_a_chinese_near_miss_gets_the_honest_reply_with_its_topic_12345_the_portal_and_a_person(stack):
    message = the_reply(stack, "near-miss-zh", "如何申请珠穆朗玛峰登山许可")
    assert message["text"] == (
        "抱歉，“珠穆朗玛峰登山许可”不在我的办事指南里，我没法告诉您准确的办理方法。您可以拨打12345政务服务便民热线咨询，"
        f"或登录{PORTAL_NAME}（{PORTAL_URL}）查询；也可以转人工客服。")
    assert [button["payload"] for button in message["buttons"]] == ["/ask_person"]
    assert message["custom"]["kind"] == "none" and message["custom"]["decision"] == "none"
    assert message["custom"]["language"] == "zh" and "item" not in message["custom"]


def test_an_english_near_miss_gets_the_honest_reply_in_english(stack):
    message = the_reply(stack, "near-miss-en", "How do I apply for a ham radio operator licence?")
    text = message["text"]
    assert text.startswith("Sorry, \"ham radio operator licence\" is not in my guide to services"), text
    assert "12345" in text and f"({PORTAL_URL})" in text and "talk to a person" in text
    assert [button["title"] for button in message["buttons"]] == ["Talk to a person"]
    assert message["custom"]["decision"] == "none" and message["custom"]["language"] == "en"


def test_the_issues_own_near_miss_is_refused_by_the_answerability_check(stack):
    # The food-business licence item used to answer this confidently.
    message = the_reply(stack, "near-miss-permit", "建筑施工许可证怎么办")
    assert message["text"].startswith("抱歉，“建筑施工许可证”不在我的办事指南里"), message["text"]
    assert message["custom"]["decision"] == "none" and "item" not in message["custom"]


def test_a_misheard_question_still_gets_its_answer(stack):
    # 攻击金 is how a speech recogniser may write 公积金; Traditional characters come from recognisers too.
    message = the_reply(stack, "misheard", "攻击金租房提取要什么材料")
    assert message["custom"]["decision"] == "answer" and message["custom"]["item"] == "hpf-withdraw-rent", message
    message = the_reply(stack, "traditional", "身份證遺失了怎麼補辦")
    assert message["custom"]["item"] == "id-card-lost-replace", message
