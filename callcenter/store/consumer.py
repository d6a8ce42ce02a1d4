"""The store as a consumer of tracker facts: call records and agent states."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from callcenter.calls.model import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallRecord,
    CallStarted,
    Fact,
)
from callcenter.store.monitoring import monitoring_facts
from callcenter.store.writer import StoreWriter


def calls_in(facts: Iterable[Fact]) -> list[CallRecord]:
    """The calls whose record changed in ``facts`` (started, answered, ended), once each."""
    out: dict[tuple[str, str], CallRecord] = {}
    for f in facts:
        if isinstance(f, CallStarted | CallAnswered | CallEnded):
            out[f.call.server, f.call.linkedid] = f.call
    return list(out.values())


class StoreConsumer:
    """Writes every started/answered/ended call, every agent state change and the
    monitoring facts."""

    lossless = True
    """Never skipped: its writes wait at most the write timeout, then go to the spool."""

    def __init__(self, writer: StoreWriter) -> None:
        self.writer = writer
        self.calls_written = 0

    async def on_facts(self, facts: Sequence[Fact]) -> None:
        """Upsert the calls and agent states in ``facts`` (batched, idempotent)."""
        calls = calls_in(facts)
        if calls:
            await self.writer.write_calls(calls)
            self.calls_written += len(calls)
        states = [f for f in facts if isinstance(f, AgentStateChanged)]
        if states:
            await self.writer.write_states(states)
        await self.writer.write_monitoring(monitoring_facts(facts))
