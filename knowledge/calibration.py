"""Making a knowledge base's calibration: its answerability check, trained on labelled questions, or its own
"none" thresholds, made from its own texts when no labelled questions exist (an imported FAQ set).

Training uses scikit-learn's logistic regression; the fitted numbers are saved as plain JSON
(knowledge.answerability.Calibration), so serving needs no scikit-learn.
"""

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.language import detect_language
from knowledge.answerability import Calibration, LinearModel, knowledge_fingerprint
from knowledge.evaluate import EvalQuery
from knowledge.normalize import normalize_question
from knowledge.search import KnowledgeSearch, Scores

FOLDS = 5
SEED = 7
# The share of answerable dev questions the refusal threshold may refuse (on held-out folds). Measured trade-off
# (docs/knowledge.md): 0.035 → 85% of unseen near-miss questions refused, 2.7% of answerable ones; 0.05 → 90% / 6%.
MAX_REFUSED = 0.045


@dataclass
class Observed:
    """The signals of labelled questions, ready for fitting."""

    features: np.ndarray      # one row per question: the Signals vector plus the two "not this" signals
    vectors: np.ndarray       # the questions' e5 vectors
    answerable: np.ndarray    # 1 where the question has an expected item


def observe(search: KnowledgeSearch, queries: Sequence[EvalQuery]) -> Observed:
    """Search every question once and keep what the answerability check looks at."""
    rows, vectors = [], []
    for query in queries:
        scores = search.scores(normalize_question(query.query))
        signals = search.signals(scores)
        rows.append(signals.vector() + [signals.not_this_own, signals.not_this_any])
        vectors.append(scores.vector)
    return Observed(np.asarray(rows, dtype=np.float64), np.asarray(vectors, dtype=np.float64),
                    np.asarray([1 if q.expected_ids else 0 for q in queries]))


def _fit(x: np.ndarray, y: np.ndarray, strength: float, balanced: bool = False) -> LinearModel:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    if len(set(y.tolist())) < 2:  # a fold of a tiny set may hold one kind only: predict that kind
        share = float(np.clip(np.mean(y), 0.01, 0.99))
        return LinearModel(mean=mean.tolist(), scale=scale.tolist(), coef=[0.0] * x.shape[1],
                           intercept=float(np.log(share / (1 - share))))
    model = LogisticRegression(C=strength, max_iter=5000, class_weight="balanced" if balanced else None)
    model.fit((x - mean) / scale, y)
    return LinearModel(mean=mean.tolist(), scale=scale.tolist(), coef=model.coef_[0].tolist(),
                       intercept=float(model.intercept_[0]))


def _predict(model: LinearModel, x: np.ndarray) -> np.ndarray:
    return np.asarray([model.probability(row) for row in x])


def _folds(count: int) -> list[np.ndarray]:
    order = np.random.default_rng(SEED).permutation(count)
    return [order[fold::FOLDS] for fold in range(FOLDS)]


def _domain_inputs(observed: Observed, positives: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([positives, observed.vectors[rows]])
    y = np.concatenate([np.ones(len(positives)), observed.answerable[rows]])
    return x, y


def fit_answerability(search: KnowledgeSearch, queries: Sequence[EvalQuery], *, max_refused: float = MAX_REFUSED,
                      domain_strength: float = 0.003, strength: float = 1.0) -> Calibration:
    """Train the answerability check on labelled questions (expected item or null) of this knowledge base.

    The refusal threshold is the highest that, on held-out folds of the same questions, refuses at most
    `max_refused` of the answerable ones.
    """
    observed = observe(search, queries)
    samples = [question for item in search.items for language in item.languages
               for question in item.text(language).sample_questions]
    positives = search.encoder.encode_queries(samples).astype(np.float64) if samples else \
        np.zeros((0, observed.vectors.shape[1]))
    everything = np.arange(len(queries))
    # The domain score of each training question comes from a model that did not see it.
    domain_oof = np.zeros(len(queries))
    for held in _folds(len(queries)):
        kept = np.setdiff1d(everything, held)
        domain_oof[held] = _predict(_fit(*_domain_inputs(observed, positives, kept), domain_strength, True),
                                    observed.vectors[held])
    features = np.column_stack([observed.features[:, :-2], domain_oof, observed.features[:, -2:]])
    answer_oof = np.zeros(len(queries))
    for held in _folds(len(queries)):
        kept = np.setdiff1d(everything, held)
        answer_oof[held] = _predict(_fit(features[kept], observed.answerable[kept], strength), features[held])
    answerable = observed.answerable == 1
    refuse_below = 0.05
    for threshold in np.arange(0.05, 0.951, 0.01):
        if np.mean(answer_oof[answerable] < threshold) <= max_refused:
            refuse_below = float(round(threshold, 2))
    return Calibration(
        knowledge=knowledge_fingerprint(search.items), encoder=search.encoder.model_id,
        answerability=_fit(features, observed.answerable, strength),
        domain=_fit(*_domain_inputs(observed, positives, everything), domain_strength, True),
        refuse_below=refuse_below,
        made_from={"questions": len(queries), "answerable": int(answerable.sum()),
                   "unanswerable": int((~answerable).sum()), "sample_questions": len(samples),
                   "held_out_answerable_refused": round(float(np.mean(answer_oof[answerable] < refuse_below)), 4),
                   "held_out_unanswerable_refused": round(float(np.mean(answer_oof[~answerable] < refuse_below)), 4)
                   if (~answerable).any() else "-"})


def _leave_one_out(search: KnowledgeSearch, scores: Scores, own: int) -> float:
    """The best score when the question's own item is taken away: what a question the KB cannot answer gets."""
    others = np.delete(scores.combined, own)
    return float(others.max()) if len(others) else 0.0


def fit_thresholds(search: KnowledgeSearch, *, refuse_share: float = 0.1) -> Calibration:
    """A knowledge base's own "none" thresholds, from its own texts (for a FAQ set with no labelled questions).

    Each item's first sample question (or its title) is searched with that item taken away: the best remaining
    score is what a related question that the knowledge base cannot answer gets. The threshold per language
    refuses `refuse_share` of those: a cautious cut that keeps real answerable questions (measured on the public
    FAQ sets, docs/knowledge.md), since scores alone cannot separate in-domain questions well.
    """
    absent_by_language: dict[str, list[float]] = {}
    for position, item in enumerate(search.items):
        for language in item.languages:
            content = item.text(language)
            question = (content.sample_questions or [content.title])[0]
            scores = search.scores(normalize_question(question))
            absent_by_language.setdefault(detect_language(question) or language, []).append(
                _leave_one_out(search, scores, position))
    thresholds = {language: round(float(np.quantile(absent, refuse_share)), 4)
                  for language, absent in absent_by_language.items()}
    for known in ("zh", "en"):
        thresholds.setdefault(known, search.config.decision.none_below[known])
    return Calibration(knowledge=knowledge_fingerprint(search.items), encoder=search.encoder.model_id,
                       none_below=thresholds,
                       made_from={"method": "leave-one-out over the items' own questions",
                                  "items": len(search.items), "refuse_share": refuse_share})
