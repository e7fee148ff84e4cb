"""The FAISS index of passage vectors, persisted with a manifest and rebuilt when stale."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

import faiss
import numpy as np

from knowledge.config import IndexConfig
from knowledge.files import staged_directory
from knowledge.schema import ServiceItem
from knowledge.texts import Passage, item_passages

INDEX_FILE, PASSAGES_FILE, MANIFEST_FILE = "index.faiss", "passages.json", "manifest.json"
FORMAT_VERSION = 1


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    model_id: str
    dimension: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def content_hash(items: Sequence[ServiceItem], model_id: str, config: IndexConfig) -> str:
    """Hash of everything the index depends on: the items, the model and the index settings."""
    digest = hashlib.sha256(f"v{FORMAT_VERSION}|{model_id}|{config.model_dump_json()}".encode())
    for item in sorted(items, key=lambda item: item.id):
        digest.update(item.model_dump_json().encode())
    return digest.hexdigest()


@dataclass
class PassageIndex:
    """Passage vectors in FAISS, with which item each row belongs to."""

    index: faiss.Index
    passages: list[Passage]
    manifest: dict

    @property
    def is_approximate(self) -> bool:
        return self.manifest["kind"] != "flat"

    def nearest(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Cosine scores and row numbers of the k nearest passages for each query vector."""
        return self.index.search(np.ascontiguousarray(query_vectors, dtype=np.float32), min(k, self.index.ntotal))


def make_faiss_index(vectors: np.ndarray, config: IndexConfig, kind: str | None = None) -> tuple[faiss.Index, str]:
    """An inner-product index holding `vectors`: exact for small collections, else `config.approximate`."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    count, dimension = vectors.shape
    kind = kind or ("flat" if count <= config.exact_max_vectors else config.approximate)
    index: faiss.Index
    if kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dimension, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = config.hnsw_ef_construction
        hnsw.hnsw.efSearch = config.hnsw_ef_search
        index = hnsw
    elif kind == "ivf":
        lists = config.ivf_lists or max(1, min(count // 39, int(np.sqrt(count))))  # faiss wants >= 39 per list
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT)
        ivf.train(vectors)
        ivf.nprobe = min(config.ivf_probes, lists)
        index = ivf
    else:
        raise ValueError(f"unknown index kind {kind!r}")
    index.add(vectors)
    return index, kind


def build_index(items: Sequence[ServiceItem], encoder: Encoder, config: IndexConfig) -> PassageIndex:
    """Embed every item's passages and put them into a new index."""
    passages = [passage for item in items for passage in item_passages(item)]
    vectors = encoder.encode_passages([passage.text for passage in passages])
    index, kind = make_faiss_index(vectors, config)
    manifest = {"format": FORMAT_VERSION, "model": encoder.model_id, "dimension": encoder.dimension,
                "content_hash": content_hash(items, encoder.model_id, config), "kind": kind,
                "items": len(items), "vectors": len(passages)}
    return PassageIndex(index, passages, manifest)


def save_index(built: PassageIndex, directory: Path) -> None:
    """Write the index into `directory`, replacing what was there only once all is written."""
    with staged_directory(directory) as scratch:
        faiss.write_index(built.index, str(scratch / INDEX_FILE))
        (scratch / PASSAGES_FILE).write_text(json.dumps(
            [[p.item_id, p.language, p.kind, p.text] for p in built.passages], ensure_ascii=False), encoding="utf-8")
        (scratch / MANIFEST_FILE).write_text(json.dumps(built.manifest, indent=2), encoding="utf-8")


def read_manifest(directory: Path) -> dict | None:
    """The saved index's manifest, or None if there is no complete index there."""
    try:
        return json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_index(directory: Path, config: IndexConfig) -> PassageIndex:
    """Read a saved index."""
    index = faiss.read_index(str(directory / INDEX_FILE))
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = config.hnsw_ef_search
    elif isinstance(index, faiss.IndexIVF):
        index.nprobe = min(config.ivf_probes, index.nlist)
    rows = json.loads((directory / PASSAGES_FILE).read_text(encoding="utf-8"))
    return PassageIndex(index, [Passage(*row) for row in rows], read_manifest(directory) or {})


def is_fresh(directory: Path, items: Sequence[ServiceItem], model_id: str, config: IndexConfig) -> bool:
    """True when the saved index was built from exactly these items, this model and these settings."""
    manifest = read_manifest(directory)
    if not manifest:
        return False
    return manifest.get("content_hash") == content_hash(items, model_id, config) \
        and (directory / INDEX_FILE).is_file() and (directory / PASSAGES_FILE).is_file()


def open_index(directory: Path, items: Sequence[ServiceItem], encoder: Encoder,
               config: IndexConfig) -> tuple[PassageIndex, bool]:
    """Load the saved index, rebuilding and saving it first if it is missing or stale.

    Returns the index and whether it was rebuilt.
    """
    if is_fresh(directory, items, encoder.model_id, config):
        return load_index(directory, config), False
    built = build_index(items, encoder, config)
    save_index(built, directory)
    return built, True
