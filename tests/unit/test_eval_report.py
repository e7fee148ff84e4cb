"""The figures of `govbot eval`: wrong answers, refused answerable questions, decisions, and grouping by field."""

import json

from knowledge.evaluate import EvalQuery, grouped_json, report_json, score, score_by
from knowledge.search import Candidate, SearchResult


def result(decision: str, *ids: str) -> SearchResult:
    offer = {"answer": 1, "clarify": len(ids), "none": 0}[decision]
    items = [Candidate(id=item, title=item, score=0.9 - rank / 100, dense=0.9, lexical=0.0)
             for rank, item in enumerate(ids or ("unrelated",))]
    return SearchResult(query="q", language="zh", decision=decision, items=items, offer=offer,  # type: ignore[arg-type]
                        latency_ms=1.0)


QUERIES = [
    EvalQuery(query="护照怎么办", expected="passport-apply", style="plain", lang="zh"),            # right answer
    EvalQuery(query="身份证丢了", expected="id-card-lost-replace", style="asr", lang="zh"),        # wrong answer
    EvalQuery(query="申根签证", expected=None, style="near_miss", lang="zh"),                      # offered choices
    EvalQuery(query="商标注册", expected=None, style="near_miss", lang="zh"),                      # refused: right
    EvalQuery(query="pension", expected=["pension-claim", "pension-qualification-certification"],
              style="plain", lang="en"),                                                         # refused: wrong
    EvalQuery(query="passport", expected="passport-renew", style="plain", lang="en"),            # clarify with it
]
RESULTS = [
    result("answer", "passport-apply"),
    result("answer", "id-card-renew", "id-card-lost-replace"),
    result("clarify", "social-security-card-apply", "passport-renew"),
    result("none", "business-registration"),
    result("none", "pension-claim"),
    result("clarify", "passport-apply", "passport-renew"),
]


def test_answered_wrong_counts_wrong_items_and_any_offer_for_unanswerable_questions():
    report = score(QUERIES, RESULTS)
    assert report.answered_wrong == round(2 / 6, 4)   # the wrong ID-card item, the choices for a visa
    assert report.answerable_refused == round(1 / 4, 4)
    assert report.decisions == {"answer": 2, "clarify": 2, "none": 2}


def test_the_contract_keys_are_all_there():
    keys = set(json.loads(report_json(score(QUERIES, RESULTS))))
    assert keys == {"top1", "top3", "mrr", "none_precision", "none_recall", "n", "latency_ms_p50", "latency_ms_p95",
                    "answered_wrong", "answerable_refused", "decisions"}


def test_figures_group_by_any_field_of_the_query_lines():
    groups = score_by("style", QUERIES, RESULTS)
    assert list(groups) == ["asr", "near_miss", "plain"]
    assert groups["near_miss"].n == 2 and groups["near_miss"].none_recall == 0.5
    assert groups["near_miss"].answered_wrong == 0.5
    assert groups["asr"].top1 == 0.0 and groups["plain"].top1 == round(2 / 3, 4)
    by_language = json.loads(grouped_json(score_by("lang", QUERIES, RESULTS)))
    assert by_language["en"]["n"] == 2 and by_language["zh"]["decisions"]["answer"] == 2


def test_a_field_the_lines_do_not_have_is_one_group():
    groups = score_by("speaker", QUERIES, RESULTS)
    assert list(groups) == ["(missing)"] and groups["(missing)"].n == 6
