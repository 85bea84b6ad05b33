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
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hotline.services.phone_accounts import phone_account

TOKEN_PREFIX = "hl_"


class Passwords:
    """Hashing and checking passwords with one set of argon2 parameters.

    An object rather than module functions so that tests can use cheap parameters: the
    production ones cost tens of milliseconds per hash by design.
    """

    def __init__(self, hasher: PasswordHasher | None = None, *, sip_realm: str = "hotline") -> None:
        self._hasher = hasher or PasswordHasher()
        #: The node's SIP realm: phone passwords are kept as digest HA1s, which include it.
        self.sip_realm = sip_realm
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

    def phone_account(self, extension: str, password: str) -> dict[str, Any]:
        """An agent's phone account columns (HA1s in this node's realm), not the password:
        a digest registrar needs H(user:realm:password), which argon2 cannot give."""
        return phone_account(extension, self.sip_realm, password)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginRateLimiter:
    """At most ``limit`` failed logins per (username, client) in a sliding ``window``, and
    at most ``limit * CLIENT_FACTOR`` per client across all usernames.

    The pair key means an attacker cannot lock a user out from everywhere; the client key
    stops one address from spraying passwords over many usernames. State is in memory, per
    node (a cluster would keep it in Redis with the live state), swept when it grows so
    that a flood of usernames cannot exhaust memory.
    """

    CLIENT_FACTOR = 20
    SWEEP_ABOVE = 10_000

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._sweep_at = self.SWEEP_ABOVE
        self.rejected = 0

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.get(key, deque())
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures

    def _keys(self, username: str, client: str) -> list[tuple[tuple[str, str], int]]:
        # "\0" cannot be a username (validation refuses control characters).
        return [
            ((username.lower(), client), self.limit),
            (("\0", client), self.limit * self.CLIENT_FACTOR),
        ]

    def retry_after(self, username: str, client: str) -> float | None:
        """Seconds until another attempt is allowed, or ``None`` if allowed now."""
        waits = []
        for key, limit in self._keys(username, client):
            failures = self._recent(key)
            if len(failures) >= limit:
                waits.append(failures[len(failures) - limit] + self.window - self.clock())
        if not waits:
            return None
        self.rejected += 1
        return max(max(waits), 0.0)

    def failed(self, username: str, client: str) -> None:
        now = self.clock()
        for key, _limit in self._keys(username, client):
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) >= self._sweep_at:
            for key in list(self._failures):
                self._recent(key)
            # Amortised: the next sweep waits until the live state has doubled.
            self._sweep_at = max(self.SWEEP_ABOVE, 2 * len(self._failures))

    def succeeded(self, username: str, client: str) -> None:
        self._failures.pop(self._keys(username, client)[0][0], None)

    def tracked(self) -> int:
        return len(self._failures)
