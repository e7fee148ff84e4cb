"""`govbot agent …`: manage the agents who answer handed-over conversations in the console at /agent."""

import argparse
import getpass
import sys

from core.settings import Settings


def _store(settings: Settings):  # type: ignore[no-untyped-def]
    from core.database import database_url
    from handoff.store import TicketStore

    return TicketStore(database_url(settings))


def _password(args: argparse.Namespace, min_length: int) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"password for the new agent (at least {min_length} characters; a few words): ")
    if getpass.getpass("the same password again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def cmd_agent_add(args: argparse.Namespace, settings: Settings) -> int:
    """Create an agent who can log in at /agent (the password is asked for, or read from stdin, and must pass the
    password policy: at least GOVBOT_PASSWORD_MIN_LENGTH characters, not common, not the username, ...)."""
    from handoff.store import HandoffError

    try:
        agent = _store(settings).add_agent(args.username, _password(args, settings.password_min_length), args.name,
                                           min_length=settings.password_min_length)
    except (HandoffError, ValueError) as error:
        print(f"govbot: {error}")
        return 1
    print(f"govbot: agent {agent.username} ({agent.display_name}) can now log in at /agent")
    return 0


def cmd_agent_list(args: argparse.Namespace, settings: Settings) -> int:
    """List the agents and when each was last seen."""
    for agent in _store(settings).agents():
        seen = agent.last_seen_at.isoformat(timespec="seconds") if agent.last_seen_at else "never"
        print(f"{agent.username}\t{agent.display_name}\tlast seen {seen}")
    return 0


def add_agent_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register `govbot agent add` and `govbot agent list`."""
    agent = commands.add_parser("agent", help="agents of the handoff console: add, list")
    agent_commands = agent.add_subparsers(dest="agent_command", required=True, metavar="AGENT_COMMAND")
    add = agent_commands.add_parser("add", help="create an agent", description=cmd_agent_add.__doc__)
    add.add_argument("username", help="the login name (letters, digits, _ or .)")
    add.add_argument("--name", help="the name citizens see (default: the username)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add.set_defaults(handler=cmd_agent_add)
    listing = agent_commands.add_parser("list", help="list the agents", description=cmd_agent_list.__doc__)
    listing.set_defaults(handler=cmd_agent_list)
