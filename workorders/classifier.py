"""Proposing the department and the urgency of a citizen's report, for the 12345 dispatcher.

The department: a multinomial logistic regression over the product's multilingual-e5-small query vectors, fitted
when the classifier is built on the catalogue's examples and remits (both languages). Its logits are turned into
probabilities with a temperature fitted on the calibration split of workorders/dispatch_eval/reports.jsonl, and an
order is dispatched automatically when the top probability reaches the threshold chosen there so that at least 95%
of automatic dispatches were right (benchmarks/dispatch.py --write makes the calibration file; docs/dispatch.md).
Without a calibration made for this catalogue and model, nothing is dispatched automatically.

The urgency: keyword rules (danger words anywhere → urgent; the departments' own urgent and high words; suggestion
and praise words → low), else the proposed department's default.
"""

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Protocol, Sequence

import numpy as np

from workorders.catalogue import DEFAULT_CATALOGUE, Catalogue, load_catalogue
from workorders.records import Urgency

DEFAULT_CALIBRATION = Path(__file__).resolve().parent / "dispatch_eval" / "calibration.json"
TARGET_PRECISION = 0.95  # automatic dispatches must be at least this often right (on the calibration split)
REGULARISATION = 10.0  # logistic regression's C: measured on the calibration split (docs/dispatch.md)

# Words that make any report urgent (danger to people now) or high, whatever the department; suggestion and praise
# words make it low when nothing more urgent matched. English entries match whole words.
URGENT_WORDS = ("着火", "起火", "失火", "火灾", "爆炸", "有人受伤", "受伤了", "流血", "昏迷", "晕倒了", "被困", "触电",
                "倒塌", "on fire", "caught fire", "fire broke out", "explosion", "injured", "bleeding",
                "unconscious", "electric shock", "collapsed")
HIGH_WORDS = ("食物中毒", "上吐下泻", "food poisoning", "got sick after eating")
LOW_WORDS = ("建议", "能不能增加", "能不能增设", "能不能延长", "能不能多开", "希望增加", "希望开通", "表扬", "感谢",
             "suggest", "suggestion", "could you add",
             "could there be", "please add", "would be nice", "i'd like to thank", "i want to praise")


class Encoder(Protocol):
    """What the classifier needs of an encoder (knowledge.embedder's encoders): normalised query vectors."""

    @property
    def model_id(self) -> str | None:
        """The encoder's model id (read only: an encoder whose id is always a str fits too)."""

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Calibration:
    """The temperature and the automatic-dispatch threshold, measured for one catalogue and one model."""

    catalogue: str        # Catalogue.fingerprint() it was made on
    model: str            # the encoder's model_id
    temperature: float
    threshold: float      # automatic dispatch when the top probability is at least this
    precision: float      # share right among automatic dispatches on the calibration split
    share: float          # share of the calibration split dispatched automatically
    reports: int          # size of the calibration split

    def applies_to(self, catalogue: Catalogue, model_id: str | None) -> bool:
        """True when it was made on this catalogue with this model."""
        return self.catalogue == catalogue.fingerprint() and self.model == model_id


def read_calibration(path: Path = DEFAULT_CALIBRATION) -> Optional[Calibration]:
    """The calibration in the file, or None when there is none."""
    if not path.is_file():
        return None
    return Calibration(**json.loads(path.read_text(encoding="utf-8")))


def write_calibration(calibration: Calibration, path: Path = DEFAULT_CALIBRATION) -> None:
    """Save the calibration as JSON."""
    path.write_text(json.dumps(asdict(calibration), indent=2) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Ranked:
    """One department and its probability."""

    department: str
    probability: float


@dataclass(frozen=True)
class Proposal:
    """What the classifier proposes for a report; a dispatcher confirms it unless `automatic`."""

    department: str
    confidence: float             # calibrated probability that `department` is right
    runner_up: str
    runner_up_confidence: float
    urgency: Urgency
    urgency_reason: str           # the word that set it, or "default of <department>"
    automatic: bool               # confident enough to dispatch without a dispatcher
    ranking: tuple[Ranked, ...]   # every department, most probable first


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise probabilities of logits divided by the temperature."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return result


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of the true labels (grid search)."""
    rows = np.arange(len(labels))
    best_temperature, best_loss = 1.0, np.inf
    for temperature in np.logspace(-2, 1.5, 281):
        loss = -float(np.mean(np.log(softmax(logits, float(temperature))[rows, labels] + 1e-12)))
        if loss < best_loss:
            best_temperature, best_loss = float(temperature), loss
    return best_temperature


def choose_threshold(confidences: np.ndarray, correct: np.ndarray,
                     target: float = TARGET_PRECISION) -> tuple[float, float, float]:
    """(threshold, share, precision): the lowest threshold whose automatic dispatches are at least `target` right.

    The reports are taken most confident first; the largest such prefix with precision ≥ target wins. No prefix:
    threshold 1.0 (nothing automatic).
    """
    order = np.argsort(-confidences, kind="stable")
    hits = np.cumsum(correct[order].astype(np.float64))
    precision = hits / np.arange(1, len(order) + 1)
    good = np.nonzero(precision >= target)[0]
    if len(good) == 0:
        return 1.0, 0.0, 0.0
    last = int(good[-1])
    return float(confidences[order[last]]), (last + 1) / len(order), float(precision[last])


def _contains(text: str, word: str) -> bool:
    if word.isascii():
        return re.search(rf"(?<![a-z]){re.escape(word.lower())}(?![a-z])", text) is not None
    return word in text


def rule_urgency(text: str, catalogue: Catalogue, department: str) -> tuple[Urgency, str]:
    """The urgency of a report and why: urgent words, then high words, then low words, else the default."""
    lowered = " ".join(text.lower().split())
    urgent = URGENT_WORDS + tuple(word for d in catalogue.departments for word in d.urgency.urgent)
    high = HIGH_WORDS + tuple(word for d in catalogue.departments for word in d.urgency.high)
    for level, words in ((Urgency.URGENT, urgent), (Urgency.HIGH, high), (Urgency.LOW, LOW_WORDS)):
        for word in words:
            if _contains(lowered, word):
                return level, word
    return catalogue.get(department).urgency.default, f"default of {department}"


class DispatchClassifier:
    """Department and urgency proposals for report texts."""

    def __init__(self, catalogue: Catalogue, encoder: Encoder, calibration: Optional[Calibration] = None) -> None:
        """Fit the department model on the catalogue; use `calibration` only if it was made for it and the encoder."""
        from sklearn.linear_model import LogisticRegression

        self.catalogue = catalogue
        self.encoder = encoder
        self.calibration = calibration if calibration and calibration.applies_to(catalogue, encoder.model_id) else None
        texts: list[str] = []
        labels: list[int] = []
        for index, department in enumerate(catalogue.departments):
            for text in [*department.examples.zh, *department.examples.en, department.remit.zh, department.remit.en]:
                texts.append(text)
                labels.append(index)
        self.example_texts = texts
        self.example_labels = np.asarray(labels)
        self.example_vectors = encoder.encode_queries(texts)
        model = LogisticRegression(C=REGULARISATION, max_iter=5000)
        model.fit(self.example_vectors, self.example_labels)
        self._coef = np.asarray(model.coef_, dtype=np.float64)
        self._intercept = np.asarray(model.intercept_, dtype=np.float64)

    @property
    def temperature(self) -> float:
        """The calibrated temperature (1.0 uncalibrated)."""
        return self.calibration.temperature if self.calibration else 1.0

    @property
    def threshold(self) -> Optional[float]:
        """The automatic-dispatch threshold, None when uncalibrated (nothing automatic)."""
        return self.calibration.threshold if self.calibration else None

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        """The department scores of query vectors (one row per report, one column per department)."""
        result: np.ndarray = np.asarray(vectors, dtype=np.float64) @ self._coef.T + self._intercept
        return result

    def proposal(self, text: str, probabilities: np.ndarray) -> Proposal:
        """The proposal for one report given its department probabilities."""
        ids = self.catalogue.ids
        order = np.argsort(-probabilities, kind="stable")
        ranking = tuple(Ranked(ids[i], float(probabilities[i])) for i in order)
        urgency, reason = rule_urgency(text, self.catalogue, ranking[0].department)
        threshold = self.threshold
        return Proposal(department=ranking[0].department, confidence=ranking[0].probability,
                        runner_up=ranking[1].department, runner_up_confidence=ranking[1].probability,
                        urgency=urgency, urgency_reason=reason,
                        automatic=threshold is not None and ranking[0].probability >= threshold, ranking=ranking)

    def propose_many(self, texts: Sequence[str]) -> list[Proposal]:
        """Proposals for several reports (encoded in one batch)."""
        if not texts:
            return []
        probabilities = softmax(self.logits(self.encoder.encode_queries(list(texts))), self.temperature)
        return [self.proposal(text, row) for text, row in zip(texts, probabilities)]

    def propose(self, text: str) -> Proposal:
        """The proposal for one report."""
        return self.propose_many([text])[0]


def open_classifier(encoder: Encoder, catalogue_path: Path = DEFAULT_CATALOGUE,
                    calibration_path: Path = DEFAULT_CALIBRATION) -> DispatchClassifier:
    """Load the catalogue and the calibration and build the classifier on `encoder`.

    The encoder is the product's (knowledge.embedder.load_encoder, or the knowledge search's own `encoder`, so the
    model is loaded once per process); the caller loads it. The catalogue path is the caller's to choose too (a
    GOVBOT_DEPARTMENTS_FILE setting).
    """
    return DispatchClassifier(load_catalogue(catalogue_path), encoder, read_calibration(calibration_path))
