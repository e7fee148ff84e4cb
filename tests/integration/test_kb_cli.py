"""`govbot kb import|search|build` and `govbot eval`, run as a user would (separate processes)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.evaluate import EvalQuery, read_queries, score
from knowledge.faq_import import FaqImportError, import_faq, item_id_for
from knowledge.loader import load_items

EVAL_KEYS = {"top1", "top3", "mrr", "none_precision", "none_recall", "n", "latency_ms_p50", "latency_ms_p95",
             "answered_wrong", "answerable_refused", "decisions"}
FAQ = [
    {"id": "Q-1", "question": "How do I reset my library card PIN?",
     "answer": "Ask at any library desk with photo ID.\n\nThe new PIN works at once."},
    {"id": "Q-2", "question": "When is the swimming pool open?", "answer": "Every day from 7 am to 9 pm."},
    {"id": "Q-3", "question": "",
     "answer": "Bulky waste is collected on the first Monday of each month. Book a slot online."},
    {"id": 4, "question": "Can I bring my dog into the park?", "answer": "Dogs are welcome on a lead."},
]
QUERIES = [
    {"query": "I forgot the PIN of my library card", "expected": "q-1"},
    {"query": "swimming pool opening hours", "faq_id": "Q-2", "faq_ids": ["Q-2"]},
    {"query": "when do they pick up old furniture", "expected": ["q-3"]},
    {"query": "are dogs allowed in the park", "expected": "4"},
    {"query": "what is the capital of France", "faq_id": None, "faq_ids": []},
]


def govbot(*args: str, var_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOVBOT_VAR_DIR": str(var_dir)}  # indexes of scratch knowledge bases go there
    return subprocess.run([sys.executable, "-m", "govbot.cli", *args], capture_output=True, text=True,
                          timeout=600, env=env)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_import_then_eval_on_the_imported_faq(tmp_path):
    faq = write_jsonl(tmp_path / "faq.jsonl", FAQ)
    out = tmp_path / "kb"
    imported = govbot("kb", "import", str(faq), "--out", str(out), var_dir=tmp_path / "var")
    assert imported.returncode == 0, imported.stderr
    assert "imported 4 FAQ entries" in imported.stdout
    items = {item.id: item for item in load_items(out)}
    assert set(items) == {"q-1", "q-2", "q-3", "4"}
    assert items["q-3"].en.title == "Bulky waste is collected on the first Monday of each month."
    assert items["q-1"].en.steps == ["Ask at any library desk with photo ID.", "The new PIN works at once."]
    assert items["q-1"].zh is None
    # The import made the knowledge base's own "none" thresholds from its own texts.
    calibration = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    assert set(calibration["none_below"]) == {"zh", "en"} and calibration["answerability"] is None
    assert "calibrated" in imported.stdout

    queries = write_jsonl(tmp_path / "queries.jsonl", QUERIES)
    evaluated = govbot("eval", str(queries), "--kb", str(out), "--json", var_dir=tmp_path / "var")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert set(report) == EVAL_KEYS
    assert report["n"] == 5
    assert report["top1"] >= 0.75 and report["top3"] == 1.0
    assert report["latency_ms_p50"] > 0

    searched = govbot("kb", "search", "pool hours", "--kb", str(out), "--json", var_dir=tmp_path / "var")
    result = json.loads(searched.stdout)
    assert searched.returncode == 0 and result["items"][0]["id"] == "q-2"
    assert set(result) >= {"query", "language", "decision", "items", "offer", "latency_ms"}
    assert {"id", "title", "score"} <= set(result["items"][0])


def test_import_rejects_a_bad_file_and_writes_nothing(tmp_path):
    faq = tmp_path / "faq.jsonl"
    faq.write_text('{"id": "a", "question": "q", "answer": "x"}\nnot json\n{"id": "b", "question": "q"}\n'
                   '{"id": "A", "question": "again", "answer": "y"}\n', encoding="utf-8")
    out = tmp_path / "kb"
    with pytest.raises(FaqImportError) as raised:
        import_faq(faq, out)
    messages = [str(error) for error in raised.value.errors]
    assert messages[0].startswith("faq.jsonl: line 2: not JSON")
    assert messages[1].startswith("faq.jsonl: line 3: answer: ")
    assert messages[2].startswith("faq.jsonl: line 4: id: ") and "collides with line 1" in messages[2]
    assert not out.exists() and list(tmp_path.iterdir()) == [faq]
    result = govbot("kb", "import", str(faq), "--out", str(out), var_dir=tmp_path / "var")
    assert result.returncode == 1 and "nothing was written" in result.stdout


def test_import_does_not_overwrite_without_replace(tmp_path):
    faq = write_jsonl(tmp_path / "faq.jsonl", FAQ[:1])
    out = tmp_path / "kb"
    out.mkdir()
    (out / "keep.yml").write_text("precious", encoding="utf-8")
    with pytest.raises(FaqImportError):
        import_faq(faq, out)
    assert (out / "keep.yml").read_text() == "precious"
    assert import_faq(faq, out, replace=True) == 1
    assert sorted(p.name for p in out.iterdir()) == ["kb.yml", "q-1.yml"]


def test_item_ids_from_faq_ids():
    assert item_id_for("dcq-0001") == "dcq-0001"
    assert item_id_for("Q 12/b") == "q-12-b"
    assert item_id_for("!!!") == "faq"


def test_eval_reads_both_query_shapes(tmp_path):
    queries = read_queries(write_jsonl(tmp_path / "q.jsonl", QUERIES))
    assert [sorted(q.expected_ids) for q in queries] == [["q-1"], ["q-2"], ["q-3"], ["4"], []]


def test_eval_rejects_a_bad_queries_file(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"query": "ok", "expected": null}\n{"expected": "x"}\n', encoding="utf-8")
    result = govbot("eval", str(bad), var_dir=tmp_path / "var")
    assert result.returncode == 2 and "line 2" in result.stderr


def test_score_counts_none_decisions():
    from knowledge.search import Candidate, SearchResult

    def result(decision, top, second="other"):
        items = [Candidate(id=top, title="t", score=1.0, dense=1.0, lexical=0.0),
                 Candidate(id=second, title="t", score=0.5, dense=0.5, lexical=0.0)]
        return SearchResult(query="q", language="en", decision=decision, items=items,
                            offer=0 if decision == "none" else 1, latency_ms=1.0)

    queries = [EvalQuery(query="a", expected="x"), EvalQuery(query="b", expected="y"),
               EvalQuery(query="c", expected=None), EvalQuery(query="d", expected=None)]
    results = [result("answer", "x"), result("none", "other", "y"), result("none", "x"), result("answer", "x")]
    report = score(queries, results)
    assert report.top1 == 0.5 and report.top3 == 1.0 and report.mrr == 0.75
    assert report.none_precision == 0.5 and report.none_recall == 0.5 and report.n == 4


# ---- govbot kb lint ---------------------------------------------------------------------------------------------
SHIPPED = Path(__file__).parents[2] / "knowledge" / "items"


def lint_copy(tmp_path: Path, *ids: str) -> Path:
    kb = tmp_path / "kb"
    kb.mkdir()
    for item_id in ids:
        (kb / f"{item_id}.yml").write_text((SHIPPED / f"{item_id}.yml").read_text(encoding="utf-8"), encoding="utf-8")
    return kb


def test_lint_passes_on_the_shipped_knowledge_base(tmp_path):
    result = govbot("kb", "lint", var_dir=tmp_path / "var")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no findings" in result.stdout
    as_json = govbot("kb", "lint", "--kb", str(SHIPPED), "--json", var_dir=tmp_path / "var")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == {"findings": [], "count": 0}


def test_lint_lists_each_finding_and_exits_1(tmp_path):
    kb = lint_copy(tmp_path, "driver-license-renew", "driver-license-replace", "vehicle-registration")
    path = kb / "vehicle-registration.yml"
    path.write_text(path.read_text(encoding="utf-8").replace('number: "122"', 'number: "12122"')
                    .replace("注册登记", "注册登记（3天内）"), encoding="utf-8")
    result = govbot("kb", "lint", "--kb", str(kb), var_dir=tmp_path / "var")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "vehicle-registration.yml: hotlines: 12122, 12345 here, but other items of the department " \
           "公安机关交通管理部门 list 122, 12345 (as driver-license-renew.yml does)" in lines
    assert any(line.startswith("vehicle-registration.yml: zh.")
               and line.endswith("states 3, which the en text does not") for line in lines)
    assert lines[-1] == "2 error(s); the knowledge base is not consistent"
    as_json = govbot("kb", "lint", "--kb", str(kb), "--json", var_dir=tmp_path / "var")
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and report["count"] == 2 == len(report["findings"])
    assert {finding["file"] for finding in report["findings"]} == {"vehicle-registration.yml"}
    assert set(report["findings"][0]) == {"file", "field", "reason"}


def test_lint_refuses_an_invalid_knowledge_base(tmp_path):
    kb = lint_copy(tmp_path, "passport-apply")
    (kb / "broken.yml").write_text("id: [\n", encoding="utf-8")
    result = govbot("kb", "lint", "--kb", str(kb), var_dir=tmp_path / "var")
    assert result.returncode == 1 and "broken.yml: line" in result.stdout and "govbot kb validate" in result.stdout


def test_eval_by_field_and_a_calibration_from_labelled_questions(tmp_path):
    out = tmp_path / "kb"
    imported = govbot("kb", "import", str(write_jsonl(tmp_path / "faq.jsonl", FAQ)), "--out", str(out),
                      "--no-calibrate", var_dir=tmp_path / "var")
    assert imported.returncode == 0 and not (out / "calibration.json").exists()
    labelled = [{**row, "style": style} for row, style in zip(QUERIES, ("plain", "plain", "typo", "typo", "plain"))]
    queries = write_jsonl(tmp_path / "queries.jsonl", labelled)

    grouped = govbot("eval", str(queries), "--kb", str(out), "--json", "--by", "style", var_dir=tmp_path / "var")
    assert grouped.returncode == 0, grouped.stderr
    groups = json.loads(grouped.stdout)
    assert set(groups) == {"plain", "typo"} and groups["plain"]["n"] == 3 and groups["typo"]["n"] == 2
    assert all(set(figures) == EVAL_KEYS for figures in groups.values())
    assert sum(groups["plain"]["decisions"].values()) == 3

    calibrated = govbot("kb", "calibrate", str(queries), "--kb", str(out), var_dir=tmp_path / "var")
    assert calibrated.returncode == 0, calibrated.stderr
    calibration = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    assert calibration["answerability"] is not None and calibration["made_from"]["questions"] == 5
    searched = govbot("kb", "search", "pool hours", "--kb", str(out), "--json", var_dir=tmp_path / "var")
    assert 0.0 <= json.loads(searched.stdout)["answerable"] <= 1.0


def test_calibrate_refuses_questions_that_are_all_answerable(tmp_path):
    out = tmp_path / "kb"
    govbot("kb", "import", str(write_jsonl(tmp_path / "faq.jsonl", FAQ)), "--out", str(out), "--no-calibrate",
           var_dir=tmp_path / "var")
    answerable = [row for row in QUERIES if row.get("expected") or row.get("faq_ids")]
    only_answerable = write_jsonl(tmp_path / "q.jsonl", answerable)
    result = govbot("kb", "calibrate", str(only_answerable), "--kb", str(out), var_dir=tmp_path / "var")
    assert result.returncode == 2 and "expected null" in result.stderr
    assert not (out / "calibration.json").exists()
