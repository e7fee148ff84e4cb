"""Which texts of an item are searched: title, summary and sample questions, per language."""

from dataclasses import dataclass

from knowledge.schema import LANGUAGES, ServiceItem


@dataclass(frozen=True)
class Passage:
    """One searchable text of one item."""

    item_id: str
    language: str
    kind: str  # "title", "summary" or "question"
    text: str


def item_passages(item: ServiceItem) -> list[Passage]:
    """The passages embedded for an item: its title, summary and each sample question, in both languages."""
    passages = []
    for language in LANGUAGES:
        content = item.text(language)
        passages.append(Passage(item.id, language, "title", content.title))
        passages.append(Passage(item.id, language, "summary", f"{content.title}. {content.summary}"))
        passages.extend(Passage(item.id, language, "question", question) for question in content.sample_questions)
    return passages


def item_document(item: ServiceItem) -> str:
    """All of an item's searchable words in one text (for the lexical ranking)."""
    return "\n".join(passage.text for passage in item_passages(item))
