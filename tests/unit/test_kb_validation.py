"""Strict validation of knowledge files: `file: field: reason`, and nothing half-loaded."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from knowledge.loader import InvalidKnowledgeBase, load_items

EXAMPLE = Path(__file__).parents[2] / "knowledge" / "items" / "id-card-first-apply.yml"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    directory = tmp_path / "items"
    directory.mkdir()
    shutil.copy(EXAMPLE, directory / EXAMPLE.name)
    return directory


def example_data() -> dict:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def write_item(directory: Path, name: str, data: dict) -> Path:
    path = directory / f"{name}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def errors_for(directory: Path) -> list[str]:
    with pytest.raises(InvalidKnowledgeBase) as raised:
        load_items(directory)
    return [str(error) for error in raised.value.errors]


def test_valid_directory_loads(kb):
    items = load_items(kb)
    assert [item.id for item in items] == ["id-card-first-apply"]
    assert items[0].zh.steps[0].startswith("带上户口簿")
    assert len(items[0].en.sample_questions) >= 6


def test_bad_yaml(kb):
    (kb / "broken.yml").write_text("id: broken\nzh: [unclosed\n", encoding="utf-8")
    errors = errors_for(kb)
    assert len(errors) == 1 and errors[0].startswith("broken.yml: line ") and "bad YAML" in errors[0]


def test_not_a_mapping(kb):
    (kb / "list.yml").write_text("- a\n- b\n", encoding="utf-8")
    assert errors_for(kb) == ["list.yml: (file): must be a YAML mapping of fields"]


def test_missing_required_field(kb):
    data = example_data()
    data["id"] = "no-title"
    del data["en"]["title"]
    write_item(kb, "no-title", data)
    assert errors_for(kb) == ["no-title.yml: en.title: required field is missing"]


def test_wrong_type(kb):
    data = example_data()
    data["id"] = "steps-as-text"
    data["zh"]["steps"] = "只有一步"
    write_item(kb, "steps-as-text", data)
    [error] = errors_for(kb)
    assert error.startswith("steps-as-text.yml: zh.steps: ") and "list" in error


def test_unknown_category(kb):
    data = example_data()
    data["id"] = "odd-category"
    data["category"] = "space-travel"
    write_item(kb, "odd-category", data)
    [error] = errors_for(kb)
    assert error.startswith("odd-category.yml: category: unknown category 'space-travel'")


def test_duplicate_id_across_yml_and_yaml(kb):
    shutil.copy(EXAMPLE, kb / "id-card-first-apply.yaml")
    errors = errors_for(kb)
    assert errors == ["id-card-first-apply.yml: id: duplicate id 'id-card-first-apply' "
                      "(also in id-card-first-apply.yaml)"]


def test_id_must_match_file_name(kb):
    shutil.copy(EXAMPLE, kb / "another-name.yml")
    assert errors_for(kb) == ["another-name.yml: id: id 'id-card-first-apply' differs from the file name "
                              "'another-name'"]


def test_empty_steps(kb):
    data = example_data()
    data["id"] = "no-steps"
    data["en"]["steps"] = []
    write_item(kb, "no-steps", data)
    [error] = errors_for(kb)
    assert error.startswith("no-steps.yml: en.steps: ")


def test_blank_step_text(kb):
    data = example_data()
    data["id"] = "blank-step"
    data["zh"]["steps"] = ["第一步", "   "]
    write_item(kb, "blank-step", data)
    [error] = errors_for(kb)
    assert error.startswith("blank-step.yml: zh.steps.1: ")


def test_missing_language(kb):
    data = example_data()
    data["id"] = "chinese-only"
    del data["en"]
    write_item(kb, "chinese-only", data)
    assert errors_for(kb) == ["chinese-only.yml: en: the en language is missing"]


def test_unknown_field_is_rejected(kb):
    data = example_data()
    data["id"] = "typo-field"
    data["zh"]["stpes"] = ["x"]
    write_item(kb, "typo-field", data)
    [error] = errors_for(kb)
    assert error.startswith("typo-field.yml: zh.stpes: ")


def test_all_errors_are_listed_and_nothing_is_loaded(kb):
    (kb / "a.yml").write_text("id: [\n", encoding="utf-8")
    data = example_data()
    data["id"] = "b"
    data["category"] = "nope"
    write_item(kb, "b", data)
    shutil.copy(EXAMPLE, kb / "c.yml")
    errors = errors_for(kb)
    assert [e.split(":")[0] for e in errors] == ["a.yml", "b.yml", "c.yml"]


def test_not_utf8(kb):
    (kb / "latin.yml").write_bytes("id: caf\xe9\n".encode("latin-1"))
    assert errors_for(kb) == ["latin.yml: (file): not UTF-8 text"]


def test_empty_directory(tmp_path):
    assert errors_for(tmp_path) == [f"{tmp_path}: (directory): no item files (*.yml)"]


def test_cli_validate_lists_all_errors_and_exits_non_zero(kb):
    (kb / "a.yml").write_text("id: [\n", encoding="utf-8")
    shutil.copy(EXAMPLE, kb / "c.yml")
    result = subprocess.run([sys.executable, "-m", "govbot.cli", "kb", "validate", str(kb)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "a.yml: line" in result.stdout and "c.yml: id:" in result.stdout


def test_cli_validate_ok(kb):
    result = subprocess.run([sys.executable, "-m", "govbot.cli", "kb", "validate", str(kb)],
                            capture_output=True, text=True)
    assert result.returncode == 0
    assert "1 item" in result.stdout


# the product owner's list of the 60 items the first knowledge base must cover (a copy of shared/'s)
CATALOGUE = Path(__file__).parents[1] / "data" / "service-catalogue.tsv"


def test_shipped_items_are_complete_in_both_languages():
    items = load_items(EXAMPLE.parent)
    assert len(items) >= 60
    for item in items:
        for language in ("zh", "en"):
            content = item.text(language)
            assert len(content.sample_questions) >= 6, (item.id, language)
            assert len(content.steps) >= 3 and content.materials and content.fees and content.processing_time, item.id
            assert content.where and (content.where.online or content.where.offices), item.id
        assert item.hotlines and all(line.zh and line.en for line in item.hotlines), item.id


def test_every_catalogue_item_is_in_the_knowledge_base():
    rows = [line.split("\t") for line in CATALOGUE.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    items = {item.id: item for item in load_items(EXAMPLE.parent)}
    assert len(rows) == 60
    assert {row[0] for row in rows} <= set(items)
    assert all(items[row[0]].category == row[1] for row in rows)


# ---- hotlines and sources --------------------------------------------------------------------------------------
def item_with(kb: Path, name: str, **fields) -> Path:
    data = example_data()
    data.update(id=name, **fields)
    return write_item(kb, name, data)


def test_the_old_free_text_hotline_says_what_to_write_instead(kb):
    data = example_data()
    data["id"] = "old-hotline"
    del data["hotlines"]
    data["hotline"] = "12122 (road traffic) / 12345"
    write_item(kb, "old-hotline", data)
    [error] = errors_for(kb)
    assert error.startswith("old-hotline.yml: hotline: the free-text hotline is no longer read; write hotlines: ")
    assert 'hotlines: [{number: "12345", zh: 政务服务便民热线, en: citizen service hotline}]' in error


@pytest.mark.parametrize("number, reason", [
    (12345, 'hotlines.0.number: write the number in quotes, as text: number: "12345"'),
    ("12345 / 12122", "hotlines.0.number: '12345 / 12122' is not a telephone number: digits only"),
    ("0571-12345", "hotlines.0.number: '0571-12345' is not a telephone number: digits only"),
    ("12", "hotlines.0.number: '12' has 2 digits; a telephone number has 3 to 11"),
    ("123456789012", "hotlines.0.number: '123456789012' has 12 digits; a telephone number has 3 to 11"),
])
def test_a_hotline_number_is_3_to_11_digits(kb, number, reason):
    item_with(kb, "bad-number", hotlines=[{"number": number, "zh": "热线", "en": "hotline"}])
    [error] = errors_for(kb)
    assert error.startswith(f"bad-number.yml: {reason}")


def test_a_hotline_says_whose_line_it_is_in_each_language(kb):
    item_with(kb, "no-name", hotlines=[{"number": "12345", "zh": "政务服务便民热线"}])
    assert errors_for(kb) == ["no-name.yml: hotlines.0.en: say whose line this is in en"]


def test_a_hotline_is_listed_once(kb):
    line = {"number": "12345", "zh": "政务服务便民热线", "en": "citizen service hotline"}
    item_with(kb, "twice", hotlines=[line, line])
    [error] = errors_for(kb)
    assert error.startswith("twice.yml: hotlines: ") and "12345 listed more than once" in error


def test_a_hotline_has_only_number_and_names(kb):
    item_with(kb, "extra", hotlines=[{"number": "12345", "zh": "热线", "en": "hotline", "hours": "24h"}])
    [error] = errors_for(kb)
    assert error.startswith("extra.yml: hotlines.0.hours: ")


def test_sources_need_a_title_a_web_address_and_the_day_checked(kb):
    good = {"title": "居民身份证法", "url": "https://example.org/law", "checked": "2026-12-03"}
    item_with(kb, "sourced", sources=[good])
    assert load_items(kb)[1].sources[0].checked.isoformat() == "2026-12-03"
    item_with(kb, "bad-sources", sources=[{**good, "url": "example.org/law"}, {**good, "checked": "yesterday"},
                                          {"url": good["url"], "checked": good["checked"]}])
    errors = errors_for(kb)
    assert [error.split(": ")[1] for error in errors] == ["sources.0.url", "sources.1.checked", "sources.2.title"]


def test_the_corrections_are_in_the_shipped_items():
    items = {item.id: item for item in load_items(EXAMPLE.parent)}
    for item_id in ("driver-license-renew", "driver-license-replace", "traffic-violation", "vehicle-registration"):
        item = items[item_id]
        assert [line.number for line in item.hotlines] == ["122", "12345"], item_id
        assert "12122" not in item.model_dump_json(exclude={"sources"}) and item.sources, item_id
    for item_id in ("id-card-first-apply", "id-card-lost-replace", "id-card-renew"):
        assert "60日内" in items[item_id].zh.processing_time and "30日" in items[item_id].zh.processing_time
        assert "60 days" in items[item_id].en.processing_time and "30 days" in items[item_id].en.processing_time
    first = items["id-card-first-apply"]
    assert "跨省通办" in first.zh.summary and "inter-provincial" in first.en.summary
    assert "食品经营许可和备案管理办法" in items["food-business-license"].zh.legal_basis
    subsistence = items["subsistence-allowance"]
    assert "草案" in subsistence.zh.legal_basis and "draft" in subsistence.en.legal_basis
    pension = items["personal-pension"]
    assert pension.category == "social-security"
    assert "12000元" in pension.zh.summary and "12,000 yuan" in pension.en.summary
    assert min(len(pension.zh.sample_questions), len(pension.en.sample_questions)) >= 6
    assert all(source.checked.isoformat() == "2026-12-03" for item in items.values() for source in item.sources)
