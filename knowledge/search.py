"""Knowledge search: rank service items for a question and decide answer / clarify / none."""

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Optional, Sequence

import numpy as np
from cachetools import LRUCache
from pydantic import BaseModel

from core import query_vector
from core.language import Language, detect_language
from knowledge.answerability import Calibration, Signals
from knowledge.bm25 import BM25, document_tokens, tokenize
from knowledge.config import DecisionConfig, RankingConfig, SearchConfig
from knowledge.coverage import KeyTerms
from knowledge.index import Encoder, PassageIndex
from knowledge.normalize import normalize_question
from knowledge.pinyin import syllable_pairs
from knowledge.schema import ServiceItem
from knowledge.texts import item_document

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)

Decision = Literal["answer", "clarify", "none"]
Ranking = Literal["dense", "bm25", "fused"]


class Candidate(BaseModel):
    """One ranked item."""

    id: str
    title: str
    score: float
    dense: float
    lexical: float


class SearchResult(BaseModel):
    """What the search found for one question, and what the bot should do with it."""

    query: str
    language: Language
    decision: Decision
    items: list[Candidate]                          # ranked, best first
    offer: int                                      # how many of `items` to present (1 answer, 2-4 clarify, 0 none)
    latency_ms: float
    answerable: Optional[float] = None              # the answerability check's probability, when the KB has one

    @property
    def offered(self) -> list[Candidate]:
        """The item(s) to present: the winner for "answer", the options for "clarify", none for "none"."""
        return self.items[: self.offer]

    def redecided(self, config: DecisionConfig, refuse_below: Optional[float] = None) -> "SearchResult":
        """The same ranking with the decision taken again under another configuration (and, when the result
        has an answerability probability, another refusal threshold)."""
        decision, offer = decide([c.score for c in self.items], config, self.language,
                                 self.answerable if refuse_below is not None else None, refuse_below or 0.0)
        return self.model_copy(update={"decision": decision, "offer": offer})


def decide(scores: Sequence[float], config: DecisionConfig, language: Language,
           answerable: Optional[float] = None, refuse_below: float = 0.5) -> tuple[Decision, int]:
    """Decide from descending item scores for a question in `language`; also return how many to offer.

    With an answerability probability, "none" is decided by it; without, by the per-language score threshold.
    """
    if not scores:
        return "none", 0
    if (answerable is not None and answerable < refuse_below) or \
            (answerable is None and scores[0] < config.none_below[language]):
        return "none", 0
    if len(scores) == 1 or scores[0] - scores[1] >= config.answer_margin:
        return "answer", 1
    close = sum(1 for score in scores[: config.clarify_max] if scores[0] - score <= config.clarify_window)
    return ("clarify", close) if close >= 2 else ("answer", 1)


class _QueryCache:
    """A small LRU cache of query vectors: repeated questions skip the model (size 0: no cache)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.vectors: LRUCache[str, np.ndarray] = LRUCache(maxsize=size)

    def get(self, query: str, encode: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
        """The query's vector: from the cache, else encoded (and kept)."""
        vector = self.vectors.get(query)
        if vector is None:
            vector = encode([query])[0]
            if self.size:
                self.vectors[query] = vector
        return vector


@dataclass
class Scores:
    """Every item's scores for one (normalised) question."""

    text: str
    vector: np.ndarray      # the question's e5 vector (zeros for BM25-only ranking)
    dense: np.ndarray       # best passage cosine
    words: np.ndarray       # BM25 over words
    sounds: np.ndarray      # BM25 over pinyin syllable pairs
    not_this: np.ndarray    # closeness to the services each item does not cover (0 where it lists none)
    combined: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))


@dataclass
class KnowledgeSearch:
    """Searches a loaded knowledge base with its index and encoder."""

    items: list[ServiceItem]
    index: PassageIndex
    encoder: Encoder
    config: SearchConfig
    calibration: Optional[Calibration] = None

    def __post_init__(self) -> None:
        self.by_id = {item.id: item for item in self.items}
        self.positions = {item.id: position for position, item in enumerate(self.items)}
        documents = [item_document(item) for item in self.items]
        self.bm25 = BM25([document_tokens(document) for document in documents])
        self.sounds = BM25([syllable_pairs(document, latin=False) for document in documents])
        self.terms = KeyTerms(self.items)
        self.cache = _QueryCache(self.config.query_cache_size)
        negative_rows = [row for row, passage in enumerate(self.index.passages) if passage.is_negative]
        self.negative_owner = np.array([self.positions[self.index.passages[row].item_id] for row in negative_rows],
                                       dtype=np.int64)
        self.negative_vectors = _reconstruct(self.index, negative_rows)

    def vector(self, query: str) -> np.ndarray:
        """The question's e5 vector (cached)."""
        return self.cache.get(query, self.encoder.encode_queries)

    def dense_scores(self, query: str) -> np.ndarray:
        """Best passage cosine per item (items without a retrieved passage get the lowest retrieved score)."""
        return self._dense(self.vector(query))

    def _dense(self, vector: np.ndarray) -> np.ndarray:
        scores, rows = self.index.nearest(vector[None, :], self.config.index.passages_per_query)
        found = [(score, row) for score, row in zip(scores[0], rows[0])
                 if row >= 0 and not self.index.passages[row].is_negative]
        floor = float(min(score for score, _ in found)) if found else 0.0
        result = np.full(len(self.items), floor, dtype=np.float32)
        for score, row in found:
            position = self.positions[self.index.passages[row].item_id]
            result[position] = max(result[position], score)
        return result

    def _not_this(self, vector: np.ndarray) -> np.ndarray:
        result = np.zeros(len(self.items), dtype=np.float32)
        if len(self.negative_owner):
            np.maximum.at(result, self.negative_owner, self.negative_vectors @ vector)
        return result

    def lexical_scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """BM25 of every item over the question's words, and over its pinyin syllable pairs (its sound)."""
        return self.bm25.scores(tokenize(query)), self.sounds.scores(syllable_pairs(query))

    def scores(self, text: str, ranking: Optional[Ranking] = None, vector: Optional[np.ndarray] = None) -> Scores:
        """Every item's scores for a normalised question, combined by `ranking` (default: the configured one);
        `vector`: the question's e5 vector when the caller has it already."""
        method = ranking or self.config.ranking.method
        words, sounds = self.lexical_scores(text)
        if method == "bm25":
            vector = np.zeros(self.encoder.dimension, dtype=np.float32)
            dense, not_this = np.zeros_like(words), np.zeros_like(words)
        else:
            vector = self.vector(text) if vector is None else vector
            dense, not_this = self._dense(vector), self._not_this(vector)
        found = Scores(text, vector, dense, words, sounds, not_this)
        found.combined = combine(dense, words, method, self.config.ranking, sounds)
        return found

    def signals(self, scores: Scores) -> Signals:
        """The answerability signals of the best item for these scores."""
        order = np.argsort(-scores.combined, kind="stable")
        top = int(order[0])
        second = float(scores.combined[order[1]]) if len(order) > 1 else 0.0
        ranking = self.config.ranking
        dense_top = float(scores.dense[top])
        return Signals(
            fused_top=float(scores.combined[top]), dense_top=dense_top,
            margin=float(scores.combined[top]) - second,
            words_top=min(float(scores.words[top]) / ranking.bm25_saturation, 1.0),
            sounds_top=min(float(scores.sounds[top]) / ranking.sound_saturation, 1.0),
            coverage=self.terms.coverage(scores.text, top), english=detect_language(scores.text) == "en",
            length=len(scores.text),
            not_this_own=float(scores.not_this[top]) - dense_top,
            not_this_any=float(scores.not_this.max()) - dense_top if len(scores.not_this) else -dense_top)

    def answerable(self, scores: Scores) -> Optional[float]:
        """The answerability check's probability for the best item (None when the KB has no calibration)."""
        if self.calibration is None or self.calibration.answerability is None or not len(self.items):
            return None
        return self.calibration.answerable(self.signals(scores), scores.vector)

    def result(self, query: str, scores: Scores, k: int = 5, started: Optional[float] = None) -> SearchResult:
        """The ranked candidates and the decision for already computed item scores."""
        language = detect_language(query) or "zh"
        combined = scores.combined
        order = np.argsort(-combined, kind="stable")[: max(k, self.config.decision.clarify_max)]
        candidates = [Candidate(id=self.items[i].id, title=self.items[i].text(language).title,
                                score=round(float(combined[i]), 4), dense=round(float(scores.dense[i]), 4),
                                lexical=round(float(scores.words[i]), 4)) for i in order]
        answerable = self.answerable(scores)
        if answerable is not None and self._names_a_title(scores.text, [int(i) for i in order[:2]]):
            answerable = max(answerable, self.refuse_below)
        decision, offer = decide([c.score for c in candidates], self.decision_config, language, answerable,
                                 self.refuse_below)
        elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        return SearchResult(query=query, language=language, decision=decision, items=candidates[: max(k, offer)],
                            offer=offer, latency_ms=round(elapsed, 2),
                            answerable=None if answerable is None else round(answerable, 4))

    def _names_a_title(self, text: str, positions: list[int]) -> bool:
        """True when the whole question is part of a best item's title ("驾驶证", "passport"): a bare name of
        something the knowledge base has an item about is never refused (it may still need a clarification)."""
        bare = _NOT_WORD.sub("", text.lower())
        if not bare:
            return False
        return any(bare in _NOT_WORD.sub("", self.items[i].text(language).title.lower())
                   for i in positions for language in self.items[i].languages)

    @property
    def decision_config(self) -> DecisionConfig:
        """The decision settings: search.yml's, with the knowledge base's own thresholds when calibrated."""
        own = self.calibration.none_below if self.calibration is not None else None
        return self.config.decision if not own else self.config.decision.model_copy(update={"none_below": own})

    @property
    def refuse_below(self) -> float:
        """The answerability under which the search says "none"."""
        return self.calibration.refuse_below if self.calibration is not None else 0.5

    def search(self, query: str, k: int = 5, ranking: Optional[Ranking] = None,
               shared_vector: Any = None) -> SearchResult:
        """Rank the items for a question and decide what to do. `shared_vector`: the NLU's vector of the message
        (core.query_vector's payload), used instead of encoding when it is this model's vector of exactly the
        normalised question."""
        started = time.perf_counter()
        text = normalize_question(query)
        return self.result(query, self.scores(text, ranking, self.shared(shared_vector, text)), k=k, started=started)

    def shared(self, payload: Any, text: str) -> Optional[np.ndarray]:
        """The vector of a query-vector payload when it is usable for `text` with this search's encoder."""
        if payload is None or not str(getattr(self.encoder, "model_id", "")).startswith(query_vector.MODEL_FAMILY):
            return None
        return query_vector.from_payload(payload, text, self.encoder.dimension)


def _reconstruct(index: PassageIndex, rows: list[int]) -> np.ndarray:
    """The stored vectors of some index rows (the "not this" passages: few, kept in memory)."""
    if not rows:
        return np.zeros((0, index.index.d), dtype=np.float32)
    try:
        return np.stack([index.index.reconstruct(row) for row in rows]).astype(np.float32)
    except RuntimeError:  # an IVF index needs its direct map first
        index.index.make_direct_map()  # type: ignore[attr-defined]
        return np.stack([index.index.reconstruct(row) for row in rows]).astype(np.float32)


def combine(dense: np.ndarray, lexical: np.ndarray, method: Ranking, config: RankingConfig,
            sounds: Optional[np.ndarray] = None) -> np.ndarray:
    """One score per item: dense cosine, BM25, or dense plus saturated word and sound evidence ("fused")."""
    if method == "dense":
        return dense
    if method == "bm25":
        return lexical
    fused = dense + config.bm25_weight * np.minimum(lexical / config.bm25_saturation, 1.0)
    if sounds is not None and config.sound_weight:
        fused = fused + config.sound_weight * np.minimum(sounds / config.sound_saturation, 1.0)
    return fused
