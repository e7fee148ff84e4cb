"""`govbot kb import`: turn a plain FAQ file into a knowledge directory that can be searched.

Input: JSON lines `{"id", "question", "answer", ...}` (other keys are ignored). An empty
question is allowed: the answer's text is then what is searched. Every line is checked
first; the directory is written only when the whole file is valid, and appears at once.
"""

import json
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from core.language import detect_language
from knowledge.files import staged_directory
from knowledge.loader import MANIFEST_NAME, KnowledgeError

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
TITLE_MAX = 120


class FaqEntry(BaseModel):
    """One FAQ line."""

    model_config = ConfigDict(extra="ignore")

    id: str
    question: str = ""
    answer: str

    @field_validator("id", mode="before")
    @classmethod
    def id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @field_validator("answer")
    @classmethod
    def answer_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("answer must not be empty")
        return value.strip()


class FaqImportError(ValueError):
    """The FAQ file has problems; nothing was written."""

    def __init__(self, errors: list[KnowledgeError]) -> None:
        self.errors = errors
        super().__init__("\n".join(map(str, errors)))


def item_id_for(faq_id: str) -> str:
    """The knowledge item id for a FAQ id: lower case, runs of other characters become '-'."""
    return _NOT_SLUG.sub("-", faq_id.lower()).strip("-")[:80].strip("-") or "faq"


def read_faq(path: Path) -> list[FaqEntry]:
    """Read and check every line; raise FaqImportError listing all problems."""
    entries: list[FaqEntry] = []
    errors: list[KnowledgeError] = []
    seen: dict[str, int] = {}                      # item id -> the line that made it
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            entry = FaqEntry.model_validate(json.loads(line))
        except json.JSONDecodeError as error:
            errors.append(KnowledgeError(path.name, where, f"not JSON ({error.msg})"))
            continue
        except ValidationError as error:
            detail = error.errors()[0]
            field = ".".join(str(part) for part in detail["loc"]) or "(line)"
            errors.append(KnowledgeError(path.name, f"{where}: {field}", detail["msg"].removeprefix("Value error, ")))
            continue
        item_id = item_id_for(entry.id)
        if item_id in seen:
            errors.append(KnowledgeError(path.name, f"{where}: id",
                                         f"id {entry.id!r} collides with line {seen[item_id]} (item id {item_id!r})"))
            continue
        seen[item_id] = number
        entries.append(entry)
    if not entries and not errors:
        errors.append(KnowledgeError(path.name, "(file)", "no FAQ entries"))
    if errors:
        raise FaqImportError(errors)
    return entries


def _title_from_answer(answer: str) -> str:
    first = _SENTENCE_END.split(answer.strip(), maxsplit=1)[0]
    return first if len(first) <= TITLE_MAX else first[: TITLE_MAX - 1].rstrip() + "…"


def faq_item(entry: FaqEntry) -> tuple[str, dict]:
    """The language and the item data (as written to YAML) for one FAQ entry."""
    question = entry.question.strip()
    language = detect_language(f"{question} {entry.answer}") or "en"
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", entry.answer) if part.strip()]
    content = {
        "title": question or _title_from_answer(entry.answer),
        "summary": entry.answer,
        "steps": paragraphs or [entry.answer],
        "materials": [],
        "sample_questions": [question] if question else [],
    }
    return language, {"id": item_id_for(entry.id), "category": "faq", language: content}


def import_faq(source: Path, out: Path, replace: bool = False) -> int:
    """Write one item file per FAQ entry into `out`; return the number of items written."""
    entries = read_faq(source)
    if out.exists() and any(out.iterdir()) and not replace:
        raise FaqImportError([KnowledgeError(str(out), "(directory)",
                                             "already exists and is not empty (use --replace to overwrite it)")])
    with staged_directory(out) as scratch:
        languages = set()
        for entry in entries:
            language, data = faq_item(entry)
            languages.add(language)
            (scratch / f"{data['id']}.yml").write_text(
                yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
        required = sorted(languages) if len(languages) == 1 else []
        (scratch / MANIFEST_NAME).write_text(yaml.safe_dump(
            {"source": source.name, "languages": required}, allow_unicode=True), encoding="utf-8")
    return len(entries)
