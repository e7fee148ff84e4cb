"""The knowledge search's cache of query vectors: repeated questions skip the model, the oldest question goes first."""

import numpy as np

from knowledge.search import _QueryCache


class CountingEncoder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, texts):
        self.calls.extend(texts)
        return np.array([[float(len(text))] for text in texts])


def test_repeated_questions_are_encoded_once_and_the_least_recently_asked_is_dropped():
    cache, encode = _QueryCache(2), CountingEncoder()
    for question in ["a", "bb", "a", "ccc", "bb", "a"]:
        assert cache.get(question, encode)[0] == len(question)
    # "a" was kept by being asked again; then "ccc" dropped "bb", and "bb" (encoded again) dropped "a"
    assert encode.calls == ["a", "bb", "ccc", "bb", "a"] and len(cache.vectors) == 2


def test_size_zero_caches_nothing():
    cache, encode = _QueryCache(0), CountingEncoder()
    cache.get("a", encode)
    cache.get("a", encode)
    assert encode.calls == ["a", "a"] and len(cache.vectors) == 0
