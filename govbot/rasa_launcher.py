"""Starts `rasa run` with its HTTP API's auth token read from standard input, and everything it prints redacted.

It runs inside .venv-rasa, so it needs only the standard library, core.log and Rasa itself (bot.rasa_patches, which
cut Rasa's per-message cost, are installed before Rasa starts). `govbot.stack` starts
`.venv-rasa/bin/python -m govbot.rasa_launcher run --enable-api ...` and writes the token as the first line of its
standard input: the token then never appears on a command line, which `ps` shows to every user of the machine
(a process's environment is readable by its owner only, and Rasa needs none of govbot's other secrets). Rasa's
output goes through core.log.redact line by line, so a token in a URL (Sanic logs the URL of a request that failed)
or a personal number never reaches rasa.log.

Rasa's REST channel is not covered by `--auth-token`; credentials.yml serves it with bot.rest_channel.TokenRestInput,
whose token is `${GOVBOT_RASA_TOKEN}`, which Rasa fills from its environment. The launcher puts the token into its
own `os.environ` before Rasa reads credentials.yml: the environment the process was started with (what
/proc/<pid>/environ shows) stays without it.
"""

import io
import os
import runpy
import sys
from typing import TextIO

from bot import rasa_patches
from core.log import redact

TOKEN_VARIABLE = "GOVBOT_RASA_TOKEN"  # what credentials.yml reads (core.settings is not importable in .venv-rasa)


class RedactingStream(io.TextIOBase):
    """A text stream that passes whole lines on to another stream, each one redacted."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._pending = ""

    def writable(self) -> bool:
        """Always writable."""
        return True

    def write(self, text: str) -> int:
        """Queue text; write every completed line, redacted."""
        self._pending += text
        complete, newline, rest = self._pending.rpartition("\n")
        if newline:
            self._target.write(redact(complete + newline))
            self._pending = rest
        return len(text)

    def flush(self) -> None:
        """Write what is queued (redacted) and flush the target."""
        if self._pending:
            self._target.write(redact(self._pending))
            self._pending = ""
        self._target.flush()

    def fileno(self) -> int:
        """The target's file descriptor (what writes there directly is not redacted)."""
        return self._target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The target's encoding."""
        return getattr(self._target, "encoding", "utf-8")


def rasa_arguments(arguments: list[str], token: str) -> list[str]:
    """Rasa's command line (as Rasa's own parser sees it, not as `ps` shows this process) with the auth token."""
    # one "--auth-token=..." word: a token made by secrets.token_urlsafe may begin with "-", which argparse would
    # take for an option if the token were a word of its own (Rasa then refuses to start)
    return ["rasa", *arguments, f"--auth-token={token}"]


def main() -> None:
    """Read the token, redact the output, run Rasa's command line."""
    token = sys.stdin.readline().strip()
    if not token:
        raise SystemExit("govbot.rasa_launcher: no auth token on standard input; Rasa's HTTP API is not served "
                         "without one")
    os.environ[TOKEN_VARIABLE] = token  # for credentials.yml's REST channel; not in the initial environment
    sys.stdout = RedactingStream(sys.stdout)
    sys.stderr = RedactingStream(sys.stderr)
    sys.argv = rasa_arguments(sys.argv[1:], token)
    rasa_patches.install()
    runpy.run_module("rasa", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
