"""The chat page on phones, for the browser tests (tests/e2e/test_phone.py, test_widget.py) and the figures
(benchmarks/web_page.py): the phone sizes, a stand-in bot whose answers are the knowledge base's real rendered
answers, and what a page's layout measures."""

import json
import re
from typing import Any, Optional

from core.settings import PROJECT_ROOT

# CSS pixels (width, height) of common phones: a small Android, iPhone 12-15, a large Android, the WCAG reflow width
PHONES = {"360x740": (360, 740), "390x844": (390, 844), "412x915": (412, 915), "320x640": (320, 640)}
MODES = ("normal", "large")
TARGET_PX = {"normal": 44, "large": 60}  # the smallest target in each mode (the age-friendly rules ask 60 in large)

# WCAG 1.4.12 text spacing, as the bookmarklets apply it (a constructed sheet: the page's CSP forbids <style>)
TEXT_SPACING_JS = """() => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(`* { line-height: 1.5 !important; letter-spacing: 0.12em !important;
                          word-spacing: 0.16em !important; }
                       p { margin-bottom: 2em !important; }`);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}"""

# What the page's layout measures: boxes of the composer and header controls, the visible conversation, the last
# answer's visible part, the smallest target, and anything that sticks out sideways.
LAYOUT_JS = """() => {
    const vw = document.documentElement.clientWidth, vh = window.innerHeight;
    const box = (e) => { if (!e) return null; const r = e.getBoundingClientRect();
        return {x: r.left, y: r.top, width: r.width, height: r.height, right: r.right, bottom: r.bottom}; };
    const shown = (e) => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
        return r.width > 1 && r.height > 1 && s.visibility !== 'hidden'; };
    const within = (r, top, bottom) => Math.max(0, Math.min(r.bottom, bottom) - Math.max(r.top, top));
    const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
        (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '') +
        ' ' + (e.textContent || '').trim().slice(0, 12);
    const conversation = document.getElementById('conversation');
    const view = conversation.getBoundingClientRect();
    const top = Math.max(0, view.top), bottom = Math.min(vh, view.bottom);
    const bots = conversation.querySelectorAll('.msg.bot');
    const last = bots.length ? bots[bots.length - 1] : null;
    const targets = [...document.querySelectorAll('button, input, .hotline a')].filter(shown)
        .map((e) => { const r = e.getBoundingClientRect(); return {name: name(e), width: r.width, height: r.height}; });
    const smallest = targets.reduce((a, b) => (Math.min(b.width, b.height) < Math.min(a.width, a.height) ? b : a),
                                    targets[0]);
    // the header's and the composer's controls (the conversation's scroll under its edges by design)
    const controls = [...document.querySelectorAll('header button, header a, form button, form input')].filter(shown);
    const overlaps = [];
    controls.forEach((a, i) => controls.slice(i + 1).forEach((b) => {
        const p = a.getBoundingClientRect(), q = b.getBoundingClientRect();
        const x = Math.min(p.right, q.right) - Math.max(p.left, q.left);
        const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
        if (x > 1 && y > 1 && !a.contains(b) && !b.contains(a)) overlaps.push(name(a) + ' / ' + name(b));
    }));
    const outside = [...document.querySelectorAll('body *')].filter(shown)
        .filter((e) => { const r = e.getBoundingClientRect(); return r.left < -0.5 || r.right > vw + 0.5; })
        .map(name).slice(0, 8);
    return {
        viewport: {width: vw, height: vh},
        overflow_x: document.documentElement.scrollWidth - vw,
        conversation_overflow_x: conversation.scrollWidth - conversation.clientWidth,
        page_scroll_y: document.documentElement.scrollHeight - vh,
        outside,
        overlaps: overlaps.slice(0, 8),
        text: box(document.getElementById('text')), send: box(document.getElementById('send')),
        mic: box(document.getElementById('mic')), person: box(document.getElementById('person')),
        hotline: box(document.querySelector('.hotline a')),
        settings: (e => (e && shown(e) ? box(e) : null))(document.getElementById('settings-toggle')),
        header: box(document.querySelector('header.top')),
        conversation_visible: bottom - top,
        last_answer_visible: last ? within(last.getBoundingClientRect(), top, bottom) : 0,
        last_answer_height: last ? last.getBoundingClientRect().height : 0,
        smallest_target: smallest,
        font_px: parseFloat(getComputedStyle(document.getElementById('text')).fontSize),
    };
}"""


def in_view(box: Optional[dict[str, float]], viewport: dict[str, float]) -> bool:
    """The whole box is inside the viewport."""
    return box is not None and box["x"] >= -0.5 and box["y"] >= -0.5 and box["right"] <= viewport["width"] + 0.5 \
        and box["bottom"] <= viewport["height"] + 0.5


def layout(page: Any) -> dict[str, Any]:
    """The chat page's layout as LAYOUT_JS measures it (in the page, or in the widget's frame)."""
    measured: dict[str, Any] = page.evaluate(LAYOUT_JS)
    return measured


class StandInBot:
    """Rasa's part for a testkit FakeRasa (`FakeRasa(reply=StandInBot())`): every question gets the same service
    item's real answer (bot/actions/render.py over knowledge/items/), in the language of the question and the modes
    the page switched on, with the real buttons and reply payload; the mode and language commands are confirmed."""

    def __init__(self, item_id: str = "passport-apply") -> None:
        from knowledge.loader import load_items

        self.item = next(item for item in load_items(PROJECT_ROOT / "knowledge" / "items") if item.id == item_id)
        self.state: dict[str, dict[str, Any]] = {}

    def answer(self, language: str, large_text: bool) -> str:
        """The item's answer as the bot renders it."""
        from bot.actions.render import render_answer

        return render_answer(self.item, language, large_text)

    def __call__(self, sender: str, message: str) -> list[dict[str, Any]]:
        from bot.actions.render import rating_buttons

        state = self.state.setdefault(sender, {"large_text": False, "voice": False, "language": "zh"})
        switched = re.fullmatch(r"/(large_text|voice)_(on|off)", message)
        language_switch = re.fullmatch(r"/switch_language(\{.*\})", message)
        buttons: list[dict[str, str]] = []
        if switched:
            state[switched.group(1)] = switched.group(2) == "on"
            kind = "mode"
            text = {"zh": "好的，已为您设置。", "en": "Done."}[state["language"]]
        elif language_switch:
            state["language"] = json.loads(language_switch.group(1)).get("target_language", "zh")
            kind = "language"
            text = {"zh": "好的，我们说中文。", "en": "OK, we can talk in English."}[state["language"]]
        elif message.startswith("/"):
            kind, text = "reply", {"zh": "感谢您的评价。需要帮助请拨打12345。",
                                   "en": "Thank you. For help call 12345."}[state["language"]]
        else:
            state["language"] = "zh" if re.search(r"[\u3400-\u9fff]", message) else "en"
            kind, text = "answer", self.answer(state["language"], state["large_text"])
            buttons = rating_buttons(state["language"])
        custom = {"kind": kind, "language": state["language"],
                  "mode": {"large_text": state["large_text"], "voice": state["voice"]}}
        if kind == "answer":
            custom.update(item=self.item.id, decision="answer")
        return [{"recipient_id": sender, "text": text, "buttons": buttons}, {"recipient_id": sender, "custom": custom}]
