"""Sign-in attempts counted in PostgreSQL (``login_throttle``), per user and per address.

An attempt is counted *before* its password is verified, in one statement that
adds it to both counters only when neither is at its limit; so any number of
concurrent attempts admits at most the limit, and a restart forgets nothing.
Windows are fixed: a counter's window starts with its first attempt and lasts
``window_s``; a counter at its limit within its window is a *lock* until the
window ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

Scope = Literal["user", "address"]

# Parameters shared by the statements: $1 window, $2 user limit, $3 address limit.
_LIVE = "t.window_start > now() - $1::interval"
_LIMIT = "CASE t.scope WHEN 'user' THEN $2::int ELSE $3::int END"

_ADMIT = f"""INSERT INTO login_throttle AS t (scope, key, attempts, window_start)
VALUES ('user', $4, 1, now()), ('address', $5, 1, now())
ON CONFLICT (scope, key) DO UPDATE
SET attempts = CASE WHEN {_LIVE} THEN t.attempts + 1 ELSE 1 END,
    window_start = CASE WHEN {_LIVE} THEN t.window_start ELSE now() END
WHERE NOT {_LIVE} OR t.attempts < {_LIMIT}
RETURNING t.scope, t.attempts"""
"""Count one attempt for user $4 from address $5; a row comes back for each counter that
had room (both: admitted)."""

_LOCKS = f"""SELECT t.scope, t.key, t.attempts, t.window_start + $1::interval AS until
FROM login_throttle t WHERE {_LIVE} AND t.attempts >= {_LIMIT}"""

_OF = " AND (t.scope, t.key) IN (('user', $4), ('address', $5))"

_GIVE_BACK = """UPDATE login_throttle SET attempts = attempts - 1
WHERE attempts > 0 AND ((scope = 'user' AND key = $1) OR (scope = 'address' AND key = $2))"""


@dataclass(frozen=True)
class Admission:
    """The answer to one attempt. Admitted: ``user_attempts`` and ``address_attempts`` are
    its numbers in their windows. Refused: ``lock`` is the lock that refused it."""

    admitted: bool
    user_attempts: int = 0
    address_attempts: int = 0
    lock: Lock | None = None


@dataclass(frozen=True)
class Lock:
    """A user or an address whose counter is at its limit until ``until`` (UTC)."""

    scope: Scope
    key: str
    attempts: int
    until: datetime


class _Refused(Exception):
    def __init__(self, admission: Admission) -> None:
        self.admission = admission


def _lock(row: asyncpg.Record) -> Lock:
    return Lock(row["scope"], row["key"], row["attempts"], row["until"])


class LoginRepository:
    """The sign-in counters: ``user_limit`` attempts per username and ``address_limit`` per
    client address within ``window_s`` seconds."""

    def __init__(self, pool: asyncpg.Pool, *, window_s: float, user_limit: int,
                 address_limit: int) -> None:
        self.pool = pool
        self._limits = (timedelta(seconds=window_s), user_limit, address_limit)

    @property
    def limits(self) -> tuple[int, int]:
        """The (user, address) limits."""
        return self._limits[1], self._limits[2]

    async def admit(self, username: str, address: str) -> Admission:
        """Count an attempt of ``username`` from ``address`` unless either is locked.

        A refused attempt is counted nowhere (a locked user does not use up the
        address's attempts, nor the other way round).
        """
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(_ADMIT, *self._limits, username, address)
                counted = {r["scope"]: r["attempts"] for r in rows}
                if len(counted) < 2:
                    row = await conn.fetchrow(_LOCKS + _OF + " ORDER BY until DESC LIMIT 1",
                                              *self._limits, username, address)
                    assert row is not None  # the counter that had no room is at its limit
                    raise _Refused(Admission(False, lock=_lock(row)))
        except _Refused as refused:  # rolled back: nothing counted
            return refused.admission
        return Admission(True, counted["user"], counted["address"])

    async def give_back(self, username: str, address: str) -> None:
        """Uncount an admitted attempt that was not verified after all."""
        await self.pool.execute(_GIVE_BACK, username, address)

    async def succeeded(self, username: str, address: str) -> None:
        """A right password: the user's counter starts afresh, the address gets its attempt
        back, and counters whose window has ended are deleted."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_GIVE_BACK, None, address)  # NULL: no user row matches
            await conn.execute("DELETE FROM login_throttle WHERE (scope = 'user' AND key = $1)"
                               " OR window_start <= now() - $2::interval",
                               username, self._limits[0])

    async def locks(self) -> list[Lock]:
        """Every user and address locked now, by scope and key."""
        return [_lock(r) for r in await self.pool.fetch(
            _LOCKS + " ORDER BY t.scope, t.key", *self._limits)]

    async def lock(self, scope: Scope, key: str) -> Lock | None:
        """The lock on one user or address, or None."""
        row = await self.pool.fetchrow(_LOCKS + " AND t.scope = $4 AND t.key = $5",
                                       *self._limits, scope, key)
        return _lock(row) if row else None

    async def unlock(self, scope: Scope, key: str) -> bool:
        """Forget the counter of a user or an address; False when there was none."""
        status = await self.pool.execute(
            "DELETE FROM login_throttle WHERE scope = $1 AND key = $2", scope, key)
        return not status.endswith(" 0")
