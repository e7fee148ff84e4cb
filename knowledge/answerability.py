"""The answerability check: is the best item really what the question asks about?

A small logistic model over signals of the search (scores, margin, word and sound matches, key-term coverage,
closeness to the services the item does NOT cover) and over the question's e5 vector (a second logistic model
that knows the region of questions this knowledge base answers). It is trained per knowledge base by
`benchmarks/retrieval.py --calibrate` (or `govbot kb calibrate`) on dev questions, and kept beside the items as
calibration.json; a knowledge base without one decides by the score thresholds of knowledge/search.yml.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from knowledge.coverage import TermCoverage
from knowledge.schema import ServiceItem

CALIBRATION_FILE = "calibration.json"
FEATURES = ("fused_top", "dense_top", "margin", "words_top", "sounds_top", "searched_share", "unknown_mass",
            "uncovered_max", "english", "length", "specific_share", "specific_uncovered", "specific_unknown",
            "specific_terms", "names_a_document", "document_uncovered", "uncovered_with_document", "domain",
            "not_this_own", "not_this_any")


@dataclass(frozen=True)
class Signals:
    """What the search knows about its best item for one question."""

    fused_top: float
    dense_top: float
    margin: float              # best minus second fused score
    words_top: float           # the best item's BM25 over words, saturated to 0..1
    sounds_top: float          # its BM25 over pinyin syllable pairs, saturated to 0..1
    coverage: TermCoverage
    english: bool
    length: int                # characters of the normalised question
    not_this_own: float        # closeness to a service the best item does not cover, minus its own closeness
    not_this_any: float        # the same for any item's "not this" services

    def vector(self) -> list[float]:
        """The signals in the order of FEATURES (the domain score is added by the model)."""
        c = self.coverage
        return [self.fused_top, self.dense_top, self.margin, self.words_top, self.sounds_top, c.searched_share,
                c.unknown_mass, c.uncovered_max, 1.0 if self.english else 0.0, min(self.length, 200) / 100,
                c.specific_share, c.specific_uncovered, c.specific_unknown, float(c.specific_terms),
                1.0 if c.names_a_document else 0.0, c.document_uncovered,
                c.specific_uncovered if c.names_a_document else 0.0]


class LinearModel(BaseModel):
    """A standardised logistic regression: P = sigmoid(((x - mean) / scale) · coef + intercept)."""

    model_config = ConfigDict(frozen=True)

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    def probability(self, x: np.ndarray) -> float:
        """The model's probability for one input vector."""
        z = float(((x - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + self.intercept)
        return float(1.0 / (1.0 + np.exp(-z)))


def knowledge_fingerprint(items: Sequence[ServiceItem]) -> str:
    """An identity of a knowledge base's item ids (a calibration applies only to the items it was made for)."""
    return hashlib.sha256("\n".join(sorted(item.id for item in items)).encode()).hexdigest()[:16]


class Calibration(BaseModel):
    """A knowledge base's own decision settings, made by calibration and kept in calibration.json."""

    model_config = ConfigDict(frozen=True)

    knowledge: str                                  # knowledge_fingerprint of the items
    encoder: str                                    # the encoder the vectors came from
    none_below: Optional[dict[str, float]] = None   # per-language score thresholds (used without a model)
    answerability: Optional[LinearModel] = None     # over FEATURES
    domain: Optional[LinearModel] = None            # over the question's e5 vector
    refuse_below: float = 0.5                       # answerability under this: "none"
    made_from: dict[str, float | int | str] = {}    # what it was made from (for people)

    def answerable(self, signals: Signals, query_vector: np.ndarray) -> Optional[float]:
        """The probability that the best item answers the question (None without a model)."""
        if self.answerability is None:
            return None
        domain = self.domain.probability(query_vector) if self.domain is not None else 0.5
        features = np.asarray(signals.vector() + [domain, signals.not_this_own, signals.not_this_any])
        return self.answerability.probability(features)

    def applies_to(self, items: Sequence[ServiceItem], encoder_id: str) -> bool:
        """True when this calibration was made for these items and this encoder."""
        return self.knowledge == knowledge_fingerprint(items) and self.encoder == encoder_id

    def save(self, directory: Path) -> None:
        """Write calibration.json into the knowledge directory (whole, or not at all)."""
        target = directory / CALIBRATION_FILE
        scratch = target.with_suffix(".json.tmp")
        scratch.write_text(self.model_dump_json(indent=1), encoding="utf-8")
        scratch.replace(target)


def read_calibration(directory: Path) -> Optional[Calibration]:
    """The knowledge directory's calibration.json, or None if it has none (a broken file is an error)."""
    path = directory / CALIBRATION_FILE
    if not path.is_file():
        return None
    try:
        return Calibration.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as error:
        raise ValueError(f"{path}: not a valid calibration file ({error})") from None
