"""Loading a knowledge directory: every file valid, or nothing loaded."""

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from knowledge.schema import LANGUAGES, REPLACED_FIELDS, ServiceItem

_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: many times faster
MANIFEST_NAME = "kb.yml"  # optional: `languages: [en]` for a knowledge base in fewer languages


@dataclass(frozen=True)
class KnowledgeError:
    """One problem in one file: `file: field: reason`."""

    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


class InvalidKnowledgeBase(ValueError):
    """The knowledge directory has errors; nothing was loaded."""

    def __init__(self, errors: list[KnowledgeError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} error(s) in the knowledge base:\n" + "\n".join(map(str, errors)))


def _pydantic_errors(name: str, error: ValidationError) -> list[KnowledgeError]:
    found = []
    for detail in error.errors():
        location = ".".join(str(part) for part in detail["loc"]) or "(file)"
        if detail["type"] == "missing" and location in LANGUAGES:
            reason = f"the {location} language is missing"
        elif detail["type"] == "missing":
            reason = "required field is missing"
        else:
            reason = detail["msg"].removeprefix("Value error, ")
        found.append(KnowledgeError(name, location, reason))
    return found


def parse_item(path: Path, languages: tuple[str, ...] = LANGUAGES) -> tuple[ServiceItem | None, list[KnowledgeError]]:
    """Read and validate one item file; return the item or the errors found in it.

    Every language in `languages` must be present in the item.
    """
    name = path.name
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
    except UnicodeDecodeError:
        return None, [KnowledgeError(name, "(file)", "not UTF-8 text")]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        return None, [KnowledgeError(name, where, f"bad YAML: {getattr(error, 'problem', None) or error}")]
    if not isinstance(data, dict):
        return None, [KnowledgeError(name, "(file)", "must be a YAML mapping of fields")]
    replaced = [KnowledgeError(name, field, REPLACED_FIELDS[field]) for field in data if field in REPLACED_FIELDS]
    try:
        item = ServiceItem.model_validate({key: value for key, value in data.items() if key not in REPLACED_FIELDS})
    except ValidationError as error:
        return None, replaced + _pydantic_errors(name, error)
    if replaced:
        return None, replaced
    unnamed = [KnowledgeError(name, f"hotlines.{index}.{language}", f"say whose line this is in {language}")
               for index, language in item.missing_hotline_names()]
    if unnamed:
        return None, unnamed
    missing = [KnowledgeError(name, language, f"the {language} language is missing")
               for language in languages if getattr(item, language) is None]
    if missing:
        return None, missing
    if item.id != path.stem:
        return None, [KnowledgeError(name, "id", f"id {item.id!r} differs from the file name {path.stem!r}")]
    return item, []


def read_languages(directory: Path) -> tuple[tuple[str, ...], list[KnowledgeError]]:
    """The languages every item must have: from kb.yml's `languages`, default zh and en."""
    manifest = directory / MANIFEST_NAME
    if not manifest.is_file():
        return LANGUAGES, []
    try:
        data = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        return LANGUAGES, [KnowledgeError(MANIFEST_NAME, "(file)", f"bad YAML: {error}")]
    languages = data.get("languages", list(LANGUAGES)) if isinstance(data, dict) else None
    # An empty list: items may be in either language (each still needs at least one).
    if not isinstance(languages, list) or any(lang not in LANGUAGES for lang in languages):
        return LANGUAGES, [KnowledgeError(MANIFEST_NAME, "languages", f"must be a list of {list(LANGUAGES)}")]
    return tuple(languages), []


def load_items(directory: Path) -> list[ServiceItem]:
    """Load every *.yml/*.yaml item in the directory, sorted by id; raise if any is invalid."""
    if not directory.is_dir():
        raise InvalidKnowledgeBase([KnowledgeError(str(directory), "(directory)", "not a directory")])
    paths = sorted(p for p in directory.iterdir() if p.suffix in (".yml", ".yaml") and p.name != MANIFEST_NAME)
    languages, errors = read_languages(directory)
    items: list[ServiceItem] = []
    seen: dict[str, str] = {}
    for path in paths:
        item, problems = parse_item(path, languages)
        errors.extend(problems)
        if item is None:
            continue
        if item.id in seen:
            errors.append(KnowledgeError(path.name, "id", f"duplicate id {item.id!r} (also in {seen[item.id]})"))
            continue
        seen[item.id] = path.name
        items.append(item)
    if not paths:
        errors.append(KnowledgeError(str(directory), "(directory)", "no item files (*.yml)"))
    if errors:
        raise InvalidKnowledgeBase(errors)
    return sorted(items, key=lambda item: item.id)
