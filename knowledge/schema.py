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

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Where(Strict):
    """Where to apply: online and/or in person."""

    online: Optional[Text] = None
    offices: Optional[Text] = None


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


class ServiceItem(Strict):
    """One public service, in Chinese and English."""

    id: Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=80)]
    category: str
    hotline: Optional[Text] = None
    updated: Optional[dt.date] = None
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

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages this item is written in."""
        return tuple(language for language in LANGUAGES if getattr(self, language) is not None)

    def text(self, language: str) -> LocalizedItem:
        """The item's content in `language` ("zh" or "en"), or in its other language if it has only one."""
        content = self.zh if language == "zh" else self.en
        return content or self.en or self.zh  # type: ignore[return-value]
