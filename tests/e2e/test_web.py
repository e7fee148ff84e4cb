"""The web chat page in real Chromium against a real `govbot run` stack: answers in both languages,
clarify buttons, large text, spoken answers, ratings, keyboard use, reload, reconnection and an axe audit."""

import re
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from testkit.browser import CHROMIUM_ARGS, audit, chromium_path
from testkit.phone import in_view, layout
from testkit.speech import encode, kokoro_speak
from testkit.stack import Gateway, module_stack

pytestmark = pytest.mark.slow

stack = module_stack("govbot-web")

BOT_MESSAGES = "#log .msg.bot"
# Mandarin speech (Kokoro) and recognition (Whisper) on a busy 2-core machine can take longer than the audio lasts
SPEECH_TIMEOUT_MS = 240_000


@pytest.fixture
def open_page(browser, stack):  # type: ignore[no-untyped-def]
    """open_page(locale="zh-CN", url=stack.url, csp=False): a fresh browser context (empty storage) on the chat
    page. Playwright's wait_for_function evaluates its text in the page, which the page's CSP forbids: contexts
    bypass the CSP unless `csp` (test_the_page_works_under_its_own_content_security_policy keeps it)."""
    contexts = []

    def opened(locale: str = "zh-CN", url: str = "", csp: bool = False):  # type: ignore[no-untyped-def]
        context = browser.new_context(locale=locale, viewport={"width": 1000, "height": 900}, bypass_csp=not csp)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(url or stack.url + "/")
        return page

    yield opened
    for context in contexts:
        context.close()


def ask(page, text: str) -> str:  # type: ignore[no-untyped-def]
    """Type a question, press Enter, and return the text of the bot's reply."""
    before = page.locator(BOT_MESSAGES).count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    return reply_after(page, before)


def reply_after(page, before: int) -> str:  # type: ignore[no-untyped-def]
    page.locator(BOT_MESSAGES).nth(before).wait_for(timeout=60_000)  # a locator: works under the page's CSP
    return page.locator(BOT_MESSAGES).nth(before).locator(".text").inner_text()


def font_px(page, selector: str) -> float:  # type: ignore[no-untyped-def]
    return page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)")


def test_the_page_works_under_its_own_content_security_policy(open_page, stack):
    page = open_page("zh-CN", csp=True)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    policy = httpx.get(stack.url + "/").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy

    assert "护照" in ask(page, "护照怎么办")
    before = page.locator(BOT_MESSAGES).count()
    page.locator(BOT_MESSAGES).last.get_by_role("button", name="有用").click()  # a rating, through the page's code
    assert "感谢" in reply_after(page, before)
    assert "身份证" in ask(page, "身份证丢了怎么补办")
    page.reload()
    page.locator("#earlier .msg.bot").nth(2).wait_for()  # the history (3 answers) is restored from storage
    assert violations == [] and page.errors == []


def test_chinese_question_gets_the_answer_with_real_buttons_and_links(open_page, stack):
    page = open_page("zh-CN")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.reload()
    assert page.get_attribute("html", "lang") == "zh-CN" and page.inner_text("#send") == "发送"
    answer = ask(page, "护照怎么办理")
    assert answer.startswith("普通护照首次申请") and "办理步骤" in answer
    message = page.locator(BOT_MESSAGES).last
    assert message.get_attribute("lang") == "zh-CN"
    for name in ("有用", "没用", "转人工", "朗读"):
        assert message.get_by_role("button", name=name).count() == 1
    assert message.locator('a[href="tel:12367"]').inner_text() == "12367"
    # the log is the live region; the typing indicator is a status region, empty once the answer is in
    assert page.get_attribute("#log", "role") == "log" and page.get_attribute("#log", "aria-live") == "polite"
    assert page.get_attribute("#status", "role") == "status" and page.inner_text("#status") == ""
    assert page.locator("#text").evaluate("e => e.labels[0].textContent") == "输入您的问题"
    # everything the page loads comes from the gateway itself: no CDN
    assert requests and all(url.startswith(stack.url) or url.startswith(("data:", "blob:")) for url in requests)
    assert page.errors == []


def test_english_user_gets_english_interface_and_answers(open_page):
    page = open_page("en-US")
    assert page.get_attribute("html", "lang") == "en" and page.inner_text("#send") == "Send"
    answer = ask(page, "How do I apply for a passport?")
    assert "passport" in answer.lower() and "Steps" in answer
    assert page.get_by_role("button", name="Talk to a person").count() >= 1
    assert page.get_attribute("html", "lang") == "en"


def test_interface_follows_the_language_the_user_writes_in(open_page):
    page = open_page("en-US")
    ask(page, "社保卡丢了怎么办")
    assert page.get_attribute("html", "lang") == "zh-CN" and page.inner_text("#send") == "发送"
    before = page.locator(BOT_MESSAGES).count()
    page.click("#lang-toggle")
    reply_after(page, before)
    assert page.inner_text("#send") == "Send" and page.inner_text("#person") == "Talk to a person"


def test_clarify_button_selects_an_item(open_page):
    page = open_page("zh-CN")
    clarify = ask(page, "社保卡")
    assert "哪一项" in clarify
    before = page.locator(BOT_MESSAGES).count()
    page.locator(BOT_MESSAGES).last.get_by_role("button", name="社会保障卡挂失与补办").click()
    assert reply_after(page, before).startswith("社会保障卡挂失与补办")
    assert page.locator("#log .msg.user").last.inner_text().endswith("社会保障卡挂失与补办")


def test_large_text_scales_the_page_and_is_remembered(open_page):
    page = open_page("zh-CN")
    ask(page, "护照怎么办理")
    normal = {"text": font_px(page, f"{BOT_MESSAGES} .text"), "button": font_px(page, f"{BOT_MESSAGES} button"),
              "input": font_px(page, "#text")}
    assert normal["text"] >= 18
    assert page.locator("#composer-hint").is_visible()  # "press Enter to send", dropped in large text for room
    line_height = page.eval_on_selector(f"{BOT_MESSAGES} .text", "e => parseFloat(getComputedStyle(e).lineHeight)")
    assert line_height >= 1.3 * normal["text"]
    before = page.locator(BOT_MESSAGES).count()
    page.click("#large-toggle")
    assert "大字" in reply_after(page, before)
    assert page.get_attribute("#large-toggle", "aria-pressed") == "true"
    assert page.locator("#composer-hint").is_hidden()
    large = {"text": font_px(page, f"{BOT_MESSAGES} .text"), "button": font_px(page, f"{BOT_MESSAGES} button"),
             "input": font_px(page, "#text")}
    assert all(large[key] >= 1.5 * normal[key] for key in normal) and large["text"] >= 30
    assert all(large[key] <= 2.0 * normal[key] for key in normal)
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('button, input')]
        .map(e => e.getBoundingClientRect()).filter(r => r.width > 0).map(r => Math.min(r.width, r.height)))""")
    assert smallest >= 60
    # the bot answers in its elderly form too (short, with the number menu)
    assert "回复数字" in ask(page, "护照怎么办理")
    page.reload()
    assert page.get_attribute("html", "class") == "large" and font_px(page, "#text") == large["input"]


def test_targets_are_at_least_24px_and_help_stays_in_one_place(open_page):
    page = open_page("zh-CN")
    place = page.locator("#person").bounding_box()
    ask(page, "社保卡")
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('button, input')]
        .map(e => e.getBoundingClientRect()).filter(r => r.width > 0).map(r => Math.min(r.width, r.height)))""")
    assert smallest >= 24
    assert page.locator("#person").bounding_box() == place
    before = page.locator(BOT_MESSAGES).count()
    page.click("#person")
    assert "12345" in reply_after(page, before)
    assert page.locator("#person").bounding_box() == place


def test_voice_mode_speaks_answers_and_every_answer_has_a_play_button(open_page):
    page = open_page("zh-CN")
    ask(page, "护照怎么办理")
    assert page.locator(f"{BOT_MESSAGES} audio").count() == 0  # voice off: nothing spoken by itself
    before = page.locator(BOT_MESSAGES).count()
    page.click("#voice-toggle")
    reply_after(page, before)
    assert page.get_attribute("#voice-toggle", "aria-pressed") == "true"
    ask(page, "社保卡怎么申领")
    spoken = page.locator(BOT_MESSAGES).last.locator("audio.speech")
    spoken.wait_for(state="attached", timeout=SPEECH_TIMEOUT_MS)
    page.wait_for_function("""() => { const a = [...document.querySelectorAll('#log .msg.bot audio.speech')].pop();
        return a && a.readyState >= 2 && a.duration > 0.5 && !a.error; }""", timeout=SPEECH_TIMEOUT_MS)
    assert spoken.get_attribute("src").startswith("blob:")
    # in large-text (elderly) mode the speech is slower
    speech_requests = []
    page.on("request", lambda request: speech_requests.append(request.post_data_json)
            if request.url.endswith("/api/tts") else None)
    before = page.locator(BOT_MESSAGES).count()
    page.click("#large-toggle")
    reply_after(page, before)
    page.wait_for_function("document.querySelectorAll('#log .msg.bot audio.speech').length >= 3",
                           timeout=SPEECH_TIMEOUT_MS)
    assert speech_requests and speech_requests[-1]["slow"] is True and speech_requests[-1]["language"] == "zh"
    # the play button of an earlier, unspoken answer fetches and plays it
    first = page.locator(BOT_MESSAGES).first
    first.get_by_role("button", name="朗读").click()
    page.wait_for_function("""() => { const a = document.querySelector('#log .msg.bot audio.speech');
        return a && a.readyState >= 2 && a.duration > 0.5; }""", timeout=SPEECH_TIMEOUT_MS)


def test_rating_an_answer_is_stored(open_page, stack):
    page = open_page("zh-CN")
    ask(page, "护照怎么办理")
    sender = page.evaluate("window.govbot.sender")
    before = page.locator(BOT_MESSAGES).count()
    page.locator(BOT_MESSAGES).last.get_by_role("button", name="有用").click()
    assert "感谢您的评价" in reply_after(page, before)
    with sqlite3.connect(stack.var_dir / "govbot.db") as db:
        rows = db.execute("select level, item from ratings where sender_id = ?", (sender,)).fetchall()
    assert rows == [(4, "passport-apply")]


def focused(page) -> dict:  # type: ignore[no-untyped-def]
    """What has the keyboard focus: its name, whether its focus ring shows and whether anything covers it."""
    return page.evaluate("""() => {
        const e = document.activeElement, r = e.getBoundingClientRect(), style = getComputedStyle(e);
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return {tag: e.tagName, id: e.id, text: (e.textContent || '').trim(),
                ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
                visible: r.top >= 0 && r.bottom <= innerHeight && (hit === e || e.contains(hit))};
    }""")


def tab_to(page, name: str, backwards: bool = False, limit: int = 40) -> dict:  # type: ignore[no-untyped-def]
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        state = focused(page)
        if state["text"] == name or state["id"] == name:
            return state
    pytest.fail(f"{name!r} is not reachable by keyboard")


def test_keyboard_only_walk_through(open_page):
    page = open_page("zh-CN")
    # the first Tab reaches the skip link, which leads to the text box
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "跳到输入框"
    page.keyboard.press("Enter")
    page.keyboard.type("社保卡")
    before = page.locator(BOT_MESSAGES).count()
    page.keyboard.press("Enter")
    reply_after(page, before)
    # back from the text box into the conversation, to a clarify option, each focus ring visible and not covered
    state = tab_to(page, "社会保障卡申领", backwards=True)
    assert state["ring"] and state["visible"]
    before = page.locator(BOT_MESSAGES).count()
    page.keyboard.press("Enter")
    assert reply_after(page, before).startswith("社会保障卡申领")
    state = tab_to(page, "有用", backwards=True)
    assert state["ring"] and state["visible"]
    before = page.locator(BOT_MESSAGES).count()
    page.keyboard.press("Space")
    assert "感谢您的评价" in reply_after(page, before)
    # the settings are reachable too, and work from the keyboard
    page.focus("#text")
    state = tab_to(page, "large-toggle", backwards=True)
    assert state["ring"] and state["visible"]
    page.keyboard.press("Enter")
    assert page.get_attribute("#large-toggle", "aria-pressed") == "true"
    for name in ("voice-toggle", "lang-toggle", "person"):
        state = tab_to(page, name)
        assert state["ring"] and state["visible"]


def test_history_survives_a_reload_and_is_not_announced_again(open_page):
    page = open_page("zh-CN")
    chats = []
    page.on("request", lambda request: chats.append(request.headers.get("authorization"))
            if request.url.endswith("/api/chat") else None)
    assert page.evaluate("window.govbot.sender") is None  # no conversation before the first message
    ask(page, "护照怎么办理")
    sender = page.evaluate("window.govbot.sender")
    assert re.fullmatch(r"web:[A-Za-z0-9_-]{22,}", sender)  # issued by POST /api/conversations
    assert chats and all(header and header.startswith("Bearer ") for header in chats)
    page.fill("#text", "还没发出去的字")
    page.reload()
    assert page.evaluate("window.govbot.sender") == sender  # the same conversation after a reload
    assert page.locator("#log .msg").count() == 0  # the live region starts empty...
    earlier = page.locator("#earlier .msg")
    # ...the history sits above it
    assert earlier.count() == 2 and earlier.nth(1).inner_text().count("普通护照首次申请") == 1
    assert page.input_value("#text") == "还没发出去的字"
    # old buttons still work
    before = page.locator(BOT_MESSAGES).count()
    earlier.nth(1).get_by_role("button", name="没用").click()
    reply_after(page, before)


def test_a_conversation_the_gateway_no_longer_accepts_is_replaced_once(open_page):
    page = open_page("zh-CN")
    ask(page, "你好")
    old = page.evaluate("window.govbot.sender")
    page.evaluate("""() => {  // as after the server's conversation secret changed: the kept token is refused
        const kept = JSON.parse(localStorage.getItem('govbot.conversation'));
        kept.token = kept.token.slice(0, -4) + (kept.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
        localStorage.setItem('govbot.conversation', JSON.stringify(kept));
    }""")
    page.reload()
    statuses = []
    page.on("response", lambda response: statuses.append(response.status)
            if response.url.endswith("/api/chat") else None)
    assert "普通护照" in ask(page, "护照怎么办理")
    assert statuses == [401, 200]
    assert page.evaluate("window.govbot.sender") not in (None, old)
    assert page.locator("#log .msg.error").count() == 0 and page.errors == []


def test_too_long_message_gets_a_clear_error_and_the_text_back(open_page):
    page = open_page("zh-CN")
    page.evaluate("document.getElementById('text').removeAttribute('maxlength')")
    long_text = "护照" * 1500
    page.fill("#text", long_text)
    page.press("#text", "Enter")
    page.locator("#log .msg.error").wait_for()
    assert "2000" in page.locator("#log .msg.error").inner_text()
    assert page.input_value("#text") == long_text


def test_page_reconnects_after_a_gateway_restart_without_losing_the_message(open_page, stack, tmp_path):
    gateway = Gateway(stack, tmp_path)
    gateway.start()
    try:
        page = open_page("zh-CN", url=gateway.url + "/")
        ask(page, "护照怎么办理")
        gateway.stop()
        page.fill("#text", "需要带什么材料")
        page.press("#text", "Enter")
        page.wait_for_function("document.getElementById('status').textContent.includes('连接中断')")
        pending = page.locator("#log .msg.user").last
        assert "等待发送" in pending.inner_text()
        gateway.start()
        answer = reply_after(page, 1)
        assert "需要带的材料" in answer
        assert "等待发送" not in pending.inner_text()
        assert page.inner_text("#status") in ("已重新连接。", "")
    finally:
        gateway.stop()


def test_axe_finds_no_serious_or_critical_violation_in_either_mode(open_page):
    page = open_page("zh-CN")
    page.set_content("<html lang='en'><body><main><button></button><img src='x.png'></main></body></html>")
    assert {v["id"] for v in audit(page)} >= {"button-name", "image-alt"}  # the audit does detect problems
    page = open_page("zh-CN")
    ask(page, "社保卡")
    ask(page, "社会保障卡申领")
    for mode in ("normal", "large"):
        if mode == "large":
            before = page.locator(BOT_MESSAGES).count()
            page.click("#large-toggle")
            reply_after(page, before)
        bad = [v for v in audit(page) if v["impact"] in ("serious", "critical")]
        assert bad == [], f"{mode}: {bad}"


def test_page_text_has_no_untranslated_keys(open_page):
    page = open_page("en-US")
    text = page.inner_text("body")
    assert not re.search(r"\bundefined\b", text) and "Hello!" in text
    labelled = page.eval_on_selector_all(
        "[aria-label], [placeholder], [title]",
        "nodes => nodes.flatMap(n => ['aria-label', 'placeholder', 'title'].map(a => n.getAttribute(a)))")
    assert not [value for value in labelled if value is not None and (value == "" or "undefined" in value)]


def with_microphone(playwright, spoken: Path):  # type: ignore[no-untyped-def]
    """Chromium whose microphone plays the WAV file `spoken` (over and over)."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS + [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={spoken}"])


@pytest.fixture(scope="module")
def mic_browser(playwright, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Chromium whose microphone plays an English question spoken by espeak-ng (over and over)."""
    spoken = tmp_path_factory.mktemp("mic") / "question.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(spoken), "How do I apply for a passport?"],
                   check=True)
    launched = with_microphone(playwright, spoken)
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def zh_mic_browser(playwright, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Chromium whose microphone plays a Chinese question in a Kokoro voice the product does not speak with
    (zf_xiaoxiao; it answers in zm_yunxi), at 48 kHz with a second of silence after it, so that the repeats of the
    question are apart."""
    said = kokoro_speak("身份证丢了要带什么材料", tmp_path_factory.mktemp("mic-zh"), voice="zf_xiaoxiao")
    launched = with_microphone(playwright, encode(said, "wav", ("-af", "apad=pad_dur=1")))
    yield launched
    launched.close()


def record(page, seconds: float) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name=re.compile("Tap to talk|按一下说话")).click()
    page.wait_for_selector("#recording:not([hidden])")
    assert page.get_attribute("#mic", "aria-pressed") == "true"
    page.wait_for_timeout(int(seconds * 1000))


@pytest.fixture
def open_mic_page(mic_browser, stack):  # type: ignore[no-untyped-def]
    """open_mic_page(locale, launched=mic_browser): a fresh page (not yet loaded) in the browser, the spoken question
    as its microphone; its uncaught errors in `page.errors`."""
    contexts = []

    def opened(locale: str, launched=mic_browser):  # type: ignore[no-untyped-def]
        context = launched.new_context(locale=locale, permissions=["microphone"], bypass_csp=True)  # as open_page
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield opened
    for context in contexts:
        context.close()


def test_speaking_a_question_on_the_page_gets_the_answer(open_mic_page, stack):
    page = open_mic_page("en-US")
    page.goto(stack.url + "/")
    record(page, 2.2)
    assert page.eval_on_selector("#level-bar", "e => parseFloat(e.style.width)") > 0  # the level shows
    page.get_by_role("button", name="Done, send").click()
    answer = reply_after(page, 0)
    heard = page.locator("#log .msg.user").last.inner_text()
    assert "I heard:" in heard and "passport" in heard.lower()
    assert "passport" in answer.lower() and "Steps" in answer


def watch_forms(page) -> None:  # type: ignore[no-untyped-def]
    """Have the page note the text fields of the forms it sends (Playwright does not see a body with a recording)."""
    page.add_init_script("""(() => {
        const append = FormData.prototype.append;
        window.formFields = [];
        FormData.prototype.append = function (name, value, ...rest) {
            if (typeof value === 'string') window.formFields.push([name, value]);
            return append.call(this, name, value, ...rest);
        };
    })()""")


def sent_language(page) -> str:  # type: ignore[no-untyped-def]
    """The `language` field of the last recording the page sent to /api/voice (see watch_forms)."""
    sent = [value for name, value in page.evaluate("window.formFields") if name == "language"]
    assert sent, "no form with a language field was sent"
    return str(sent[-1])


def is_voice(response) -> bool:  # type: ignore[no-untyped-def]
    return response.url.endswith("/api/voice")


def speech_traffic(page) -> tuple[list[dict], list[tuple[dict, int, dict]]]:  # type: ignore[no-untyped-def]
    """The page's /api/tts traffic from now on, as it comes: the requests' bodies, and the answers (the request's
    body, the status, the headers)."""
    asked: list[dict] = []
    answers: list[tuple[dict, int, dict]] = []
    page.on("request", lambda request: asked.append(request.post_data_json)
            if request.url.endswith("/api/tts") else None)

    def keep(response) -> None:  # type: ignore[no-untyped-def]
        if response.url.endswith("/api/tts"):
            answers.append((response.request.post_data_json, response.status, response.headers))
    page.on("response", keep)
    return asked, answers


def speech_piece(number: int, about: str):  # type: ignore[no-untyped-def]
    """Whether a response is /api/tts's piece `number` of a text with `about` in it."""
    def matches(response) -> bool:  # type: ignore[no-untyped-def]
        if not response.url.endswith("/api/tts"):
            return False
        asked = response.request.post_data_json
        return about in asked["text"] and asked["piece"] == number
    return matches


def test_a_chinese_question_spoken_on_the_page_is_answered_and_read_aloud_in_mandarin(open_mic_page, zh_mic_browser,
                                                                                    stack):
    page = open_mic_page("zh-CN", zh_mic_browser)
    asked, answered_with = speech_traffic(page)
    watch_forms(page)
    page.goto(stack.url + "/")
    page.click("#voice-toggle")
    reply_after(page, 0)
    before = page.locator(BOT_MESSAGES).count()
    record(page, 3.0)  # the question (2.7 s), not its repeat
    second_piece = page.expect_response(speech_piece(1, "身份证"), timeout=SPEECH_TIMEOUT_MS)
    with second_piece:
        with page.expect_response(is_voice, timeout=SPEECH_TIMEOUT_MS) as voice:
            page.get_by_role("button", name="说完了，发送").click()
        assert voice.value.status == 200, voice.value.text()
        answer = reply_after(page, before)
    # no language was chosen: the server was asked to tell, and heard Chinese
    assert sent_language(page) == "auto" and voice.value.json()["transcript"]["language"] == "zh"
    heard = page.locator("#log .msg.user").last
    assert "我听到：" in heard.inner_text() and "身份证" in heard.inner_text()
    assert heard.get_attribute("lang") == "zh-CN"
    assert "居民身份证丢失补领" in answer and "材料" in answer
    # the answer is read in Mandarin by Kokoro, piece by piece, while the next pieces are fetched
    message = page.locator(BOT_MESSAGES).nth(before)
    audio = message.locator("audio.speech").element_handle()
    page.wait_for_function("a => a.readyState >= 2 && a.duration > 0.5 && !a.error", arg=audio)
    spoken = [(body, status, headers) for body, status, headers in answered_with if "身份证" in body["text"]]
    assert {body["piece"] for body, _, _ in spoken} >= {0, 1}
    assert all(status == 200 and headers["x-tts-engine"].startswith("kokoro") and body["language"] == "zh"
               for body, status, headers in spoken)
    pieces = int(spoken[0][2]["x-speech-pieces"])
    assert pieces > 2 and all(int(headers["x-speech-pieces"]) == pieces for _, _, headers in spoken)
    # stopped, it asks for no more pieces; played again, the pieces it has are not asked for again
    message.get_by_role("button", name="停止朗读").click()
    stopped_after = len(asked)
    page.wait_for_timeout(3000)
    assert audio.evaluate("a => a.paused") and len(asked) == stopped_after
    message.get_by_role("button", name="朗读").click()
    page.wait_for_function("a => !a.paused && a.currentTime > 0", arg=audio, timeout=SPEECH_TIMEOUT_MS)
    assert [body for body in asked[stopped_after:] if body["piece"] == 0] == []
    assert page.errors == []


def test_english_spoken_on_a_chinese_page_is_heard_as_english_when_no_language_was_chosen(open_mic_page, stack):
    page = open_mic_page("zh-CN")
    watch_forms(page)
    page.goto(stack.url + "/")
    record(page, 2.2)
    with page.expect_response(is_voice, timeout=SPEECH_TIMEOUT_MS) as voice:
        page.get_by_role("button", name="说完了，发送").click()
    answer = reply_after(page, 0)
    assert sent_language(page) == "auto" and voice.value.json()["transcript"]["language"] == "en"
    heard = page.locator("#log .msg.user").last
    assert "I heard:" in heard.inner_text() and "passport" in heard.inner_text().lower()
    assert heard.get_attribute("lang") == "en"
    assert "passport" in answer.lower() and "Steps" in answer and page.errors == []


def test_chinese_voice_input_says_honestly_that_it_is_not_set_up(open_mic_page, stack, tmp_path):
    gateway = Gateway(stack, tmp_path, env={"GOVBOT_STT_ZH_ENGINE": "none"})
    gateway.start()
    try:
        page = open_mic_page("zh-CN")
        watch_forms(page)
        page.goto(gateway.url + "/")
        for _ in range(2):  # English, then Chinese again: chosen with the language button, so the microphone says zh
            before = page.locator(BOT_MESSAGES).count()
            page.click("#lang-toggle")
            reply_after(page, before)
        before = page.locator(BOT_MESSAGES).count()
        record(page, 1.0)
        with page.expect_response(is_voice, timeout=SPEECH_TIMEOUT_MS) as voice:
            page.get_by_role("button", name="说完了，发送").click()
        said = reply_after(page, before)
        assert sent_language(page) == "zh" and voice.value.status == 501
        assert "中文语音输入暂未开通" in said and "12345" in said
        # ...and says it aloud too
        page.wait_for_function("""() => { const a = [...document.querySelectorAll('#log .msg.bot audio.speech')].pop();
            return a && a.readyState >= 2 && a.duration > 0.5; }""", timeout=SPEECH_TIMEOUT_MS)
        assert page.errors == []
    finally:
        gateway.stop()


def test_a_recording_can_be_cancelled(open_mic_page, stack):
    page = open_mic_page("en-US")
    voice_requests = []
    page.on("request", lambda request: voice_requests.append(request.url)
            if request.url.endswith("/api/voice") else None)
    page.goto(stack.url + "/")
    record(page, 1.0)
    page.keyboard.press("Escape")
    page.wait_for_selector("#recording", state="hidden")
    page.wait_for_timeout(1000)
    assert voice_requests == [] and page.locator("#log .msg").count() == 0
    assert page.get_attribute("#mic", "aria-pressed") == "false"


def test_a_long_real_answer_fits_a_phone_in_large_text(browser, stack):
    """The real bot's answer on a 360×740 phone (touch, mobile viewport) in large text, switched on in 设置: the
    conversation keeps most of the screen, the composer stays in view with 60 px targets, nothing scrolls sideways
    (tests/e2e/test_phone.py checks every size and mode against a stand-in bot)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        page.goto(stack.url + "/")
        page.tap("#settings-toggle")
        page.tap("#large-toggle")
        reply_after(page, 0)
        page.tap("#settings-toggle")
        before = page.locator(BOT_MESSAGES).count()
        page.fill("#text", "护照怎么办理")
        page.tap("#send")
        assert "回复数字" in reply_after(page, before)  # the elderly form of the answer
        measured = layout(page)
        assert measured["last_answer_height"] > measured["conversation_visible"] >= 0.45 * 740
        assert measured["overflow_x"] <= 0 and measured["outside"] == [] and measured["overlaps"] == []
        for name in ("text", "send", "mic", "hotline", "settings", "person"):
            assert in_view(measured[name], measured["viewport"]) and measured[name]["height"] >= 60, name
        assert measured["text"]["width"] >= 0.6 * 360
        assert [v for v in audit(page) if v["impact"] in ("serious", "critical")] == []
    finally:
        context.close()
