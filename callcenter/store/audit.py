"""The audit log (append-only): logins, recording access, purges, reviews, ..."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

_INSERT = """INSERT INTO audit_log (actor, action, object, remote, details)
VALUES ($1, $2, $3, $4, $5) RETURNING id, at"""


@dataclass(frozen=True)
class AuditEntry:
    """One audited action; ``at`` is UTC."""

    id: int
    at: datetime
    actor: str
    action: str
    object: str = ""
    remote: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class AuditRepository:
    """Appends to and reads the audit log; never updates or deletes."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record(self, actor: str, action: str, object: str = "", *, remote: str = "",
                     details: dict[str, Any] | None = None,
                     conn: asyncpg.Connection | None = None) -> AuditEntry:
        """Append one entry (in ``conn``'s transaction when given) and return it."""
        args = (actor, action, object, remote, details or {})
        row = await (conn or self.pool).fetchrow(_INSERT, *args)
        assert row is not None
        return AuditEntry(row["id"], row["at"], *args[:4], details=args[4])

    async def entries(self, *, object: str | None = None, actor: str | None = None,
                      action: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The latest entries, newest first, filtered by object, actor and action."""
        rows = await self.pool.fetch(
            "SELECT * FROM audit_log WHERE ($1::text IS NULL OR object = $1)"
            " AND ($2::text IS NULL OR actor = $2) AND ($3::text IS NULL OR action = $3)"
            " ORDER BY at DESC, id DESC LIMIT $4", object, actor, action, limit)
        return [AuditEntry(r["id"], r["at"], r["actor"], r["action"], r["object"], r["remote"],
                           r["details"]) for r in rows]
