"""The web pages' words for their unit tests (tests/unit/test_web_static.py, test_dispatch_static.py): sections of
channels/web/static/i18n.js, as node reads them."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

STATIC = Path(__file__).resolve().parents[1] / "channels" / "web" / "static"


def i18n_sections(tmp_path: Path, *names: str) -> dict[str, Any]:
    """The sections `names` of i18n.js (AGENT, DEPT, DISPATCH, ...) as node reads them; the test is skipped where node
    is not installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    module = tmp_path / "i18n.mjs"
    shutil.copy(STATIC / "i18n.js", module)
    listed = ", ".join(names)
    script = f"import {{ {listed} }} from {json.dumps(module.as_uri())}; console.log(JSON.stringify({{ {listed} }}));"
    done = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    sections: dict[str, Any] = json.loads(done.stdout)
    return sections
