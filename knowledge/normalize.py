"""Putting a question into the form the knowledge base is written in, before it is searched.

Speech recognisers and some keyboards give Traditional characters ("身份證遺失"), full-width letters and
digits, and runs of spaces; the items are in Simplified Chinese. The conversion uses OpenCC's
Traditional-to-Simplified tables (phrase-aware: 乾淨 → 干净 but 乾隆 stays).
"""

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _to_simplified():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """The text with Traditional Chinese characters converted to Simplified (phrase-aware)."""
    return str(_to_simplified().convert(text))


def normalize_question(text: str) -> str:
    """The question in Simplified Chinese, half-width letters and digits, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text)
    return _SPACES.sub(" ", text).strip()
