"""`govbot workorders list|show|escalate` on a SQLite database, and the escalation run `govbot run` repeats
(govbot/workorder_commands.py) with a store whose clock the tests move: flagged orders are logged by number,
department and missed deadline without personal data, and a failing run is logged and the next one goes on."""

import logging
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import pytest

from core.database import database_url
from core.settings import Settings
from govbot.cli import main
from govbot.workorder_commands import EscalationRun, escalate
from testkit.handoff import Clock
from workorders.deadlines import DeadlinePolicy
from workorders.records import SYSTEM, Actor, Contact, ContactMethod, Draft, RequestKind, Role, Urgency
from workorders.store import WorkOrderStore

PHONE, ID_CARD = "13812345678", "110101199003071234"
DISPATCHER = Actor(Role.DISPATCHER, "wang")


def draft(urgency: Urgency = Urgency.NORMAL, **more: object) -> Draft:
    values: dict[str, object] = {
        "sender_id": "web:citizen", "channel": "web", "language": "zh", "kind": RequestKind.COMPLAINT,
        "description": f"路灯坏了，联系我{PHONE}，身份证{ID_CARD}", "urgency": urgency, "address": "某路1号",
        "contact": Contact(True, ContactMethod.PHONE, PHONE), **more}
    return Draft(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("GOVBOT_VAR_DIR", str(tmp_path / "var"))
    settings = Settings(var_dir=tmp_path / "var")
    settings.var_dir.mkdir(parents=True)
    return settings


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(timezone.utc) - timedelta(days=3))  # orders made three days ago


@pytest.fixture
def store(settings: Settings, clock: Clock) -> Iterator[WorkOrderStore]:
    store = WorkOrderStore(database_url(settings), clock=clock, policy=DeadlinePolicy.from_settings(settings))
    yield store
    store.engine.dispose()


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- the commands --------------------------------------------------------------------------------------------

def test_list_shows_a_table_newest_first_with_filters(store, capsys):
    urgent = store.create_and_dispatch(draft(Urgency.URGENT), SYSTEM, "gas")
    accepted = store.create(draft(source_ticket="20250314-0001"), DISPATCHER)
    assert main(["workorders", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NUMBER", "STATUS", "DEPARTMENT", "URGENCY", "CREATED", "DEADLINES", "ESCALATED"]
    assert [line.split()[0] for line in lines[1:]] == [accepted.number, urgent.number]
    assert lines[1].split()[1:4] == ["accepted", "-", "normal"] and lines[1].rstrip().endswith("no")
    assert lines[2].split()[1:4] == ["dispatched", "gas", "urgent"] and "sign " in lines[2]
    assert main(["workorders", "list", "--status", "dispatched"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == [urgent.number]
    assert main(["workorders", "list", "--department", "water"]) == 0
    assert capsys.readouterr().out == "govbot: no work orders\n"
    assert main(["workorders", "list", "--limit", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    for bad in (["--limit", "0"], ["--status", "lost"]):
        with pytest.raises(SystemExit) as exited:
            main(["workorders", "list", *bad])
        assert exited.value.code == 2


def test_show_prints_the_order_its_trail_and_messages_masked(store, capsys):
    order = store.create_and_dispatch(draft(source_ticket="20250314-0007"), SYSTEM, "city-management", DISPATCHER)
    department = Actor(Role.DEPARTMENT, "li", "city-management")
    store.sign(order.number, department)
    store.reply(order.number, department, f"已修复，有问题请打{PHONE}")
    assert main(["workorders", "show", order.number]) == 0
    out = capsys.readouterr().out
    assert PHONE not in out and ID_CARD not in out  # masked: at most the last 4 digits
    assert "5678" in out and "source ticket: 20250314-0007" in out and "status:        replied" in out
    trail = out.split("audit trail:")[1].split("messages:")[0]
    assert [line.split()[2] for line in trail.strip().splitlines()] == ["accepted", "dispatched", "signed",
                                                                        "replied"]
    assert "dispatcher:wang" in trail and "department:li" in trail
    assert "department:li (city-management)" in out.split("messages:")[1]


def test_show_of_an_unknown_order_says_so_and_exits_1(settings, capsys):
    assert main(["workorders", "show", "GD209901010001"]) == 1
    assert capsys.readouterr().out == "govbot: there is no work order GD209901010001\n"


def test_a_deadline_policy_that_cannot_be_used_is_a_configuration_error(settings, tmp_path, monkeypatch, capsys):
    bad = tmp_path / "deadlines.yml"
    bad.write_text("urgent: {sign: soon, reply: 2h}\n", encoding="utf-8")
    monkeypatch.setenv("GOVBOT_WORKORDER_DEADLINES", str(bad))
    assert main(["workorders", "list"]) == 2
    assert "configuration error" in capsys.readouterr().out


def test_escalate_flags_the_overdue_orders_now_and_lists_them_once(store, capsys):
    late = store.create_and_dispatch(draft(Urgency.URGENT), SYSTEM, "gas")  # sign 30 min, reply 2 h: both missed
    store.create_and_dispatch(draft(Urgency.LOW), SYSTEM, "water")  # reply in 15 days: only sign-for missed
    store.create(draft(), DISPATCHER)  # not dispatched: no deadlines
    assert main(["workorders", "escalate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "govbot: 2 work orders escalated"
    assert out[0].startswith(f"govbot: escalated {late.number} gas: missed sign (due ")
    assert ", reply (due " in out[0] and "water: missed sign (due " in out[1]
    assert store.order(late.number).escalated
    assert main(["workorders", "escalate"]) == 0  # each deadline is flagged once
    assert capsys.readouterr().out == "govbot: 0 work orders escalated\n"


# --- the escalation run of govbot run ----------------------------------------------------------------------

def test_escalate_at_a_moment_reports_the_missed_deadlines(store, clock):
    order = store.create_and_dispatch(draft(Urgency.HIGH), SYSTEM, "gas")  # sign 2 h, reply 24 h
    assert escalate(store, clock.now + timedelta(hours=1)) == []
    [flagged] = escalate(store, clock.now + timedelta(hours=3))
    assert (flagged.number, flagged.department) == (order.number, "gas")
    assert [m.deadline.value for m in flagged.missed] == ["sign"]


def test_the_run_escalates_at_start_and_then_every_interval_logging_no_personal_data(settings, store, clock,
                                                                                      caplog):
    caplog.set_level(logging.INFO, logger="govbot.workorders")
    order = store.create_and_dispatch(draft(Urgency.HIGH), SYSTEM, "gas")  # sign 2 h, reply 24 h
    run = EscalationRun(settings, interval=0.05, store=store).start()
    try:
        wait_for(lambda: run.runs >= 2)
        assert not store.order(order.number).escalated  # nothing missed yet
        clock.advance(hours=3)  # the sign-for deadline passes
        wait_for(lambda: store.order(order.number).escalated)
        clock.advance(hours=24)  # and the reply deadline
        wait_for(lambda: len(store.order(order.number).escalated_for) == 2)
    finally:
        run.stop()
    assert not run._thread.is_alive() and run.failures == 0
    lines = [record for record in caplog.records if record.getMessage() == "workorder_escalated"]
    assert [(r.fields["number"], r.fields["department"], r.fields["missed"])  # type: ignore[attr-defined]
            for r in lines] == [(order.number, "gas", "sign"), (order.number, "gas", "sign,reply")]
    logged = " ".join(f"{record.getMessage()} {getattr(record, 'fields', '')}" for record in caplog.records)
    assert PHONE not in logged and "5678" not in logged and ID_CARD not in logged and "某路" not in logged
    trail = [entry.action for entry in store.trail(order.number)]
    assert trail.count("escalated") == 2  # each deadline once, however many runs


def test_a_failing_run_is_logged_and_the_next_one_goes_on(settings, store, clock, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="govbot.workorders")
    order = store.create_and_dispatch(draft(Urgency.URGENT), SYSTEM, "gas")
    clock.advance(hours=1)
    real = store.escalate_overdue
    calls = []

    def failing_once(now=None):  # type: ignore[no-untyped-def]
        calls.append(now)
        if len(calls) == 1:
            from sqlalchemy.exc import OperationalError
            raise OperationalError("UPDATE work_orders SET contact_value=?", (PHONE,), Exception("database is locked"))
        return real(now)

    monkeypatch.setattr(store, "escalate_overdue", failing_once)
    run = EscalationRun(settings, interval=0.05, store=store).start()
    try:
        wait_for(lambda: store.order(order.number).escalated)
    finally:
        run.stop()
    assert run.failures == 1 and run.runs >= 2
    [failed] = [r for r in caplog.records if r.getMessage() == "workorder_escalation_failed"]
    assert failed.levelno == logging.ERROR
    assert failed.fields == {"error": "OperationalError: database is locked"}  # type: ignore[attr-defined]
    assert PHONE not in str(failed.fields)  # type: ignore[attr-defined]


def test_the_interval_is_a_setting_above_zero(monkeypatch):
    assert Settings().workorder_escalate_seconds == 300
    assert EscalationRun(Settings(workorder_escalate_seconds=12)).interval == 12
    from core.settings import SettingsError
    for bad in ("0", "-5", "soon"):
        monkeypatch.setenv("GOVBOT_WORKORDER_ESCALATE_SECONDS", bad)
        with pytest.raises(SettingsError):
            Settings.from_env()
