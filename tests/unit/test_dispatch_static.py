"""The dispatch page (dispatch.html, dispatch.js): module scripts from files only, its words from i18n.js's DISPATCH
section (every name it reads is defined, every status, kind and urgency code has its words)."""

import re
from pathlib import Path

from testkit.console_words import i18n_sections

STATIC = Path(__file__).resolve().parents[2] / "channels" / "web" / "static"


def test_the_page_loads_only_its_module_script_and_has_a_language():
    html = (STATIC / "dispatch.html").read_text()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts == [(' type="module" src="/static/dispatch.js"', "")]
    assert not re.search(r"\son\w+=", html) and '<html lang="zh-CN">' in html
    assert "http://" not in html and "https://" not in html  # nothing from another site


def test_the_script_has_no_words_of_its_own():
    assert not re.search(r"[\u3400-\u9fff]", (STATIC / "dispatch.js").read_text())


def test_every_text_the_page_uses_exists(tmp_path):
    words = i18n_sections(tmp_path, "DISPATCH")["DISPATCH"]
    source = (STATIC / "dispatch.js").read_text()
    used = set(re.findall(r"\bTEXT\.(\w+)", source))
    assert used and used <= set(words)
    assert set(re.findall(r"\bf\.(\w+)", source)) <= set(words["facts"])
    from workorders.records import Deadline, ExtensionState, Rating, RequestKind, Status, Urgency

    for group, codes in (("statuses", Status), ("kinds", RequestKind), ("urgencies", Urgency),
                         ("deadlines", Deadline), ("extension", ExtensionState), ("ratings", Rating)):
        assert {code.value for code in codes} <= set(words[group]), group
    assert set(words["empty"]) == {"waiting", "returned", "extensions", "flagged", "visiting"}
    assert set(re.findall(r"TEXT\.done\.(\w+)", source)) | {"redispatch", "approve", "deny", "close"} \
        <= set(words["done"])
