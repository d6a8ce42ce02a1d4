"""Sign-in throttling: every attempt is counted before its password is verified.

Counters live in PostgreSQL (:mod:`callcenter.store.logins`), per username and
per client address, so parallel attempts cannot exceed the limits and a restart
does not reset them; a ceiling on verifications in flight keeps a burst of
sign-ins from taking every CPU. Reaching a limit is audited (``login_locked``,
``address_locked``); admins see the locks on /users and may lift them.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from callcenter.store.audit import AuditRepository
from callcenter.store.logins import Lock, LoginRepository, Scope

T = TypeVar("T")

DEFAULT_ADDRESS_LIMIT = 20
"""Failed (or unfinished) sign-ins from one address per window; a whole centre behind one
NAT address shares it, and a right password gives its attempt back."""
DEFAULT_MAX_VERIFYING = 4
"""Password verifications (argon2: about 64 MiB and tens of ms each) in flight at once."""
BUSY_RETRY_S = 2


class Refused(Exception):
    """The attempt was not verified: ``reason`` user | address (HTTP 429) or busy (503);
    ``retry_after`` in whole seconds."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason, retry_after)
        self.reason, self.retry_after = reason, retry_after

    @property
    def status(self) -> int:
        return 503 if self.reason == "busy" else 429


def address_key(remote: str) -> str:
    """The counter of a client address: IPv4 as is, IPv6 by its /64 (one subscriber's
    block), anything else as given."""
    try:
        ip = ipaddress.ip_address(remote)
    except ValueError:
        return remote
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network((ip, 64), strict=False))
    return str(ip)


def minutes(seconds: float) -> int:
    """Whole minutes to tell a user to wait (at least 1)."""
    return max(1, math.ceil(seconds / 60))


class LoginThrottle:
    """Admits, counts and audits sign-in attempts (see the module's docstring)."""

    def __init__(self, logins: LoginRepository, audit: AuditRepository, *,
                 max_verifying: int = DEFAULT_MAX_VERIFYING) -> None:
        self.logins = logins
        self.audit = audit
        self.user_limit, self.address_limit = logins.limits
        self.max_verifying = max_verifying
        self._verifying = 0  # a counter, not a semaphore: nobody waits for a turn

    async def check(self, username: str, remote: str,
                    verify: Callable[[], Awaitable[T | None]]) -> T | None:
        """``verify()`` (the password check: a user, or None when wrong) if ``username``
        may try from ``remote`` now, counting the attempt first; :class:`Refused` if not."""
        address = address_key(remote)
        admission = await self.logins.admit(username, address)
        if not admission.admitted:
            assert admission.lock is not None
            wait = (admission.lock.until - datetime.now(UTC)).total_seconds()
            raise Refused(admission.lock.scope, max(1, math.ceil(wait)))
        if self._verifying >= self.max_verifying:
            await self.logins.give_back(username, address)
            raise Refused("busy", BUSY_RETRY_S)
        self._verifying += 1
        try:
            result = await verify()
        finally:
            self._verifying -= 1
        if result is not None:
            await self.logins.succeeded(username, address)
            return result
        if admission.user_attempts == self.user_limit:
            await self._locked("user", username, username, remote)
        if admission.address_attempts == self.address_limit:
            await self._locked("address", address, username, remote)
        return None

    async def _locked(self, scope: Scope, key: str, username: str, remote: str) -> None:
        lock = await self.logins.lock(scope, key)
        if lock is not None:  # not when a right password came in meanwhile
            await self.audit.record(username, f"{'login' if scope == 'user' else scope}_locked",
                                    f"{scope}:{key}", remote=remote,
                                    details={"until": lock.until.isoformat(),
                                             "attempts": lock.attempts})

    async def locks(self) -> list[Lock]:
        """The users and addresses locked now."""
        return await self.logins.locks()

    async def unlock(self, scope: Scope, key: str) -> bool:
        """Lift the lock of a user or an address (the caller audits who did)."""
        return await self.logins.unlock(scope, key)
