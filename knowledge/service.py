"""Opening a knowledge base for searching: items, encoder and index, loaded once.

`govbot kb search`, `govbot eval` and the action server all go through `open_search`.
"""

import hashlib
import logging
import time
from pathlib import Path
from typing import Optional, Sequence

from core.settings import Settings
from knowledge.answerability import read_calibration
from knowledge.config import SearchConfig
from knowledge.embedder import encoder_id, load_encoder
from knowledge.index import Encoder, is_fresh, open_index
from knowledge.loader import load_items
from knowledge.schema import ServiceItem
from knowledge.search import KnowledgeSearch

log = logging.getLogger("govbot.knowledge")

DEFAULT_KB_DIR: Path = Settings.model_fields["kb_dir"].default  # the knowledge base shipped with govbot


def index_dir_for(kb_dir: Path, index_root: Path) -> Path:
    """Where the index of a knowledge directory is kept: <index_root>/<name>-<hash of its path>."""
    tag = hashlib.sha256(str(kb_dir.resolve()).encode()).hexdigest()[:8]
    return index_root / f"{kb_dir.resolve().name}-{tag}"


def load_config(path: Path) -> SearchConfig:
    """The search configuration in a YAML file (settings.search_config is the one served)."""
    return SearchConfig.load(path)


def index_is_current(kb_dir: Path, settings: Settings, config: Optional[SearchConfig] = None,
                     items: Optional[Sequence[ServiceItem]] = None) -> bool:
    """True when the saved index matches the items, model and settings (checked without loading the model).

    `config` defaults to settings.search_config; `items` are the directory's items when the caller has them.
    """
    config = config or load_config(settings.search_config)
    model_id = encoder_id(config.encoder, settings.embedding_model_dir)
    items = load_items(kb_dir) if items is None else items
    return model_id is not None and is_fresh(index_dir_for(kb_dir, settings.index_root), items, model_id,
                                             config.index)


def open_search(kb_dir: Optional[Path] = None, config: Optional[SearchConfig] = None,
                encoder: Optional[Encoder] = None, index_dir: Optional[Path] = None,
                settings: Optional[Settings] = None) -> KnowledgeSearch:
    """Load and validate the items, load the encoder, open (or rebuild) the index.

    What is not given comes from `settings` (kb_dir, search_config, embedding_model_dir, index_root);
    without settings, Settings.from_env() is used.
    """
    settings = settings if settings is not None else Settings.from_env()
    kb_dir = kb_dir or settings.kb_dir
    config = config or load_config(settings.search_config)
    started = time.perf_counter()
    items = load_items(kb_dir)
    encoder = encoder or load_encoder(config.encoder, threads=config.threads, model_dir=settings.embedding_model_dir)
    index, rebuilt = open_index(index_dir or index_dir_for(kb_dir, settings.index_root), items, encoder, config.index)
    calibration = read_calibration(kb_dir)
    if calibration is not None and not calibration.applies_to(items, encoder.model_id):
        log.warning("calibration_stale", extra={"fields": {"kb": kb_dir.name}})
        calibration = None
    log.info("knowledge_loaded", extra={"fields": {
        "items": len(items), "vectors": index.index.ntotal, "model": encoder.model_id, "rebuilt": rebuilt,
        "calibrated": calibration is not None, "seconds": round(time.perf_counter() - started, 2)}})
    return KnowledgeSearch(items=items, index=index, encoder=encoder, config=config, calibration=calibration)
