"""Settings of the knowledge search, read from knowledge/search.yml."""

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_CONFIG = Path(__file__).parent / "search.yml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IndexConfig(_Section):
    """How passages are indexed."""

    exact_max_vectors: int = Field(default=20000, ge=1)   # above this, an approximate index
    approximate: Literal["ivf", "hnsw"] = "ivf"
    ivf_lists: int = Field(default=0, ge=0)                # 0: about sqrt(vectors)
    ivf_probes: int = Field(default=128, ge=1)             # lists searched per query
    hnsw_m: int = Field(default=32, ge=4)
    hnsw_ef_construction: int = Field(default=200, ge=8)
    hnsw_ef_search: int = Field(default=128, ge=8)
    passages_per_query: int = Field(default=64, ge=1)      # nearest passages looked at per query


class RankingConfig(_Section):
    """How dense and lexical scores are combined into one item score."""

    method: Literal["dense", "bm25", "fused"] = "fused"
    bm25_weight: float = Field(default=0.05, ge=0)  # fused = dense + bm25_weight * min(bm25 / bm25_saturation, 1)
    bm25_saturation: float = Field(default=20.0, gt=0)     # a BM25 score this high counts as full lexical evidence
    sound_weight: float = Field(default=0.0, ge=0)         # the same for BM25 over pinyin syllable pairs (0: off)
    sound_saturation: float = Field(default=20.0, gt=0)


class DecisionConfig(_Section):
    """When to answer, ask the user to pick, or say nothing fits."""

    none_below: dict[Literal["zh", "en"], float]    # per question language: top score under this: "none"
    answer_margin: float = Field(ge=0)              # top minus second at least this: "answer"
    clarify_window: float = Field(ge=0)             # candidates within this of the top are offered
    clarify_max: int = Field(default=4, ge=2)


class SearchConfig(_Section):
    """The whole search configuration."""

    encoder: Literal["e5-st", "e5-nano", "use-m3"] = "e5-st"
    query_cache_size: int = Field(default=1024, ge=0)
    threads: int = Field(default=2, ge=1)
    index: IndexConfig = IndexConfig()
    ranking: RankingConfig = RankingConfig()
    decision: DecisionConfig

    @classmethod
    def load(cls, path: Path = DEFAULT_CONFIG) -> "SearchConfig":
        """Read and validate the YAML configuration file."""
        return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
