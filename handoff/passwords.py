"""Agents' passwords: the policy a new one must meet, salted scrypt hashes, and session tokens (kept as SHA-256).

The policy follows NIST SP 800-63B and OWASP ASVS 2.1: a minimum length, no composition rules, but a password
must not be blank, common (handoff/common_passwords.txt), a run such as 12345678 or qwertyui, the username,
or a common word dressed up with digits and symbols ("Password123!", "p@ssw0rd2024", "govbot-12345").
"""

import hashlib
import hmac
import re
import secrets
import unicodedata
from functools import cache
from pathlib import Path
from typing import Optional

from handoff.records import HandoffError

DEFAULT_MIN_LENGTH = 12
MAX_LENGTH = 200  # what the login form accepts
MIN_DISTINCT = 5
COMMON_PASSWORDS = Path(__file__).resolve().parent / "common_passwords.txt"
# words that make a password guessable whatever digits and symbols surround them
BASE_WORDS = ("password", "passwort", "passwd", "pass", "govbot", "gov", "admin", "administrator", "root",
              "agent", "kefu", "user", "login", "welcome", "letmein", "qwerty", "iloveyou", "woaini", "test",
              "secret", "changeme", "default", "guest", "master", "hello", "monkey", "dragon", "china")
# runs on the keyboard and in the alphabet (four or more of their characters in a row are a pattern)
SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiop", "asdfghjkl", "zxcvbnm",
             "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "qazwsxedcrfvtgbyhnujmikolp", "1q2w3e4r5t6y7u8i9o0p")
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s",
                      "!": "i", "|": "l", "+": "t"})
MIN_OWN_LETTERS = 4
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1


class WeakPassword(HandoffError):
    """A password the policy refuses; `reason` says which rule (too_short, common, contains_username, ...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__("weak_password", message)
        self.reason = reason


@cache
def common_passwords() -> frozenset[str]:
    """The blocklist of common passwords, in lower case (read once)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.lower() for line in lines if line and not line.startswith("#"))


@cache
def _run_pieces() -> tuple[str, ...]:
    """Every stretch of 4+ characters of a keyboard or alphabet sequence (either way), longest first."""
    pieces = {line[start:start + length] for sequence in SEQUENCES for line in (sequence, sequence[::-1])
              for length in range(4, len(line) + 1) for start in range(len(line) - length + 1)}
    return tuple(sorted(pieces, key=len, reverse=True))


def _is_sequence(text: str) -> bool:
    """Whether the text (letters and digits only) is one keyboard or alphabet run, possibly repeated."""
    if len(text) < 4:
        return False
    return any(text in line * (len(text) // len(line) + 2)
               for sequence in SEQUENCES for line in (sequence, sequence[::-1]))


def _own_letters(text: str, username: str) -> str:
    """The letters of `text` left once the username, common words and keyboard/alphabet runs are taken out."""
    for word in sorted({*BASE_WORDS, *([username] if len(username) >= 3 else [])}, key=len, reverse=True):
        text = text.replace(word, " ")
    for run in _run_pieces():
        if run in text:
            text = text.replace(run, " ")
    return "".join(character for character in text if character.isalpha())


def password_problem(password: str, username: str = "", min_length: int = DEFAULT_MIN_LENGTH) -> Optional[WeakPassword]:
    """Why the password may not be set for that username (a WeakPassword to raise), or None when it may."""
    lowered, name = password.lower(), username.lower()
    if not password.strip():
        return WeakPassword("blank", "a password cannot be empty or only spaces")
    if any(unicodedata.category(character) in ("Cc", "Cs") for character in password):
        return WeakPassword("control_characters", "a password cannot contain control characters")
    if len(password) < min_length:
        return WeakPassword("too_short", f"a password needs at least {min_length} characters "
                                         "(a few unrelated words are long and easy to remember)")
    if len(password) > MAX_LENGTH:
        return WeakPassword("too_long", f"a password can have at most {MAX_LENGTH} characters")
    if len(set(lowered)) < MIN_DISTINCT:
        return WeakPassword("too_simple", f"a password needs at least {MIN_DISTINCT} different characters")
    plain = re.sub(r"[\W_]", "", lowered)
    if _is_sequence(plain):
        return WeakPassword("sequence", "a password cannot be a run like 12345678, abcdefgh or qwertyui")
    if len(name) >= 3 and (name in lowered or name in lowered.translate(LEET)):
        return WeakPassword("contains_username", "a password must not contain the username")
    blocked = common_passwords()
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)  # "sunshine2024!" is "sunshine"
    if {lowered, lowered.translate(LEET), core, core.translate(LEET)} & blocked:
        return WeakPassword("common", "this password is on the list of the most common passwords")
    if any(len(_own_letters(text, name)) < MIN_OWN_LETTERS for text in (lowered, lowered.translate(LEET))):
        return WeakPassword("predictable", "a password cannot be a common word, the username, a date or a run of "
                                           "digits or keys with a few characters added; try a few unrelated words")
    return None


def require_strong_password(password: str, username: str = "", min_length: int = DEFAULT_MIN_LENGTH) -> None:
    """Raise WeakPassword (code weak_password, a sentence saying why) unless the policy accepts the password."""
    problem = password_problem(password, username, min_length)
    if problem is not None:
        raise problem


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # surrogatepass: any str can be hashed (a lone surrogate from a JSON body must not raise)
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p, dklen=32)


def hash_password(password: str, salt: Optional[bytes] = None) -> str:
    """A salted scrypt hash, as "scrypt$n$r$p$salt$hash" (hex)."""
    salt = salt or secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether the password matches the stored hash (compared in constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


@cache
def dummy_hash() -> str:
    """A hash no password is checked against for real: an unknown username costs the same one scrypt as a wrong
    password (made once per process, so it is not made during a login)."""
    return hash_password(secrets.token_urlsafe(16))


def new_session_token() -> str:
    """A fresh random session token (what the agent's cookie carries)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of a session token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
