"""`govbot db …`: bring the application database's schema to the newest revision, or show its revision."""

import argparse

from core.settings import Settings


def _database(settings: Settings) -> tuple[str, str]:
    """The configured database's URL, and the same with any password masked (for printing)."""
    from sqlalchemy.engine import make_url

    from core.database import database_url

    url = database_url(settings)
    return url, make_url(url).render_as_string(hide_password=True)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Upgrade the database schema to the newest revision (a database from before migrations is adopted)."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.schema import head_revision, upgrade_schema

    url, shown = _database(settings)
    try:
        applied = upgrade_schema(url)
    except SQLAlchemyError as error:
        print(f"govbot: upgrading {shown} failed: {type(error).__name__}: {error}")
        return 1
    if applied:
        print(f"govbot: {shown}: applied {', '.join(applied)}; now at {head_revision()}")
    else:
        print(f"govbot: {shown}: up to date ({head_revision()})")
    return 0


def cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    """Print the database's schema revision and whether it is the newest."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.schema import current_revision, head_revision

    url, shown = _database(settings)
    try:
        revision = current_revision(url)
    except SQLAlchemyError as error:
        print(f"govbot: reading {shown} failed: {type(error).__name__}: {error}")
        return 1
    head = head_revision()
    if revision == head:
        state = "the newest"
    elif revision is None:
        state = f"no revision: empty or from before migrations; `govbot db upgrade` brings it to {head}"
    else:
        state = f"behind {head}; `govbot db upgrade` brings it there"
    print(f"{revision or 'none'} ({state})\t{shown}")
    return 0


def add_db_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register `govbot db upgrade` and `govbot db current`."""
    db = commands.add_parser("db", help="the application database's schema: upgrade, current")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="upgrade the schema to the newest revision",
                                     description=cmd_db_upgrade.__doc__)
    upgrade.set_defaults(handler=cmd_db_upgrade)
    current = db_commands.add_parser("current", help="print the schema revision", description=cmd_db_current.__doc__)
    current.set_defaults(handler=cmd_db_current)
