"""Reading the CEL of recorded outages (``cel_pgsql``'s table, by server)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import structlog

from callcenter.cel.merge import OutageCel
from callcenter.store.cel import CelRepository
from callcenter.store.gaps import Outage, OutageRepository

log = structlog.get_logger(__name__)

CLOCK_SLACK = timedelta(seconds=60)
"""CEL rows are looked for this far around an outage (the PBX's clock and ours may
differ a little); the journal's own events decide exactly where the outage lies."""


async def outage_cel(cel: CelRepository, outage: Outage) -> tuple[OutageCel, list[str]]:
    """The CEL of ``outage``: every row of each call that has one near it, and those calls."""
    lids = await cel.linkedids_between(outage.lost_at - CLOCK_SLACK,
                                       outage.resumed_at + CLOCK_SLACK)
    rows = await cel.rows_of(lids) if lids else []
    shutdown_at = None
    if outage.pbx_started_at is not None:
        shutdown_at = await cel.last_before(outage.pbx_started_at)
    return OutageCel(outage.lost_at, outage.resumed_at, rows, shutdown_at), lids


async def outages_with_cel(pool: asyncpg.Pool, server: str, table: str) -> list[OutageCel]:
    """Every recorded outage of ``server`` with its CEL rows from ``table`` ("" or a missing
    table: none, and the outages' calls stay as the journal alone gives them)."""
    if not table:
        return []
    cel = CelRepository(pool, table)
    try:
        return [(await outage_cel(cel, o))[0]
                for o in await OutageRepository(pool).of_server(server)]
    except asyncpg.UndefinedTableError:
        log.warning("cel_table_missing", server=server, table=table)
        return []
