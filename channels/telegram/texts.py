"""The Telegram channel's words (help, command menu, keyboard labels, errors); the texts are in core/texts.py."""

from typing import Optional

from core.texts import LANGUAGES, text

COMMAND_NAMES = ("start", "help", "large", "voice", "human", "lang")
# The persistent reply keyboard of large-text mode, row by row: the command each button stands for.
KEYBOARD_LAYOUT = (("voice", "human"), ("lang", "help"), ("large",))

# The command menu Telegram shows, per language: command -> description.
COMMANDS = {language: {name: text(language, f"telegram.command.{name}") for name in COMMAND_NAMES}
            for language in LANGUAGES}
# The keyboard per language: rows of (label, the command it stands for).
KEYBOARD = {language: [[(text(language, f"telegram.keyboard.{action}"), action) for action in row]
                       for row in KEYBOARD_LAYOUT] for language in LANGUAGES}
KEYBOARD_ACTIONS = {label: action for rows in KEYBOARD.values() for row in rows for label, action in row}

# Names `message` knows outside the "telegram." area of the catalogue.
_SHARED = ("unavailable",)


def language_of(code: Optional[str], known: Optional[str] = None) -> str:
    """The language to use: what the bot last answered in, else the user's Telegram language (zh/en)."""
    if known in ("zh", "en"):
        return known
    return "zh" if (code or "").lower().startswith("zh") else "en" if code else "zh"


def message(name: str, language: str, **values: object) -> str:
    """One of the channel's texts (help, greeting_prompt, unavailable, too_long, heard, ...) in the language."""
    return text(language, name if name in _SHARED else f"telegram.{name}", **values)
