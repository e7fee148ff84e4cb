"""Turning a service item into the short, numbered answer the citizen reads, in either mode."""

from typing import Optional

from core import payloads, texts
from knowledge.schema import LocalizedItem, ServiceItem

# Fields a follow-up question can ask about, in the order the elderly-mode menu offers them.
FIELDS = ("materials", "where", "fees", "time", "eligibility", "steps")
MENU_FIELDS = ("materials", "where", "fees", "time")
# At most this many numbered steps in large-text (elderly) mode.
LARGE_TEXT_MAX_STEPS = 5


def label(language: str, name: str, **values: object) -> str:
    """One label or phrase of an answer ("steps", "clarify", "menu", ...) in the language (Chinese if unknown)."""
    return texts.text(language, f"answer.{name}", **values)


def render_answer(item: ServiceItem, language: str, large_text: bool = False) -> str:
    """The item as an answer: full (title, summary, steps, materials, fee, time, where, hotline) or, in
    large-text mode, short (title, summary, at most five steps, hotline, and a numbered menu for the rest)."""
    # One message: Rasa's REST channel would split the text at blank lines.
    text = item.text(language)
    if large_text:
        return "\n".join([text.title, text.summary, *_steps(text, language, LARGE_TEXT_MAX_STEPS),
                          *_hotline(item, language), *_menu(language)])
    lines = [text.title, text.summary, *_steps(text, language), *_materials(text, language)]
    facts = [(label(language, "fees"), text.fees), (label(language, "time"), text.processing_time),
             (label(language, "online"), text.where.online if text.where else None),
             (label(language, "offices"), text.where.offices if text.where else None),
             (label(language, "hotline"), item.hotline_text(language))]
    return "\n".join(lines + [f"{name}: {value}" for name, value in facts if value])


def render_field(item: ServiceItem, field: str, language: str) -> str:
    """One part of the item (materials, where, fees, time, eligibility or steps), headed by its title."""
    text, unknown = item.text(language), label(language, "unknown")
    if field == "materials":
        body = _materials(text, language)
    elif field == "steps":
        body = _steps(text, language)
    elif field == "eligibility":
        body = [f"{label(language, 'eligibility')}:"] + [f"- {rule}" for rule in text.eligibility or [unknown]]
    elif field == "fees":
        body = [f"{label(language, 'fees')}: {text.fees or unknown}"]
    elif field == "time":
        body = [f"{label(language, 'time')}: {text.processing_time or unknown}"]
    elif field == "where":
        where = text.where
        body = [f"{label(language, 'where')}:"]
        body += [f"{label(language, 'online')}: {where.online}"] if where and where.online else []
        body += [f"{label(language, 'offices')}: {where.offices}"] if where and where.offices else []
        body += [] if len(body) > 1 else [unknown]
    else:
        raise ValueError(f"unknown field {field!r}; expected one of {', '.join(FIELDS)}")
    return "\n".join([text.title, *body, *_hotline(item, language)])


def clarify_text(titles: list[str], language: str) -> str:
    """The question that offers the candidate items, numbered so that a reply "2" can pick one."""
    return "\n".join([label(language, "clarify"), *(f"{n}. {title}" for n, title in enumerate(titles, start=1))])


def person_button(language: str) -> dict[str, str]:
    """The button that asks for a person."""
    return {"title": label(language, "ask_person"), "payload": payloads.ASK_PERSON}


def rating_buttons(language: str) -> list[dict[str, str]]:
    """The buttons under an answer: rate it good or bad, or ask for a person."""
    return [{"title": label(language, "rate_good"), "payload": payloads.RATE_GOOD},
            {"title": label(language, "rate_bad"), "payload": payloads.RATE_BAD}, person_button(language)]


def choice_buttons(choices: list[tuple[str, str]]) -> list[dict[str, str]]:
    """One button per offered item, (item id, title) each, that picks it."""
    return [{"title": title, "payload": payloads.choose_item(item_id)} for item_id, title in choices]


def menu_field(number: int) -> Optional[str]:
    """The field the elderly-mode menu offers under this number, if any."""
    return MENU_FIELDS[number - 1] if 1 <= number <= len(MENU_FIELDS) else None


def _steps(text: LocalizedItem, language: str, limit: Optional[int] = None) -> list[str]:
    shown = text.steps if limit is None or len(text.steps) <= limit else text.steps[:limit]
    lines = [f"{label(language, 'steps')}:"] + [f"{number}. {step}" for number, step in enumerate(shown, start=1)]
    if len(shown) < len(text.steps):
        lines.append(label(language, "more_steps", n=len(text.steps) - len(shown)))
    return lines


def _materials(text: LocalizedItem, language: str) -> list[str]:
    return [f"{label(language, 'materials')}:"] + ([f"- {material}" for material in text.materials]
                                                   or [f"- {label(language, 'none_materials')}"])


def _hotline(item: ServiceItem, language: str) -> list[str]:
    """The hotline line: "咨询电话: 122（交通事故报警和交通管理求助）、12345（政务服务便民热线）"."""
    return [f"{label(language, 'hotline')}: {item.hotline_text(language)}"] if item.hotlines else []


def _menu(language: str) -> list[str]:
    options = label(language, "menu_sep").join(f"{n} {label(language, f'menu.{field}')}"
                                               for n, field in enumerate(MENU_FIELDS, start=1))
    return [label(language, "menu", options=options)]
