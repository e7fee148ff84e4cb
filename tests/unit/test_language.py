from core.language import detect_language
import pytest


@pytest.mark.parametrize("text, expected", [
    ("你好", "zh"),
    ("身份证丢了怎么办？", "zh"),
    ("我的ID card丢了怎么办", "zh"),
    ("hello", "en"),
    ("How do I renew my passport?", "en"),
    ("How do I get a 身份证", "en"),
    ("12345", None),
    ("?!", None),
    ("", None),
])
def test_detect_language(text, expected):
    assert detect_language(text) == expected
