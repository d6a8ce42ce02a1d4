"""Completing the calls of each outage from CEL, and remembering the outages.

The daemon tells :class:`OutageFiller` of every outage (the AMI link was down, or the
daemon did not run) when the link is back. The filler records it in ``journal_gaps``
and, once ``cel.settle_s`` has passed, replays from the journal every call that has a
CEL row in the outage, with the outage's CEL frames in its place
(:func:`callcenter.cel.merge.with_outages`), and stores the records that replay gives:
exactly those a run without the outage would have given, as far as CEL knows (CEL has
no hold events). An outage with calls still in progress, or whose CEL could not be
read, is tried again every ``cel.retry_s``. ``callcenter rebuild`` goes the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from callcenter.calls.model import CallRecord, ServiceAlert
from callcenter.cel.merge import OutageCel
from callcenter.cel.source import CLOCK_SLACK, outage_cel, pbx_window
from callcenter.db import DATABASE_FAILURES
from callcenter.pipeline import Tracker
from callcenter.pipeline_replay import RESUME_WINDOW, derive
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from callcenter.store.cel import CelRepository
from callcenter.store.gaps import Outage, OutageRepository
from callcenter.store.journal import JournalRepository

log = structlog.get_logger(__name__)
LOGIN_SLACK = timedelta(seconds=5)
"""How long after an outage's end its session's login events may still arrive."""



@dataclass
class FillerHealth:
    """What ``/readyz`` and ``/metrics`` say of outages."""

    recorded: int = 0
    filled: int = 0
    calls_filled: int = 0
    failures: int = 0
    unfilled: list[Outage] = field(default_factory=list)
    errors: dict[tuple[str, datetime], str] = field(default_factory=dict)
    """(server, lost_at) → why the latest attempt at that outage failed."""


class OutageFiller:
    """Records outages and completes their calls from each server's CEL table;
    ``on_filled`` hears of the calls completed (the recordings consumer files theirs)."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings,
                 make_tracker: Callable[[str], Tracker],
                 on_alert: Callable[[ServiceAlert], None] = lambda alert: None,
                 on_filled: Callable[[list[CallRecord]], Awaitable[None]] | None = None) -> None:
        self.pool = pool
        self.settings = settings
        self.tables = {s.name: s.cel_table for s in settings.servers}
        self.make_tracker = make_tracker
        self.on_alert = on_alert
        self.on_filled = on_filled
        self.outages = OutageRepository(pool)
        self.journal = JournalRepository(pool)
        self.calls = CallRepository(pool)
        self.health = FillerHealth()
        self._unwritten: list[Outage] = []
        self._wake = asyncio.Event()

    def note(self, outage: Outage) -> None:
        """An outage ended (the link is back): record it and fill it when it settled."""
        self._unwritten.append(outage)
        self.health.recorded += 1
        restarted = " (the PBX restarted)" if outage.pbx_started_at else ""
        detail = (f"{outage.server}: no events for {outage.seconds:.1f} s{restarted}; "
                  + ("its calls are completed from CEL" if self.tables.get(outage.server)
                     else "no CEL table configured: calls of the outage stay incomplete"))
        log.warning("outage", server=outage.server, kind=outage.kind,
                    lost_at=outage.lost_at.isoformat(), seconds=round(outage.seconds, 3),
                    pbx_restarted=bool(outage.pbx_started_at))
        self.on_alert(ServiceAlert(outage.server, outage.resumed_at, "outage", True, detail))
        self._wake.set()

    async def run(self) -> None:
        """Record and fill outages until cancelled."""
        while True:
            try:
                await self.pass_once()
            except DATABASE_FAILURES as exc:
                self._failed(f"database: {exc}")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self._next_wait())
            except TimeoutError:
                pass

    def _next_wait(self) -> float:
        settle = self.settings.cel.settle_s
        now = datetime.now(UTC)
        due = [settle - (now - o.resumed_at).total_seconds() for o in self.health.unfilled]
        soon = [d for d in due if d > 0]
        return max(0.05, min([*soon, self.settings.cel.retry_s]))

    async def pass_once(self) -> None:
        """Write the outages noted, then try every unfilled one that has settled."""
        while self._unwritten:
            await self.outages.record(self._unwritten[0])
            self._unwritten.pop(0)
        pending = await self.outages.unfilled()
        now = datetime.now(UTC)
        for outage in pending:
            if (now - outage.resumed_at).total_seconds() >= self.settings.cel.settle_s:
                await self.fill(outage)
        self.health.unfilled = await self.outages.unfilled()

    async def fill(self, outage: Outage) -> bool:
        """Complete the calls of ``outage``; True when done (else its note says why)."""
        table = self.tables.get(outage.server)
        if not table:
            if outage.fill_note is None:
                await self.outages.note(outage, "no CEL table configured for this server")
            return False
        cel = CelRepository(self.pool, table)
        if outage.pbx_started_at is None:
            # the FullyBooted of the session that ended the outage: sent at its login, so
            # received a little before the outage is noted as over
            started = await self.journal.pbx_started_between(
                outage.server, outage.lost_at, outage.resumed_at + LOGIN_SLACK)
            if started is not None and started > outage.lost_at:
                outage = replace(outage, pbx_started_at=started)
        window = await pbx_window(self.journal, outage)
        if window is None:
            return await self._not_yet(outage, "waiting for an event after the outage")
        try:
            latest = await cel.last_before(window.until + CLOCK_SLACK)
            if ((latest is None or latest < window.since)
                    and await self.journal.has_calls_since(outage.server, window.since)):
                return await self._not_yet(outage, f"no CEL row written into {table} since the "
                                           "outage began, though calls were: is cel_pgsql "
                                           "writing?", error=True)
            source, lids = await outage_cel(cel, self.journal, outage, window)
        except asyncpg.UndefinedTableError:
            return await self._not_yet(outage, f"CEL table {table} does not exist", error=True)
        first = await self.journal.first_seq_of(outage.server, lids) if lids else None
        others = await self._sharing_calls(outage, cel, source)
        start = min([outage.lost_at, *(o.lost_at for o, _ in others)])
        at_loss = int(start.timestamp() * 1e6)
        tracker = self.make_tracker(outage.server)
        calls, _, _ = await derive(self.journal, outage.server, tracker,
                                   min(at_loss, first or at_loss),
                                   [source, *(cel_of for _, cel_of in others)])
        still_open = [lid for lid in lids if lid in tracker.open_calls]  # filled when over
        if still_open:
            return await self._not_yet(outage, f"{len(still_open)} call(s) still in progress")
        wanted = {frame["Linkedid"] for frame, _ in source.frames()}  # what CEL completed
        records = [c for c in calls if c.linkedid in wanted and c.ended_at is not None]
        if records:
            await self.calls.upsert_calls(records)
            if self.on_filled is not None:
                await self.on_filled(records)
        await self.outages.note(outage, f"{len(records)} call(s) completed from CEL",
                                filled_at=datetime.now(UTC), calls=len(records))
        self.health.filled += 1
        self.health.calls_filled += len(records)
        self.health.errors.pop((outage.server, outage.lost_at), None)
        self.health.unfilled = [o for o in self.health.unfilled
                                if (o.server, o.lost_at) != (outage.server, outage.lost_at)]
        log.info("outage_filled", server=outage.server, lost_at=outage.lost_at.isoformat(),
                 calls=len(records))
        self.on_alert(ServiceAlert(outage.server, datetime.now(UTC), "outage", False,
                                   f"{outage.server}: {len(records)} call(s) of the outage "
                                   "completed from CEL"))
        return True

    async def _sharing_calls(self, outage: Outage, cel: CelRepository, source: OutageCel
                             ) -> list[tuple[Outage, OutageCel]]:
        """The server's other outages (within :data:`RESUME_WINDOW`) from the one in which
        the earliest call of ``outage`` began on, with their CEL: a call begun in one outage
        and ended in the next, with nothing of it journaled in between but a reconnect's
        channel list (a takeover, then a hand-back), is rebuilt whole from both, whichever
        of the two is filled first."""
        since = min((row.eventtime for row in source.rows), default=source.since)
        out = []
        for other in await self.outages.of_server(outage.server):
            if (other.lost_at == outage.lost_at
                    or abs(other.lost_at - outage.lost_at) > RESUME_WINDOW):
                continue
            window = await pbx_window(self.journal, other)
            if window is not None and window.until + CLOCK_SLACK >= since:
                out.append((other, (await outage_cel(cel, self.journal, other, window))[0]))
        return out

    async def _not_yet(self, outage: Outage, why: str, *, error: bool = False) -> bool:
        key = (outage.server, outage.lost_at)
        if error:
            self._failed(f"{outage.server}: {why}")
            self.health.errors[key] = f"{outage.server}: {why}"
        else:
            self.health.errors.pop(key, None)
        await self.outages.note(outage, why)
        return False

    def _failed(self, why: str) -> None:
        self.health.failures += 1
        log.error("outage_fill_failed", reason=why)
