"""`govbot agent add` and `govbot agent list`: agents for the handoff console, in the configured database."""

import os
import subprocess
import sys

import pytest

from handoff.store import TicketStore

GOVBOT = [sys.executable, "-m", "govbot.cli"]  # each run takes seconds (the CLI imports the gateway)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'govbot.db'}"


def govbot(db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([*GOVBOT, *args], input=stdin, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "GOVBOT_DATABASE_URL": db_url})


def test_agent_add_with_the_password_on_stdin(db_url):
    result = govbot(db_url, "agent", "add", "wang.fang", "--name", "王芳", "--password-stdin",
                    stdin="long enough password\nsecond line is ignored\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wang.fang (王芳) can now log in at /agent" in result.stdout
    assert "long enough password" not in result.stdout + result.stderr
    store = TicketStore(db_url)
    try:
        assert store.agent("wang.fang").display_name == "王芳"
        assert store.log_in("wang.fang", "long enough password")  # the newline is not part of it
        assert store.log_in("wang.fang", "long enough password\n") is None
    finally:
        store.engine.dispose()
    listed = govbot(db_url, "agent", "list")
    assert listed.returncode == 0
    assert listed.stdout.startswith("wang.fang\t王芳\tlast seen 20")  # the log-in above


def test_a_taken_name_is_refused_and_the_agent_keeps_their_password(sqlite_url):
    db_url = sqlite_url
    assert govbot(db_url, "agent", "add", "li", "--password-stdin", stdin="first password\n").returncode == 0
    again = govbot(db_url, "agent", "add", "li", "--password-stdin", stdin="second password\n")
    assert again.returncode == 1
    assert "an agent called 'li' exists already" in again.stdout
    store = TicketStore(db_url)
    try:
        assert [a.username for a in store.agents()] == ["li"]
        assert store.log_in("li", "first password") and store.log_in("li", "second password") is None
    finally:
        store.engine.dispose()


def test_weak_passwords_and_bad_names_are_refused(sqlite_url):
    db_url = sqlite_url
    weak = govbot(db_url, "agent", "add", "zhao", "--password-stdin", stdin="short\n")
    assert weak.returncode == 1 and "at least 12 characters" in weak.stdout  # GOVBOT_PASSWORD_MIN_LENGTH
    for common in ("password1234", "            "):  # the policy is applied (tests/unit/test_passwords.py)
        refused = govbot(db_url, "agent", "add", "zhao", "--password-stdin", stdin=common + "\n")
        assert refused.returncode == 1 and "password" in refused.stdout, common
    bad = govbot(db_url, "agent", "add", "zhao qian", "--password-stdin", stdin="long enough password\n")
    assert bad.returncode == 1 and "username" in bad.stdout
    listed = govbot(db_url, "agent", "list")
    assert listed.returncode == 0 and listed.stdout == ""


def test_roles_and_departments(sqlite_url):
    db_url = sqlite_url
    added = govbot(db_url, "agent", "add", "zhang", "--role", "department", "--department", "water", "--name", "张工",
                   "--password-stdin", stdin="long enough password\n")
    assert added.returncode == 0, added.stdout + added.stderr
    assert "department of water zhang (张工) can now log in at /dept" in added.stdout
    supervisor = govbot(db_url, "agent", "add", "sun", "--role", "supervisor", "--password-stdin",
                        stdin="long enough password\n")
    assert supervisor.returncode == 0 and "/api/supervisor/rates" in supervisor.stdout
    refused = {
        "unknown": govbot(db_url, "agent", "add", "wu", "--role", "department", "--department", "ministry-of-magic",
                          "--password-stdin", stdin="long enough password\n"),
        "missing": govbot(db_url, "agent", "add", "wu", "--role", "department", "--password-stdin",
                          stdin="long enough password\n"),
        "not a department account": govbot(db_url, "agent", "add", "wu", "--department", "water",
                                           "--password-stdin", stdin="long enough password\n"),
        "no such role": govbot(db_url, "agent", "add", "wu", "--role", "mayor", "--password-stdin",
                               stdin="long enough password\n"),
    }
    assert refused["unknown"].returncode == 1
    assert "there is no department 'ministry-of-magic'" in refused["unknown"].stdout
    assert "water" in refused["unknown"].stdout  # the ids to choose from
    assert refused["missing"].returncode == 1 and "needs --department ID" in refused["missing"].stdout
    assert refused["not a department account"].returncode == 1
    assert "only a department account has a department" in refused["not a department account"].stdout
    assert refused["no such role"].returncode == 2  # argparse: invalid choice
    listed = govbot(db_url, "agent", "list").stdout.splitlines()
    assert [line.split("\t")[0::3] for line in listed] == [["sun", "supervisor"], ["zhang", "department"]]
    assert [line.split("\t")[4] for line in listed] == ["-", "water"]
