"""`govbot agent …`: manage the console accounts: agents who answer handed-over conversations at /agent, department
staff who handle work orders at /dept, supervisors (the rates API) and admins."""

import argparse
import getpass
import sys
from typing import Optional

from core.settings import Settings
from handoff.records import AccountRole

PAGES = {AccountRole.AGENT: "/agent", AccountRole.ADMIN: "/agent", AccountRole.DEPARTMENT: "/dept"}


def _store(settings: Settings):  # type: ignore[no-untyped-def]
    from core.database import database_url
    from handoff.store import TicketStore

    return TicketStore(database_url(settings))


def _password(args: argparse.Namespace, min_length: int) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"password for the new account (at least {min_length} characters; a few words): ")
    if getpass.getpass("the same password again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _department(role: AccountRole, department: Optional[str], settings: Settings) -> Optional[str]:
    """The account's department: required for (and only for) a department account, and a catalogue id
    (GOVBOT_DEPARTMENTS_FILE); ValueError otherwise."""
    if role != AccountRole.DEPARTMENT:
        if department is not None:
            raise ValueError(f"only a department account has a department (this is a {role.value} account)")
        return None
    from workorders.catalogue import load_catalogue

    ids = load_catalogue(settings.departments_file).ids
    if not department:
        raise ValueError(f"a department account needs --department ID, one of: {', '.join(ids)}")
    if department not in ids:
        raise ValueError(f"there is no department {department!r} in {settings.departments_file}; "
                         f"the departments are: {', '.join(ids)}")
    return department


def cmd_agent_add(args: argparse.Namespace, settings: Settings) -> int:
    """Create a console account (the password is asked for, or read from stdin, and must pass the password policy:
    at least GOVBOT_PASSWORD_MIN_LENGTH characters, not common, not the username, ...). --role: agent (the default;
    /agent), department (/dept, with --department, a catalogue id), supervisor (the rates API) or admin (/agent and
    the rates)."""
    from handoff.store import HandoffError
    from workorders.catalogue import InvalidCatalogue

    role = AccountRole(args.role)
    try:
        department = _department(role, args.department, settings)
        agent = _store(settings).add_agent(args.username, _password(args, settings.password_min_length), args.name,
                                           min_length=settings.password_min_length, role=role,
                                           department=department)
    except (HandoffError, ValueError, InvalidCatalogue) as error:
        print(f"govbot: {error}")
        return 1
    where = f"can now log in at {PAGES[role]}" if role in PAGES else \
        "can now log in (POST /api/agent/login) and read GET /api/supervisor/rates"
    of = f" of {agent.department}" if agent.department else ""
    print(f"govbot: {agent.role.value}{of} {agent.username} ({agent.display_name}) {where}")
    return 0


def cmd_agent_list(args: argparse.Namespace, settings: Settings) -> int:
    """List the accounts: username, name, when each was last seen, role and department (- for none)."""
    for agent in _store(settings).agents():
        seen = agent.last_seen_at.isoformat(timespec="seconds") if agent.last_seen_at else "never"
        department = agent.department or "-"
        print(f"{agent.username}\t{agent.display_name}\tlast seen {seen}\t{agent.role.value}\t{department}")
    return 0


def add_agent_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register `govbot agent add` and `govbot agent list`."""
    agent = commands.add_parser("agent", help="console accounts (agents, department staff, supervisors): add, list")
    agent_commands = agent.add_subparsers(dest="agent_command", required=True, metavar="AGENT_COMMAND")
    add = agent_commands.add_parser("add", help="create an account", description=cmd_agent_add.__doc__)
    add.add_argument("username", help="the login name (letters, digits, _ or .)")
    add.add_argument("--name", help="the name citizens see (default: the username)")
    add.add_argument("--role", choices=[role.value for role in AccountRole], default=AccountRole.AGENT.value,
                     help="what the account may do (default: agent)")
    add.add_argument("--department", metavar="ID", help="a department account's department: an id of the catalogue "
                                                        "(GOVBOT_DEPARTMENTS_FILE)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add.set_defaults(handler=cmd_agent_add)
    listing = agent_commands.add_parser("list", help="list the accounts", description=cmd_agent_list.__doc__)
    listing.set_defaults(handler=cmd_agent_list)
