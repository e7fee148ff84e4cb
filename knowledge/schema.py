"""Typed model of a service item (one YAML file in knowledge/items/)."""

import datetime as dt
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from typing_extensions import Annotated

CATEGORIES = (
    "household", "exit-entry", "social-security", "medical-insurance", "housing-fund", "real-estate",
    "business", "transport", "family", "education", "tax", "civil-affairs", "housing", "utilities",
    "certificates", "employment", "hotline", "health", "public-safety", "justice", "faq",
)
LANGUAGES = ("zh", "en")
ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
HOTLINE_NUMBER_PATTERN = r"^[0-9]{3,11}$"  # digits only: 122, 12345, a city's 8-digit line, an 11-digit mobile
URL_PATTERN = r"^https?://\S+$"
# How one hotline reads in an answer, per language: the number, then whose line it is; lines joined by `separator`.
HOTLINE_FORMAT = {"zh": ("{number}（{whose}）", "、"), "en": ("{number} ({whose})", ", ")}
# Fields an older schema had, and what to write instead (the loader reports these as `file: field: reason`).
REPLACED_FIELDS = {
    "hotline": 'the free-text hotline is no longer read; write hotlines: a list of lines, each with number '
               '(digits only, in quotes), zh and en (whose line it is), e.g. hotlines: [{number: "12345", '
               'zh: 政务服务便民热线, en: citizen service hotline}]',
}

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Where(Strict):
    """Where to apply: online and/or in person."""

    online: Optional[Text] = None
    offices: Optional[Text] = None


class Hotline(Strict):
    """One telephone line for the item: its number and whose line it is, in each language."""

    number: Annotated[str, StringConstraints(pattern=HOTLINE_NUMBER_PATTERN)]
    zh: Optional[Text] = None
    en: Optional[Text] = None

    @field_validator("number", mode="before")
    @classmethod
    def number_is_text(cls, value: object) -> object:
        if isinstance(value, int):
            raise ValueError(f'write the number in quotes, as text: number: "{value}"')
        if isinstance(value, str) and not (value.isascii() and value.isdigit()):
            raise ValueError(f"{value!r} is not a telephone number: digits only, no spaces or dashes")
        if isinstance(value, str) and not 3 <= len(value) <= 11:
            raise ValueError(f"{value!r} has {len(value)} digits; a telephone number has 3 to 11")
        return value

    def whose(self, language: str) -> str:
        """Whose line this is, in `language` (in the other language if that one is missing)."""
        return (self.zh if language == "zh" else self.en) or self.en or self.zh or ""


class Source(Strict):
    """Where a fact in the item was checked: the source's title, its address, the day it was read, and what it
    confirmed (optional)."""

    title: Text
    url: Annotated[str, StringConstraints(pattern=URL_PATTERN)]
    checked: dt.date
    note: Optional[Text] = None


def format_hotlines(hotlines: list[Hotline], language: str) -> str:
    """The hotlines as one line of an answer: "122（交通事故报警）、12345（政务服务便民热线）" or
    "122 (traffic accident police), 12345 (citizen service hotline)" (Chinese if the language is unknown)."""
    entry, separator = HOTLINE_FORMAT.get(language, HOTLINE_FORMAT["zh"])
    return separator.join(entry.format(number=line.number, whose=line.whose(language)) if line.whose(language)
                          else line.number for line in hotlines)


class LocalizedItem(Strict):
    """Everything a citizen reads about a service item, in one language."""

    title: Text
    summary: Text
    steps: list[Text] = Field(min_length=1)
    materials: list[Text]
    department: Optional[Text] = None
    eligibility: list[Text] = Field(default_factory=list)
    fees: Optional[Text] = None
    processing_time: Optional[Text] = None
    where: Optional[Where] = None
    legal_basis: Optional[Text] = None
    sample_questions: list[Text] = Field(default_factory=list)
    # Services people confuse with this one that it does NOT cover ("药品经营许可证" for the food-business
    # licence): a question closer to one of these than to the item itself is not answered from it.
    not_this: list[Text] = Field(default_factory=list)


class ServiceItem(Strict):
    """One public service, in Chinese and English."""

    id: Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=80)]
    category: str
    hotlines: list[Hotline] = Field(default_factory=list)
    updated: Optional[dt.date] = None
    sources: list[Source] = Field(default_factory=list)
    zh: Optional[LocalizedItem] = None
    en: Optional[LocalizedItem] = None

    @field_validator("category")
    @classmethod
    def category_is_known(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r} (known: {', '.join(CATEGORIES)})")
        return value

    @model_validator(mode="after")
    def has_a_language(self) -> "ServiceItem":
        if self.zh is None and self.en is None:
            raise ValueError("the item has neither zh nor en content")
        return self

    @field_validator("hotlines")
    @classmethod
    def hotlines_are_distinct(cls, hotlines: list[Hotline]) -> list[Hotline]:
        numbers = [line.number for line in hotlines]
        repeated = sorted({number for number in numbers if numbers.count(number) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once")
        return hotlines

    def missing_hotline_names(self) -> list[tuple[int, str]]:
        """(index, language) of every hotline that does not say whose line it is in one of the item's languages."""
        return [(index, language) for index, line in enumerate(self.hotlines)
                for language in self.languages if not getattr(line, language)]

    def hotline_text(self, language: str) -> str:
        """The item's hotlines as one line of an answer in `language` (empty when it has none)."""
        return format_hotlines(self.hotlines, language)

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages this item is written in."""
        return tuple(language for language in LANGUAGES if getattr(self, language) is not None)

    def text(self, language: str) -> LocalizedItem:
        """The item's content in `language` ("zh" or "en"), or in its other language if it has only one."""
        content = self.zh if language == "zh" else self.en
        return content or self.en or self.zh  # type: ignore[return-value]
