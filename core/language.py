"""Which language a message is written in: Chinese or English.

Shared by the Rasa server's NLU component and the application, so it must import nothing
outside the standard library.
"""

import re
from typing import Literal, Optional

Language = Literal["zh", "en"]
SUPPORTED_LANGUAGES: tuple[Language, ...] = ("zh", "en")

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def detect_language(text: str) -> Optional[Language]:
    """Return "zh" or "en" for the text, or None when it has no letters to judge by."""
    han = len(_HAN.findall(text))
    latin_words = len(_LATIN_WORD.findall(text))
    if han == 0 and latin_words == 0:
        return None
    # A Chinese sentence often carries English terms ("ID卡怎么办"); two Han characters
    # weigh about as much as one English word.
    return "zh" if han >= latin_words * 2 else "en"
