"""The layers hold: import-linter's contracts (pyproject.toml) pass on the tree and fail when a lower layer
imports a higher one; the part of the core that the Rasa server loads needs only the standard library."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "knowledge", "handoff", "workorders", "bot", "channels", "govbot", "testkit", "benchmarks")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter with the project's contracts on the packages under `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-logo", "--no-cache", "--config", str(tree / "pyproject.toml")],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The project's packages and pyproject.toml, copied so a test can add a bad import."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "static", "items", "data", "*.yml"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_an_upward_import_breaks_the_layers(tree_copy: Path) -> None:
    (tree_copy / "core" / "sneaky.py").write_text("from govbot import cli  # the core reaching for the CLI\n")
    result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert "core is not allowed to import govbot" in result.stdout
    assert "core.sneaky -> govbot" in result.stdout


def test_bot_and_channels_stay_independent(tree_copy: Path) -> None:
    (tree_copy / "bot" / "sneaky.py").write_text("import channels.gateway\n")
    result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert "bot.sneaky -> channels.gateway" in result.stdout


def test_the_handoff_domain_speaks_no_http(tree_copy: Path) -> None:
    (tree_copy / "handoff" / "sneaky.py").write_text("import fastapi\n")
    result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert "handoff is not allowed to import fastapi" in result.stdout


def test_the_work_order_domain_speaks_no_http_and_stays_beside_handoff(tree_copy: Path) -> None:
    (tree_copy / "workorders" / "sneaky.py").write_text("import httpx\nfrom handoff import store\n")
    result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert "workorders is not allowed to import httpx" in result.stdout
    assert "workorders.sneaky -> handoff.store" in result.stdout


def test_inside_channels_telegram_does_not_reach_the_gateway(tree_copy: Path) -> None:
    (tree_copy / "channels" / "telegram" / "sneaky.py").write_text("from channels import gateway\n")
    result = lint_imports(tree_copy)
    assert result.returncode != 0
    assert "channels.telegram.sneaky -> channels.gateway" in result.stdout


def test_rasa_side_core_needs_only_the_standard_library() -> None:
    """bot/nlu runs inside .venv-rasa: core.language must import with no third-party module at all."""
    code = ("import sys; before = set(sys.modules); import core.language; "
            "print(sorted(m.split('.')[0] for m in set(sys.modules) - before))")
    result = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); {code}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = set(eval(result.stdout))  # a printed list of module names
    third_party = {name for name in loaded if name not in sys.stdlib_module_names and name != "core"}
    assert third_party == set()
