"""The answerability check's model file and how it decides."""

import json

import numpy as np
import pytest

from knowledge.answerability import CALIBRATION_FILE, Calibration, LinearModel, read_calibration
from knowledge.config import SearchConfig
from knowledge.search import decide

CONFIG = SearchConfig.load().decision


def test_a_linear_model_is_a_standardised_logistic_regression():
    model = LinearModel(mean=[1.0, 0.0], scale=[2.0, 1.0], coef=[2.0, -1.0], intercept=0.5)
    z = ((3.0 - 1.0) / 2.0) * 2.0 + (1.0 - 0.0) * -1.0 + 0.5
    assert model.probability(np.array([3.0, 1.0])) == pytest.approx(1 / (1 + np.exp(-z)))


def test_with_a_probability_the_decision_ignores_the_score_thresholds():
    high = CONFIG.none_below["zh"] + 0.1
    # a high score is still refused when the check says the item does not answer the question
    assert decide([high, high - 0.2], CONFIG, "zh", answerable=0.2, refuse_below=0.5) == ("none", 0)
    # and a score under the threshold is answered when the check is confident
    low = CONFIG.none_below["zh"] - 0.05
    assert decide([low, low - 0.2], CONFIG, "zh", answerable=0.9, refuse_below=0.5) == ("answer", 1)
    # close candidates are still offered as choices
    assert decide([high, high - 0.001, high - 0.5], CONFIG, "zh", answerable=0.9, refuse_below=0.5) == ("clarify", 2)


def test_a_calibration_round_trips_and_a_broken_file_is_a_clear_error(tmp_path):
    calibration = Calibration(knowledge="abc", encoder="e5", none_below={"zh": 0.9, "en": 0.85},
                              made_from={"items": 3})
    calibration.save(tmp_path)
    assert read_calibration(tmp_path) == calibration
    assert not list(tmp_path.glob("*.tmp"))
    assert read_calibration(tmp_path / "missing") is None
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"knowledge": "abc"}), encoding="utf-8")
    with pytest.raises(ValueError, match="not a valid calibration file"):
        read_calibration(tmp_path)
