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

    model_config = ConfigDict(extra="ignore", frozen=True)

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
        if self.expected is None:
            return frozenset()
        return frozenset([self.expected] if isinstance(self.expected, str) else self.expected)


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


def score(queries: Sequence[EvalQuery], results: Sequence[SearchResult]) -> EvalReport:
    """Top-1/top-3/MRR over answerable queries (by rank), and how well "none" was decided."""
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
    )


def in_scope_refused(queries: Sequence[EvalQuery], results: Sequence[SearchResult]) -> float:
    """Share of answerable queries for which the search decided "none"."""
    answerable = [r for q, r in zip(queries, results) if q.expected_ids]
    return _ratio(sum(1 for r in answerable if r.decision == "none"), len(answerable)) if answerable else 0.0


def evaluate(search: KnowledgeSearch, queries: Sequence[EvalQuery],
             ranking: Optional[Ranking] = None) -> tuple[EvalReport, list[SearchResult]]:
    """Run every query through the search and score the results."""
    results = [search.search(query.query, k=10, ranking=ranking) for query in queries]
    return score(queries, results), results


def report_lines(report: EvalReport, refused: float) -> list[str]:
    """The report as lines for people."""
    return [
        f"queries: {report.n}",
        f"top-1: {report.top1:.3f}   top-3: {report.top3:.3f}   MRR: {report.mrr:.3f}",
        f"none: precision {report.none_precision:.3f}, recall {report.none_recall:.3f}; "
        f"answerable queries refused: {refused:.3f}",
        f"search latency: p50 {report.latency_ms_p50:.1f} ms, p95 {report.latency_ms_p95:.1f} ms",
    ]


def report_json(report: EvalReport) -> str:
    """The report as one JSON object with exactly the contract's keys."""
    return json.dumps(report.model_dump())
