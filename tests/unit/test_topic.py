"""bot.actions.topic: what a question the guide does not cover is about, in the asker's own words."""

import pytest

from bot.actions.topic import MAX_TOPIC_CHARS, topic_phrase, topic_words

# Questions near the 60 items that no item covers, as citizens type or say them, and the topic each names.
ZH_TOPICS = [
    ("建筑施工许可证怎么办", "建筑施工许可证"),
    ("营业性演出许可证怎么办", "营业性演出许可证"),
    ("我们公司想办营业性演出许可证去哪里申请", "营业性演出许可证"),
    ("如何申请南极科考站参观许可", "南极科考站参观许可"),
    ("请问建筑施工许可证怎么办理啊", "建筑施工许可证"),
    ("建筑施工许可证怎么办呀？", "建筑施工许可证"),
    ("你好，我想咨询一下，食盐批发许可证的办理流程是什么？", "食盐批发许可证"),
    ("我想问问那个出版物经营许可证是在哪里办的呢", "出版物经营许可证"),
    ("我想申请游艇驾驶执照", "游艇驾驶执照"),
    ("无人机飞行执照怎么考", "无人机飞行执照"),
    ("我想考个教师资格证", "教师资格证"),
    ("注册会计师考试怎么报名", "注册会计师考试"),
    ("我想问一下出国留学学历认证怎么办理", "出国留学学历认证"),
    ("渔船捕捞许可证在哪办", "渔船捕捞许可证"),
    ("办理建设工程规划许可证需要什么材料", "建设工程规划许可证"),
    ("烟草专卖零售许可证需要什么条件", "烟草专卖零售许可证"),
    ("商标注册去哪里办", "商标注册"),
    ("专利申请需要哪些材料", "专利申请"),
    ("给我的狗办宠物护照怎么弄", "宠物护照"),
    ("怎么给孩子办理出国签证", "出国签证"),
    ("我要开个网店需要办什么手续", "网店"),
    ("我想办一个网吧，需要什么证", "网吧"),  # the clause that asks names nothing: the one before it does
    ("我今年七十多了，腿脚不好，想问问老年人坐飞机怎么申请轮椅服务", "轮椅服务"),  # a story, then the question
    ("我的手机号*******5678，能帮我办个渔业捕捞许可证吗", "渔业捕捞许可证"),  # the masked number stays out
    ("我想办 Schengen签证", "Schengen签证"),
]

EN_TOPICS = [
    ("How do I get a Schengen visa?", "Schengen visa"),
    ("I need a Schengen visa, how do I apply?", "Schengen visa"),
    ("How do I apply for a ham radio operator licence?", "ham radio operator licence"),
    ("How do I register a pharmacy?", "register a pharmacy"),
    ("Where can I apply for a drone flight permit?", "drone flight permit"),
    ("What documents do I need for a work permit?", "work permit"),
    ("How much does a pilot licence cost?", "pilot licence"),
    ("How long does it take to get a patent?", "patent"),
    ("Hi, I'm opening a bar. How do I get a liquor licence for my bar?", "liquor licence"),
    ("How do I get permission to climb Mount Everest?", "permission to climb Mount Everest"),
    ("Could you please tell me how to register a trademark in China?", "register a trademark"),
    ("I'd like to know about the ham radio licence exam.", "ham radio licence exam"),
    ("What are the requirements for an import export licence?", "import export licence"),
    ("How can I get a permit to visit an Antarctic research station?",
     "permit to visit an Antarctic research station"),
]

# Nothing sensible to name: only the question itself, small talk, a story without a question, gibberish, or a
# clause that holds personal-looking data (masked numbers, an e-mail address, a long run of digits).
NO_TOPIC = [
    "怎么办", "请问", "这个怎么办理", "火星", "需要什么材料", "要多少钱？", "我今年七十多了，腿脚不好，孩子都在外地",
    "我的身份证号是***************123X，帮我查一下", "给我发个邮件到 ***@example.com 说一下营业执照的事",
    "我想 apply for 护照 please", "asdfghjkl qwerty", "", "   ", "？？？", "😀😀",
    "How do I apply?", "Can you help me?", "hello", "my id is 110101199003071234 how do i get a fishing licence",
    "How do I get a licence?", "What documents do I need?", "my number is 020 8765 4321 9876, what is the fee",
]


@pytest.mark.parametrize("question, topic", ZH_TOPICS)
def test_a_chinese_question_names_its_topic(question, topic):
    assert topic_phrase(question) == topic


@pytest.mark.parametrize("question, topic", EN_TOPICS)
def test_an_english_question_names_its_topic(question, topic):
    assert topic_phrase(question) == topic


@pytest.mark.parametrize("question", NO_TOPIC)
def test_a_question_with_nothing_sensible_to_name_has_no_topic(question):
    assert topic_phrase(question) is None


def test_a_topic_longer_than_the_cap_is_not_echoed():
    long_zh = "中华人民共和国对外贸易经营者备案登记及进出口货物收发货人海关注册登记" + "怎么办"
    assert len(long_zh) - 3 > MAX_TOPIC_CHARS["zh"] and topic_phrase(long_zh) is None
    long_en = "How do I get a " + "special temporary commercial deep sea fishing vessel operating licence extension"
    assert topic_phrase(long_en) is None
    assert topic_phrase("How do I get a deep sea fishing licence?") == "deep sea fishing licence"


@pytest.mark.parametrize("question", ["订单号20261234567的演出许可证怎么办", "How do I get licence 4455667 renewed?",
                                      "营业执照*号怎么办", "a@b.cn的营业执照怎么办"])
def test_digit_runs_masks_and_addresses_are_never_echoed(question):
    topic = topic_phrase(question)
    assert topic is None or not any(mark in topic for mark in ("*", "@", "2026123", "4455667"))


def test_braces_and_quotes_never_reach_the_reply_template():
    assert topic_phrase("《建筑施工许可证》怎么办") == "建筑施工许可证"
    assert topic_phrase("{topic}许可证怎么办") == "topic许可证"
    assert topic_phrase('How do I get a "Schengen" visa?') == "Schengen visa"


def test_the_reply_quotes_the_topic_or_says_it_in_general_words():
    assert topic_words("建筑施工许可证怎么办", "zh") == "“建筑施工许可证”"
    assert topic_words("How do I get a Schengen visa?", "en") == "\"Schengen visa\""
    assert topic_words("怎么办", "zh") == "您问的这项服务"
    assert topic_words("How do I apply?", "en") == "the service you asked about"
    assert topic_words("建筑施工许可证怎么办", "fr") == "“建筑施工许可证”"  # an unknown language gets Chinese
