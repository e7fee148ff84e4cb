"""`govbot config`: every environment variable govbot reads, its current value (secrets masked), default and use."""

import argparse
import json
from dataclasses import asdict

from core.settings import Settings, variables


def config_lines(settings: Settings) -> list[str]:
    """The text `govbot config` prints: `NAME=value`, then the description and default, indented."""
    lines = []
    for variable in variables(settings):
        lines.append(f"{variable.name}={variable.value}")
        lines.append(f"    {variable.description} (default: {variable.default or 'empty'})")
    return lines


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    """Print every variable govbot reads: name, current value (secrets masked), default and description."""
    if args.json:
        print(json.dumps([asdict(variable) for variable in variables(settings)], ensure_ascii=False, indent=2))
    else:
        print("\n".join(config_lines(settings)))
    return 0


def add_config_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register `govbot config`."""
    config = commands.add_parser("config", help="list the environment variables with their current values",
                                 description=cmd_config.__doc__)
    config.add_argument("--json", action="store_true",
                        help="print a JSON list of {name, value, default, description, secret}")
    config.set_defaults(handler=cmd_config)
