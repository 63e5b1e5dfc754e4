"""Admin password hashes: ``pbkdf2_sha256$iterations$salt$hash`` made with the stdlib only.

``reviewpulse hash-password`` prints one; put it in ``ADMIN_PASSWORD_HASH``. The
format is the one Django uses, so hashes are recognisable and portable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 600_000


class PasswordHashError(ValueError):
    """ADMIN_PASSWORD_HASH is not in the ``pbkdf2_sha256$iterations$salt$hash`` format."""


def hash_password(password: str, iterations: int = DEFAULT_ITERATIONS, salt: str | None = None) -> str:
    """A new hash string for ``password`` (random salt unless one is given)."""
    salt = salt or secrets.token_urlsafe(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("utf-8"), iterations)
    return f"{ALGORITHM}${iterations}${salt}${base64.b64encode(digest).decode('ascii')}"


def parse_hash(encoded: str) -> tuple[int, str, bytes]:
    """(iterations, salt, digest) of a hash string, or :class:`PasswordHashError` saying what is wrong."""
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM:
        raise PasswordHashError(
            f"ADMIN_PASSWORD_HASH must look like {ALGORITHM}$iterations$salt$hash; "
            "make one with `reviewpulse hash-password`"
        )
    try:
        return int(parts[1]), parts[2], base64.b64decode(parts[3], validate=True)
    except ValueError as error:
        raise PasswordHashError(f"ADMIN_PASSWORD_HASH is malformed ({error}); re-create it") from error


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded``; comparison is constant-time."""
    iterations, salt, expected = parse_hash(encoded)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("utf-8"), iterations)
    return hmac.compare_digest(digest, expected)


def session_fingerprint(encoded: str, key: str) -> str:
    """What an admin session stores instead of ``True``: a keyed digest of the password hash.

    A session is valid only while ``ADMIN_PASSWORD_HASH`` is the one it logged in with,
    so changing the password ends every session. Keyed (with ``SESSION_SECRET``) so the
    cookie, which is signed but readable, says nothing about the hash.
    """
    return hmac.new(key.encode("utf-8"), encoded.encode("utf-8"), hashlib.sha256).hexdigest()
