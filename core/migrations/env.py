"""Alembic's environment for the application database: runs the scripts in versions/ on one connection.

core/schema.py passes an open connection (in a transaction it holds the migration lock of) and a list that
collects the applied revisions, through `config.attributes`. From the alembic command line (for developers
only), `-x url=sqlite:///var/govbot.db` names the database.
"""

from typing import Any, Collection, Mapping

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo
from sqlalchemy import Connection, create_engine


def _run(connection: Connection) -> None:
    applied: list[str] = context.config.attributes.setdefault("applied", [])

    def record(ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]) -> None:
        applied.extend(step.up_revision_ids)  # upgrading: the ones applied; downgrading: the ones undone

    context.configure(connection=connection, target_metadata=None, on_version_apply=record)
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("name the database: alembic -c core/migrations/alembic.ini -x url=... upgrade head")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()
