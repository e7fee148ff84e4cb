"""Canned replies: the ready-made answers agents pick in the console, per language, from a YAML file."""

from pathlib import Path

import yaml

DEFAULT_CANNED_REPLIES = Path(__file__).resolve().parent / "canned_replies.yml"
LANGUAGES = ("zh", "en")


def load_canned_replies(path: Path = DEFAULT_CANNED_REPLIES) -> dict[str, list[str]]:
    """The canned replies in the file, {"zh": [...], "en": [...]} (a language missing from it: an empty list)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {language: [str(line) for line in data.get(language) or []] for language in LANGUAGES}
