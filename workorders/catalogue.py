"""The department catalogue (workorders/departments.yml): who handles what, with examples of reports.

Validation is strict, like the knowledge base's: a bad file raises InvalidCatalogue listing every problem as
`file: field: reason`, and nothing is loaded. The path is an argument (default DEFAULT_CATALOGUE); a deployment's
own file comes from the caller (the GOVBOT_DEPARTMENTS_FILE setting).
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from typing_extensions import Annotated

from workorders.records import Urgency

DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "departments.yml"
ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MIN_EXAMPLES, MAX_EXAMPLES = 8, 15

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Examples = Annotated[list[Text], Field(min_length=MIN_EXAMPLES, max_length=MAX_EXAMPLES)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Strict):
    """One text in Chinese and English."""

    zh: Text
    en: Text

    def text(self, language: str) -> str:
        """The text in `language` (Chinese unless it is "en")."""
        return self.en if language == "en" else self.zh


class UrgencyHints(_Strict):
    """A department's default urgency and the words that make a report to it urgent or high."""

    default: Urgency = Urgency.NORMAL
    urgent: list[Text] = []
    high: list[Text] = []


class ExampleReports(_Strict):
    """Short reports as citizens write or say them, per language."""

    zh: Examples
    en: Examples

    @model_validator(mode="after")
    def no_repeats(self) -> "ExampleReports":
        for language, texts in (("zh", self.zh), ("en", self.en)):
            seen: set[str] = set()
            for text in texts:
                if text.lower() in seen:
                    raise ValueError(f"{language} example {text!r} is listed twice")
                seen.add(text.lower())
        return self


class Department(_Strict):
    """A department orders are dispatched to."""

    id: Annotated[str, StringConstraints(pattern=ID_PATTERN)]
    name: Bilingual
    remit: Bilingual
    urgency: UrgencyHints = UrgencyHints()
    examples: ExampleReports


class Catalogue(_Strict):
    """Every department, in file order; ids are unique and no example belongs to two departments."""

    departments: Annotated[list[Department], Field(min_length=2)]

    @model_validator(mode="after")
    def unique(self) -> "Catalogue":
        ids: set[str] = set()
        owner: dict[str, str] = {}
        for department in self.departments:
            if department.id in ids:
                raise ValueError(f"duplicate department id {department.id!r}")
            ids.add(department.id)
            for text in department.examples.zh + department.examples.en:
                other = owner.setdefault(text.lower(), department.id)
                if other != department.id:
                    raise ValueError(f"example {text!r} is in both {other!r} and {department.id!r}")
        return self

    @property
    def ids(self) -> list[str]:
        """The department ids, in file order."""
        return [department.id for department in self.departments]

    def get(self, department_id: str) -> Department:
        """The department with this id (KeyError if none)."""
        for department in self.departments:
            if department.id == department_id:
                return department
        raise KeyError(department_id)

    def fingerprint(self) -> str:
        """A hash of the whole catalogue: a calibration made on another catalogue does not apply."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CatalogueError:
    """One problem in the catalogue file: `file: field: reason`."""

    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


class InvalidCatalogue(ValueError):
    """The department catalogue has errors; nothing was loaded."""

    def __init__(self, errors: list[CatalogueError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} error(s) in the department catalogue:\n" + "\n".join(map(str, errors)))


def _location(data: Any, loc: tuple[int | str, ...]) -> str:
    """A readable field path: departments.<id>.examples.zh rather than departments.3.examples.zh."""
    parts = [str(part) for part in loc]
    if len(loc) >= 2 and loc[0] == "departments" and isinstance(loc[1], int):
        entries = data.get("departments")
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"].strip():
            parts[1] = entry["id"].strip()
    return ".".join(parts) or "(file)"


def _errors(name: str, data: Any, error: ValidationError) -> list[CatalogueError]:
    found = []
    for detail in error.errors():
        if detail["type"] == "missing":
            reason = "required field is missing"
        elif detail["type"] == "extra_forbidden":
            reason = "unknown field"
        else:
            reason = detail["msg"].removeprefix("Value error, ")
        found.append(CatalogueError(name, _location(data, detail["loc"]), reason))
    return found


def load_catalogue(path: Path = DEFAULT_CATALOGUE) -> Catalogue:
    """Read and validate the catalogue file; raise InvalidCatalogue with every problem found."""
    name = path.name
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidCatalogue([CatalogueError(str(path), "(file)", "no such file")]) from None
    except UnicodeDecodeError:
        raise InvalidCatalogue([CatalogueError(name, "(file)", "not UTF-8 text")]) from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        problem = getattr(error, "problem", None) or error
        raise InvalidCatalogue([CatalogueError(name, where, f"bad YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise InvalidCatalogue([CatalogueError(name, "(file)", "must be a YAML mapping with a departments list")])
    try:
        return Catalogue.model_validate(data)
    except ValidationError as error:
        raise InvalidCatalogue(_errors(name, data, error)) from None
