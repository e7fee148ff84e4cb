"""The pages' modules: every import resolves, the consoles (agent, department, and console.js they share with the
dispatch page) take their words from i18n.js, no inline scripts."""

import re
from pathlib import Path

import pytest

from testkit.console_words import i18n_sections

STATIC = Path(__file__).resolve().parents[2] / "channels" / "web" / "static"
_IMPORT = re.compile(r"""^\s*import\s[^;]*?\bfrom\s+["']([^"']+)["']""", re.MULTILINE | re.DOTALL)


def test_every_module_import_of_the_pages_exists():
    found = {(path.name, target) for path in STATIC.glob("*.js") for target in _IMPORT.findall(path.read_text())}
    assert ("agent.js", "./i18n.js") in found and ("chat.js", "./payloads.js") in found
    assert {(console, "./console.js") for console in ("agent.js", "dept.js", "dispatch.js")} <= found
    missing = [(name, target) for name, target in found if not (STATIC / target).resolve().is_file()]
    assert missing == []


@pytest.mark.parametrize("page", ["index.html", "agent.html", "dept.html"])
def test_pages_load_only_module_scripts_from_files(page):
    html = (STATIC / page).read_text()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts and all('type="module"' in attributes and "src=" in attributes and not body.strip()
                           for attributes, body in scripts)
    assert not re.search(r"\son\w+=", html)  # no inline event handlers either


@pytest.mark.parametrize("script", ["agent.js", "dept.js", "console.js"])
def test_the_consoles_have_no_words_of_their_own(script):
    source = (STATIC / script).read_text()
    assert not re.search(r"[\u3400-\u9fff]", source)  # its Chinese (and English) texts come from i18n.js


def test_every_agent_text_the_console_uses_exists(tmp_path):
    """Each `TEXT.name` (and metrics / facts name) agent.js reads is defined in i18n.js's AGENT section."""
    agent = i18n_sections(tmp_path, "AGENT")["AGENT"]
    source = (STATIC / "agent.js").read_text()
    used = set(re.findall(r"\bTEXT\.(\w+)", source))
    assert used and used <= set(agent)
    assert set(re.findall(r"\bnames\.(\w+)", source)) <= set(agent["metrics"])
    assert set(re.findall(r"\bfact\.(\w+)", source)) <= set(agent["facts"])
    assert set(agent["slaShortNames"]) == set(agent["slaNames"])
    assert all(agent["slaNames"][name].startswith(short + " ") for name, short in agent["slaShortNames"].items())


def test_every_text_the_department_inbox_uses_exists(tmp_path):
    """Each `TEXT.name` (and `TEXT.group[...]` group) dept.js reads is defined in i18n.js's DEPT section, and every
    status, kind and urgency code of the work-order domain has its words."""
    dept = i18n_sections(tmp_path, "DEPT")["DEPT"]
    source = (STATIC / "dept.js").read_text()
    used = set(re.findall(r"\bTEXT\.(\w+)", source))
    assert used and used <= set(dept)
    assert set(re.findall(r"\bf\.(\w+)", source)) <= set(dept["facts"])
    from workorders.records import Deadline, ExtensionState, RequestKind, Role, Status, Urgency

    for group, codes in (("statuses", Status), ("kinds", RequestKind), ("urgencies", Urgency), ("roles", Role),
                         ("deadlines", Deadline), ("extension", ExtensionState)):
        assert {code.value for code in codes} <= set(dept[group]), group
    assert set(dept["done"]) == {"sign", "start", "reply", "return", "extension"}


def test_every_text_the_shared_console_module_uses_exists_in_each_console(tmp_path):
    """console.js reads its words from the section each page hands it (`text.name`, `text.group[...]`): every
    console's section (AGENT, DEPT, DISPATCH) has each of them; the work-order groups only the two work-order
    pages' sections need."""
    sections = i18n_sections(tmp_path, "AGENT", "DEPT", "DISPATCH")
    source = (STATIC / "console.js").read_text()
    login, badges = source.split("export function orderBadges", 1)
    assert set(re.findall(r"\bTEXT\.(\w+)", login)) and not re.search(r"\btext\.", login)
    for name, words in sections.items():
        assert set(re.findall(r"\bTEXT\.(\w+)", login)) <= set(words), name
    for name in ("DEPT", "DISPATCH"):
        assert set(re.findall(r"\btext\.(\w+)", badges)) <= set(sections[name]), name
