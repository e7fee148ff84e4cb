"""Turning a service item into the short, numbered answer the citizen reads, in either mode."""

from typing import Optional

from knowledge.schema import LocalizedItem, ServiceItem

# Fields a follow-up question can ask about, in the order the elderly-mode menu offers them.
FIELDS = ("materials", "where", "fees", "time", "eligibility", "steps")
MENU_FIELDS = ("materials", "where", "fees", "time")
# At most this many numbered steps in large-text (elderly) mode.
LARGE_TEXT_MAX_STEPS = 5

LABELS = {
    "zh": {"steps": "办理步骤", "materials": "需要带的材料", "eligibility": "谁可以办", "fees": "费用",
           "time": "办理时限", "online": "网上办", "offices": "现场办", "hotline": "咨询电话",
           "where": "在哪里办",
           "clarify": "您想问的是下面哪一项？请点选，或回复序号：",
           "none_materials": "不需要特别准备材料",
           "unknown": "这一项没有写明，请拨打咨询电话",
           "more_steps": "还有{n}步，回复“步骤”看全部",
           "menu": "想了解更多请回复数字：{options}", "menu_sep": "，",
           "menu_items": {"materials": "要带的材料", "where": "在哪里办", "fees": "费用", "time": "要多久"},
           "good": "有用", "bad": "没用", "person": "转人工"},
    "en": {"steps": "Steps", "materials": "What to bring", "eligibility": "Who can apply", "fees": "Fee",
           "time": "Processing time", "online": "Online", "offices": "In person", "hotline": "Hotline",
           "where": "Where to apply",
           "clarify": "Which of these do you mean? Choose one, or reply with its number:",
           "none_materials": "Nothing special to bring",
           "unknown": "Not stated here; please call the hotline",
           "more_steps": "({n} more to go: reply \"steps\" to see all of them)",
           "menu": "For more, reply with a number: {options}", "menu_sep": ", ",
           "menu_items": {"materials": "what to bring", "where": "where to go", "fees": "fee", "time": "how long"},
           "good": "Helpful", "bad": "Not helpful", "person": "Talk to a person"},
}


def labels(language: str) -> dict:
    """The labels of the given language (Chinese for an unknown one)."""
    return LABELS[language if language in LABELS else "zh"]


def render_answer(item: ServiceItem, language: str, large_text: bool = False) -> str:
    """The item as an answer: full (title, summary, steps, materials, fee, time, where, hotline) or, in
    large-text mode, short (title, summary, at most five steps, hotline, and a numbered menu for the rest)."""
    # One message: Rasa's REST channel would split the text at blank lines.
    text, label = item.text(language), labels(language)
    if large_text:
        return "\n".join([text.title, text.summary, *_steps(text, language, LARGE_TEXT_MAX_STEPS),
                          *_hotline(item, language), *_menu(language)])
    lines = [text.title, text.summary, *_steps(text, language), *_materials(text, language)]
    facts = [(label["fees"], text.fees), (label["time"], text.processing_time),
             (label["online"], text.where.online if text.where else None),
             (label["offices"], text.where.offices if text.where else None), (label["hotline"], item.hotline)]
    return "\n".join(lines + [f"{name}: {value}" for name, value in facts if value])


def render_field(item: ServiceItem, field: str, language: str) -> str:
    """One part of the item (materials, where, fees, time, eligibility or steps), headed by its title."""
    text, label = item.text(language), labels(language)
    if field == "materials":
        body = _materials(text, language)
    elif field == "steps":
        body = _steps(text, language)
    elif field == "eligibility":
        body = [f"{label['eligibility']}:"] + [f"- {rule}" for rule in text.eligibility or [label["unknown"]]]
    elif field == "fees":
        body = [f"{label['fees']}: {text.fees or label['unknown']}"]
    elif field == "time":
        body = [f"{label['time']}: {text.processing_time or label['unknown']}"]
    elif field == "where":
        where = text.where
        body = [f"{label['where']}:"]
        body += [f"{label['online']}: {where.online}"] if where and where.online else []
        body += [f"{label['offices']}: {where.offices}"] if where and where.offices else []
        body += [] if len(body) > 1 else [label["unknown"]]
    else:
        raise ValueError(f"unknown field {field!r}; expected one of {', '.join(FIELDS)}")
    return "\n".join([text.title, *body, *_hotline(item, language)])


def clarify_text(titles: list[str], language: str) -> str:
    """The question that offers the candidate items, numbered so that a reply "2" can pick one."""
    return "\n".join([labels(language)["clarify"], *(f"{n}. {title}" for n, title in enumerate(titles, start=1))])


def person_button(language: str) -> dict[str, str]:
    """The button that asks for a person."""
    return {"title": labels(language)["person"], "payload": "/ask_person"}


def rating_buttons(language: str) -> list[dict[str, str]]:
    """The buttons under an answer: rate it good or bad, or ask for a person."""
    label = labels(language)
    return [{"title": label["good"], "payload": "/rate_good"}, {"title": label["bad"], "payload": "/rate_bad"},
            person_button(language)]


def menu_field(number: int) -> Optional[str]:
    """The field the elderly-mode menu offers under this number, if any."""
    return MENU_FIELDS[number - 1] if 1 <= number <= len(MENU_FIELDS) else None


def _steps(text: LocalizedItem, language: str, limit: Optional[int] = None) -> list[str]:
    label = labels(language)
    shown = text.steps if limit is None or len(text.steps) <= limit else text.steps[:limit]
    lines = [f"{label['steps']}:"] + [f"{number}. {step}" for number, step in enumerate(shown, start=1)]
    if len(shown) < len(text.steps):
        lines.append(label["more_steps"].format(n=len(text.steps) - len(shown)))
    return lines


def _materials(text: LocalizedItem, language: str) -> list[str]:
    label = labels(language)
    return [f"{label['materials']}:"] + ([f"- {material}" for material in text.materials]
                                         or [f"- {label['none_materials']}"])


def _hotline(item: ServiceItem, language: str) -> list[str]:
    return [f"{labels(language)['hotline']}: {item.hotline}"] if item.hotline else []


def _menu(language: str) -> list[str]:
    label = labels(language)
    options = label["menu_sep"].join(f"{n} {label['menu_items'][field]}" for n, field in enumerate(MENU_FIELDS, start=1))
    return [label["menu"].format(options=options)]
