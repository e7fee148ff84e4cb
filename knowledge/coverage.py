"""Key-term coverage: does an item talk about what the question is about?

A question names a service with a few specific words ("药品" in "药品经营许可证怎么办", "Schengen" in "How do I
get a Schengen visa?") and many generic ones (怎么办, 许可证, how, get). An item that shares only the generic words
is probably the wrong item. A word's weight is how rare it is in everyday language (wordfreq's Zipf scale);
procedure words (knowledge/procedure_words.txt) do not count.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from knowledge.bm25 import document_tokens, tokenize
from knowledge.schema import ServiceItem
from knowledge.texts import item_document, item_full_text

PROCEDURE_WORDS_FILE = Path(__file__).parent / "procedure_words.txt"
DOCUMENT_NOUNS_FILE = Path(__file__).parent / "document_nouns.txt"
_NEIGHBOURS = (-2, -1, 1, 2)  # which tokens around a document noun may name the document
COMMON_ZIPF = 6.5  # a word this frequent (Zipf) or more carries no weight
_HAN = re.compile(r"[\u3400-\u9fff]")


def _word_list(path: Path) -> frozenset[str]:
    words: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        words.update(line.split("#", 1)[0].split())
    return frozenset(words)


@lru_cache(maxsize=1)
def procedure_words() -> frozenset[str]:
    """The generic words of asking for a service, from procedure_words.txt."""
    return _word_list(PROCEDURE_WORDS_FILE)


@lru_cache(maxsize=1)
def document_nouns() -> frozenset[str]:
    """The words that name a kind of document or formality, from document_nouns.txt."""
    return _word_list(DOCUMENT_NOUNS_FILE)


@lru_cache(maxsize=65536)
def specificity(term: str) -> float:
    """How much a term says about a topic: 0 for everyday words, up to 6.5 for words never seen in general text."""
    from wordfreq import zipf_frequency

    return max(0.0, COMMON_ZIPF - zipf_frequency(term, "zh" if _HAN.search(term) else "en"))


@dataclass(frozen=True)
class TermCoverage:
    """How the question's terms are found in the top item and in the knowledge base."""

    searched_share: float     # weighted share of all question terms found in the item's searched texts
    unknown_mass: float       # summed weight of terms no searched text of any item has
    uncovered_max: float      # the weight of the most specific term the item's searched texts lack
    specific_share: float     # weighted share of the non-procedure terms found anywhere in the item's full text
    specific_uncovered: float # the most specific non-procedure term missing from the item's full text
    specific_unknown: float   # the most specific non-procedure term missing from every item's full text
    specific_terms: int       # how many non-procedure terms the question has
    names_a_document: bool    # the question names a kind of document (许可证, visa, …)
    document_uncovered: float # the most specific word next to such a noun that the item's full text lacks


class KeyTerms:
    """The vocabularies of a knowledge base's items, for checking a question's terms against an item."""

    def __init__(self, items: Sequence[ServiceItem]) -> None:
        self.searched = [frozenset(document_tokens(item_document(item))) for item in items]
        self.full = [frozenset(document_tokens(item_full_text(item))) for item in items]
        self.all_searched = frozenset().union(*self.searched)
        self.all_full = frozenset().union(*self.full)

    def coverage(self, question: str, item_position: int) -> TermCoverage:
        """The coverage of a (normalised) question's terms by the item at `item_position`."""
        terms = tokenize(question)
        weights = [specificity(term) for term in terms]
        total = sum(weights) + 1e-6
        searched = self.searched[item_position]
        generic = procedure_words()
        specific = [(term, weight) for term, weight in zip(terms, weights) if term not in generic]
        specific_total = sum(weight for _, weight in specific) + 1e-6
        full = self.full[item_position]
        documents = document_nouns()
        next_to_document = [terms[position + offset] for position, term in enumerate(terms) if term in documents
                            for offset in _NEIGHBOURS if 0 <= position + offset < len(terms)]
        return TermCoverage(
            searched_share=sum(w for t, w in zip(terms, weights) if t in searched) / total,
            unknown_mass=sum(w for t, w in zip(terms, weights) if t not in self.all_searched),
            uncovered_max=max([w for t, w in zip(terms, weights) if t not in searched] or [0.0]),
            specific_share=sum(w for t, w in specific if t in full) / specific_total,
            specific_uncovered=max([w for t, w in specific if t not in full] or [0.0]),
            specific_unknown=max([w for t, w in specific if t not in self.all_full] or [0.0]),
            specific_terms=len(specific),
            names_a_document=any(term in documents for term in terms),
            document_uncovered=max([specificity(term) for term in next_to_document
                                    if term not in documents and term not in generic and term not in full] or [0.0]),
        )
