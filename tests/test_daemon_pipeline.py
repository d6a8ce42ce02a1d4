"""Pipeline pieces that need no tracker: the journal filter, bounded queues, back-pressure."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from callcenter.calls.model import Fact
from callcenter.ingest.pipeline import JournalFilter, ServerPipeline
from callcenter.ingest.pipeline_durable import DurablePath, FanOut
from callcenter.store.journal import JournalRepository
from callcenter.store.writer import StoreWriter
from tests.support.wait import until


class SlowConsumer:
    lossless = True  # as the store: the durable path waits for it

    def __init__(self) -> None:
        self.got: list[Any] = []

    async def on_facts(self, facts: Sequence[Fact]) -> None:
        await asyncio.sleep(0.01)
        self.got.extend(facts)


class EchoTracker:
    """Stands in for the tracker: one fact per entry, carrying its event time."""

    def feed(self, frame: dict[str, Any], received_at: float) -> list[Fact]:
        return [Fact("s", datetime.fromtimestamp(received_at, UTC))]

    def feed_sent(self, action: dict[str, Any], sent_at: float) -> list[Fact]:
        return []

    def resync(self, active: set[str], at: datetime) -> list[Fact]:
        return []


def test_journal_filter_keeps_our_actions_and_their_responses_only() -> None:
    f = JournalFilter("pbx")
    assert f.entry(("sent", {"Action": "Login", "Secret": "x", "ActionID": "1"}, 1.0)) is None
    assert f.entry(("frame", {"Response": "Success", "ActionID": "1"}, 1.1)) is None
    hangup = f.entry(("sent", {"Action": "Hangup", "Channel": "PJSIP/a-1", "ActionID": "2",
                               "Secret": "never stored"}, 2.0))
    assert hangup is not None and hangup.payload == {"Action": "Hangup", "Channel": "PJSIP/a-1",
                                                     "ActionID": "2"}
    reply = f.entry(("frame", {"Response": "Success", "ActionID": "2"}, 2.1))
    assert reply is not None and reply.event == "Response:Success"
    assert f.entry(("frame", {"Response": "Success", "ActionID": "2"}, 2.2)) is None
    assert f.entry(("frame", {"Event": "RTCPSent"}, 3.0)) is None
    kept = f.entry(("frame", {"Event": "Hangup", "Linkedid": "l1"}, 3.0))
    assert kept is not None and kept.linkedid == "l1" and kept.seq > reply.seq


async def test_fanout_back_pressure_is_counted_and_nothing_is_lost() -> None:
    slow = SlowConsumer()
    fanout = FanOut([slow], maxsize=2)
    facts = [Fact("s", datetime.fromtimestamp(i, UTC)) for i in range(20)]
    for f in facts:
        await fanout.dispatch([f])
    await fanout.close()
    assert slow.got == facts
    assert fanout.metrics[0].full_events > 0 and fanout.metrics[0].max_depth == 2


async def test_a_stalled_consumer_that_may_lag_loses_batches_never_holds_the_path() -> None:
    gate = asyncio.Event()
    got: list[Fact] = []

    class Stalled:  # e.g. recordings waiting on a database that does not answer
        async def on_facts(self, facts: Sequence[Fact]) -> None:
            await gate.wait()
            got.extend(facts)

    store = SlowConsumer()
    fanout = FanOut([Stalled(), store], maxsize=2)
    facts = [Fact("s", datetime.fromtimestamp(i, UTC)) for i in range(20)]
    for f in facts:
        await asyncio.wait_for(fanout.dispatch([f]), 1)  # never waits for the stalled one
    gate.set()
    await fanout.close()
    assert store.got == facts
    stalled = fanout.metrics[0]
    assert stalled.dropped_batches > 0 and len(got) == len(facts) - stalled.dropped_batches


async def test_a_consumer_behind_gets_what_waits_in_one_call_in_order() -> None:
    calls: list[list[Fact]] = []
    gate = asyncio.Event()

    class Blocked:
        async def on_facts(self, facts: Sequence[Fact]) -> None:
            calls.append(list(facts))
            await gate.wait()

    fanout = FanOut([Blocked()], maxsize=10)
    facts = [Fact("s", datetime.fromtimestamp(i, UTC)) for i in range(6)]
    await fanout.dispatch(facts[:1])
    await until(lambda: calls, every_s=0)  # the consumer is busy with the first batch
    for f in facts[1:]:
        await fanout.dispatch([f])
    gate.set()
    await fanout.close()
    assert calls == [facts[:1], facts[1:]]


async def test_pipeline_journals_before_consumers_in_order(pool: asyncpg.Pool,
                                                           tmp_path: Path) -> None:
    writer = StoreWriter(pool, tmp_path)
    slow = SlowConsumer()
    fanout = FanOut([slow], maxsize=1)
    pipe = ServerPipeline("s", EchoTracker(), DurablePath("s", writer, fanout), batch_size=5,
                          batch_delay_s=0, queue_size=3)
    pipe.start()
    for i in range(40):
        await pipe.put_frame({"Event": "Newstate", "Linkedid": f"l{i}"}, 1000.0 + i)
    pipe.submit_sent({"Action": "Redirect", "ActionID": "r1"}, 1041.0)
    await pipe.stop()
    await fanout.close()
    assert [f.at.timestamp() for f in slow.got] == [1000.0 + i for i in range(40)]
    entries = [e async for e in JournalRepository(pool).entries("s")]
    assert [e.payload.get("Linkedid") for e in entries[:40]] == [f"l{i}" for i in range(40)]
    assert entries[-1].kind == "sent"
    assert pipe.queue_metrics.full_events > 0


async def test_ingest_queue_is_bounded_in_bytes_as_well_as_frames() -> None:
    pipe = ServerPipeline("s", EchoTracker(), None, batch_size=5, batch_delay_s=0,
                          queue_size=1000, queue_bytes=50_000)
    big = {"Event": "UserEvent", "Data": "x" * 10_000}
    for i in range(4):
        await pipe.put_frame(dict(big, N=str(i)), 1000.0 + i)
    blocked = asyncio.ensure_future(pipe.put_frame(dict(big, N="5"), 1005.0))
    await asyncio.sleep(0.05)
    assert not blocked.done() and pipe.queue.qsize() == 4
    assert pipe.queued_bytes <= 50_000 and pipe.queue_metrics.bytes_full_events == 1
    pipe.start()  # the tracker takes frames: room again
    await asyncio.wait_for(blocked, 2)
    await pipe.stop()
    assert pipe.metrics.entries_in == 5 and pipe.queued_bytes == 0
