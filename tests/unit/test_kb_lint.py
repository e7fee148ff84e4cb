"""`govbot kb lint`'s rules: the shipped items pass, and a deliberately broken copy fails each rule."""

import shutil
from pathlib import Path

import pytest

from knowledge import schema
from knowledge.lint import chinese_numeral, department_of, lint_directory, numbers_en, numbers_zh
from knowledge.loader import InvalidKnowledgeBase, load_items

ITEMS = Path(__file__).parents[2] / "knowledge" / "items"
TRANSPORT = ("driver-license-renew", "driver-license-replace", "traffic-violation", "vehicle-registration")


def copy_items(tmp_path: Path, *ids: str) -> Path:
    directory = tmp_path / "items"
    directory.mkdir()
    for item_id in ids:
        shutil.copy(ITEMS / f"{item_id}.yml", directory / f"{item_id}.yml")
    return directory


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def findings(directory: Path) -> list[str]:
    return [str(finding) for finding in lint_directory(directory)]


def test_the_shipped_knowledge_base_has_no_findings():
    assert findings(ITEMS) == []


def test_an_item_whose_hotlines_differ_from_its_department_is_found(tmp_path):
    kb = copy_items(tmp_path, *TRANSPORT)
    replace(kb / "traffic-violation.yml", 'number: "122"', 'number: "12122"')
    assert findings(kb) == [
        "traffic-violation.yml: hotlines: 12122, 12345 here, but other items of the department 公安机关交通管理部门 "
        "list 122, 12345 (as driver-license-renew.yml does)"]


def test_a_hotline_described_differently_in_one_item_is_found(tmp_path):
    kb = copy_items(tmp_path, *TRANSPORT)
    replace(kb / "vehicle-registration.yml", "en: citizen service hotline}", "en: the mayor's line}")
    [finding] = findings(kb)
    assert finding.startswith("vehicle-registration.yml: hotlines.1.en: 12345 is called \"the mayor's line\" here "
                              "but 'citizen service hotline' in 3 other item(s)")


def test_a_number_stated_in_one_language_only_is_found_at_its_field(tmp_path):
    kb = copy_items(tmp_path, "id-card-renew")
    replace(kb / "id-card-renew.yml", "issued within 60 days of the application",
            "issued within 90 days of the application")
    assert findings(kb) == ["id-card-renew.yml: en.processing_time: states 90, which the zh text does not",
                            "id-card-renew.yml: zh.processing_time: states 60, which the en text does not"]


def test_a_vague_amount_in_one_language_against_another_unit_is_found(tmp_path):
    # the issue's own example: 十几个工作日 in Chinese, "a couple of weeks" in English
    kb = copy_items(tmp_path, "chronic-disease-outpatient")
    path = kb / "chronic-disease-outpatient.yml"
    replace(path, "有的几个工作日内出结果，也有的规定最长20个工作日办结", "有的在提交后十几个工作日内出结果")
    replace(path, "some within a few working days, and some allow up to 20 working days",
            "others within a couple of weeks")
    assert findings(kb) == [
        "chronic-disease-outpatient.yml: en.processing_time: gives a vague number of weeks, which the zh text does "
        "not (state the same amount in both languages)",
        "chronic-disease-outpatient.yml: zh.processing_time: gives a vague number of workdays, which the en text "
        "does not (state the same amount in both languages)"]


def test_a_hotline_missing_from_one_languages_answer_is_found(tmp_path, monkeypatch):
    kb = copy_items(tmp_path, "passport-apply")
    monkeypatch.setitem(schema.HOTLINE_FORMAT, "en", ("{whose}", ", "))  # an answer format that drops the number
    assert findings(kb) == ["passport-apply.yml: hotlines.0: 12367 is missing from the en answer",
                            "passport-apply.yml: hotlines.1: 12345 is missing from the en answer"]


def test_an_invalid_directory_is_refused_not_linted(tmp_path):
    kb = copy_items(tmp_path, "passport-apply")
    replace(kb / "passport-apply.yml", "hotlines:\n", "hotline: \"12367\"\nhotlines:\n")
    with pytest.raises(InvalidKnowledgeBase):
        lint_directory(kb)


@pytest.mark.parametrize("numeral, value", [("六十", 60), ("三十", 30), ("两", 2), ("十二", 12), ("一百二十", 120),
                                            ("一万二千", 12000), ("十", 10), ("二十五", 25)])
def test_chinese_numerals(numeral, value):
    assert chinese_numeral(numeral) == value


def test_numbers_are_read_the_same_way_in_both_languages():
    zh, zh_vague = numbers_zh("自提交之日起六十日内发放，交通不便的地区最多再延长30日；"
                              "每年最多存12000元，费用约1.2万元")
    en, en_vague = numbers_en("Issued within sixty days, at most 30 more days in remote areas; up to 12,000 yuan a "
                              "year, about 12,000 yuan")
    assert zh == en == {60, 30, 12000} and zh_vague == en_vague == set()


def test_dates_articles_and_half_years():
    assert numbers_zh("2026年2月二审；《居民身份证法》第十二条；住满半年") == ({2026, 2, 12, 6}, set())
    assert numbers_en("second reading in February 2026; Article 12; after six months") == ({2026, 2, 12, 6}, set())


def test_what_is_not_a_number():
    # ordinals, codes, the first half of a year, "most people", the modal "may" and the number one
    assert numbers_zh("第二年；4S店；下半年；大多数人；一个月") == (set(), set())
    assert numbers_en("the following year; you may apply; within a month; once a year; one of them") == (set(), set())


def test_vague_amounts_are_kept_with_their_unit():
    assert numbers_zh("几个到十几个工作日；一两周；数个月") == (set(), {"workday", "week", "month"})
    assert numbers_en("a few to a dozen or so working days; a week or two; several months") == (
        set(), {"workday", "week", "month"})


def test_department_is_the_zh_department_up_to_the_first_bracket():
    items = {item.id: item for item in load_items(ITEMS)}
    assert {department_of(items[item_id]) for item_id in TRANSPORT} == {"公安机关交通管理部门"}
    assert department_of(items["employment-registration"]) == department_of(items["pension-claim"]) \
        == department_of(items["personal-pension"]) == "人力资源和社会保障部门"
    assert department_of(items["food-business-license"]) == department_of(items["business-registration"])
