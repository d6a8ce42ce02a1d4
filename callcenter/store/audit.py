"""The audit log (append-only): logins, recording access, purges, reviews, ..."""

from __future__ import annotations

import json
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

    @property
    def readable_details(self) -> list[tuple[str, str]]:
        """``details`` as (key, text) pairs sorted by key, for people: text as written
        (Chinese stays Chinese), lists joined with ', ', nested values as compact JSON."""
        return [(key, readable(value)) for key, value in sorted(self.details.items())]


def readable(value: Any) -> str:
    """One audit detail as text: strings unquoted, lists joined, other values as JSON
    without ``\\uXXXX`` escapes."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


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
