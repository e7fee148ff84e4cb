"""core.privacy.mask: personal numbers and e-mail addresses are masked to their last 4 digits (or their domain);
dates, amounts, hotlines, ticket and order numbers are not."""

import random

import pytest

from core.language import detect_language
from core.privacy import luhn_valid, mask

MASKED = [
    # ID cards: 18 digits (check digit or X), 15-digit old ones, grouped 6-8-4, full-width, in a sentence
    ("11010519491231002X", "**************002X"),
    ("110105194912310021", "**************0021"),
    ("11010519491231002x", "**************002x"),
    ("110105491231002", "***********1002"),
    ("110101 19900307 1234", "****** ******** 1234"),
    ("我的身份证号是110101199003071234，谢谢", "我的身份证号是**************1234，谢谢"),
    ("１１０１０１１９９００３０７１２３Ｘ", "**************１２３Ｘ"),
    # mobiles: plain, grouped, +86 / 0086 / 86 / (+86), full-width, glued to words
    ("13812345678", "*******5678"),
    ("138 1234 5678", "*** **** 5678"),
    ("138-1234-5678", "***-****-5678"),
    ("+86 138-1234-5678", "+86 ***-****-5678"),
    ("+8613812345678", "+86*******5678"),
    ("0086 13812345678", "0086 *******5678"),
    ("(+86) 19912345678", "(+86) *******5678"),
    ("电话１３８１２３４５６７８", "电话*******５６７８"),
    ("call me at 15912345678 please", "call me at *******5678 please"),
    ("tel13812345678", "tel*******5678"),
    # landlines
    ("010-12345678", "***-****5678"),
    ("021 6888 1234", "*** **** 1234"),
    ("(0755)88889999", "(****)****9999"),
    ("0571-8888-9999", "****-****-9999"),
    ("+86 10 12345678", "+86 ** ****5678"),
    ("０１０－１２３４５６７８", "***－****５６７８"),
    # bank cards that pass the Luhn check: in one run, in groups of 4 (spaces or dashes), 19 digits
    ("4111111111111111", "************1111"),
    ("卡号6222021234567890128", "卡号***************0128"),
    ("4111 1111 1111 1111", "**** **** **** 1111"),
    ("4111-1111-1111-1111", "****-****-****-1111"),
    ("1234567890128", "*********0128"),  # 13 digits, Luhn-valid
    # e-mail addresses keep only their domain
    ("zhang.san@example.com", "***@example.com"),
    ("邮箱 123456789@qq.com 谢谢", "邮箱 ***@qq.com 谢谢"),
    ("13812345678@163.com", "***@163.com"),
    ("write to a+b_c@mail.gov.cn.", "write to ***@mail.gov.cn."),
    ("zs＠qq.com", "***＠qq.com"),
    # several in one message
    ("ID 11010519491231002X, phone 13812345678, mail li@example.org",
     "ID **************002X, phone *******5678, mail ***@example.org"),
]

KEPT = [
    "",
    "身份证丢了怎么补办",
    "call 12345, fee 20 yuan, 15 working days",
    "工单 20261202-0001 已关闭",  # a ticket number
    "2026-12-02 10:30", "2026年12月2日", "20261202", "1990-03-07",
    "¥13800.00", "1,380,000 元", "0.5%", "3-5 working days",
    "12345 hotline", "95588", "400-810-8888", "10086",
    "postcode 100101", "passport E12345678",
    "4111111111111112",  # fails the Luhn check
    "SF1234567890128",  # an order number glued to letters (the digits alone pass the Luhn check)
    "order 1234 5678 9012 3457",  # 16 digits in groups, Luhn fails
    "12345678901234567890123",  # 23 digits: no card, no ID
    "110101199013071234",  # 18 digits, but month 13: not a date of birth, and not Luhn-valid
    "0571-12345",  # too short for a landline
    "user@localhost",
    "*******5678",  # already masked
    "/choose{\"item\": \"passport-apply\"}",
]


@pytest.mark.parametrize("text, expected", MASKED)
def test_personal_numbers_and_addresses_are_masked(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_numbers_are_kept(text):
    assert mask(text) == text


def test_masking_twice_changes_nothing_and_keeps_the_length_of_numbers():
    for text, expected in MASKED:
        assert mask(expected) == expected
        if "@" not in text and "＠" not in text:
            assert len(expected) == len(text)


def test_the_mask_never_changes_the_language_a_message_is_taken_to_be_in():
    for text in ("13812345678", "我的电话13812345678", "my phone is 13812345678", "11010519491231002X"):
        assert detect_language(mask(text)) == detect_language(text)


def test_at_most_the_last_four_digits_survive():
    rng = random.Random(14)
    for _ in range(200):
        number = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        masked = mask(f"电话{number}。")
        assert masked == f"电话{'*' * 7}{number[-4:]}。"


def test_odd_text_is_handled():
    assert mask("a \ud800 lone surrogate and a NUL \x00 13812345678") == \
        "a \ud800 lone surrogate and a NUL \x00 *******5678"
    long_text = "a" * 20_000 + "@" + "1" * 20_000
    assert mask(long_text) == long_text


def test_luhn():
    assert luhn_valid("79927398713") and luhn_valid("4111111111111111")
    assert not luhn_valid("79927398710") and not luhn_valid("")


def test_random_text_masks_once_for_all_and_keeps_everything_that_is_not_a_digit():
    rng = random.Random(4)
    alphabet = "0123456789０１２３４５６７８９ -+()@.abcXx身份证电话"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        masked = mask(text)
        assert mask(masked) == masked
        if "@" not in text and "＠" not in text:  # numbers are masked digit for digit
            assert len(masked) == len(text)
            assert all(a == b or b == "*" for a, b in zip(text, masked))
