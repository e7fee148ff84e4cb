"""Structured (JSON-lines) logging that never writes ID-card numbers, phone numbers or tokens."""

import json
import logging
import re
import sys
from datetime import datetime, timezone

_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Telegram bot tokens: "123456789:AA..." (35 url-safe characters after the colon).
    (re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}"), "[token]"),
    # Bearer / token= style secrets.
    (re.compile(r"(?i)\b(bearer|token|secret|password)([=: ]+)\S+"), r"\1\2[secret]"),
    # Mainland resident ID numbers: 17 digits and a check digit or X (also 15-digit old ones).
    (re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)|(?<!\d)\d{15}(?!\d)"), "[id-number]"),
    # Mobile numbers, optionally with +86 / 86, and landlines like 010-12345678.
    (re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)"), "[phone]"),
    (re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)"), "[phone]"),
)


def redact(text: str) -> str:
    """Return text with ID-card numbers, phone numbers and secrets masked."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


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
    # httpx logs every request at INFO (health polls included); keep only its problems.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # faiss announces at INFO which CPU build it loaded, on every start.
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)
    # alembic announces its plugins and migration context at INFO on every upgrade; core.schema logs what it did.
    logging.getLogger("alembic").setLevel(logging.WARNING)
