"""Login, tokens and sessions for the API and the wallboard.

No users in the site config: :attr:`AuthService.enabled` is False and the API stays open (it
binds to loopback by default). With users, every ``/api/*`` route but ``/api/login`` needs a
token (see :mod:`hotline.auth.middleware`). A token names its user; it is accepted only while
that user still exists with the same role and seat, so editing the site config and restarting
takes rights away at once. Logging out revokes the token (kept in the state directory until it
would have expired, so a restart does not bring it back).

A login is throttled (:mod:`hotline.auth.throttle`: lockout per user name and per address) before
its password is hashed, and the hash runs in a pool of its own (:mod:`hotline.auth.hashpool`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from hotline.auth.hashpool import HashPool
from hotline.auth.passwords import dummy_verify, verify_password
from hotline.auth.throttle import LoginThrottle
from hotline.auth.tokens import TokenSigner, load_key
from hotline.config.site import User
from hotline.exceptions import AuthRequired, BadCredentials
from hotline.principal import Principal

log = logging.getLogger(__name__)

TOKEN_TTL_S = 12 * 3600      # one shift
KEY_FILE = "auth.key"
REVOKED_FILE = "auth.revoked"


class _Revoked:
    """Token ids logged out before they expired: {jti: exp}, a small JSON file (0600)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._ids: dict[str, int] = {}
        if path is not None and path.exists():
            try:
                self._ids = {str(k): int(v) for k, v in json.loads(path.read_text()).items()}
            except (OSError, ValueError, AttributeError):
                log.warning("unreadable %s: starting with no revoked tokens", path)

    def __contains__(self, token_id: str) -> bool:
        return token_id in self._ids

    def add(self, token_id: str, expires: int, now: int) -> None:
        self._ids = {k: v for k, v in self._ids.items() if v > now}
        self._ids[token_id] = expires
        if self._path is not None:
            tmp = self._path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(self._ids, fh)
            tmp.replace(self._path)


class AuthService:
    def __init__(self, users: Sequence[User], key: bytes, *, revoked_file: Path | None = None,
                 ttl: int = TOKEN_TTL_S, clock: Callable[[], float] = time.time,
                 throttle: LoginThrottle | None = None, hashes: HashPool | None = None) -> None:
        self._users = {u.name: u for u in users}
        self.throttle = throttle or LoginThrottle()
        self.hashes = hashes or HashPool()
        self._signer = TokenSigner(key)
        self._revoked = _Revoked(revoked_file)
        self._ttl = ttl
        self._clock = clock

    @classmethod
    def for_state_dir(cls, users: Sequence[User], state_dir: Path) -> "AuthService":
        return cls(users, load_key(state_dir / KEY_FILE), revoked_file=state_dir / REVOKED_FILE)

    @property
    def enabled(self) -> bool:
        return bool(self._users)

    @property
    def ttl(self) -> int:
        return self._ttl

    def _now(self) -> int:
        return int(self._clock())

    def check_password(self, name: str, password: str) -> User:
        """The user, or ``bad-credentials``: same message and about the same time for an unknown
        user as for a wrong password."""
        user = self._users.get(name)
        ok = verify_password(password, user.password_hash) if user is not None else dummy_verify(password)
        if user is None or not ok:
            raise BadCredentials()
        return user

    async def login(self, name: str, password: str, address: str | None = None) -> tuple[str, Principal]:
        """A token, or ``too-many-attempts`` (locked out: no hash is computed), ``login-busy``
        (the hash pool is full) or ``bad-credentials`` (its ``locked`` names what this failure
        locked out: ``user``, ``address``)."""
        self.throttle.check(name, address)
        try:
            user = await self.hashes.run(self.check_password, name, password)
        except BadCredentials as exc:
            exc.locked = self.throttle.failed(name, address)
            raise
        self.throttle.succeeded(name)
        token, claims = self._signer.issue(user.name, user.role.value, user.seat, now=self._now(), ttl=self._ttl)
        return token, Principal(user.name, user.role, user.seat, claims.token_id, claims.expires, user.unit)

    def authenticate(self, token: str | None) -> Principal:
        """The principal a token proves, or ``auth-required``."""
        if not token:
            raise AuthRequired("no token: log in with POST /api/login")
        claims = self._signer.verify(token, now=self._now())
        if claims is None or claims.token_id in self._revoked:
            raise AuthRequired("the token is invalid or expired: log in again")
        user = self._users.get(claims.user)
        if user is None or user.role.value != claims.role or user.seat != claims.seat:
            raise AuthRequired("the token's user changed: log in again")
        return Principal(user.name, user.role, user.seat, claims.token_id, claims.expires, user.unit)

    def close(self) -> None:
        self.hashes.close()

    def logout(self, principal: Principal) -> None:
        self._revoked.add(principal.token_id, principal.expires, self._now())
