"""Logs never contain ID-card numbers, phone numbers or tokens."""

import json
import logging

from core.log import JsonFormatter, redact


def test_redacts_sensitive_values():
    text = ("ID 11010519491231002X and 110105194912310021, phone 13812345678 / +86 138-1234-5678 / 010-12345678, "
            "telegram 123456789:AAHk3jdhs8d7f6s5d4f3g2h1j0kLmNoPqRs and Bearer abc.def")
    cleaned = redact(text)
    for secret in ("11010519491231002X", "110105194912310021", "13812345678", "138-1234-5678",
                   "010-12345678", "AAHk3jdhs8d7f6s5d4f3g2h1j0kLmNoPqRs", "abc.def"):
        assert secret not in cleaned
    assert "[id-number]" in cleaned and "[phone]" in cleaned and "[token]" in cleaned


def test_keeps_ordinary_numbers():
    assert redact("call 12345, fee 20 yuan, 15 working days") == "call 12345, fee 20 yuan, 15 working days"


def test_json_formatter_redacts_message_and_fields():
    record = logging.LogRecord("govbot.test", logging.INFO, __file__, 1, "user said %s", ("13812345678",), None)
    record.fields = {"text": "my id is 11010519491231002X", "count": 3}
    entry = json.loads(JsonFormatter().format(record))
    assert entry["event"] == "user said [phone]"
    assert entry["text"] == "my id is [id-number]"
    assert entry["count"] == 3 and entry["level"] == "info" and entry["logger"] == "govbot.test"
