"""Debian's Chromium driven by Playwright (no browser download), and axe-core injected from its Python package."""

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
    # this machine's network is closed; Chromium's background fetches only produce refused connections
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # spoken answers start without a click, as they do after a real user's first interaction
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str:
    """The Chromium binary: $GOVBOT_CHROMIUM, else Debian's /usr/bin/chromium."""
    path = os.environ.get("GOVBOT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(f"Chromium not found at {path}: scripts/setup installs Debian's chromium package")
    return path


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def audit(page: Any, iframes: bool = True) -> list[dict[str, Any]]:
    """Run axe-core's WCAG 2.2 A/AA and best-practice rules on the page (or a Playwright frame); one summary per
    violated rule. iframes=False leaves out the page's frames (a cross-origin frame is audited on its own: axe
    is injected into this document only)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                       "resultTypes": ["violations"], "iframes": iframes})
    return [{"id": violation["id"], "impact": violation["impact"], "help": violation["help"],
             "nodes": [node["target"] for node in violation["nodes"]][:5]}
            for violation in results.response["violations"]]
