"""Honest answers with the served knowledge base and its calibration: services no item covers are refused,
misheard, Traditional, pinyin, rambling and mixed-language questions still find their item."""

import shutil

import pytest

from knowledge.answerability import CALIBRATION_FILE, read_calibration
from knowledge.service import DEFAULT_KB_DIR, open_search


@pytest.fixture(scope="module")
def search():
    return open_search(DEFAULT_KB_DIR)


def test_the_shipped_knowledge_base_has_its_answerability_check(search):
    assert search.calibration is not None and search.calibration.answerability is not None
    assert 0.0 < search.calibration.refuse_below < 1.0


@pytest.mark.parametrize("question", [
    "建筑施工许可证怎么办",            # the food-business licence used to answer these
    "营业性演出许可证怎么办",
    "How do I get a Schengen visa?",   # used to offer the social security card and passport renewal
    "How do I register a pharmacy?",
    "商标注册要多少钱",
])
def test_services_no_item_covers_are_refused(search, question):
    result = search.search(question)
    assert result.decision == "none" and result.offered == [], (result.items[:3], result.answerable)


@pytest.mark.parametrize("question, item", [
    ("攻击金租房提取要什么材料", "hpf-withdraw-rent"),                  # homophone of 公积金
    ("身份證遺失了怎麼補辦", "id-card-lost-replace"),                  # Traditional characters
    ("shenfenzheng diule zenme buban", "id-card-lost-replace"),        # toneless pinyin
    ("我今年七十三了老伴去年走了孩子都在外地我这个身份证前几天买菜的时候不知道丢哪了现在去银行取钱人家要身份证我该怎么办啊",
     "id-card-lost-replace"),                                          # an elderly person's story, no punctuation
    ("我的passport过期了怎么renew", "passport-renew"),                  # mixed Chinese and English
])
def test_misheard_and_rambling_questions_find_their_item(search, question, item):
    result = search.search(question)
    assert result.decision in ("answer", "clarify") and item in [c.id for c in result.offered], \
        (result.decision, result.items[:3], result.answerable)


def test_a_bare_name_of_an_item_is_never_refused(search):
    # "驾驶证" alone is vague (renew or replace?), not a service the guide lacks
    assert search.search("驾驶证").decision == "clarify"


def test_a_calibration_made_for_other_items_is_not_used(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(DEFAULT_KB_DIR, kb)
    (kb / "dog-registration.yml").unlink()
    assert read_calibration(kb) is not None
    other = open_search(kb, index_dir=tmp_path / "index")
    assert other.calibration is None and other.search("养犬登记").answerable is None
    assert (kb / CALIBRATION_FILE).is_file()  # left in place, only not applied
