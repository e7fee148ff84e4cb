"""The action server: rasa_sdk's action endpoint, logging JSON lines like govbot's other processes."""

import logging
from typing import Optional, Sequence

from rasa_sdk.endpoint import create_argument_parser, run

from govbot.log import configure_logging
from govbot.settings import Settings


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Serve the custom actions; takes rasa_sdk's own arguments (--actions, --port, ...)."""
    args = create_argument_parser().parse_args(argv)
    configure_logging(Settings.from_env().log_level)
    logging.getLogger("sanic.access").setLevel(logging.WARNING)  # one empty line per request otherwise
    run(args.actions, args.port, args.cors, args.ssl_certificate, args.ssl_keyfile, args.ssl_password,
        args.auto_reload)


if __name__ == "__main__":
    main()
