"""The pages' modules: every import resolves, the agent console takes its words from i18n.js, no inline scripts."""

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


@pytest.mark.parametrize("page", ["index.html", "agent.html"])
def test_pages_load_only_module_scripts_from_files(page):
    html = (STATIC / page).read_text()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts and all('type="module"' in attributes and "src=" in attributes and not body.strip()
                           for attributes, body in scripts)
    assert not re.search(r"\son\w+=", html)  # no inline event handlers either


def test_agent_console_has_no_words_of_its_own():
    source = (STATIC / "agent.js").read_text()
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
