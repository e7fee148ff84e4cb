"""Toneless pinyin syllables of a text, for matching what a speech recogniser misheard or a user typed in pinyin.

"攻击金" (a recogniser's homophone), "gongjijin" and "gong ji jin" (typed without a Chinese input method) all
become the syllables gong ji jin, the same as "公积金". Syllables are compared as pairs (bigrams) so that a single
common syllable does not match everything; `fuzzy` also merges the sounds that many speakers and recognisers
confuse (zh/z, ch/c, sh/s, n/l, -ng/-n).
"""

import re
import unicodedata
from functools import lru_cache

from pypinyin import lazy_pinyin
from pypinyin.pinyin_dict import pinyin_dict

_HAN_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z]+")
_LONGEST_SYLLABLE = 6
_FUZZY = ((re.compile(r"^zh"), "z"), (re.compile(r"^ch"), "c"), (re.compile(r"^sh"), "s"), (re.compile(r"^l"), "n"),
          (re.compile(r"ng$"), "n"))


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (ü written v), from pypinyin's dictionary."""
    found = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            decomposed = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")  # ü (any tone) → v
            found.add("".join(c for c in decomposed if not unicodedata.combining(c)))
    return frozenset(syllable for syllable in found if syllable.isalpha() and syllable.isascii())


@lru_cache(maxsize=4096)
def split_syllables(word: str) -> tuple[str, ...] | None:
    """A Latin word split into pinyin syllables ("shenfenzheng" → shen fen zheng), fewest syllables first;
    None when the word is not pinyin."""
    known = syllables()
    best: list[tuple[str, ...] | None] = [()] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - _LONGEST_SYLLABLE), end):
            head = best[start]
            if head is not None and word[start:end] in known:
                candidate = head + (word[start:end],)
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[len(word)]


def fuzzy(syllable: str) -> str:
    """The syllable with the sounds that are often confused merged (shi → si, lan → nan, feng → fen)."""
    for pattern, replacement in _FUZZY:
        syllable = pattern.sub(replacement, syllable)
    return syllable


def syllable_runs(text: str, latin: bool = True) -> list[list[str]]:
    """Runs of toneless syllables: each Chinese run read as pinyin, and (with `latin`) each run of Latin words
    that are all pinyin. A run ends at punctuation, at an English word, or between Chinese and Latin."""
    runs: list[list[str]] = []
    current: list[str] = []
    previous_kind = ""
    for match in _RUN.finditer(text.lower()):
        piece = match.group()
        kind = "han" if _HAN_RUN.match(piece) else "latin"
        gap = text[match.start() - 1] if match.start() else ""
        if current and (kind != previous_kind or (kind == "han" and gap.strip())):
            runs.append(current)
            current = []
        previous_kind = kind
        if kind == "han":
            current.extend(lazy_pinyin(piece))
            continue
        split = split_syllables(piece) if latin else None
        if split is None:
            if current:
                runs.append(current)
            current, previous_kind = [], ""
            continue
        current.extend(split)
    if current:
        runs.append(current)
    return runs


def syllable_pairs(text: str, latin: bool = True, merge_similar: bool = True) -> list[str]:
    """Tokens for lexical matching by sound: each pair of neighbouring syllables ("gong_ji", "ji_jin")."""
    pairs: list[str] = []
    for run in syllable_runs(text, latin):
        sounds = [fuzzy(s) for s in run] if merge_similar else run
        pairs.extend(f"{a}_{b}" for a, b in zip(sounds, sounds[1:]))
    return pairs
