"""The action server: rasa_sdk's action endpoint, logging JSON lines like govbot's other processes.

It loads the knowledge search (and its model) once, before it serves, so its health check means "ready to answer".
"""

import logging
from typing import Optional, Sequence

from rasa_sdk.endpoint import create_argument_parser, run

from bot.actions.runtime import ActionRuntime, install
from core.database import database_url
from core.log import configure_logging
from core.ratings import RatingStore
from core.settings import Settings
from knowledge.service import open_search


def warm_up(settings: Settings) -> ActionRuntime:
    """Load the knowledge search and install the actions' runtime (the rating store opens at the first rating)."""
    runtime = ActionRuntime(knowledge=open_search(settings=settings),
                            open_ratings=lambda: RatingStore(database_url(settings)))
    install(runtime)
    return runtime


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Serve the custom actions; takes rasa_sdk's own arguments (--actions, --port, ...)."""
    args = create_argument_parser().parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    logging.getLogger("sanic.access").setLevel(logging.WARNING)  # one empty line per request otherwise
    warm_up(settings)
    run(args.actions, args.port, args.cors, args.ssl_certificate, args.ssl_keyfile, args.ssl_password,
        args.auto_reload)


if __name__ == "__main__":
    main()
