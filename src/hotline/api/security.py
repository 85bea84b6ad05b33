"""Passwords, API tokens and login throttling.

Passwords are argon2id hashes (argon2-cffi's defaults, re-hashed on login when the
parameters change). API tokens are 256-bit random strings shown once; only their SHA-256
is stored, which is enough for a secret with that much entropy and lets a token be looked
up by its hash in one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "hl_"


class Passwords:
    """Hashing and checking passwords with one set of argon2 parameters.

    An object rather than module functions so that tests can use cheap parameters: the
    production ones cost tens of milliseconds per hash by design.
    """

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # Verified when the user does not exist, so that a wrong username costs as much
        # time as a wrong password and usernames cannot be probed by timing.
        self._dummy_hash = self._hasher.hash("not a real password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            matched = self._hasher.verify(password_hash or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginRateLimiter:
    """At most ``limit`` failed logins per key in a sliding ``window`` of seconds.

    Keys are (username, client address): one attacker cannot lock a user out from
    everywhere, and one client cannot spray many passwords at one user. State is in
    memory, per node; a cluster would move it to Redis with the live state.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self.rejected = 0

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.get(key, deque())
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures

    def retry_after(self, key: tuple[str, str]) -> float | None:
        """Seconds until another attempt is allowed, or ``None`` if allowed now."""
        failures = self._recent(key)
        if len(failures) < self.limit:
            return None
        self.rejected += 1
        return max(failures[0] + self.window - self.clock(), 0.0)

    def failed(self, key: tuple[str, str]) -> None:
        self._failures.setdefault(key, deque()).append(self.clock())

    def succeeded(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)
