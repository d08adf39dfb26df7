"""Password hashes: ``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`` (stdlib hashlib only).

The format is Django's, so a hash can be produced by other tools too. Verification compares in
constant time; a malformed hash verifies as False (never raises), and :func:`dummy_verify`
spends the same time for an unknown user as for a wrong password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import functools
import secrets

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 600_000          # OWASP 2023 for PBKDF2-HMAC-SHA256
_SALT_BYTES = 16


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    if not password:
        raise ValueError("the password must not be empty")
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{ALGORITHM}${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _parse(encoded: str) -> tuple[int, bytes, bytes] | None:
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM or not parts[1].isdigit():
        return None
    try:
        return int(parts[1]), base64.b64decode(parts[2], validate=True), base64.b64decode(parts[3], validate=True)
    except ValueError:
        return None


def verify_password(password: str, encoded: str) -> bool:
    parsed = _parse(encoded)
    if parsed is None:
        return False
    iterations, salt, expected = parsed
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(digest, expected)


@functools.cache
def _dummy(iterations: int) -> str:
    return hash_password("not a password of anyone", iterations=iterations, salt=b"hotline-dummy-salt")


def dummy_verify(password: str, iterations: int = ITERATIONS) -> bool:
    """As slow as a real check: an unknown user name must not answer faster than a known one."""
    verify_password(password, _dummy(iterations))
    return False
