"""Masking personal numbers in free text: ID-card, phone and bank-card numbers, and e-mail addresses.

PIPL's minimum-necessary principle: what is kept outside the live conversation shows at most a number's
last 4 digits (a hint for a call-back: "the mobile ending in 5678"). A masked number keeps its shape, its
separators and a +86 country code, and every other digit becomes "*": 13812345678 -> *******5678,
138-1234-5678 -> ***-****-5678, an e-mail address keeps only its domain: ***@example.com. The mask has no
letters, so it never changes which language a message is taken to be in, and masking twice changes nothing.

Full-width digits (０-９, typed on Chinese keyboards) and full-width + - ( ) @ . X are recognised like ASCII
ones. Bank-card numbers must pass the Luhn check and ID-card numbers must hold a plausible date of birth, so
dates, amounts, the 12345 hotline, ticket numbers (20261202-0001) and most order numbers are left alone.
Standard library only: Rasa's side may use it too.
"""

import re
from typing import NamedTuple, Optional

KEEP_DIGITS = 4  # the last digits of a number left readable
MASK = "*"
LOCAL_PART_MASK = "***"  # an e-mail address's name, whatever its length

# one character for one character, so positions in the normalised text are positions in the original
_NORMAL = str.maketrans({**{chr(0xFF10 + digit): str(digit) for digit in range(10)},
                         "Ｘ": "X", "ｘ": "x", "＋": "+", "－": "-", "（": "(", "）": ")", "＠": "@", "．": ".",
                         "\u3000": " "})

_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"  # MMDD
_SEP = r"[ -]?"
_COUNTRY = r"(?P<cc>(?:\+|00)86[ -]?|\(\+?86\)[ -]?|86[ -]?)?"

# Resident ID: 6-digit region, date of birth (YYYYMMDD, or YYMMDD in the 15-digit ones), sequence, check digit.
_ID_CARD = re.compile(
    rf"(?<![0-9])(?:[1-9]\d{{5}}{_SEP}(?:18|19|20)\d{{2}}{_DATE}{_SEP}\d{{3}}[\dXx]"
    rf"|[1-9]\d{{5}}\d{{2}}{_DATE}\d{{3}})(?![0-9])", re.ASCII)
# Mobile: 1[3-9]x xxxx xxxx, spaces or dashes between the groups, with or without +86.
_MOBILE = re.compile(rf"(?<![0-9+]){_COUNTRY}1[3-9]\d(?:{_SEP}\d{{4}}){{2}}(?![0-9])", re.ASCII)
# Landline: area code 0xx or 0xxx (in brackets or not; +86 10, +86 755 without the 0), a 7- or 8-digit local
# number (never starting with 0), maybe split before its last 4 digits.
_LANDLINE = re.compile(r"(?<![0-9+])(?:(?P<cc>(?:\+|00)86[ -]?)\(?0?[1-9]\d{1,2}\)?|\(0\d{2,3}\)|0\d{2,3})"
                       rf"{_SEP}[1-9]\d{{2,3}}{_SEP}\d{{4}}(?![0-9])", re.ASCII)
# Bank card: 13-19 digits in one run, or in groups of 4 split by spaces or dashes (checked with Luhn below).
_BANK_CARD = re.compile(r"(?<![0-9A-Za-z])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?)(?![0-9A-Za-z])",
                        re.ASCII)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])(?P<local>[A-Za-z0-9._%+-]+)@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                    r"\.[A-Za-z]{2,}(?![A-Za-z0-9-])", re.ASCII)


class _Found(NamedTuple):
    start: int
    end: int
    priority: int  # at one start, the longest match wins; then the lowest priority
    keep_from: int = 0  # a number: the country code before this offset stays
    local_end: Optional[int] = None  # an e-mail address: where its name ends


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (the check digit of bank-card numbers)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return bool(digits) and total % 10 == 0


def _masked_number(span: str, normal: str, keep_from: int = 0) -> str:
    """The span with every digit (and an ID card's X) but the last KEEP_DIGITS as "*"; before keep_from
    (a +86 country code) nothing changes."""
    positions = [i for i, char in enumerate(normal) if i >= keep_from and (char.isdigit() or char in "Xx")]
    hidden = set(positions[:-KEEP_DIGITS] if len(positions) > KEEP_DIGITS else positions)
    return "".join(MASK if i in hidden else char for i, char in enumerate(span))


def _found(normal: str) -> list[_Found]:
    found = [_Found(m.start(), m.end(), 0, local_end=m.end("local") - m.start()) for m in _EMAIL.finditer(normal)]
    found += [_Found(m.start(), m.end(), 1) for m in _ID_CARD.finditer(normal)]
    for pattern in (_MOBILE, _LANDLINE):  # before cards: a +86 mobile number may pass the Luhn check
        found += [_Found(m.start(), m.end(), 2, len(m.group("cc") or "")) for m in pattern.finditer(normal)]
    found += [_Found(m.start(), m.end(), 3) for m in _BANK_CARD.finditer(normal)
              if 13 <= len(digits := re.sub(r"[ -]", "", m.group())) <= 19 and luhn_valid(digits)]
    return found


def _chosen(normal: str) -> list[_Found]:
    """The matches to mask: leftmost first, and at one start the longest (then the likelier kind)."""
    chosen: list[_Found] = []
    for candidate in sorted(_found(normal), key=lambda c: (c.start, -c.end, c.priority)):
        if not chosen or candidate.start >= chosen[-1].end:
            chosen.append(candidate)
    return chosen


def mask(text: str) -> str:
    """The text with ID-card, phone and bank-card numbers (all but their last 4 digits) and e-mail addresses
    (all but their domain) masked."""
    normal = text.translate(_NORMAL)
    parts: list[str] = []
    done = 0
    for found in _chosen(normal):
        span = text[found.start:found.end]
        if found.local_end is not None:
            masked = LOCAL_PART_MASK + span[found.local_end:]
        else:
            masked = _masked_number(span, normal[found.start:found.end], found.keep_from)
        parts += [text[done:found.start], masked]
        done = found.end
    return "".join(parts) + text[done:]

