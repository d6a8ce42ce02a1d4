"""Journal gaps: stretches of a server's journal that were not kept, and their repository."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from callcenter.store.arrays import columns


@dataclass(frozen=True)
class JournalGap:
    """``items`` of ``what`` (journal entries, calls or agent states) of ``server`` not kept.

    For journal entries, ``first_seq``..``last_seq`` is the exact sequence range lost
    (entries of the range that were kept are still in the journal).
    """

    server: str
    kind: str
    what: str
    items: int
    reason: str
    noted_at: datetime
    first_seq: int | None = None
    last_seq: int | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-safe form (for ``/readyz``)."""
        return {"server": self.server, "kind": self.kind, "what": self.what,
                "items": self.items, "first_seq": self.first_seq, "last_seq": self.last_seq,
                "reason": self.reason, "noted_at": self.noted_at.isoformat()}


_INSERT = """
INSERT INTO journal_gaps (server, kind, first_seq, last_seq, items, what, reason, noted_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::text[],
                     $7::text[], $8::timestamptz[])
ON CONFLICT DO NOTHING"""


class GapRepository:
    """Record and list journal gaps."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record(self, gaps: Sequence[JournalGap],
                     conn: asyncpg.Connection | None = None) -> None:
        """Store ``gaps`` (idempotent: a gap recorded twice is kept once)."""
        if not gaps:
            return
        rows = ((g.server, g.kind, g.first_seq, g.last_seq, g.items, g.what, g.reason,
                 g.noted_at) for g in gaps)
        await (conn or self.pool).execute(_INSERT, *columns(rows, 8))

    async def list(self, server: str | None = None, limit: int = 100) -> list[JournalGap]:
        """The newest gaps first (of ``server``, or of every server)."""
        rows = await self.pool.fetch(
            "SELECT server, kind, what, items, reason, noted_at, first_seq, last_seq"
            " FROM journal_gaps WHERE $1::text IS NULL OR server = $1"
            " ORDER BY noted_at DESC, id DESC LIMIT $2", server, limit)
        return [JournalGap(**dict(r)) for r in rows]
