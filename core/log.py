"""Structured (JSON-lines) logging that never writes personal numbers, e-mail addresses or tokens."""

import json
import logging
import re
import sys
from datetime import datetime, timezone

from core.privacy import mask

# Secrets; personal numbers and e-mail addresses are core.privacy's (one set of patterns for logs and stores).
_SECRETS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Telegram bot tokens: "123456789:AA..." (35 url-safe characters after the colon).
    (re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}"), "[token]"),
    # Bearer / token= style secrets.
    (re.compile(r"(?i)\b(bearer|token|secret|password)([=: ]+)\S+"), r"\1\2[secret]"),
)


def redact(text: str) -> str:
    """Return text with secrets, ID-card, phone and bank-card numbers and e-mail addresses masked."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return mask(text)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object per line, with sensitive values redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": redact(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({key: redact(str(value)) if isinstance(value, str) else value
                          for key, value in fields.items()})
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send all logging to stderr as redacted JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Python warnings go to stderr as they are (aiogram's for an unknown update type prints the whole update):
    # send them through the redacting handler too.
    logging.captureWarnings(True)
    # httpx logs every request at INFO (health polls included); keep only its problems.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # faiss announces at INFO which CPU build it loaded, on every start.
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)
    # alembic announces its plugins and migration context at INFO on every upgrade; core.schema logs what it did.
    logging.getLogger("alembic").setLevel(logging.WARNING)
