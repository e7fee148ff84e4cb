"""The pages' modules: every import resolves, the consoles (agent, department) take their words from i18n.js, no inline
scripts."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "channels" / "web" / "static"
_IMPORT = re.compile(r"""^\s*import\s[^;]*?\bfrom\s+["']([^"']+)["']""", re.MULTILINE | re.DOTALL)


def test_every_module_import_of_the_pages_exists():
    found = {(path.name, target) for path in STATIC.glob("*.js") for target in _IMPORT.findall(path.read_text())}
    assert ("agent.js", "./i18n.js") in found and ("chat.js", "./payloads.js") in found
    missing = [(name, target) for name, target in found if not (STATIC / target).resolve().is_file()]
    assert missing == []


@pytest.mark.parametrize("page", ["index.html", "agent.html", "dept.html"])
def test_pages_load_only_module_scripts_from_files(page):
    html = (STATIC / page).read_text()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts and all('type="module"' in attributes and "src=" in attributes and not body.strip()
                           for attributes, body in scripts)
    assert not re.search(r"\son\w+=", html)  # no inline event handlers either


@pytest.mark.parametrize("script", ["agent.js", "dept.js"])
def test_the_consoles_have_no_words_of_their_own(script):
    source = (STATIC / script).read_text()
    assert not re.search(r"[\u3400-\u9fff]", source)  # its Chinese (and English) texts come from i18n.js


def test_every_agent_text_the_console_uses_exists(tmp_path):
    """Each `TEXT.name` (and metrics / facts name) agent.js reads is defined in i18n.js's AGENT section."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    module = tmp_path / "i18n.mjs"
    shutil.copy(STATIC / "i18n.js", module)
    script = f"import {{ AGENT }} from {json.dumps(module.as_uri())}; console.log(JSON.stringify(AGENT));"
    done = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    agent = json.loads(done.stdout)
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
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    module = tmp_path / "i18n.mjs"
    shutil.copy(STATIC / "i18n.js", module)
    script = f"import {{ DEPT }} from {json.dumps(module.as_uri())}; console.log(JSON.stringify(DEPT));"
    done = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    dept = json.loads(done.stdout)
    source = (STATIC / "dept.js").read_text()
    used = set(re.findall(r"\bTEXT\.(\w+)", source))
    assert used and used <= set(dept)
    assert set(re.findall(r"\bf\.(\w+)", source)) <= set(dept["facts"])
    from workorders.records import Deadline, ExtensionState, RequestKind, Role, Status, Urgency

    for group, codes in (("statuses", Status), ("kinds", RequestKind), ("urgencies", Urgency), ("roles", Role),
                         ("deadlines", Deadline), ("extension", ExtensionState)):
        assert {code.value for code in codes} <= set(dept[group]), group
    assert set(dept["done"]) == {"sign", "start", "reply", "return", "extension"}
