"""The embeddable widget in real Chromium: a host site on another loopback origin (http://localhost:<port>, the gateway
being http://127.0.0.1:<port>) adds /widget.js with one <script> tag under a strict CSP of its own and hostile
styles; the launcher opens the chat in a frame, the chat works through it, Esc and the close button give the focus
back, the host page with the widget open passes axe, a phone gets the whole screen with large text and speech, and
a site not in GOVBOT_FRAME_ANCESTORS gets no chat (the browser refuses the frame). The gateway is the real one with
a stand-in bot (testkit/phone.py)."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

import pytest

from core.settings import Settings
from testkit.browser import audit
from testkit.handoff import LiveGateway
from testkit.helpers import FakeRasa
from testkit.phone import TARGET_PX, StandInBot, in_view, layout

pytestmark = pytest.mark.slow

ROOMY = {"rate_per_client": 100_000, "rate_per_conversation": 100_000, "rate_tts": 100_000,
         "rate_new_conversations": 100_000}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Styles a careless host might have: they must not reach the widget (and the widget's must not reach the host)
HOST_CSS = """
* { font-size: 13px !important; line-height: 1 !important; letter-spacing: 2px !important; color: #222 !important;
    box-sizing: content-box !important; }
button { all: unset; display: inline-block; padding: 14px 18px; background: #444 !important;
         color: #fff !important; border-radius: 0; }
dialog, iframe { display: none !important; }
govbot-widget { font-size: 40px !important; line-height: 3 !important; }
main { max-width: 40rem; margin: 0 auto; padding: 16px; }
"""


def host_page(gateway: str, widget: bool = True) -> str:
    """A portal's page with a strict CSP of its own (scripts from itself and the gateway, frames from the gateway,
    no inline style) that adds the widget with the documented snippet."""
    script = f'<script src="{gateway}/widget.js" defer></script>' if widget else ""
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'self'; script-src 'self' {gateway}; frame-src {gateway}; style-src 'self'">
<title>某市人民政府 · 办事指南</title><link rel="stylesheet" href="/host.css">{script}</head>
<body><header><p>某市人民政府</p></header>
<main><h1>办事指南</h1><p>在这里查找办事指南。有问题可以点右下角的“在线咨询”。</p>
<p><button type="button" id="host-button">查看全部事项</button></p><p><a href="/other">其他服务</a></p></main>
</body></html>"""


class HostSite:
    """A host site on its own loopback port, addressed as http://localhost:<port> (another site than the gateway's
    127.0.0.1): `/` with the widget, `/plain` without it, and `/host.css`."""

    def __init__(self) -> None:
        self.gateway = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                pages = {"/": ("text/html", host_page(site.gateway)),
                         "/plain": ("text/html", host_page(site.gateway, widget=False)),
                         "/host.css": ("text/css", HOST_CSS)}
                kind, body = pages.get(self.path, ("text/plain", "not here"))
                data = body.encode()
                self.send_response(200 if self.path in pages else 404)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The gateway (with the stand-in bot) that lets one host site embed the chat, that site, and another."""
    allowed, refused = HostSite(), HostSite()
    with FakeRasa(reply=StandInBot()).serving() as rasa_url:
        settings = Settings(rasa_url=rasa_url, var_dir=tmp_path_factory.mktemp("widget"), tts_gtts=False,
                            conversation_secret="widget-tests-conversation-secret", frame_ancestors=allowed.url,
                            **ROOMY)
        with LiveGateway(settings) as gateway:
            allowed.gateway = refused.gateway = gateway.url
            yield {"gateway": gateway.url, "allowed": allowed.url, "refused": refused.url}
    allowed.close()
    refused.close()


@pytest.fixture
def open_host(browser) -> Iterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]
    """open_host(url, viewport=DESKTOP, phone=False): a fresh context on a host page (its own CSP in force), with
    the page's console messages in `page.console`."""
    contexts = []

    def opened(url: str, viewport: dict[str, int] = DESKTOP, phone: bool = False):  # type: ignore[no-untyped-def]
        context = browser.new_context(locale="zh-CN", viewport=viewport, is_mobile=phone, has_touch=phone,
                                      device_scale_factor=2 if phone else 1)
        contexts.append(context)
        page = context.new_page()
        page.console = []
        page.errors = []
        page.on("console", lambda message: page.console.append(message.text))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(url)
        return page

    yield opened
    for context in contexts:
        context.close()


def launcher(page):  # type: ignore[no-untyped-def]
    return page.locator("govbot-widget").get_by_role("button", name="在线咨询")


def chat_frame(page, gateway: str):  # type: ignore[no-untyped-def]
    """The widget's frame, once the chat page in it is running (its script has shown the first message)."""
    page.frame_locator("govbot-widget iframe").locator("#conversation .msg").first.wait_for()
    return next(frame for frame in page.frames if frame.url.startswith(gateway + "/?embed=1"))


def focus_in_widget(page) -> str:  # type: ignore[no-untyped-def]
    """The class of what has the focus inside the widget's shadow root ("" when the focus is elsewhere)."""
    return page.evaluate("""() => { const root = document.querySelector('govbot-widget').shadowRoot;
        return root.activeElement ? (root.activeElement.className || root.activeElement.tagName) : ''; }""")


def ask_in(frame, text: str) -> str:  # type: ignore[no-untyped-def]
    before = frame.locator("#log .msg.bot").count()
    frame.locator("#text").fill(text)
    frame.locator("#text").press("Enter")
    frame.locator("#log .msg.bot").nth(before).wait_for()
    return frame.locator("#log .msg.bot").nth(before).locator(".text").inner_text()


def until(target, script: str, seconds: float = 20) -> Any:  # type: ignore[no-untyped-def]
    """Poll a script in the page or frame until it returns something true (wait_for_function would need eval,
    which the chat page's CSP forbids)."""
    deadline = time.monotonic() + seconds
    while True:
        value = target.evaluate(script)
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_widget_opens_the_chat_on_an_allowed_site_and_the_chat_works_through_it(sites, open_host):
    page = open_host(sites["allowed"] + "/")
    button = launcher(page)
    box = button.bounding_box()
    assert box and box["width"] >= 60 and box["height"] >= 60
    assert box["x"] + box["width"] > DESKTOP["width"] - 40 and box["y"] + box["height"] > DESKTOP["height"] - 40
    assert button.get_attribute("aria-haspopup") == "dialog"

    button.click()
    panel = page.locator("govbot-widget dialog")
    assert panel.is_visible() and panel.get_attribute("open") is not None
    assert page.locator("govbot-widget iframe").get_attribute("title") == "政务服务助手对话"
    frame = chat_frame(page, sites["gateway"])
    assert frame.evaluate("document.documentElement.classList.contains('embed')")
    assert ask_in(frame, "护照怎么办理").startswith("普通护照首次申请")

    # Esc inside the chat closes the panel and gives the focus back to the launcher
    frame.locator("#text").focus()
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert focus_in_widget(page) == "launcher"
    # opened again: the same conversation; the close button closes it too
    button.click()
    assert frame.locator("#log .msg.bot").count() >= 1
    page.locator("govbot-widget").get_by_role("button", name="关闭").click()
    panel.wait_for(state="hidden")
    assert focus_in_widget(page) == "launcher"
    assert not [text for text in page.console if "Content Security Policy" in text] and page.errors == []


def test_host_styles_do_not_reach_the_widget_and_its_styles_do_not_reach_the_host(sites, open_host):
    host_button = "e => { const s = getComputedStyle(e); return [s.fontSize, s.backgroundColor, s.padding]; }"
    plain = open_host(sites["allowed"] + "/plain")
    without = plain.eval_on_selector("#host-button", host_button)
    page = open_host(sites["allowed"] + "/")
    launcher(page).wait_for()
    assert page.eval_on_selector("#host-button", host_button) == without  # the widget changed nothing of the host's
    style = launcher(page).evaluate("e => { const s = getComputedStyle(e); return [s.fontSize, s.lineHeight, "
                                    "s.letterSpacing, s.color, s.backgroundColor]; }")
    assert style == ["20px", "26px", "normal", "rgb(255, 255, 255)", "rgb(11, 92, 173)"]
    launcher(page).click()
    frame_box = page.locator("govbot-widget iframe").bounding_box()  # the host's `iframe {display: none}` missed it
    assert frame_box and frame_box["width"] >= 300 and frame_box["height"] >= 400


def test_launcher_and_panel_work_by_keyboard_alone(sites, open_host):
    page = open_host(sites["allowed"] + "/")
    launcher(page).wait_for()
    for _ in range(10):  # the host's button and link, then the launcher
        page.keyboard.press("Tab")
        if focus_in_widget(page) == "launcher":
            break
    assert focus_in_widget(page) == "launcher"
    assert launcher(page).evaluate("e => getComputedStyle(e).outlineStyle") != "none"  # its focus ring shows
    page.keyboard.press("Enter")
    assert focus_in_widget(page) == "close"  # the dialog takes the focus, its close button first
    frame = chat_frame(page, sites["gateway"])
    page.keyboard.press("Tab")  # ...then into the chat page, at its start
    assert frame.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Escape")
    page.locator("govbot-widget dialog").wait_for(state="hidden")
    assert focus_in_widget(page) == "launcher"
    page.keyboard.press("Space")  # again, and Esc on the host's side of the panel (the close button)
    assert focus_in_widget(page) == "close"
    page.keyboard.press("Escape")
    page.locator("govbot-widget dialog").wait_for(state="hidden")
    assert focus_in_widget(page) == "launcher"


@pytest.mark.parametrize("viewport,phone", [(DESKTOP, False), (PHONE, True)], ids=["desktop", "phone"])
def test_axe_finds_nothing_serious_on_the_host_page_with_the_widget_open(sites, open_host, viewport, phone):
    page = open_host(sites["allowed"] + "/", viewport=viewport, phone=phone)
    launcher(page).click()
    frame = chat_frame(page, sites["gateway"])
    ask_in(frame, "护照怎么办理")
    for mode in ("normal", "large"):
        if mode == "large":  # the panel is narrow on a desktop too: the switches are in 设置 (left open for axe)
            frame.locator("#settings-toggle").click()
            before = frame.locator("#log .msg.bot").count()
            frame.locator("#large-toggle").click()
            frame.locator("#log .msg.bot").nth(before).wait_for()
        host = [v for v in audit(page, iframes=False) if v["impact"] in ("serious", "critical")]
        chat = [v for v in audit(frame) if v["impact"] in ("serious", "critical")]
        assert host == [] and chat == [], f"{mode}: host {host}, chat {chat}"


def test_on_a_phone_the_panel_takes_the_screen_with_large_text_and_speech(sites, open_host):
    page = open_host(sites["allowed"] + "/", viewport=PHONE, phone=True)
    launcher(page).tap()
    panel = page.locator("govbot-widget dialog").bounding_box()
    assert panel == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}
    frame = chat_frame(page, sites["gateway"])
    frame.locator("#settings-toggle").tap()
    before = frame.locator("#log .msg.bot").count()
    frame.locator("#large-toggle").tap()
    frame.locator("#log .msg.bot").nth(before).wait_for()
    ask_in(frame, "护照怎么办理")
    measured = layout(frame)
    assert measured["font_px"] >= 30 and measured["overflow_x"] <= 0 and measured["outside"] == []
    assert measured["text"]["width"] >= 0.6 * measured["viewport"]["width"]
    for name in ("text", "send", "mic", "person", "hotline"):
        assert in_view(measured[name], measured["viewport"]), name
    assert measured["smallest_target"]["height"] >= TARGET_PX["large"]
    assert measured["smallest_target"]["width"] >= TARGET_PX["large"]
    # the frame may use the microphone and play speech (the iframe's allow=); an answer is read aloud on request
    assert frame.evaluate("document.featurePolicy ? document.featurePolicy.allowsFeature('microphone') : true")
    frame.locator("#log .msg.bot").last.get_by_role("button", name="朗读").tap()
    loaded = until(frame, """() => { const a = document.querySelector('#log .msg.bot:last-child audio.speech');
        return !!a && a.readyState >= 2 && a.duration > 0.5; }""")
    assert loaded


def test_a_site_that_is_not_allowed_gets_no_chat(sites, open_host):
    page = open_host(sites["refused"] + "/")
    launcher(page).click()
    refused = page.locator("govbot-widget").get_by_text("这里暂时打不开对话。")
    refused.wait_for()  # the chat page never said it was ready: the widget says so, and offers the way round
    link = page.locator("govbot-widget").get_by_role("link", name="在新窗口打开政务服务助手")
    assert link.get_attribute("href") == sites["gateway"] + "/"
    assert page.locator("govbot-widget").get_by_role("link", name="12345").get_attribute("href") == "tel:12345"
    assert page.locator("govbot-widget iframe").is_hidden()
    # the browser refused the frame because of the gateway's frame-ancestors: the chat page never ran in it
    assert any("frame-ancestors" in text for text in page.console), page.console
    assert not any(frame.url.startswith(sites["gateway"] + "/?embed=1") and frame.locator("#text").count()
                   for frame in page.frames)
