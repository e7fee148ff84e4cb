"""What is read aloud: an answer's text cleaned for speech, numbers said the way a person says them, and cut
into pieces that are synthesised (and streamed) one after another.

Numbers in Chinese: a hotline, phone or ID number is read digit by digit (12345 → 一二三四五, 0 → 零), a year
too (2026年 → 二零二六年); quantities (20元, 15个工作日) are left to the phonemizer, which says 二十元. In English, long
numbers are spaced out digit by digit for espeak-ng ("1 2 3 4 5").
"""

import re

_MARKUP = re.compile(r"<[^>]+>|\*\*|__|`|https?://\S+")
_STEP = re.compile(r"^(\d+)\.\s*", re.M)
_BULLET = re.compile(r"^[-•]\s*", re.M)
_LONG_NUMBER = re.compile(r"\d{5,}")
# a number to dial or an identifier: 5+ digits, or digit groups joined by - or spaces (010-12345678, 400 123 4567)
_DIGIT_STRING = re.compile(r"\d+(?:[-‐ ]\d+)+|\d{5,}")
_YEAR = re.compile(r"(\d{4})(?=年)")
_ZH_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")
_ENDS = "。！？.!?:：，,"

# the first Mandarin piece is short, so that Kokoro's first sound comes soon; espeak-ng (English) is fast anyway
FIRST_PIECE_CHARS = {"zh": 16, "en": 200}
PIECE_CHARS = {"zh": 60, "en": 200}  # later pieces: about a sentence
_SENTENCE_END = re.compile(r"(?<=[。！？.!?；;])\s*")
_CLAUSE_END = re.compile(r"(?<=[，、：,:])\s*")


def digits_in_chinese(digits: str) -> str:
    """A string of digits read one by one in Chinese: "12345" → "一二三四五" (other characters dropped)."""
    return "".join(digit for digit in digits if digit.isdigit()).translate(_ZH_DIGITS)


def read_numbers(text: str, language: str) -> str:
    """Numbers written so that a speech engine says them as a person would (see the module's docstring)."""
    if language == "zh":
        text = _YEAR.sub(lambda m: digits_in_chinese(m.group(1)), text)
        return _DIGIT_STRING.sub(lambda m: digits_in_chinese(m.group()), text)
    # "12345" is a hotline to dial, not twelve thousand...: read it digit by digit
    return _LONG_NUMBER.sub(lambda m: " ".join(m.group()), text)


def clean_for_speech(text: str, language: str) -> str:
    """The text as it should be read: no markup or links, steps announced, numbers as a person reads them."""
    text = _MARKUP.sub(" ", text)
    text = _STEP.sub(lambda m: f"第{m.group(1)}步，" if language == "zh" else f"Step {m.group(1)}: ", text)
    text = _BULLET.sub("", text)
    text = read_numbers(text, language)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    end = "。" if language == "zh" else "."
    return " ".join(line if line[-1] in _ENDS else line + end for line in lines)


def _cut(sentence: str, limit: int) -> list[str]:
    """A sentence in pieces of at most `limit` characters, at clause ends where it can be."""
    pieces: list[str] = []
    for clause in (c for c in _CLAUSE_END.split(sentence) if c.strip()):
        while len(clause) > limit:
            space = clause.rfind(" ", limit // 2, limit + 1)  # between words, where there are words
            cut = space if space > 0 else limit
            pieces.append(clause[:cut].strip())
            clause = clause[cut:].strip()
        if pieces and len(pieces[-1]) + len(clause) + 1 <= limit:
            pieces[-1] = f"{pieces[-1]} {clause}"
        else:
            pieces.append(clause)
    return pieces


def chunks(text: str, limit: int = PIECE_CHARS["en"]) -> list[str]:
    """The text split at sentence ends into pieces of at most `limit` characters (longer sentences are cut at
    clauses, then anywhere)."""
    pieces: list[str] = []
    for sentence in (s for s in _SENTENCE_END.split(text) if s.strip()):
        for part in _cut(sentence, limit):
            if pieces and len(pieces[-1]) + len(part) + 1 <= limit:
                pieces[-1] = f"{pieces[-1]} {part}"
            else:
                pieces.append(part)
    return pieces


def speech_pieces(spoken: str, language: str) -> list[str]:
    """Cleaned text in the pieces it is synthesised in: a short first piece (its first clause, so playing can
    start soon), then about a sentence each."""
    sentences = [sentence for sentence in _SENTENCE_END.split(spoken) if sentence.strip()]
    if not sentences:
        return []
    head = _cut(sentences[0], FIRST_PIECE_CHARS.get(language, 60))
    rest = " ".join(head[1:] + sentences[1:])
    return [head[0]] + (chunks(rest, PIECE_CHARS.get(language, 200)) if rest else [])


__all__ = ["FIRST_PIECE_CHARS", "PIECE_CHARS", "chunks", "clean_for_speech", "digits_in_chinese", "read_numbers",
           "speech_pieces"]
