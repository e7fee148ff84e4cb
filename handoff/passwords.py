"""Agents' passwords (salted scrypt hashes) and session tokens (stored only as their SHA-256)."""

import hashlib
import hmac
import secrets
from typing import Optional


def hash_password(password: str, salt: Optional[bytes] = None) -> str:
    """A salted scrypt hash, as "scrypt$n$r$p$salt$hash" (hex)."""
    salt = salt or secrets.token_bytes(16)
    n, r, p = 2 ** 14, 8, 1
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether the password matches the stored hash (compared in constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(candidate.hex(), digest)


def new_session_token() -> str:
    """A fresh random session token (what the agent's cookie carries)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()
