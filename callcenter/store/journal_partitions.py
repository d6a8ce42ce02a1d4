"""The journal's monthly partitions: creating months ahead, listing, and retention.

Each UTC month of ``seq`` (arrival time in µs) is one partition,
``journal_yYYYYmMM``; ``journal_default`` takes entries of a month not created yet
(migration 019). Retention drops (or detaches) whole months older than a cutoff,
never one holding an entry of a call still open, and records each in
``journal_pruned``: the journal's *horizon*, below which :func:`rebuild` leaves
call records as they are.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal, NamedTuple

import asyncpg
import structlog

log = structlog.get_logger(__name__)

PruneAction = Literal["drop", "detach"]
_BOUNDS = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")


def seq_of(at: datetime) -> int:
    """The journal seq of the instant ``at`` (µs since 1970 UTC, as :class:`SeqClock`)."""
    return round(at.timestamp() * 1_000_000)


def time_of(seq: int) -> datetime:
    """The instant (UTC) a journal seq stands for."""
    return datetime.fromtimestamp(seq / 1_000_000, UTC)


def month_start(at: datetime, months_back: int = 0) -> datetime:
    """The first instant of the UTC month ``months_back`` months before the one of ``at``."""
    index = at.astimezone(UTC).year * 12 + at.astimezone(UTC).month - 1 - months_back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


class Partition(NamedTuple):
    """A month of the journal: seq in [``from_seq``, ``until_seq``)."""

    name: str
    from_seq: int
    until_seq: int


class PruneResult(NamedTuple):
    """What a prune did (or would do): months pruned, and why the cutoff was held back."""

    pruned: list[Partition]
    cutoff_seq: int
    held_by: list[str]
    """Linkedids of open calls whose entries kept the cutoff earlier (a few)."""


_LIST = """SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'journal'::regclass"""

_OPEN_FLOOR = """SELECT c.linkedid, min(j.seq) AS first_seq
FROM calls c JOIN journal j ON j.server = c.server AND j.linkedid = c.linkedid
WHERE c.ended_at IS NULL AND j.seq < $1
GROUP BY c.linkedid ORDER BY first_seq LIMIT 5"""


class JournalPartitions:
    """Months of the journal: create ahead, list, prune."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add_months(self, now: datetime, ahead: int = 1) -> list[str]:
        """Make sure the partitions of ``now``'s month and the ``ahead`` next exist (rows
        the default partition took for them are moved in); their names."""
        months = [month_start(now, -k) for k in range(ahead + 1)]
        async with self.pool.acquire() as conn:
            return [await conn.fetchval("SELECT journal_add_month($1)", m) for m in months]

    async def months(self) -> list[Partition]:
        """The monthly partitions in order (the default partition is not listed)."""
        out = []
        for r in await self.pool.fetch(_LIST):
            m = _BOUNDS.search(r["bound"])
            if m is not None:
                out.append(Partition(r["name"], int(m[1]), int(m[2])))
        return sorted(out, key=lambda p: p.from_seq)

    async def horizon(self) -> int:
        """The seq the journal is kept from (0: nothing was ever pruned)."""
        value = await self.pool.fetchval("SELECT coalesce(max(until_seq), 0) FROM journal_pruned")
        return int(value)

    async def prune(self, now: datetime, keep_months: int, action: PruneAction = "drop",
                    dry_run: bool = False) -> PruneResult:
        """Drop (or detach) the months before the ``keep_months`` full months preceding
        ``now``'s, and delete the default partition's entries older than that; a month
        holding an entry of a call still open (``calls.ended_at`` NULL) is kept, with every
        later one. ``journal_gaps`` and call records are not touched."""
        cutoff = seq_of(month_start(now, keep_months))
        held = await self.pool.fetch(_OPEN_FLOOR, cutoff)
        if held:
            cutoff = min(r["first_seq"] for r in held)
        pruned = [p for p in await self.months() if p.until_seq <= cutoff]
        if not dry_run:
            await self._prune(pruned, cutoff, action)
        return PruneResult(pruned, cutoff, [r["linkedid"] for r in held])

    async def _prune(self, months: Sequence[Partition], cutoff: int,
                     action: PruneAction) -> None:
        async with self.pool.acquire() as conn:
            for p in months:
                async with conn.transaction():
                    await conn.execute(
                        f'DROP TABLE "{p.name}"' if action == "drop"
                        else f'ALTER TABLE journal DETACH PARTITION "{p.name}"')
                    await conn.execute(
                        "INSERT INTO journal_pruned (partition, from_seq, until_seq, action,"
                        " pruned_at) VALUES ($1, $2, $3, $4, now())",
                        p.name, p.from_seq, p.until_seq, action)
            async with conn.transaction():
                first = await conn.fetchval(
                    "WITH gone AS (DELETE FROM journal_default WHERE seq < $1 RETURNING seq)"
                    " SELECT min(seq) FROM gone", cutoff)
                if first is not None:
                    await conn.execute(
                        "INSERT INTO journal_pruned (partition, from_seq, until_seq, action,"
                        " pruned_at) VALUES ('journal_default@' || $2::text, $1, $2, 'drop',"
                        " now())", first, cutoff)


async def maintain_forever(pool: asyncpg.Pool, keep_months: int, action: PruneAction,
                           every_s: float = 3600.0) -> None:
    """The daemon's journal maintenance, every ``every_s``: this month's and next month's
    partitions exist ahead of their first entry; with ``keep_months`` > 0, older months
    are pruned (:meth:`JournalPartitions.prune`). A database error is logged and retried
    at the next round (inserts never depend on it: the default partition takes them)."""
    months = JournalPartitions(pool)
    while True:
        now = datetime.now(UTC)
        try:
            await months.add_months(now)
            if keep_months > 0:
                done = await months.prune(now, keep_months, action)
                if done.pruned or done.held_by:
                    log.info("journal_pruned", months=[p.name for p in done.pruned],
                             action=action, held_by_open_calls=done.held_by)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("journal_maintenance_failed", error=str(exc))
        await asyncio.sleep(every_s)
