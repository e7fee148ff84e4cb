"""The chat page on phones, in real Chromium with touch and a mobile viewport, against the real gateway with a
stand-in bot (testkit/phone.py: the knowledge base's real rendered answers, no Rasa): at 360×740, 390×844, 412×915
and 320×640, in normal and large text. The composer stays in view with large targets, the conversation keeps most
of the screen with a long answer, the header is one compact row, nothing scrolls sideways (also at 200% zoom and
with WCAG 1.4.12's text spacing), the 设置 disclosure works by keyboard, a screen keyboard keeps the text box and the
last answer in view, and axe finds nothing serious. The real stack's long answer on a phone is in test_web.py."""

from typing import Any, Callable, Iterator

import pytest

from core.settings import Settings
from testkit.browser import audit
from testkit.handoff import LiveGateway
from testkit.helpers import FakeRasa
from testkit.phone import MODES, PHONES, TARGET_PX, TEXT_SPACING_JS, StandInBot, in_view, layout

pytestmark = pytest.mark.slow

ROOMY = {"rate_per_client": 100_000, "rate_per_conversation": 100_000, "rate_tts": 100_000,
         "rate_new_conversations": 100_000}
BOT_MESSAGES = "#log .msg.bot"
QUESTION = "护照怎么办理"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[LiveGateway]:  # type: ignore[no-untyped-def]
    """The real gateway on a loopback port in front of the stand-in bot."""
    with FakeRasa(reply=StandInBot()).serving() as rasa_url:
        settings = Settings(rasa_url=rasa_url, var_dir=tmp_path_factory.mktemp("phone"), tts_gtts=False,
                            conversation_secret="phone-tests-conversation-secret", **ROOMY)
        with LiveGateway(settings) as live:
            yield live


@pytest.fixture
def open_phone(browser, gateway) -> Iterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]
    """open_phone(width, height, mode="normal", locale="zh-CN", mobile=True, scale=2): a fresh context on the chat
    page; a phone has touch and a mobile viewport. Large text is switched on as a user would, in 设置."""
    contexts = []

    def opened(width: int, height: int, mode: str = "normal", locale: str = "zh-CN", mobile: bool = True,
               scale: float = 2):  # type: ignore[no-untyped-def]
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height},
                                      device_scale_factor=scale, is_mobile=mobile, has_touch=mobile)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(gateway.url + "/")
        if mode == "large":
            click = (lambda selector: page.tap(selector)) if mobile else page.click
            click("#settings-toggle")
            before = page.locator(BOT_MESSAGES).count()
            click("#large-toggle")
            page.locator(BOT_MESSAGES).nth(before).wait_for()
            click("#settings-toggle")  # folded again
        return page

    yield opened
    for context in contexts:
        context.close()


def ask(page, text: str = QUESTION, tap: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Type a question and send it (tapping 发送, or Enter), then wait for the answer."""
    before = page.locator(BOT_MESSAGES).count()
    page.fill("#text", text)
    if tap:
        page.tap("#send")
    else:
        page.press("#text", "Enter")
    page.locator(BOT_MESSAGES).nth(before).wait_for()


def settled(page) -> None:  # type: ignore[no-untyped-def]
    """Two animation frames: layout, resize observers and their scrolling are done."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def assert_reflows(measured: dict[str, Any]) -> None:
    """Nothing sticks out sideways, nothing scrolls sideways, no two controls overlap."""
    assert measured["overflow_x"] <= 0 and measured["conversation_overflow_x"] <= 0, measured
    assert measured["outside"] == [] and measured["overlaps"] == [], measured


def serious(page) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [violation for violation in audit(page) if violation["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", PHONES)
def test_a_phone_shows_the_composer_and_most_of_the_answer(open_phone, size, mode):
    width, height = PHONES[size]
    target = TARGET_PX[mode]
    page = open_phone(width, height, mode)
    ask(page)
    settled(page)
    measured = layout(page)
    view = measured["viewport"]
    assert view == {"width": width, "height": height}
    assert measured["font_px"] >= (30 if mode == "large" else 18)
    assert_reflows(measured)
    # the composer: in view without scrolling, the text box on (at least) 60% of the width, large targets
    for name in ("text", "send", "mic"):
        assert in_view(measured[name], view), (name, measured[name])
        assert measured[name]["height"] >= target and measured[name]["width"] >= target, (name, measured[name])
    assert measured["text"]["width"] >= 0.6 * width
    assert measured["page_scroll_y"] <= 0  # the page itself does not scroll: only the conversation does
    # the header: one compact row with 12345, 设置 and 转人工, each a large target
    for name in ("hotline", "settings", "person"):
        assert in_view(measured[name], view) and measured[name]["height"] >= target, (name, measured[name])
    assert measured["header"]["height"] <= target + 36
    assert measured["person"]["right"] >= width - 8 - 0.5  # 转人工 at the right end
    smallest = measured["smallest_target"]
    assert min(smallest["width"], smallest["height"]) >= target, smallest
    # the conversation keeps most of the screen, and the new (long) answer fills it
    assert measured["last_answer_height"] > measured["conversation_visible"]
    assert measured["conversation_visible"] >= 0.45 * height
    assert measured["last_answer_visible"] >= 0.9 * measured["conversation_visible"] - 20
    assert serious(page) == []
    assert page.errors == []


def test_english_in_large_text_fits_a_small_phone(open_phone):
    page = open_phone(360, 740, "large", locale="en-US")
    ask(page, "How do I apply for a passport?")
    settled(page)
    measured = layout(page)
    assert_reflows(measured)
    assert measured["text"]["width"] >= 0.6 * 360
    for name in ("text", "send", "mic", "hotline", "settings", "person"):
        assert in_view(measured[name], measured["viewport"]) and measured[name]["height"] >= 60, name
    assert measured["person"]["right"] >= 360 - 8 - 0.5  # "Talk to a person" on a row of its own, at the right end
    assert measured["conversation_visible"] >= 0.45 * 740
    assert serious(page) == []


def focused(page) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What has the focus: its id, whether its focus ring shows, whether it is on screen and uncovered."""
    return page.evaluate("""() => {
        const e = document.activeElement, r = e.getBoundingClientRect(), style = getComputedStyle(e);
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return {id: e.id, cls: e.className,
                ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
                visible: r.top >= 0 && r.bottom <= innerHeight && (hit === e || e.contains(hit))};
    }""")


def test_the_settings_disclosure_works_by_keyboard_and_announces_its_state(open_phone):
    page = open_phone(360, 740, mobile=False)
    toggle = page.get_by_role("button", name="设置")
    assert toggle.get_attribute("aria-expanded") == "false" and page.locator("#large-toggle").is_hidden()
    for _ in range(4):  # skip link, 12345, then 设置
        page.keyboard.press("Tab")
        if focused(page)["id"] == "settings-toggle":
            break
    state = focused(page)
    assert state["id"] == "settings-toggle" and state["ring"] and state["visible"]
    page.keyboard.press("Enter")
    # unfolded: a labelled group of switches right after the button, each announcing whether it is on
    assert page.get_by_role("button", name="设置", expanded=True).count() == 1
    group = page.get_by_role("group", name="显示和语言")
    assert group.is_visible() and page.get_attribute("#settings-toggle", "aria-controls") == "settings"
    assert group.get_by_role("button", name="大字", pressed=False).is_visible()
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "large-toggle"
    before = page.locator(BOT_MESSAGES).count()
    page.keyboard.press("Space")
    page.locator(BOT_MESSAGES).nth(before).wait_for()
    assert group.get_by_role("button", name="大字", pressed=True).count() == 1
    assert page.get_attribute("html", "class") == "large"
    # Esc folds it and the focus goes back to 设置; Space unfolds it again
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false" and group.is_hidden()
    assert focused(page)["id"] == "settings-toggle"
    page.keyboard.press("Space")
    assert toggle.get_attribute("aria-expanded") == "true"
    for expected in ("large-toggle", "voice-toggle", "lang-toggle", "person"):
        page.keyboard.press("Tab")
        state = focused(page)
        assert state["id"] == expected and state["ring"] and state["visible"], state
    # unfolded in large text, the switches still fit the width and stay large
    measured = layout(page)
    assert_reflows(measured)
    assert min(measured["smallest_target"]["width"], measured["smallest_target"]["height"]) >= 60
    assert serious(page) == []


@pytest.mark.parametrize("scrolled", [False, True], ids=["reading-the-answer", "scrolled-up"])
@pytest.mark.parametrize("mode", MODES)
def test_a_screen_keyboard_keeps_the_text_box_and_the_last_answer_in_view(open_phone, mode, scrolled):
    page = open_phone(360, 740, mode)
    ask(page)
    if scrolled:  # back at the welcome: opening the keyboard brings the answer back
        page.eval_on_selector("#conversation", "e => { e.scrollTop = 0; }")
    page.tap("#text")
    # the keyboard takes the lower half: with interactive-widget=resizes-content (and the VisualViewport on other
    # browsers) the page's height is what is left; emulated here by the viewport itself
    page.set_viewport_size({"width": 360, "height": 370})
    settled(page)
    measured = layout(page)
    for name in ("text", "send", "mic", "person"):
        assert in_view(measured[name], measured["viewport"]), (name, measured[name])
    assert measured["page_scroll_y"] <= 0
    assert measured["conversation_visible"] >= 100
    assert measured["last_answer_visible"] >= 0.8 * measured["conversation_visible"]
    assert page.evaluate("document.activeElement.id") == "text"
    assert_reflows(measured)


@pytest.mark.parametrize("mode", MODES)
def test_a_desktop_at_200_percent_zoom_reflows(open_phone, mode):
    # Chromium's zoom divides the CSS viewport by the zoom and multiplies the device pixel ratio: a 1280×900 window
    # at 200% is a 640×450 CSS viewport at ratio 2, which is what is emulated (no touch, no mobile viewport)
    page = open_phone(640, 450, mode, mobile=False, scale=2)
    ask(page, tap=False)
    settled(page)
    measured = layout(page)
    assert_reflows(measured)
    for name in ("text", "send", "mic", "person", "settings"):  # the compact header: 设置 holds the switches
        assert in_view(measured[name], measured["viewport"]), name
    assert measured["text"]["width"] >= 0.6 * 640 - 16
    assert serious(page) == []


@pytest.mark.parametrize("mode", MODES)
def test_text_spacing_at_320_px_loses_nothing(open_phone, mode):
    page = open_phone(320, 640, mode)
    ask(page)
    page.evaluate(TEXT_SPACING_JS)
    settled(page)
    measured = layout(page)
    assert_reflows(measured)
    for name in ("text", "send", "mic", "person"):
        assert in_view(measured[name], measured["viewport"]), name
    page.tap("#settings-toggle")  # the switches too (unfolded, the page may scroll down to the composer)
    settled(page)
    assert_reflows(layout(page))
    clipped = page.evaluate("""() => [...document.querySelectorAll(
            'header button, header a, form button, label, .msg .text, .msg button')]
        .filter(e => e.getClientRects().length)
        .filter(e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
        .map(e => e.id || e.textContent.trim().slice(0, 10))""")
    assert clipped == []
