"""`govbot workorders list|show|escalate`, and the escalation run (督办) `govbot run` repeats every
GOVBOT_WORKORDER_ESCALATE_SECONDS seconds (docs/workorders.md, "Using it today").

What is printed or logged is what the store keeps: free text is masked there (core.privacy), and the contact,
kept as the citizen gave it, is masked here as well. The escalation run's log lines carry the order's number, its
department and the missed deadlines, never personal data.
"""

import argparse
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Optional
from zoneinfo import ZoneInfo

from core.settings import Settings
from govbot.periodic import PeriodicRun

if TYPE_CHECKING:
    from workorders.deadlines import Missed
    from workorders.records import WorkOrder
    from workorders.store import WorkOrderStore

log = logging.getLogger("govbot.workorders")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_LIMIT = 50
SHOWN_ZONE = "Asia/Shanghai"  # times are shown in China time, as the order numbers' days are


def open_store(settings: Settings) -> "WorkOrderStore":
    """The work-order store of the application database, with the deadline policy GOVBOT_WORKORDER_DEADLINES
    names (PolicyError when it cannot be used)."""
    from core.database import database_url
    from workorders.deadlines import DeadlinePolicy
    from workorders.store import WorkOrderStore

    return WorkOrderStore(database_url(settings), policy=DeadlinePolicy.from_settings(settings))


def shown(moment: Optional[datetime]) -> str:
    """A time as the commands show it: China time with its offset, to the minute ("-" for none)."""
    if moment is None:
        return "-"
    return moment.astimezone(ZoneInfo(SHOWN_ZONE)).isoformat(timespec="minutes")


@dataclass(frozen=True)
class Escalation:
    """An order the escalation run flagged: its number, department, and the deadlines it has missed."""

    number: str
    department: Optional[str]
    missed: tuple["Missed", ...]

    def describe(self) -> str:
        """`GD202503140001 gas: missed sign (due …), reply (due …)`."""
        missed = ", ".join(f"{m.deadline.value} (due {shown(m.due)})" for m in self.missed)
        return f"{self.number} {self.department or '-'}: missed {missed}"


def escalate(store: "WorkOrderStore", now: Optional[datetime] = None) -> list[Escalation]:
    """督办 at `now` (default: the store's clock): flag every order that has newly missed a deadline; what was
    flagged, each with the deadlines of its current dispatch it has missed."""
    from workorders.deadlines import overdue

    moment = now if now is not None else store.clock()
    return [Escalation(order.number, order.department, overdue(order, moment))
            for order in store.escalate_overdue(moment)]


def log_escalations(escalations: list[Escalation]) -> None:
    """One structured line per flagged order: number, department, missed deadlines and their due times."""
    for escalation in escalations:
        log.warning("workorder_escalated", extra={"fields": {
            "number": escalation.number, "department": escalation.department,
            "missed": ",".join(m.deadline.value for m in escalation.missed),
            "due": ",".join(m.due.isoformat(timespec="seconds") for m in escalation.missed)}})


def _failure(error: Exception) -> str:
    """An error's type and message for a log line; a database error's own message, without the statement and its
    parameters (which may hold an order's fields)."""
    cause = getattr(error, "orig", None)
    return f"{type(error).__name__}: {cause if cause is not None else error}"[:300]


class EscalationRun(PeriodicRun):
    """Runs `escalate` at once and then every `interval` seconds (GOVBOT_WORKORDER_ESCALATE_SECONDS), in a daemon
    thread; a failing run is logged and the next one tried, never stopping `govbot run`. `store`: the store to use
    (tests give one with their own clock); by default one of the settings' database, made at the first run."""

    def __init__(self, settings: Settings, interval: Optional[float] = None,
                 store: Optional["WorkOrderStore"] = None) -> None:
        super().__init__(interval if interval is not None else settings.workorder_escalate_seconds,
                         "govbot-escalation")
        self.settings = settings
        self.store, self._own_store = store, store is None
        self.runs = self.failures = 0  # finished runs, and how many of them failed

    def stop(self, wait: float = 5.0) -> bool:
        """Stop, and close the store it made once the thread has ended."""
        ended = super().stop(wait)
        if ended and self._own_store and self.store is not None:
            self.store.engine.dispose()
        return ended

    def run_once(self) -> list[Escalation]:
        """One escalation run, logged; a failure is logged and gives nothing."""
        try:
            if self.store is None:
                self.store = open_store(self.settings)
            flagged = escalate(self.store)
        except Exception as error:  # the next run tries again; govbot run goes on
            self.failures += 1
            log.error("workorder_escalation_failed", extra={"fields": {"error": _failure(error)}})
            flagged = []
        else:
            log_escalations(flagged)
        finally:
            self.runs += 1
        return flagged


# --- the commands ----------------------------------------------------------------------------------------------

def _say(message: str) -> None:
    print(f"govbot: {message}", flush=True)


def _opened(settings: Settings) -> "WorkOrderStore | int":
    """The store, or the exit code after saying why it cannot be opened."""
    from workorders.deadlines import PolicyError

    try:
        return open_store(settings)
    except PolicyError as error:
        _say(f"configuration error: {error}")
        return EXIT_USAGE


def _deadlines(order: "WorkOrder") -> str:
    if order.sign_deadline is None and order.reply_deadline is None:
        return "-"
    return f"sign {shown(order.sign_deadline)} / reply {shown(order.reply_deadline)}"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def cmd_workorders_list(args: argparse.Namespace, settings: Settings) -> int:
    """List work orders, newest first: number, status, department, urgency, created, deadlines, escalated."""
    from workorders.records import Status

    store = _opened(settings)
    if isinstance(store, int):
        return store
    try:
        orders = store.find(statuses=[Status(args.status)] if args.status else None,
                            departments=[args.department] if args.department else None, limit=args.limit)
    finally:
        store.engine.dispose()
    if not orders:
        _say("no work orders")
        return EXIT_OK
    rows = [["NUMBER", "STATUS", "DEPARTMENT", "URGENCY", "CREATED", "DEADLINES", "ESCALATED"]]
    rows += [[order.number, order.status.value, order.department or "-", order.urgency.value,
              shown(order.created_at), _deadlines(order),
              ",".join(d.value for d in order.escalated_for) or ("yes" if order.escalated else "no")]
             for order in orders]
    print(_table(rows))
    return EXIT_OK


def _order_lines(order: "WorkOrder") -> list[str]:
    from core.privacy import mask

    contact = "none (no consent)"
    if order.contact.consent and order.contact.method is not None:
        value = f" {mask(order.contact.value)}" if order.contact.value else ""
        contact = f"{order.contact.method.value}{value}"
    fields: list[tuple[str, Optional[str]]] = [
        ("number", order.number), ("status", order.status.value), ("kind", order.kind.value),
        ("urgency", order.urgency.value), ("department", order.department),
        ("channel", order.channel), ("language", order.language), ("source ticket", order.source_ticket),
        ("created", shown(order.created_at)), ("updated", shown(order.updated_at)),
        ("dispatched", shown(order.dispatched_at) if order.dispatched_at else None),
        ("deadlines", _deadlines(order) if order.sign_deadline else None),
        ("escalated", ",".join(d.value for d in order.escalated_for) or ("yes" if order.escalated else "no")),
        ("merged into", order.merged_into), ("description", order.description), ("address", order.address),
        ("since", order.since), ("contact", contact), ("reply", order.reply),
        ("return reason", order.return_reason),
        ("extension", f"{order.extension_state.value} until {shown(order.extension_deadline)}"
         if order.extension_state else None),
        ("resolved", None if order.resolved is None else ("yes" if order.resolved else "no")),
        ("rating", order.rating.value if order.rating else None),
        ("closed", shown(order.closed_at) if order.closed_at else None),
    ]
    return [f"{name + ':':<15}{value}" for name, value in fields if value is not None]


def cmd_workorders_show(args: argparse.Namespace, settings: Settings) -> int:
    """Show one work order: its fields, audit trail and messages (free text as stored, i.e. masked)."""
    from workorders.records import WorkOrderError

    store = _opened(settings)
    if isinstance(store, int):
        return store
    try:
        order, trail, messages = store.order(args.number), store.trail(args.number), store.messages(args.number)
    except WorkOrderError as error:
        _say(str(error))
        return EXIT_FAILED
    finally:
        store.engine.dispose()
    print("\n".join(_order_lines(order)))
    print("\naudit trail:")
    for entry in trail:
        states = f"{entry.from_status.value if entry.from_status else '-'} -> " \
                 f"{entry.to_status.value if entry.to_status else '-'}"
        note = f"  {entry.note}" if entry.note else ""
        print(f"  {shown(entry.at)}  {entry.role.value}:{entry.actor}  {entry.action}  {states}{note}")
    print("\nmessages:" if messages else "\nmessages: none")
    for message in messages:
        department = f" ({message.department})" if message.department else ""
        print(f"  {shown(message.at)}  {message.role.value}:{message.author}{department}  {message.text}")
    return EXIT_OK


def cmd_workorders_escalate(args: argparse.Namespace, settings: Settings) -> int:
    """Escalate (督办) now: flag every order that has newly missed its sign-for or reply deadline, and list them."""
    store = _opened(settings)
    if isinstance(store, int):
        return store
    try:
        flagged = escalate(store)
    finally:
        store.engine.dispose()
    for escalation in flagged:
        _say(f"escalated {escalation.describe()}")
    _say(f"{len(flagged)} work order{'' if len(flagged) == 1 else 's'} escalated")
    return EXIT_OK


def _positive(value: str) -> int:
    """A whole number above 0 (an argparse type)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"a whole number above 0 is needed, not {value!r}")
    return number


def add_workorder_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register `govbot workorders list|show|escalate`."""
    from workorders.records import Status

    workorders = commands.add_parser("workorders", help="work orders (docs/workorders.md): list, show, escalate")
    subcommands = workorders.add_subparsers(dest="workorders_command", required=True, metavar="WORKORDERS_COMMAND")
    listing = subcommands.add_parser("list", help="list work orders, newest first",
                                     description=cmd_workorders_list.__doc__)
    listing.add_argument("--status", choices=[status.value for status in Status], help="only orders in this state")
    listing.add_argument("--department", help="only orders of this department (its id in the catalogue)")
    listing.add_argument("--limit", type=_positive, default=DEFAULT_LIMIT,
                         help=f"at most this many orders (default {DEFAULT_LIMIT})")
    listing.set_defaults(handler=cmd_workorders_list)
    show = subcommands.add_parser("show", help="one order with its audit trail and messages",
                                  description=cmd_workorders_show.__doc__)
    show.add_argument("number", help="the order number, e.g. GD202503140001")
    show.set_defaults(handler=cmd_workorders_show)
    escalate_command = subcommands.add_parser("escalate", help="flag the orders that have newly missed a deadline",
                                              description=cmd_workorders_escalate.__doc__)
    escalate_command.set_defaults(handler=cmd_workorders_escalate)
