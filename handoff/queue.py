"""The queue as agents and citizens see it (order, places, SLA timers) and the handoff metrics."""

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from core.stats import percentile
from handoff.policy import SlaTargets, TicketTimes, priority, seconds, sla_states
from handoff.records import Ticket
from handoff.views import TicketSummary


@dataclass(frozen=True)
class QueueEntry:
    """An open ticket with its priority, place and SLA timers at one moment."""

    ticket: Ticket
    priority: int
    position: Optional[int]  # 1 = next to be picked up; None once an agent has it
    waited: float  # seconds since the ticket was opened
    sla: dict[str, dict[str, Any]]

    def summary(self) -> TicketSummary:
        """The entry as agents' consoles show it."""
        return TicketSummary.of_ticket(self.ticket, {"waited": round(self.waited), "priority": self.priority,
                                                     "position": self.position, "sla": self.sla})

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready data."""
        return self.summary().model_dump()


def times_of(ticket: Ticket) -> TicketTimes:
    """The moments the ticket's SLA timers are measured from."""
    return TicketTimes(ticket.created_at, ticket.first_response_at, ticket.last_citizen_at, ticket.last_agent_at,
                       ticket.closed_at)


def build_queue(tickets: list[Ticket], targets: SlaTargets, now: datetime) -> list[QueueEntry]:
    """Open tickets, waiting ones first by priority (then age), then the ones agents have."""
    entries = [QueueEntry(t, priority(t.elderly, t.reason, seconds(t.created_at, now)), None,
                          seconds(t.created_at, now), sla_states(times_of(t), targets, now))
               for t in tickets if t.status != "closed"]
    waiting = sorted((e for e in entries if e.ticket.status == "waiting"),
                     key=lambda e: (-e.priority, e.ticket.created_at, e.ticket.id))
    placed = [QueueEntry(e.ticket, e.priority, place, e.waited, e.sla) for place, e in enumerate(waiting, start=1)]
    assigned = sorted((e for e in entries if e.ticket.status == "assigned"), key=lambda e: e.ticket.created_at)
    return placed + assigned


def entry_of(queue: list[QueueEntry], number: str) -> Optional[QueueEntry]:
    """The queue's entry of that ticket, if it is in the queue."""
    return next((entry for entry in queue if entry.ticket.number == number), None)


def position_in(queue: list[QueueEntry], number: str) -> Optional[int]:
    """The ticket's place among the waiting ones (None once an agent has it, or when it is closed)."""
    entry = entry_of(queue, number)
    return entry.position if entry else None


def metrics(tickets: list[Ticket], targets: SlaTargets, now: datetime) -> dict[str, Any]:
    """Tickets answered within the first-response target, abandonment, and the wait until an agent took them."""
    answered = [t for t in tickets if t.first_response_at is not None]
    within = [t for t in answered if seconds(t.created_at, t.first_response_at or now) <= targets.first_response]
    abandoned = [t for t in tickets if t.closed_by == "citizen" and t.first_response_at is None]
    waits = [seconds(t.created_at, t.claimed_at or t.closed_at or now) for t in tickets
             if t.claimed_at or t.status == "waiting"]
    ratings = [t.citizen_rating for t in tickets if t.citizen_rating]
    return {
        "tickets": len(tickets),
        "open": sum(t.status != "closed" for t in tickets),
        "answered": len(answered),
        "answered_within_target": round(len(within) / len(answered), 3) if answered else None,
        "first_response_target": targets.first_response,
        "abandoned": len(abandoned),
        "abandonment": round(len(abandoned) / len(tickets), 3) if tickets else None,
        "wait_median": round(statistics.median(waits)) if waits else None,
        "wait_p90": round(percentile(waits, 0.9)) if waits else None,  # nearest rank, as the benchmarks
        "rating_mean": round(statistics.mean(ratings), 2) if ratings else None,
    }
