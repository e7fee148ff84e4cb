"""The department catalogue loader: the shipped file is valid; malformed files are rejected with `file: field:
reason` and nothing is loaded. Also the shape of the dispatch evaluation set (no model needed)."""

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from workorders.catalogue import DEFAULT_CATALOGUE, InvalidCatalogue, load_catalogue
from workorders.records import Urgency

REPORTS = DEFAULT_CATALOGUE.parent / "dispatch_eval" / "reports.jsonl"


def department(slug: str, count: int = 8) -> dict[str, Any]:
    return {"id": slug, "name": {"zh": f"{slug}局", "en": f"{slug} bureau"},
            "remit": {"zh": f"{slug}的事", "en": f"{slug} matters"},
            "examples": {"zh": [f"{slug}问题{i}" for i in range(count)],
                         "en": [f"{slug} problem {i}" for i in range(count)]}}


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "departments.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(InvalidCatalogue) as caught:
        load_catalogue(path)
    return [str(error) for error in caught.value.errors]


def test_the_shipped_catalogue_is_valid_and_complete() -> None:
    catalogue = load_catalogue()
    assert 10 <= len(catalogue.departments) <= 14
    assert {"gas", "water", "power", "environment", "service-centre"} <= set(catalogue.ids)
    for entry in catalogue.departments:
        assert 8 <= len(entry.examples.zh) <= 15 and 8 <= len(entry.examples.en) <= 15
        assert entry.name.text("zh") != entry.name.text("en")
    gas = catalogue.get("gas")
    assert "燃气泄漏" in gas.urgency.urgent and "gas leak" in gas.urgency.urgent
    assert catalogue.get("education").urgency.default is Urgency.NORMAL


def test_a_minimal_file_loads_with_defaults(tmp_path: Path) -> None:
    data = {"departments": [department("roads"), department("parks")]}
    data["departments"][1]["urgency"] = {"default": "low", "high": ["tree fell"]}
    catalogue = load_catalogue(write(tmp_path, data))
    assert catalogue.ids == ["roads", "parks"]
    assert catalogue.get("roads").urgency.default is Urgency.NORMAL
    assert catalogue.get("parks").urgency.default is Urgency.LOW
    assert catalogue.get("parks").urgency.high == ["tree fell"]
    with pytest.raises(KeyError):
        catalogue.get("nowhere")


def test_the_fingerprint_changes_with_the_content(tmp_path: Path) -> None:
    data = {"departments": [department("roads"), department("parks")]}
    first = load_catalogue(write(tmp_path, data)).fingerprint()
    data["departments"][0]["remit"]["en"] = "roads and bridges"
    assert load_catalogue(write(tmp_path, data)).fingerprint() != first


def test_a_missing_field_is_named_by_department_id(tmp_path: Path) -> None:
    data = {"departments": [department("roads"), department("parks")]}
    del data["departments"][1]["remit"]["en"]
    expected = "departments.yml: departments.parks.remit.en: required field is missing"
    assert errors_of(write(tmp_path, data)) == [expected]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = {"departments": [department("roads", count=3), department("Parks Dept"), department("sea")]}
    data["departments"][2]["urgency"] = {"default": "whenever"}
    data["departments"][2]["colour"] = "blue"
    found = errors_of(write(tmp_path, data))
    assert any(e.startswith("departments.yml: departments.roads.examples.zh: ") and "at least 8" in e for e in found)
    assert any(e.startswith("departments.yml: departments.Parks Dept.id: ") and "pattern" in e for e in found)
    assert any(e.startswith("departments.yml: departments.sea.urgency.default: ") and "'urgent'" in e for e in found)
    assert "departments.yml: departments.sea.colour: unknown field" in found


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["departments"].append(department("roads")), "duplicate department id 'roads'"),
    (lambda d: d["departments"][1]["examples"]["en"].__setitem__(0, "roads problem 1"),
     "example 'roads problem 1' is in both 'roads' and 'parks'"),
    (lambda d: d["departments"][0]["examples"]["zh"].__setitem__(1, "roads问题0"),
     "zh example 'roads问题0' is listed twice"),
    (lambda d: d["departments"][0]["examples"].__setitem__("en", [f"e{i}" for i in range(16)]),
     "at most 15"),
    (lambda d: d["departments"].pop(), "at least 2"),
])
def test_inconsistent_catalogues_are_rejected(tmp_path: Path, mutate: Any, expected: str) -> None:
    data = {"departments": [department("roads"), department("parks")]}
    mutate(data)
    found = errors_of(write(tmp_path, data))
    assert len(found) == 1 and found[0].startswith("departments.yml: ") and expected in found[0], found


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "departments.yml"
    path.write_text("departments:\n  - id: roads\n    name: {zh: 路, en: [roads\n", encoding="utf-8")
    (error,) = errors_of(path)
    assert error.startswith("departments.yml: line ") and "bad YAML" in error


@pytest.mark.parametrize("content, expected", [
    ("- just\n- a list\n", "departments.yml: (file): must be a YAML mapping with a departments list"),
    ("", "departments.yml: (file): must be a YAML mapping with a departments list"),
    ("colour: blue\n", "departments.yml: departments: required field is missing"),
])
def test_a_file_of_the_wrong_shape_is_rejected(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "departments.yml"
    path.write_text(content, encoding="utf-8")
    assert expected in errors_of(path)


def test_unreadable_files_are_rejected(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    assert errors_of(missing) == [f"{missing}: (file): no such file"]
    binary = tmp_path / "departments.yml"
    binary.write_bytes(b"departments: \xff\xfe\n")
    assert errors_of(binary) == ["departments.yml: (file): not UTF-8 text"]


def test_the_error_message_lists_every_problem(tmp_path: Path) -> None:
    data = {"departments": [department("roads", count=2), department("parks", count=2)]}
    with pytest.raises(InvalidCatalogue) as caught:
        load_catalogue(write(tmp_path, data))
    message = str(caught.value)
    assert message.startswith("4 error(s) in the department catalogue:")
    assert "departments.parks.examples.en" in message


def test_the_evaluation_reports_are_labelled_with_catalogue_departments() -> None:
    reports = [json.loads(line) for line in REPORTS.read_text(encoding="utf-8").splitlines()]
    ids = set(load_catalogue().ids)
    assert len(reports) >= 300
    assert {tuple(sorted(r)) for r in reports} == {("department", "language", "split", "style", "text", "urgency")}
    assert {r["department"] for r in reports} == ids
    assert {r["urgency"] for r in reports} == {u.value for u in Urgency}
    languages = Counter(r["language"] for r in reports)
    assert 0.6 <= languages["zh"] / len(reports) <= 0.72 and languages["zh"] + languages["en"] == len(reports)
    splits = Counter(r["split"] for r in reports)
    assert set(splits) == {"calibration", "test"} and 0.35 <= splits["calibration"] / len(reports) <= 0.45
    assert len({r["text"] for r in reports}) == len(reports)
    examples = {text for entry in load_catalogue().departments for text in entry.examples.zh + entry.examples.en}
    assert not examples & {r["text"] for r in reports}
