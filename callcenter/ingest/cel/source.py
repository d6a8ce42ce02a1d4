"""Reading the CEL of recorded outages (``cel_pgsql``'s table, by server)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from callcenter.ingest.cel.merge import OutageCel
from callcenter.ingest.cel.rows import CelRow
from callcenter.store.cel import CelRepository
from callcenter.store.gaps import Outage, OutageRepository
from callcenter.store.journal import JournalRepository

log = structlog.get_logger(__name__)

CLOCK_SLACK = timedelta(seconds=1)
"""CEL rows are looked for this far around an outage's window in the PBX's clock."""


@dataclass(frozen=True)
class PbxWindow:
    """An outage in the PBX's clock: from the last event journaled before it to the first
    one after (CEL rows and event Timestamps are both the PBX's clock; ours may differ)."""

    since: datetime
    until: datetime


QUIET_AFTER = timedelta(minutes=5)
"""With no event since the link came back for this long, the PBX is quiet: the outage
ends at the link's return by our clock."""


async def pbx_window(journal: JournalRepository, outage: Outage,
                     now: datetime | None = None) -> PbxWindow | None:
    """``outage`` in the PBX's clock, as far as the journal's events tell; None while no
    event after it has been journaled (unless the PBX stayed quiet: :data:`QUIET_AFTER`)."""
    before, after = await journal.event_times_around(outage.server, outage.lost_at,
                                                     outage.resumed_at)
    if after is None:
        if (now or datetime.now(UTC)) - outage.resumed_at < QUIET_AFTER:
            return None
        after = outage.resumed_at
    return PbxWindow(before or outage.lost_at, after)


async def outage_cel(cel: CelRepository, journal: JournalRepository, outage: Outage,
                     window: PbxWindow) -> tuple[OutageCel, list[str]]:
    """The CEL of ``outage``: every row of each call that has one in ``window``, and those
    calls."""
    lids = await cel.linkedids_between(window.since - CLOCK_SLACK, window.until + CLOCK_SLACK)
    rows = [CelRow.from_mapping(r) for r in await cel.rows_of(lids)] if lids else []
    shutdown_at = None
    if outage.pbx_started_at is not None:
        shutdown_at = await cel.last_before(outage.pbx_started_at)
    seen = await journal.first_events_after(outage.server, outage.resumed_at, lids)
    return OutageCel(outage.resumed_at, window.since, window.until, rows, shutdown_at,
                     seen), lids


async def outages_with_cel(pool: asyncpg.Pool, server: str, table: str) -> list[OutageCel]:
    """Every recorded outage of ``server`` with its CEL rows from ``table`` ("" or a missing
    table: none, and the outages' calls stay as the journal alone gives them)."""
    if not table:
        return []
    cel, journal = CelRepository(pool, table), JournalRepository(pool)
    out: list[OutageCel] = []
    try:
        for outage in await OutageRepository(pool).of_server(server):
            window = await pbx_window(journal, outage, outage.resumed_at + QUIET_AFTER)
            if window is not None:
                out.append((await outage_cel(cel, journal, outage, window))[0])
    except asyncpg.UndefinedTableError:
        log.warning("cel_table_missing", server=server, table=table)
        return []
    return out
