"""The e5 query vector handed from the NLU to the knowledge search (core/query_vector.py)."""

import numpy as np
import pytest

from core import query_vector


def unit(seed: int, dimension: int = 384) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=dimension).astype(np.float32)
    return vector / np.linalg.norm(vector)


def test_a_vector_comes_back_exactly_for_its_text():
    vector = unit(1)
    payload = query_vector.to_payload("护照怎么办理", vector)
    assert payload["model"] == query_vector.MODEL_FAMILY and payload["text"] == "护照怎么办理"
    assert np.array_equal(query_vector.from_payload(payload, "护照怎么办理", 384), vector)


@pytest.mark.parametrize("change", [
    {"text": "身份证怎么办理"}, {"model": "another-model"}, {"float32": "not base64!"}, {"float32": 42},
    {"float32": query_vector.to_payload("护照怎么办理", unit(1, 128))["float32"]},  # another dimension
    {"float32": query_vector.to_payload("护照怎么办理", unit(1) * 3)["float32"]},  # not a unit vector
    {"float32": query_vector.to_payload("护照怎么办理", np.full(384, np.nan, dtype=np.float32))["float32"]},
])
def test_a_vector_for_another_text_model_or_shape_is_not_used(change):
    payload = {**query_vector.to_payload("护照怎么办理", unit(1)), **change}
    assert query_vector.from_payload(payload, "护照怎么办理", 384) is None


@pytest.mark.parametrize("payload", [None, "vector", [], {"text": "护照怎么办理"}])
def test_anything_else_in_the_parse_data_is_ignored(payload):
    assert query_vector.from_payload(payload, "护照怎么办理", 384) is None
