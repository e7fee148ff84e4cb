"""Handoff policy: SLA timers, priority, the queue's order and places, metrics, working hours, wait estimate."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

import pytest

from handoff.config import HandoffConfig
from handoff.policy import (HoursError, SlaTargets, TicketTimes, WorkingHours, estimated_wait_minutes,
                                     priority, sla_states, timer_state)
from handoff.queue import build_queue, metrics, position_in
from handoff.store import Ticket
from core.settings import Settings, SettingsError
from testkit.handoff import START

SHANGHAI = ZoneInfo("Asia/Shanghai")
TARGETS = SlaTargets(first_response=120, next_response=300, resolution=1800, warn_share=0.8)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def ticket(id: int, status: str = "waiting", created: float = 0, elderly: bool = False, reason: str = "user_request",
           agent: Optional[str] = None, claimed: Optional[float] = None, first: Optional[float] = None,
           closed: Optional[float] = None, closed_by: Optional[str] = None, rating: Optional[int] = None) -> Ticket:
    def moment(value):
        return None if value is None else at(value)

    return Ticket(id=id, number=f"20250314-{id:04d}", sender_id=f"web-{id}", channel="web", language="zh",
                  large_text=elderly, voice=False, reason=reason, item=None, status=status, agent=agent,
                  created_at=at(created), claimed_at=moment(claimed), first_response_at=moment(first),
                  last_citizen_at=None, last_agent_at=moment(first), closed_at=moment(closed), closed_by=closed_by,
                  resolution=None, citizen_rating=rating)


# --- SLA timers -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("elapsed, done, state", [
    (0, False, "ok"), (95, False, "ok"), (96, False, "warning"), (120, False, "warning"), (121, False, "breached"),
    (0, True, "met"), (120, True, "met"), (121, True, "missed"),
])
def test_timer_state(elapsed, done, state):
    assert timer_state(elapsed, 120, done, 0.8) == state


def states(times: TicketTimes, now: float) -> tuple[str, str, str]:
    result = sla_states(times, TARGETS, at(now))
    return result["first_response"]["state"], result["next_response"]["state"], result["resolution"]["state"]


def test_first_response_timer_runs_until_the_agent_replies():
    times = TicketTimes(created_at=at(0), first_response_at=None, last_citizen_at=at(0), last_agent_at=None,
                        closed_at=None)
    assert states(times, 30) == ("ok", "ok", "ok")
    assert states(times, 100) == ("warning", "ok", "ok")
    assert states(times, 125) == ("breached", "ok", "ok")
    assert sla_states(times, TARGETS, at(125))["first_response"] | {"state": None} == {
        "state": None, "elapsed": 125, "target": 120}
    answered_in_time = replace(times, first_response_at=at(110), last_agent_at=at(110))
    assert states(answered_in_time, 5000)[0] == "met"
    answered_late = replace(times, first_response_at=at(130), last_agent_at=at(130))
    assert states(answered_late, 131)[0] == "missed"
    assert sla_states(answered_late, TARGETS, at(1000))["first_response"]["elapsed"] == 130  # frozen once done


def test_next_response_timer_runs_while_the_citizen_waits_for_the_agent_again():
    replied = TicketTimes(created_at=at(0), first_response_at=at(60), last_citizen_at=at(30), last_agent_at=at(60),
                          closed_at=None)
    assert states(replied, 500)[1] == "ok"  # the agent spoke last: nothing to answer
    assert sla_states(replied, TARGETS, at(500))["next_response"]["elapsed"] == 0
    asked = replace(replied, last_citizen_at=at(100))
    assert states(asked, 200)[1] == "ok"
    assert states(asked, 100 + 240)[1] == "warning"
    assert states(asked, 100 + 301)[1] == "breached"
    assert sla_states(asked, TARGETS, at(100 + 301))["next_response"]["elapsed"] == 301
    answered = replace(asked, last_agent_at=at(150))
    assert states(answered, 1000)[1] == "ok"
    closed_soon = replace(asked, closed_at=at(200))
    assert states(closed_soon, 5000)[1] == "met"
    closed_late = replace(asked, closed_at=at(500))
    assert states(closed_late, 5000)[1] == "missed"


def test_no_next_response_timer_before_the_first_reply():
    times = TicketTimes(created_at=at(0), first_response_at=None, last_citizen_at=at(10), last_agent_at=None,
                        closed_at=None)
    assert states(times, 1000)[1] == "ok"  # the first-response timer covers this wait


def test_resolution_timer_runs_until_the_ticket_closes():
    times = TicketTimes(created_at=at(0), first_response_at=at(10), last_citizen_at=None, last_agent_at=at(10),
                        closed_at=None)
    assert states(times, 1000)[2] == "ok"
    assert states(times, 1500)[2] == "warning"
    assert states(times, 1801)[2] == "breached"
    assert states(replace(times, closed_at=at(1700)), 9999)[2] == "met"
    assert states(replace(times, closed_at=at(1900)), 9999)[2] == "missed"
    assert sla_states(replace(times, closed_at=at(1900)), TARGETS, at(9999))["resolution"]["elapsed"] == 1900


def test_the_targets_are_configurable():
    tight = SlaTargets(first_response=10, next_response=10, resolution=60, warn_share=0.5)
    times = TicketTimes(at(0), None, None, None, None)
    assert sla_states(times, tight, at(6))["first_response"]["state"] == "warning"
    assert sla_states(times, tight, at(11))["first_response"]["state"] == "breached"
    assert sla_states(times, TARGETS, at(11))["first_response"]["state"] == "ok"


def test_sla_targets_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GOVBOT_SLA_FIRST_RESPONSE", "60")
    monkeypatch.setenv("GOVBOT_SLA_RESOLUTION", "600")
    monkeypatch.setenv("GOVBOT_HANDOFF_HOURS", "mon-fri 09:00-18:00")
    config = HandoffConfig.from_settings(Settings.from_env())
    assert (config.sla.first_response, config.sla.next_response, config.sla.resolution) == (60, 300, 600)
    assert not config.hours.always
    monkeypatch.setenv("GOVBOT_SLA_FIRST_RESPONSE", "soon")
    with pytest.raises(SettingsError, match="GOVBOT_SLA_FIRST_RESPONSE"):
        HandoffConfig.from_settings(Settings.from_env())
    monkeypatch.setenv("GOVBOT_SLA_FIRST_RESPONSE", "60")
    monkeypatch.setenv("GOVBOT_HANDOFF_HOURS", "weekdays")
    with pytest.raises(SettingsError, match="GOVBOT_HANDOFF_HOURS"):
        HandoffConfig.from_settings(Settings.from_env())


# --- priority and the queue -------------------------------------------------------------------------------------

def test_priority_rises_with_elderly_mode_complaints_and_waiting():
    assert priority(False, "user_request", 0) == 0
    assert priority(True, "user_request", 0) == 3
    assert priority(False, "complaint", 0) == 1
    assert priority(True, "complaint", 0) == 4
    assert priority(False, "user_request", 119) == 0
    assert priority(False, "user_request", 120) == 1
    assert priority(False, "user_request", 600) == 5
    assert priority(True, "complaint", 600) == 9


def test_queue_order_and_places():
    now = at(600)
    tickets = [
        ticket(1, created=0),                                  # waited 10 min: 5
        ticket(2, created=500, elderly=True),                  # 3 + 0
        ticket(3, created=540, reason="complaint"),            # 1 + 0
        ticket(4, created=300, status="assigned", agent="alice", claimed=350),
        ticket(5, created=590),                                # 0
        ticket(6, created=580, elderly=True),                  # 3 + 0, but older than 2
        ticket(7, created=10, status="closed", closed=20, closed_by="citizen"),
    ]
    queue = build_queue(tickets, TARGETS, now)
    assert [e.ticket.id for e in queue] == [1, 2, 6, 3, 5, 4]  # equal priority: the older ticket first
    assert [e.position for e in queue] == [1, 2, 3, 4, 5, None]
    assert [e.priority for e in queue] == [5, 3, 3, 1, 0, 2]
    assert position_in(queue, "20250314-0006") == 3
    assert position_in(queue, "20250314-0004") is None  # an agent has it
    assert position_in(queue, "20250314-0007") is None  # closed: not in the queue
    entry = queue[0].as_dict()
    assert entry["number"] == "20250314-0001" and entry["waited"] == 600 and entry["position"] == 1
    assert entry["sla"]["first_response"]["state"] == "breached"
    assert queue[1].as_dict()["elderly"] is True


def test_an_old_ticket_overtakes_a_new_elderly_one_as_it_waits():
    elderly_new = ticket(1, created=300, elderly=True)
    plain_old = ticket(2, created=0)
    early = build_queue([elderly_new, plain_old], TARGETS, at(300))
    assert [(e.ticket.id, e.priority) for e in early] == [(1, 3), (2, 2)]
    later = build_queue([elderly_new, plain_old], TARGETS, at(480))
    assert [(e.ticket.id, e.priority) for e in later] == [(2, 4), (1, 4)]  # caught up; older goes first
    much_later = build_queue([elderly_new, ticket(2, created=-400)], TARGETS, at(480))
    assert [(e.ticket.id, e.priority) for e in much_later] == [(2, 7), (1, 4)]


# --- metrics -----------------------------------------------------------------------------------------------------

def test_metrics():
    now = at(3600)
    tickets = [
        ticket(1, status="closed", created=0, claimed=30, first=60, closed=600, closed_by="agent", rating=5),
        ticket(2, status="closed", created=0, claimed=100, first=200, closed=900, closed_by="agent", rating=3),
        ticket(3, status="assigned", created=1000, agent="bob", claimed=1300, first=1400),
        ticket(4, status="closed", created=2000, closed=2400, closed_by="citizen"),  # gave up waiting
        ticket(5, status="waiting", created=3000),
    ]
    result = metrics(tickets, TARGETS, now)
    assert result["tickets"] == 5 and result["open"] == 2
    assert result["answered"] == 3
    assert result["answered_within_target"] == round(1 / 3, 3)  # only #1 answered within 120 s
    assert result["abandoned"] == 1 and result["abandonment"] == 0.2
    # waits until an agent took them: 30, 100, 300 (claimed) and 600 (still waiting); #4 was never taken
    assert result["wait_median"] == 200
    assert result["wait_p90"] == 600
    assert result["rating_mean"] == 4
    empty = metrics([], TARGETS, now)
    assert empty["answered_within_target"] is None and empty["abandonment"] is None
    assert empty["wait_median"] is None and empty["wait_p90"] is None


def test_p90_wait_of_ten_tickets():
    tickets = [ticket(i, status="assigned", agent="a", created=0, claimed=i * 10) for i in range(1, 11)]
    result = metrics(tickets, TARGETS, at(1000))
    assert result["wait_median"] == 55
    assert result["wait_p90"] == 90
    assert result["answered"] == 0 and result["answered_within_target"] is None


# --- working hours --------------------------------------------------------------------------------------------

def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


HOURS = "mon-fri 09:00-18:00; sat 09:00-12:00"


def test_working_hours_parse_and_open():
    hours = WorkingHours.parse(HOURS)
    assert not hours.always and len(hours.spans) == 2
    assert hours.spans[0][0] == frozenset(range(5)) and hours.spans[1][0] == frozenset({5})
    # 2025-03-14 is a Friday
    assert hours.is_open(local(2025, 3, 14, 9, 0))
    assert hours.is_open(local(2025, 3, 14, 17, 59))
    assert not hours.is_open(local(2025, 3, 14, 18, 0))
    assert not hours.is_open(local(2025, 3, 14, 8, 59))
    assert hours.is_open(local(2025, 3, 15, 11, 0))  # Saturday morning
    assert not hours.is_open(local(2025, 3, 15, 12, 0))
    assert not hours.is_open(local(2025, 3, 16, 10, 0))  # Sunday
    # the time zone counts: 02:00 UTC is 10:00 in Shanghai
    assert hours.is_open(datetime(2025, 3, 14, 2, 0, tzinfo=timezone.utc))
    assert not hours.is_open(datetime(2025, 3, 14, 12, 0, tzinfo=timezone.utc))  # 20:00 in Shanghai


@pytest.mark.parametrize("text", ["always", "ALWAYS", "24/7", "", "  "])
def test_always_open(text):
    hours = WorkingHours.parse(text)
    assert hours.always
    moment = local(2025, 3, 16, 3, 0)
    assert hours.is_open(moment) and hours.next_opening(moment) == moment


def test_day_ranges_may_wrap_around_the_week():
    hours = WorkingHours.parse("fri-mon 10:00-14:00")
    assert hours.spans[0][0] == frozenset({4, 5, 6, 0})
    assert hours.is_open(local(2025, 3, 16, 11, 0))  # Sunday
    assert not hours.is_open(local(2025, 3, 18, 11, 0))  # Tuesday


@pytest.mark.parametrize("text", [
    "mon-fri", "monday 09:00-18:00", "mon-fri 9-18", "xyz 09:00-18:00", "mon-xyz 09:00-18:00",
    "mon-fri 18:00-09:00", "mon 09:00-09:00", "mon-fri 09:00-18:00, sat 09:00-12:00",
    "mon 25:00-26:00", "mon 09:60-10:00", "mon 24:00-24:00", "mon 09:00-24:30",
])
def test_bad_working_hours_are_an_error(text):
    with pytest.raises(HoursError):
        WorkingHours.parse(text)


def test_a_span_may_end_at_midnight():
    hours = WorkingHours.parse("mon-sun 00:00-24:00")
    assert hours.is_open(local(2025, 3, 16, 0, 0)) and hours.is_open(local(2025, 3, 16, 23, 59, 59))
    evening = WorkingHours.parse("mon-fri 20:00-24:00")
    assert evening.is_open(local(2025, 3, 14, 23, 30)) and not evening.is_open(local(2025, 3, 15, 0, 30))
    assert evening.next_opening(local(2025, 3, 15, 0, 30)) == local(2025, 3, 17, 20, 0)


def test_an_unknown_time_zone_is_an_error():
    with pytest.raises(HoursError, match="Mars/Olympus"):
        WorkingHours.parse(HOURS, "Mars/Olympus")


@pytest.mark.parametrize("moment, expected", [
    (local(2025, 3, 14, 18, 30), local(2025, 3, 15, 9, 0)),    # Friday evening → Saturday morning
    (local(2025, 3, 15, 12, 30), local(2025, 3, 17, 9, 0)),    # Saturday noon → Monday
    (local(2025, 3, 16, 23, 0), local(2025, 3, 17, 9, 0)),     # Sunday night → Monday
    (local(2025, 3, 17, 7, 15), local(2025, 3, 17, 9, 0)),     # Monday early → the same morning
    (local(2025, 3, 14, 10, 0), local(2025, 3, 14, 10, 0)),    # open now
])
def test_next_opening_across_the_weekend_in_shanghai(moment, expected):
    hours = WorkingHours.parse(HOURS, "Asia/Shanghai")
    opening = hours.next_opening(moment.astimezone(timezone.utc))  # the gateway's clock is UTC
    assert opening == expected
    assert opening.astimezone(SHANGHAI).strftime("%a %H:%M") == expected.strftime("%a %H:%M")
    assert hours.is_open(opening)


def test_next_opening_with_weekdays_only():
    hours = WorkingHours.parse("mon-fri 09:00-18:00")
    friday_night_utc = datetime(2025, 3, 14, 12, 0, tzinfo=timezone.utc)  # 20:00 in Shanghai
    assert hours.next_opening(friday_night_utc) == local(2025, 3, 17, 9, 0)
    # Saturday 00:30 in Shanghai is still Friday in UTC
    assert hours.next_opening(datetime(2025, 3, 14, 16, 30, tzinfo=timezone.utc)) == local(2025, 3, 17, 9, 0)


# --- estimated wait -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("position, agents, minutes_per_ticket, expected", [
    (1, 1, 4, 4), (3, 1, 4, 12), (3, 2, 4, 6), (3, 0, 4, 12), (1, 4, 4, 1), (5, 3, 2.5, 5), (1, 10, 0.1, 1),
])
def test_estimated_wait(position, agents, minutes_per_ticket, expected):
    assert estimated_wait_minutes(position, agents, minutes_per_ticket) == expected
