"""A server's journal with each outage's CEL frames in the outage's place (pure)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from callcenter.cel.rows import CelRow
from callcenter.cel.translate import Timed, frames_from_cel
from callcenter.pipeline import Item
from callcenter.store.journal import JournalEntry

EPSILON_S = 0.001
"""Times stored with microseconds: an entry this close to the link's return came after it."""


@dataclass(frozen=True)
class OutageCel:
    """An outage (the daemon's clock: ``lost_at`` .. ``resumed_at``) with the CEL rows of
    every call that has a row near it; ``shutdown_at``: when the PBX went away, if it
    restarted within the outage."""

    lost_at: datetime
    resumed_at: datetime
    rows: Sequence[CelRow]
    shutdown_at: datetime | None = None

    def frames(self, since: datetime, until: datetime) -> list[Timed]:
        """The frames of what happened strictly between ``since`` and ``until`` (PBX clock)."""
        return frames_from_cel(self.rows, since=since, until=until, shutdown_at=self.shutdown_at)


async def with_outages(entries: AsyncIterable[JournalEntry],
                       outages: Sequence[OutageCel]) -> AsyncIterator[Item]:
    """The journal's entries as items, each outage's CEL frames inserted before the first
    entry received after it. The frames cover the PBX-clock stretch between the last
    event journaled before the outage and the first one after, so nothing is fed twice."""
    pending = sorted(outages, key=lambda o: o.resumed_at)
    last_event: float | None = None
    async for e in entries:
        while pending and e.received_at >= pending[0].resumed_at.timestamp() - EPSILON_S:
            outage = pending.pop(0)
            until = e.event_at if e.kind == "frame" else e.received_at
            for frame, t in outage.frames(_since(outage, last_event), _utc(until)):
                yield "frame", frame, t
        yield e.kind, e.payload, e.received_at
        if e.kind == "frame":
            last_event = e.event_at
    for outage in pending:  # the journal ends within the outage: as far as it went
        for frame, t in outage.frames(_since(outage, last_event), outage.resumed_at):
            yield "frame", frame, t


def _since(outage: OutageCel, last_event: float | None) -> datetime:
    return outage.lost_at if last_event is None else _utc(last_event)


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)
