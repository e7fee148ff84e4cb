"""GET /widget.js through the real app: served (as JavaScript any site may load) only when GOVBOT_FRAME_ANCESTORS
names the sites that may embed the chat, whose page then allows exactly those as frame ancestors; the chat page's
viewport lets a screen keyboard shrink it; the widget's script needs nothing a strict host CSP forbids."""

import re

from fastapi.testclient import TestClient

from channels.gateway import create_app
from channels.web.chat_routes import STATIC_DIR
from core.settings import Settings

PORTAL = "https://www.example.gov.cn"


def client(tmp_path, frame_ancestors: str = "") -> TestClient:
    return TestClient(create_app(Settings(rasa_url="http://127.0.0.1:9", var_dir=tmp_path, tts_gtts=False,
                                          frame_ancestors=frame_ancestors)))


def test_the_widget_is_served_for_the_configured_sites_and_they_may_frame_the_chat(tmp_path):
    with client(tmp_path, f"{PORTAL} https://*.example.org") as gateway:
        script, page = gateway.get("/widget.js"), gateway.get("/?embed=1")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cross-origin-resource-policy"] == "cross-origin"
    assert script.headers["cache-control"] == "no-cache" and script.headers.get("etag")
    assert "attachShadow" in script.text
    assert page.status_code == 200
    assert page.headers["content-security-policy"].endswith(f"frame-ancestors {PORTAL} https://*.example.org")
    assert "x-frame-options" not in page.headers


def test_without_sites_the_widget_is_off_and_the_chat_cannot_be_framed(tmp_path):
    with client(tmp_path) as gateway:
        script, page = gateway.get("/widget.js"), gateway.get("/")
    assert script.status_code == 404 and script.json()["error"]["code"] == "widget_off"
    assert page.headers["content-security-policy"].endswith("frame-ancestors 'none'")
    assert page.headers["x-frame-options"] == "DENY"


def test_the_widget_script_needs_nothing_a_strict_host_policy_forbids():
    source = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    code = re.sub(r"^\s*//[^\n]*", "", source, flags=re.MULTILINE)  # without its comments
    # no inline <style> or style attributes (a constructed sheet in a shadow root), no eval, no global but one element
    assert "adoptedStyleSheets" in code and "<style" not in code and ".style" not in code
    assert "eval(" not in code and "new Function" not in code and "innerHTML" not in code
    assert re.search(r'attachShadow\(\{ mode: "open" \}\)', code)
    assert re.match(r"(//[^\n]*\n)+\(\(\) => \{", source)  # one closure: nothing leaks into the host's globals
    # the posted messages go to the host's origin only, and the host listens to the gateway's frame only
    assert "postMessage(" in (STATIC_DIR / "embed.js").read_text(encoding="utf-8")
    assert "event.origin !== gateway" in code and "event.source !== frame.contentWindow" in code


def test_the_chat_page_lets_a_screen_keyboard_shrink_it():
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<meta name="viewport" content="[^"]*interactive-widget=resizes-content', html)
    assert 'aria-controls="settings"' in html and 'aria-expanded="false"' in html
