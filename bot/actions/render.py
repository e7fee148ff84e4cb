"""Turning a service item into the short, numbered answer the citizen reads."""

from knowledge.schema import ServiceItem

LABELS = {
    "zh": {"steps": "办理步骤", "materials": "需要带的材料", "eligibility": "谁可以办", "fees": "费用",
           "time": "办理时限", "online": "网上办", "offices": "现场办", "hotline": "咨询电话",
           "clarify": "您想问的是下面哪一项？请点选：", "none_materials": "不需要特别准备材料"},
    "en": {"steps": "Steps", "materials": "What to bring", "eligibility": "Who can apply", "fees": "Fee",
           "time": "Processing time", "online": "Online", "offices": "In person", "hotline": "Hotline",
           "clarify": "Which of these do you mean? Please choose one:", "none_materials": "Nothing special to bring"},
}


def render_answer(item: ServiceItem, language: str) -> str:
    """The item as a short answer: title, summary, numbered steps, materials, fee, time, where, hotline."""
    # One message: Rasa's REST channel would split the text at blank lines.
    text, label = item.text(language), LABELS[language if language in LABELS else "zh"]
    lines = [text.title, text.summary, f"{label['steps']}:"]
    lines += [f"{number}. {step}" for number, step in enumerate(text.steps, start=1)]
    lines += [f"{label['materials']}:"]
    lines += [f"- {material}" for material in text.materials] or [f"- {label['none_materials']}"]
    facts = [(label["fees"], text.fees), (label["time"], text.processing_time),
             (label["online"], text.where.online if text.where else None),
             (label["offices"], text.where.offices if text.where else None), (label["hotline"], item.hotline)]
    present = [f"{name}: {value}" for name, value in facts if value]
    return "\n".join(lines + present)


def clarify_prompt(language: str) -> str:
    """The question that introduces the offered items."""
    return LABELS[language if language in LABELS else "zh"]["clarify"]
