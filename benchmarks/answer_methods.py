"""Honest answers, method by method: each method of the honest-answers work added in turn to the dense + BM25
baseline, trained and tuned on the dev parts of the query sets only, measured on their held-out parts, with every
figure per style and per language.

Usage: .venv/bin/python -m benchmarks.answer_methods      (also run by benchmarks.retrieval)
Prints figures only; changes nothing. `govbot kb calibrate` makes the served calibration the same way.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch and faiss are imported

import numpy as np  # noqa: E402

from core.language import detect_language  # noqa: E402

from knowledge.answerability import FEATURES  # noqa: E402
from knowledge.calibration import MAX_REFUSED, Observed, observe  # noqa: E402
from knowledge.config import SearchConfig  # noqa: E402
from knowledge.embedder import load_encoder  # noqa: E402
from knowledge.evaluate import EvalQuery, read_queries, score, score_by  # noqa: E402
from knowledge.index import build_index  # noqa: E402
from knowledge.loader import load_items  # noqa: E402
from knowledge.normalize import normalize_question  # noqa: E402
from knowledge.search import KnowledgeSearch, SearchResult, decide  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
KB = ROOT / "knowledge" / "items"
SETS = ("dev_queries.jsonl", "near_miss.jsonl", "robust_queries.jsonl", "near_miss_fresh.jsonl")


def load_sets() -> tuple[list[EvalQuery], list[EvalQuery]]:
    """(dev part, held-out part) of all query sets. The old dev set has no split: its odd lines are held out."""
    dev, held = [], []
    for name in SETS:
        if not (DATA / name).is_file():
            continue
        for number, query in enumerate(read_queries(DATA / name)):
            if name == "dev_queries.jsonl":
                query = query.model_copy(update={"style": "plain", "lang": detect_language(query.query) or "zh"})
                (dev if number % 2 == 0 else held).append(query)
            else:
                (held if query.field("split") == "holdout" else dev).append(query)
    return dev, held


@dataclass
class Step:
    """One row of the ladder: how the question is read, ranked and decided."""

    label: str
    normalize: bool = True
    sound_weight: float = 0.0
    features: Optional[tuple[str, ...]] = None       # None: decide by score thresholds
    extra: dict = field(default_factory=dict)


STEPS = [
    Step("baseline: dense + BM25, score thresholds", normalize=False),
    Step("+ Traditional→Simplified, full-width (OpenCC, NFKC)"),
    Step("+ sound: BM25 over toneless pinyin syllable pairs", sound_weight=-1),
    Step("+ answerability check: scores, margin, matches", sound_weight=-1,
         features=("fused_top", "dense_top", "margin", "words_top", "sounds_top", "english", "length")),
    Step("+ key-term coverage (wordfreq weights)", sound_weight=-1,
         features=("fused_top", "dense_top", "margin", "words_top", "sounds_top", "english", "length",
                   "searched_share", "unknown_mass", "uncovered_max", "specific_share", "specific_uncovered",
                   "specific_unknown", "specific_terms", "names_a_document", "document_uncovered",
                   "uncovered_with_document")),
    Step("+ domain model over the e5 vector", sound_weight=-1,
         features=tuple(name for name in FEATURES if not name.startswith("not_this"))),
    Step("+ per-item \"not this\" services (all: served)", sound_weight=-1, features=FEATURES),
]


def _search(items, index, encoder, config: SearchConfig, sound_weight: float) -> KnowledgeSearch:  # type: ignore[no-untyped-def]
    ranking = config.ranking if sound_weight < 0 else config.ranking.model_copy(update={"sound_weight": sound_weight})
    tuned = config.model_copy(update={"ranking": ranking, "query_cache_size": 4096})
    return KnowledgeSearch(items=items, index=index, encoder=encoder, config=tuned)


def _threshold_results(search: KnowledgeSearch, queries: list[EvalQuery], normalize: bool) -> list[SearchResult]:
    return [search.result(q.query, search.scores(normalize_question(q.query) if normalize else q.query.strip()),
                          k=10) for q in queries]


def _tune_thresholds(search: KnowledgeSearch, queries: list[EvalQuery], results: list[SearchResult]):  # type: ignore[no-untyped-def]
    """Per-language none_below on the dev part: the highest that refuses at most MAX_REFUSED answerable."""
    thresholds = {}
    for language in ("zh", "en"):
        tops = np.array([r.items[0].score for q, r in zip(queries, results) if r.language == language
                         and q.expected_ids])
        thresholds[language] = float(np.quantile(tops, MAX_REFUSED)) if len(tops) else 0.0
    return search.config.decision.model_copy(update={"none_below": thresholds})


def _columns(names: tuple[str, ...]) -> list[int]:
    order = list(FEATURES)
    # observe() rows: the Signals vector, then not_this_own, not_this_any; the domain score is inserted later.
    return [order.index(name) for name in names]


def _with_domain(observed: Observed, domain: np.ndarray) -> np.ndarray:
    return np.column_stack([observed.features[:, :-2], domain, observed.features[:, -2:]])


def _answerability(dev_obs: Observed, held_obs: Observed, positives: np.ndarray,
                   names: tuple[str, ...]) -> tuple[np.ndarray, float]:
    """Held-out probabilities of a model on the named features, and its threshold tuned on the dev part."""
    from knowledge.calibration import _fit, _folds, _predict

    def domain_model(rows: np.ndarray):  # type: ignore[no-untyped-def]
        x = np.concatenate([positives, dev_obs.vectors[rows]])
        y = np.concatenate([np.ones(len(positives)), dev_obs.answerable[rows]])
        return _fit(x, y, 0.003, True)

    everything = np.arange(len(dev_obs.answerable))
    use_domain = "domain" in names
    domain_dev, domain_held = np.full(len(everything), 0.5), np.full(len(held_obs.answerable), 0.5)
    if use_domain:
        for held in _folds(len(everything)):
            domain_dev[held] = _predict(domain_model(np.setdiff1d(everything, held)), dev_obs.vectors[held])
        domain_held = _predict(domain_model(everything), held_obs.vectors)
    columns = _columns(names)
    x_dev = _with_domain(dev_obs, domain_dev)[:, columns]
    x_held = _with_domain(held_obs, domain_held)[:, columns]
    oof = np.zeros(len(everything))
    for held in _folds(len(everything)):
        oof[held] = _predict(_fit(x_dev[np.setdiff1d(everything, held)],
                                  dev_obs.answerable[np.setdiff1d(everything, held)], 1.0), x_dev[held])
    answerable = dev_obs.answerable == 1
    threshold = 0.05
    for candidate in np.arange(0.05, 0.951, 0.01):
        if np.mean(oof[answerable] < candidate) <= MAX_REFUSED:
            threshold = float(candidate)
    return _predict(_fit(x_dev, dev_obs.answerable, 1.0), x_held), threshold


def _decided(search: KnowledgeSearch, queries: list[EvalQuery], probabilities: np.ndarray,
             threshold: float) -> list[SearchResult]:
    results = []
    for query, probability in zip(queries, probabilities):
        found = search.search(query.query, k=10)
        decision, offer = decide([c.score for c in found.items], search.config.decision, found.language,
                                 float(probability), threshold)
        results.append(found.model_copy(update={"decision": decision, "offer": offer, "latency_ms": 0.0,
                                                "answerable": round(float(probability), 4)}))
    return results


def table(label: str, queries: list[EvalQuery], results: list[SearchResult],
          print_line: Callable[[str], None] = print) -> None:
    """The figures of one method: overall, per style, per language."""
    def row(name: str, report) -> str:  # type: ignore[no-untyped-def]
        refused = f"{report.none_recall:.3f}" if any(not q.expected_ids for q in queries) else "  -  "
        return (f"  {name:<12} n={report.n:<4} top1 {report.top1:.3f}  answered_wrong {report.answered_wrong:.3f}  "
                f"answerable_refused {report.answerable_refused:.3f}  unanswerable refused {refused}"
                + (f"  search p50 {report.latency_ms_p50:.0f} / p95 {report.latency_ms_p95:.0f} ms"
                   if report.latency_ms_p95 else ""))
    print_line(label)
    print_line(row("all", score(queries, results)))
    for field_name in ("style", "lang"):
        for value, report in score_by(field_name, queries, results).items():
            print_line(row(f"{value}", report))


def ladder(encoder_name: Optional[str] = None) -> None:
    """Each method in turn, tuned on the dev part, measured on the held-out part."""
    config = SearchConfig.load()
    items = load_items(KB)
    encoder = load_encoder(encoder_name or config.encoder, threads=config.threads)
    dev, held = load_sets()
    print(f"\nmethods, one by one: tuned on {len(dev)} dev questions, measured on {len(held)} held-out "
          f"(odd lines of the dev set, the hold-out splits, near_miss_fresh); {len(items)} items")
    index = build_index(items, encoder, config.index)
    positives = None
    observed: dict[float, tuple[Observed, Observed]] = {}
    for step in STEPS:
        search = _search(items, index, encoder, config, step.sound_weight)
        if step.features is None:
            dev_results = _threshold_results(search, dev, step.normalize)
            search.config = search.config.model_copy(update={"decision": _tune_thresholds(search, dev, dev_results)})
            table(step.label, held, _threshold_results(search, held, step.normalize))
            continue
        if positives is None:
            samples = [q for item in items for lang in item.languages for q in item.text(lang).sample_questions]
            positives = encoder.encode_queries(samples).astype(np.float64)
        if step.sound_weight not in observed:
            observed[step.sound_weight] = (observe(search, dev), observe(search, held))
        dev_obs, held_obs = observed[step.sound_weight]
        probabilities, threshold = _answerability(dev_obs, held_obs, positives, step.features)
        table(f"{step.label}   (refuse below {threshold:.2f})", held,
              _decided(search, held, probabilities, threshold))


if __name__ == "__main__":
    ladder()
