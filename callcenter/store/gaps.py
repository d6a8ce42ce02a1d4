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


@dataclass(frozen=True)
class Outage:
    """A stretch of ``server``'s events the daemon did not receive.

    ``kind``: ``link_down`` (the AMI link dropped) or ``daemon_down`` (the daemon was not
    running). ``lost_at`` is when the last entry before it was received, ``resumed_at``
    when the link came back (the daemon's clock); ``pbx_started_at`` is set when the PBX
    restarted within it. ``filled_at`` / ``filled_calls`` / ``fill_note``: the calls of the
    outage completed from CEL, or why not yet.
    """

    server: str
    kind: str
    lost_at: datetime
    resumed_at: datetime
    pbx_started_at: datetime | None = None
    filled_at: datetime | None = None
    filled_calls: int | None = None
    fill_note: str | None = None

    @property
    def seconds(self) -> float:
        """How long no event was received."""
        return (self.resumed_at - self.lost_at).total_seconds()

    def as_dict(self) -> dict[str, object]:
        """JSON-safe form (for ``/readyz``)."""
        return {"server": self.server, "kind": self.kind, "lost_at": self.lost_at.isoformat(),
                "resumed_at": self.resumed_at.isoformat(), "seconds": round(self.seconds, 3),
                "pbx_restarted": self.pbx_started_at is not None,
                "filled_at": self.filled_at.isoformat() if self.filled_at else None,
                "filled_calls": self.filled_calls, "fill_note": self.fill_note}


_OUTAGE_COLUMNS = ("server, kind, lost_at, resumed_at, pbx_started_at, filled_at, filled_calls,"
                   " fill_note")


class OutageRepository:
    """Record outages (as ``journal_gaps`` rows with a time window) and their filling."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record(self, outage: Outage) -> None:
        """Store ``outage`` (idempotent per server, kind and ``lost_at``)."""
        await self.pool.execute(
            "INSERT INTO journal_gaps (server, kind, items, what, reason, noted_at, lost_at,"
            " resumed_at, pbx_started_at) VALUES ($1, $2, 0, 'events', $3, $5, $4, $5, $6)"
            " ON CONFLICT (server, kind, lost_at) WHERE lost_at IS NOT NULL DO NOTHING",
            outage.server, outage.kind, _reason(outage), outage.lost_at, outage.resumed_at,
            outage.pbx_started_at)

    async def unfilled(self) -> list[Outage]:
        """Outages not filled yet, oldest first."""
        rows = await self.pool.fetch(
            f"SELECT {_OUTAGE_COLUMNS} FROM journal_gaps WHERE lost_at IS NOT NULL"
            " AND filled_at IS NULL ORDER BY lost_at")
        return [Outage(**dict(r)) for r in rows]

    async def of_server(self, server: str) -> list[Outage]:
        """Every outage of ``server``, oldest first (for ``rebuild``)."""
        rows = await self.pool.fetch(
            f"SELECT {_OUTAGE_COLUMNS} FROM journal_gaps WHERE lost_at IS NOT NULL"
            " AND server = $1 ORDER BY lost_at", server)
        return [Outage(**dict(r)) for r in rows]

    async def recent(self, limit: int = 20) -> list[Outage]:
        """The newest outages of every server."""
        rows = await self.pool.fetch(
            f"SELECT {_OUTAGE_COLUMNS} FROM journal_gaps WHERE lost_at IS NOT NULL"
            " ORDER BY lost_at DESC LIMIT $1", limit)
        return [Outage(**dict(r)) for r in rows]

    async def note(self, outage: Outage, note: str, *, filled_at: datetime | None = None,
                   calls: int | None = None) -> None:
        """Say how filling ``outage`` went (``filled_at``: done, with ``calls`` completed)."""
        await self.pool.execute(
            "UPDATE journal_gaps SET fill_note = $4, filled_at = $5, filled_calls = $6,"
            " pbx_started_at = coalesce($7, pbx_started_at)"
            " WHERE server = $1 AND kind = $2 AND lost_at = $3",
            outage.server, outage.kind, outage.lost_at, note, filled_at, calls,
            outage.pbx_started_at)


def _reason(outage: Outage) -> str:
    what = {"link_down": "the AMI link was down",
            "daemon_down": "the daemon was not running",
            "takeover": "another instance took the PBX over"}.get(outage.kind, outage.kind)
    return what + (" and the PBX restarted" if outage.pbx_started_at else "")
