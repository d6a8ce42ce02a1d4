"""A server's journal with each outage's CEL frames in the outage's place (pure)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from callcenter.ingest.cel.rows import CelRow
from callcenter.ingest.cel.translate import Timed, frames_from_cel
from callcenter.ingest.pipeline import Item

EPSILON_S = 0.001
"""Times stored with microseconds: an entry this close to the link's return came after it."""


@dataclass(frozen=True)
class OutageCel:
    """An outage with the CEL rows of every call that has a row in it.

    ``resumed_at`` (our clock) is where the link came back: the frames go before the
    first entry received from then on. ``since`` .. ``until`` is the outage in the PBX's
    clock (the Timestamps of the last event journaled before it and of the first after:
    CEL rows carry that clock), so nothing is fed twice. ``shutdown_at``: when the PBX
    went away, if it restarted within the outage. A call's rows from its first event
    after the outage on are left to its AMI events (``seen_from``).
    """

    resumed_at: datetime
    since: datetime
    until: datetime
    rows: Sequence[CelRow]
    shutdown_at: datetime | None = None
    seen_from: Mapping[str, datetime] = field(default_factory=dict)
    """linkedid → the PBX time of its first event received after the outage."""

    def frames(self) -> list[Timed]:
        """The frames of what happened strictly between ``since`` and ``until``."""
        return frames_from_cel(self.rows, since=self.since, until=self.until,
                               shutdown_at=self.shutdown_at, seen_from=self.seen_from)


async def with_outages(items: AsyncIterable[Item],
                       outages: Sequence[OutageCel]) -> AsyncIterator[Item]:
    """The journal's items (kind, payload, received_at), each outage's CEL frames inserted
    before the first item received after it (or at the end, when the journal ends within
    it)."""
    pending = sorted(outages, key=lambda o: o.resumed_at)
    async for item in items:
        while pending and item[2] >= pending[0].resumed_at.timestamp() - EPSILON_S:
            for frame, t in pending.pop(0).frames():
                yield "frame", frame, t
        yield item
    for outage in pending:
        for frame, t in outage.frames():
            yield "frame", frame, t
