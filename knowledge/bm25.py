"""BM25 lexical ranking over jieba tokens (Chinese) and lower-cased words (English).

Chinese words of the documents are also indexed by their toneless pinyin ("身份证" →
"shenfenzheng"), so a question typed in pinyin still finds its item. The BM25 class itself
ranks any token lists (the search also runs it over pinyin syllable pairs: knowledge.pinyin).
"""

import logging
import math
import re
from collections import Counter

import jieba
import numpy as np
from pypinyin import lazy_pinyin

jieba.setLogLevel(logging.WARNING)

_WORD = re.compile(r"\w", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u9fff]")
# Function words that carry no meaning for matching a service; short on purpose.
STOPWORDS = frozenset(
    "的 了 吗 呢 吧 啊 我 你 您 他 她 要 是 在 有 和 怎么 怎么办 怎样 如何 什么 哪里 可以 能 想 去 办 一下 请问 "
    "a an the i me my we you your he she it is are am be to of for in on at and or do does did can could "
    "how what where when who which should would will with my our this that there".split()
)


def tokenize(text: str) -> list[str]:
    """Split text into lower-case tokens without punctuation or stopwords."""
    return [token for token in jieba.lcut_for_search(text.lower())
            if _WORD.search(token) and token not in STOPWORDS and token.strip()]


def document_tokens(text: str) -> list[str]:
    """Tokens of a document: its words, plus the pinyin of its Chinese words of two or more characters."""
    tokens = tokenize(text)
    return tokens + ["".join(lazy_pinyin(token)) for token in tokens if len(token) >= 2 and _HAN.search(token)]


class BM25:
    """Okapi BM25 over a fixed list of documents, each given as its list of tokens."""

    def __init__(self, documents: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.term_counts = [Counter(tokens) for tokens in documents]
        self.lengths = np.array([sum(counts.values()) for counts in self.term_counts], dtype=np.float32)
        self.average_length = float(self.lengths.mean()) if len(documents) else 0.0
        frequency: Counter[str] = Counter()
        for counts in self.term_counts:
            frequency.update(counts.keys())
        total = len(documents)
        self.idf = {term: math.log(1 + (total - n + 0.5) / (n + 0.5)) for term, n in frequency.items()}
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for index, counts in enumerate(self.term_counts):
            for term, count in counts.items():
                self.postings.setdefault(term, []).append((index, count))

    def knows(self, term: str) -> bool:
        """True when some document has the term."""
        return term in self.idf

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every document for the query tokens (0 where no term matches)."""
        result = np.zeros(len(self.term_counts), dtype=np.float32)
        if not self.average_length:
            return result
        for term in set(tokens):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for index, count in self.postings[term]:
                norm = self.k1 * (1 - self.b + self.b * self.lengths[index] / self.average_length)
                result[index] += idf * count * (self.k1 + 1) / (count + norm)
        return result
