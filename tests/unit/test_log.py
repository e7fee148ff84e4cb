"""Logs never contain ID-card, phone or bank-card numbers, e-mail addresses or tokens."""

import json
import logging

from core.log import JsonFormatter, redact
from core.privacy import mask


def test_redacts_sensitive_values():
    text = ("ID 11010519491231002X and 110105194912310021, phone 13812345678 / +86 138-1234-5678 / 010-12345678, "
            "card 4111 1111 1111 1111, mail zhang.san@example.com, "
            "telegram 123456789:AAHk3jdhs8d7f6s5d4f3g2h1j0kLmNoPqRs and Bearer abc.def")
    cleaned = redact(text)
    for secret in ("11010519491231002X", "110105194912310021", "13812345678", "138-1234-5678",
                   "010-12345678", "4111 1111 1111", "zhang.san", "AAHk3jdhs8d7f6s5d4f3g2h1j0kLmNoPqRs", "abc.def"):
        assert secret not in cleaned
    assert "**************002X" in cleaned and "*******5678" in cleaned and "[token]" in cleaned
    assert "Bearer [secret]" in cleaned and "***@example.com" in cleaned


def test_logs_and_stores_share_one_set_of_patterns():
    for text in ("身份证110101199003071234", "电话 ０１０－１２３４５６７８", "卡号6222021234567890128"):
        assert redact(text) == mask(text) != text


def test_keeps_ordinary_numbers():
    assert redact("call 12345, fee 20 yuan, 15 working days, ticket 20261202-0001") == \
        "call 12345, fee 20 yuan, 15 working days, ticket 20261202-0001"


def test_json_formatter_redacts_message_and_fields():
    record = logging.LogRecord("govbot.test", logging.INFO, __file__, 1, "user said %s", ("13812345678",), None)
    record.fields = {"text": "my id is 11010519491231002X", "count": 3}
    entry = json.loads(JsonFormatter().format(record))
    assert entry["event"] == "user said *******5678"
    assert entry["text"] == "my id is **************002X"
    assert entry["count"] == 3 and entry["level"] == "info" and entry["logger"] == "govbot.test"
