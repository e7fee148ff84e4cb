"""Measuring a knowledge search on a file of queries with their expected items."""

import json
from pathlib import Path
from typing import Optional, Sequence, Union

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from core.stats import percentile
from knowledge.faq_import import item_id_for
from knowledge.search import KnowledgeSearch, Ranking, SearchResult


class EvalQuery(BaseModel):
    """One line of a queries file: the question and the right item(s), or null for "should not answer"."""

    model_config = ConfigDict(extra="allow", frozen=True)  # other fields (style, lang, …) group the figures

    query: str
    expected: Union[str, list[str], None] = None

    @model_validator(mode="before")
    @classmethod
    def from_faq_ids(cls, data: object) -> object:
        """Also read the public FAQ sets' shape: `faq_ids` (ids as in the FAQ file; [] = unanswerable)."""
        if isinstance(data, dict) and "expected" not in data and "faq_ids" in data:
            ids = data["faq_ids"] or []
            return {**data, "expected": [item_id_for(str(faq_id)) for faq_id in ids] or None}
        return data

    @property
    def expected_ids(self) -> frozenset[str]:
        """The ids that count as right (empty: the query should not be answered)."""
        if self.expected is None:
            return frozenset()
        return frozenset([self.expected] if isinstance(self.expected, str) else self.expected)

    def field(self, name: str) -> str:
        """The value of any field of the query line as text ("(missing)" when the line has no such field)."""
        value = getattr(self, name, None) if name in ("query", "expected") else (self.model_extra or {}).get(name)
        if value is None:
            return "(missing)"
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class EvalReport(BaseModel):
    """The figures of one evaluation (the JSON keys of `govbot eval --json`)."""

    top1: float
    top3: float
    mrr: float
    none_precision: float
    none_recall: float
    n: int
    latency_ms_p50: float
    latency_ms_p95: float
    answered_wrong: float      # share of all queries answered with a wrong item, or offered anything when unanswerable
    answerable_refused: float  # share of the queries with an expected item that were decided "none"
    decisions: dict[str, int]  # how many of each decision: answer, clarify, none


class QueriesFileError(ValueError):
    """A queries file line is not valid JSON of the expected shape."""


def read_queries(path: Path) -> list[EvalQuery]:
    """Read a JSON-lines queries file; raise QueriesFileError naming the bad line."""
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            queries.append(EvalQuery.model_validate_json(line))
        except ValidationError as error:
            raise QueriesFileError(f"{path.name}: line {number}: {error.errors()[0]['msg']}") from None
    if not queries:
        raise QueriesFileError(f"{path.name}: no queries")
    return queries


def _ratio(numerator: int, denominator: int) -> float:
    # A ratio with nothing to count (e.g. no "none" decision at all) is vacuously perfect.
    return round(numerator / denominator, 4) if denominator else 1.0


def answered_wrongly(query: EvalQuery, result: SearchResult) -> bool:
    """True when the citizen would get a wrong procedure: a wrong item answered, or any offer for a query that
    no item answers."""
    if not query.expected_ids:
        return result.decision != "none"
    return result.decision == "answer" and result.offered[0].id not in query.expected_ids


def score(queries: Sequence[EvalQuery], results: Sequence[SearchResult]) -> EvalReport:
    """Top-1/top-3/MRR over answerable queries (by rank), how well "none" was decided, and wrong answers."""
    answerable = [(q, r) for q, r in zip(queries, results) if q.expected_ids]
    ranks = []
    for query, result in answerable:
        ids = [candidate.id for candidate in result.items]
        rank = next((position for position, item in enumerate(ids, start=1) if item in query.expected_ids), None)
        ranks.append(rank)
    decided_none = [q for q, r in zip(queries, results) if r.decision == "none"]
    unanswerable = [q for q in queries if not q.expected_ids]
    latencies = [r.latency_ms for r in results]
    return EvalReport(
        top1=_ratio(sum(1 for rank in ranks if rank == 1), len(ranks)),
        top3=_ratio(sum(1 for rank in ranks if rank is not None and rank <= 3), len(ranks)),
        mrr=round(sum(1 / rank for rank in ranks if rank) / len(ranks), 4) if ranks else 1.0,
        none_precision=_ratio(sum(1 for q in decided_none if not q.expected_ids), len(decided_none)),
        none_recall=_ratio(sum(1 for r, q in zip(results, queries) if not q.expected_ids and r.decision == "none"),
                           len(unanswerable)),
        n=len(queries),
        latency_ms_p50=round(percentile(latencies, 0.5), 2),
        latency_ms_p95=round(percentile(latencies, 0.95), 2),
        answered_wrong=round(sum(answered_wrongly(q, r) for q, r in zip(queries, results)) / len(queries), 4)
        if queries else 0.0,
        answerable_refused=in_scope_refused(queries, results),
        decisions={decision: sum(1 for r in results if r.decision == decision)
                   for decision in ("answer", "clarify", "none")},
    )


def score_by(field: str, queries: Sequence[EvalQuery], results: Sequence[SearchResult]) -> dict[str, EvalReport]:
    """The figures for each value of a field of the query lines (e.g. style, lang), values in sorted order."""
    groups: dict[str, list[int]] = {}
    for position, query in enumerate(queries):
        groups.setdefault(query.field(field), []).append(position)
    return {value: score([queries[i] for i in positions], [results[i] for i in positions])
            for value, positions in sorted(groups.items())}


def in_scope_refused(queries: Sequence[EvalQuery], results: Sequence[SearchResult]) -> float:
    """Share of answerable queries for which the search decided "none"."""
    answerable = [r for q, r in zip(queries, results) if q.expected_ids]
    return _ratio(sum(1 for r in answerable if r.decision == "none"), len(answerable)) if answerable else 0.0


def evaluate(search: KnowledgeSearch, queries: Sequence[EvalQuery],
             ranking: Optional[Ranking] = None) -> tuple[EvalReport, list[SearchResult]]:
    """Run every query through the search and score the results."""
    results = [search.search(query.query, k=10, ranking=ranking) for query in queries]
    return score(queries, results), results


def report_lines(report: EvalReport) -> list[str]:
    """The report as lines for people."""
    return [
        f"queries: {report.n}",
        f"top-1: {report.top1:.3f}   top-3: {report.top3:.3f}   MRR: {report.mrr:.3f}",
        f"none: precision {report.none_precision:.3f}, recall {report.none_recall:.3f}; "
        f"answerable queries refused: {report.answerable_refused:.3f}",
        f"answered wrong: {report.answered_wrong:.3f}   decisions: "
        + ", ".join(f"{decision} {count}" for decision, count in report.decisions.items()),
        f"search latency: p50 {report.latency_ms_p50:.1f} ms, p95 {report.latency_ms_p95:.1f} ms",
    ]


def report_json(report: EvalReport) -> str:
    """The report as one JSON object with exactly the contract's keys."""
    return json.dumps(report.model_dump())


def grouped_json(reports: dict[str, EvalReport]) -> str:
    """Reports per value of a field as one JSON object: {value: report, …}."""
    return json.dumps({value: report.model_dump() for value, report in reports.items()}, ensure_ascii=False)
