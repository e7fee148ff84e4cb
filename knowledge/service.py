"""Opening a knowledge base for searching: items, encoder and index, loaded once.

`govbot kb search`, `govbot eval` and the action server all go through `open_search`.
"""

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Optional, Sequence

from govbot.settings import PROJECT_ROOT
from knowledge.config import DEFAULT_CONFIG, SearchConfig
from knowledge.embedder import encoder_id, load_encoder
from knowledge.index import Encoder, is_fresh, open_index
from knowledge.loader import load_items
from knowledge.schema import ServiceItem
from knowledge.search import KnowledgeSearch

log = logging.getLogger("govbot.knowledge")

DEFAULT_KB_DIR = PROJECT_ROOT / "knowledge" / "items"


def kb_dir_from_env() -> Path:
    """The knowledge directory to serve (GOVBOT_KB_DIR, default knowledge/items)."""
    raw = os.environ.get("GOVBOT_KB_DIR")
    return Path(raw).expanduser().resolve() if raw else DEFAULT_KB_DIR


def index_dir_for(kb_dir: Path) -> Path:
    """Where the index of a knowledge directory is kept: <index root>/<name>-<hash of its path>.

    The index root is GOVBOT_INDEX_ROOT, by default $GOVBOT_VAR_DIR/index (var/index).
    """
    root = os.environ.get("GOVBOT_INDEX_ROOT") or Path(os.environ.get("GOVBOT_VAR_DIR") or PROJECT_ROOT / "var") / "index"
    tag = hashlib.sha256(str(kb_dir.resolve()).encode()).hexdigest()[:8]
    return Path(root) / f"{kb_dir.resolve().name}-{tag}"


def load_config() -> SearchConfig:
    """The search configuration (GOVBOT_SEARCH_CONFIG, default knowledge/search.yml)."""
    return SearchConfig.load(Path(os.environ.get("GOVBOT_SEARCH_CONFIG") or DEFAULT_CONFIG))


def index_is_current(kb_dir: Path, config: Optional[SearchConfig] = None,
                     items: Optional[Sequence[ServiceItem]] = None) -> bool:
    """True when the saved index matches the items, model and settings (checked without loading the model).

    `items` are the directory's items when the caller has loaded them already.
    """
    config = config or load_config()
    model_id = encoder_id(config.encoder)
    items = load_items(kb_dir) if items is None else items
    return model_id is not None and is_fresh(index_dir_for(kb_dir), items, model_id, config.index)


def open_search(kb_dir: Optional[Path] = None, config: Optional[SearchConfig] = None,
                encoder: Optional[Encoder] = None, index_dir: Optional[Path] = None) -> KnowledgeSearch:
    """Load and validate the items, load the encoder, open (or rebuild) the index."""
    kb_dir = kb_dir or kb_dir_from_env()
    config = config or load_config()
    started = time.perf_counter()
    items = load_items(kb_dir)
    encoder = encoder or load_encoder(config.encoder, threads=config.threads)
    index, rebuilt = open_index(index_dir or index_dir_for(kb_dir), items, encoder, config.index)
    log.info("knowledge_loaded", extra={"fields": {
        "items": len(items), "vectors": index.index.ntotal, "model": encoder.model_id, "rebuilt": rebuilt,
        "seconds": round(time.perf_counter() - started, 2)}})
    return KnowledgeSearch(items=items, index=index, encoder=encoder, config=config)
