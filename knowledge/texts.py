"""Which texts of an item are searched: title, summary and sample questions, per language; and which texts
say what the item is NOT about (its `not_this` list)."""

from dataclasses import dataclass

from knowledge.schema import LANGUAGES, ServiceItem

NOT_THIS = "not_this"  # the passage kind of a service the item does not cover


@dataclass(frozen=True)
class Passage:
    """One searchable text of one item."""

    item_id: str
    language: str
    kind: str  # "title", "summary", "question", or NOT_THIS
    text: str

    @property
    def is_negative(self) -> bool:
        """True for a text the item does NOT cover (it must never count for the item)."""
        return self.kind == NOT_THIS


def item_passages(item: ServiceItem) -> list[Passage]:
    """The passages embedded for an item: its title, summary, each sample question and each service it does not
    cover, in both languages."""
    passages = []
    for language in LANGUAGES:
        content = item.text(language)
        passages.append(Passage(item.id, language, "title", content.title))
        passages.append(Passage(item.id, language, "summary", f"{content.title}. {content.summary}"))
        passages.extend(Passage(item.id, language, "question", question) for question in content.sample_questions)
        passages.extend(Passage(item.id, language, NOT_THIS, text) for text in content.not_this)
    return passages


def item_document(item: ServiceItem) -> str:
    """All of an item's searchable words in one text (for the lexical ranking)."""
    return "\n".join(passage.text for passage in item_passages(item) if not passage.is_negative)


def item_full_text(item: ServiceItem) -> str:
    """Every word a citizen can read in the item, both languages (to check a question's terms against)."""
    parts: list[str] = []
    for language in item.languages:
        content = item.text(language)
        where = [content.where.online or "", content.where.offices or ""] if content.where else []
        parts += [content.title, content.summary, *content.steps, *content.materials, *content.eligibility,
                  content.fees or "", content.processing_time or "", content.department or "",
                  content.legal_basis or "", *content.sample_questions, *where]
    return "\n".join(part for part in parts if part)
