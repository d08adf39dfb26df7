"""HMAC-signed expiring tokens: ``<payload b64url>.<signature b64url>``.

The payload is compact JSON ``{"u": name, "r": role, "s": seat, "iat", "exp", "jti"}``, signed
with HMAC-SHA256 under a key kept in the state directory (mode 0600), so tokens survive a
controller restart. A token is checked for its signature (constant time) before its payload is
even parsed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Claims:
    user: str
    role: str
    seat: str | None
    issued_at: int
    expires: int
    token_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_key(path: Path) -> bytes:
    """The signing key, created on first use (32 random bytes, hex, file mode 0600)."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        text = ""
    if len(text) >= 64:
        return bytes.fromhex(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    os.chmod(path, 0o600)
    return bytes.fromhex(value)


class TokenSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the token key must have at least 32 bytes")
        self._key = key

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, user: str, role: str, seat: str | None, *, now: int, ttl: int) -> tuple[str, Claims]:
        claims = Claims(user, role, seat, now, now + ttl, secrets.token_hex(8))
        body = {"u": user, "r": role, "s": seat, "iat": now, "exp": now + ttl, "jti": claims.token_id}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._sign(payload)}", claims

    def verify(self, token: str, *, now: int) -> Claims | None:
        """The token's claims, or None when it is malformed, tampered with or expired."""
        payload, dot, signature = token.partition(".")
        if not dot or not payload.isascii() or not signature.isascii():
            return None
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            body = json.loads(_unb64(payload))
            claims = Claims(str(body["u"]), str(body["r"]), body["s"], int(body["iat"]), int(body["exp"]),
                            str(body["jti"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        return claims if now < claims.expires else None
