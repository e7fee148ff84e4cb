"""Knowledge search: rank service items for a question and decide answer / clarify / none."""

import time
from dataclasses import dataclass
from typing import Callable, Literal, Optional, Sequence

import numpy as np
from cachetools import LRUCache
from pydantic import BaseModel

from core.language import Language, detect_language
from knowledge.bm25 import BM25
from knowledge.config import DecisionConfig, RankingConfig, SearchConfig
from knowledge.index import Encoder, PassageIndex
from knowledge.schema import ServiceItem
from knowledge.texts import item_document

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

    @property
    def offered(self) -> list[Candidate]:
        """The item(s) to present: the winner for "answer", the options for "clarify", none for "none"."""
        return self.items[: self.offer]

    def redecided(self, config: DecisionConfig) -> "SearchResult":
        """The same ranking with the decision taken again under another configuration."""
        decision, offer = decide([c.score for c in self.items], config, self.language)
        return self.model_copy(update={"decision": decision, "offer": offer})


def decide(scores: Sequence[float], config: DecisionConfig, language: Language) -> tuple[Decision, int]:
    """Decide from descending item scores for a question in `language`; also return how many to offer."""
    if not scores or scores[0] < config.none_below[language]:
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
class KnowledgeSearch:
    """Searches a loaded knowledge base with its index and encoder."""

    items: list[ServiceItem]
    index: PassageIndex
    encoder: Encoder
    config: SearchConfig

    def __post_init__(self) -> None:
        self.by_id = {item.id: item for item in self.items}
        self.positions = {item.id: position for position, item in enumerate(self.items)}
        self.bm25 = BM25([item_document(item) for item in self.items])
        self.cache = _QueryCache(self.config.query_cache_size)

    def dense_scores(self, query: str) -> np.ndarray:
        """Best passage cosine per item (items without a retrieved passage get the lowest retrieved score)."""
        vector = self.cache.get(query, self.encoder.encode_queries)
        scores, rows = self.index.nearest(vector[None, :], self.config.index.passages_per_query)
        floor = float(scores[0][rows[0] >= 0].min()) if (rows[0] >= 0).any() else 0.0
        result = np.full(len(self.items), floor, dtype=np.float32)
        for score, row in zip(scores[0], rows[0]):
            if row < 0:
                continue
            position = self.positions[self.index.passages[row].item_id]
            result[position] = max(result[position], score)
        return result

    def rank(self, query: str, ranking: Optional[Ranking] = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Combined, dense and lexical score of every item."""
        method = ranking or self.config.ranking.method
        lexical = self.bm25.scores(query)
        dense = np.zeros_like(lexical) if method == "bm25" else self.dense_scores(query)
        return combine(dense, lexical, method, self.config.ranking), dense, lexical

    def result(self, query: str, combined: np.ndarray, dense: np.ndarray, lexical: np.ndarray,
               k: int = 5, started: Optional[float] = None) -> SearchResult:
        """The ranked candidates and the decision for already computed item scores."""
        language = detect_language(query) or "zh"
        order = np.argsort(-combined, kind="stable")[: max(k, self.config.decision.clarify_max)]
        candidates = [Candidate(id=self.items[i].id, title=self.items[i].text(language).title,
                                score=round(float(combined[i]), 4), dense=round(float(dense[i]), 4),
                                lexical=round(float(lexical[i]), 4)) for i in order]
        decision, offer = decide([c.score for c in candidates], self.config.decision, language)
        elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        return SearchResult(query=query, language=language, decision=decision, items=candidates[: max(k, offer)],
                            offer=offer, latency_ms=round(elapsed, 2))

    def search(self, query: str, k: int = 5, ranking: Optional[Ranking] = None) -> SearchResult:
        """Rank the items for a question and decide what to do."""
        started = time.perf_counter()
        text = query.strip()
        return self.result(query, *self.rank(text, ranking), k=k, started=started)


def combine(dense: np.ndarray, lexical: np.ndarray, method: Ranking, config: RankingConfig) -> np.ndarray:
    """One score per item: dense cosine, BM25, or dense plus saturated lexical evidence ("fused")."""
    if method == "dense":
        return dense
    if method == "bm25":
        return lexical
    return dense + config.bm25_weight * np.minimum(lexical / config.bm25_saturation, 1.0)
