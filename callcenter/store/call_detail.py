"""Read model of one call for the supervisors' call page: the record and all around it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

_OF_CALL = "WHERE server = $1 AND linkedid = $2"
_PARTS = {
    "ring_attempts": f"SELECT * FROM ring_attempts {_OF_CALL} ORDER BY idx",
    "transfers": f"SELECT * FROM transfers {_OF_CALL} ORDER BY idx",
    "violations": f"SELECT * FROM violations {_OF_CALL} ORDER BY idx",
    "notes": f"SELECT * FROM call_notes {_OF_CALL} ORDER BY created_at, id",
    "reviews": "SELECT id, inspector, agent, status, total, grade, fatal, comment,"
               " submitted_at, response, resolution"
               f" FROM qa_reviews {_OF_CALL} ORDER BY created_at, id",
}


@dataclass
class CallDetail:
    """A call row (every column, as stored: NULL stays None) and its related rows."""

    call: dict[str, Any]
    ring_attempts: list[dict[str, Any]] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)


async def call_detail(pool: asyncpg.Pool, server: str, linkedid: str) -> CallDetail | None:
    """The call ``server``/``linkedid`` with its ring attempts, transfers, violations,
    notes and QA reviews; None when there is no such call."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(f"SELECT * FROM calls {_OF_CALL}", server, linkedid)
        if row is None:
            return None
        detail = CallDetail(dict(row))
        for name, sql in _PARTS.items():
            setattr(detail, name, [dict(r) for r in await conn.fetch(sql, server, linkedid)])
    return detail
