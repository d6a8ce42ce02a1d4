"""The live sync between two instances in one process, on a real PostgreSQL: what one
instance's live consumer learns of its PBX reaches the other's; a listener connecting
late or again gets the present and today's stored calls; a full queue drops counted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from callcenter.calls.model import (
    AgentStateChanged,
    CallEnded,
    CallRecord,
    CallStarted,
    QueueCallerJoined,
)
from callcenter.live import LiveConsumer
from callcenter.live.link import LinkHealth
from callcenter.live.publish import LivePublisher
from callcenter.live.sync import LiveSync
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from tests.support.wait import until


def now() -> datetime:
    return datetime.now(UTC)


def agent_state(state: str, at: datetime, server: str = "pbxa") -> AgentStateChanged:
    return AgentStateChanged(server, at, "PJSIP/agent1001", "agent1001", "A", "support",
                             state, state == "paused", None, True)  # type: ignore[arg-type]


def started(lid: str, server: str = "pbxa") -> list[CallStarted | QueueCallerJoined]:
    t = now()
    call = CallRecord(server, lid, t, caller="13800000000", queue="support", queue_joined_at=t)
    return [CallStarted(server, t, call), QueueCallerJoined(server, t, lid, "support", 1)]


class Instance:
    """A live consumer and its sync, as one ``callcenter run`` has them."""

    def __init__(self, name: str, dsn: str, pool: asyncpg.Pool,
                 owns: Callable[[str], bool]) -> None:
        self.live = LiveConsumer.from_settings(Settings())
        self.conns: list[asyncpg.Connection] = []

        async def connect() -> asyncpg.Connection:
            conn = await asyncpg.connect(dsn)
            self.conns.append(conn)
            return conn

        self.sync = LiveSync(name, connect, self.live, calls=CallRepository(pool), owns=owns)

    def calls(self) -> set[str]:
        return {lid for _, lid in self.live.state.open_calls}


@contextlib.asynccontextmanager
async def instance(name: str, dsn: str, pool: asyncpg.Pool,
                   owns: Callable[[str], bool]) -> AsyncIterator[Instance]:
    inst = Instance(name, dsn, pool, owns)
    tasks = [asyncio.create_task(run()) for run in inst.sync.tasks().values()]
    await until(lambda: inst.sync.listener.link.connected and inst.sync.publisher.link.connected)
    try:
        yield inst
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await inst.live.close()


async def test_facts_of_a_pbx_reach_the_other_instance(fresh_dsn: str,
                                                       pool: asyncpg.Pool) -> None:
    async with instance("a", fresh_dsn, pool, lambda s: s == "pbxa") as a, \
            instance("b", fresh_dsn, pool, lambda s: s == "pbxb") as b:
        a.live.feed(started("1.1"))
        b.live.feed(started("2.1", "pbxb"))
        await until(lambda: b.calls() == a.calls() == {"1.1", "2.1"}, 5)
        assert b.live.state.waiting.keys() == a.live.state.waiting.keys()
        call = a.live.state.open_calls[("pbxa", "1.1")]
        call.ended_at, call.disposition = now(), "abandoned"
        a.live.feed([CallEnded("pbxa", now(), call)])
        await until(lambda: b.calls() == {"2.1"}, 5)
        assert b.live.state.counted == {("pbxa", "1.1")}
        # a fact about a PBX the listener owns itself is not taken from another instance
        a.live.feed(started("2.2", "pbxb"))
        await asyncio.sleep(0.3)
        assert b.calls() == {"2.1"}
        health = a.sync.health()
        assert health["listening"] and health["published"] >= 3 and health["dropped"] == 0


async def test_a_late_or_reconnecting_listener_gets_the_present_and_todays_calls(
        fresh_dsn: str, pool: asyncpg.Pool) -> None:
    ended = CallRecord("pbxa", "0.9", now() - timedelta(minutes=5), queue="support",
                       queue_joined_at=now() - timedelta(minutes=5), ended_at=now(),
                       disposition="abandoned")
    await CallRepository(pool).upsert_calls([ended])
    async with instance("a", fresh_dsn, pool, lambda s: s == "pbxa") as a:
        a.live.feed([agent_state("available", now()), *started("1.1")])
        async with instance("b", fresh_dsn, pool, lambda s: s == "pbxb") as b:
            await until(lambda: b.calls() == {"1.1"} and "agent1001" in b.live.state.agents, 5)
            assert ("pbxa", "0.9") in b.live.state.counted
            assert b.sync.listener.link.connects == 1  # b's links broken: what it misses
            for conn in b.conns:                        # comes back once they are again
                await pool.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
            await until(lambda: not b.sync.listener.link.connected, 5)
            a.live.feed([agent_state("paused", now())])
            await until(lambda: b.sync.listener.link.connects == 2, 10)
            await until(lambda: b.live.state.agents["agent1001"].fact.state == "paused", 5)
            b.live.feed(started("2.1", "pbxb"))
            await until(lambda: "2.1" in a.calls(), 5)


async def test_a_full_queue_drops_the_newest_counted(caplog: pytest.LogCaptureFixture) -> None:
    async def unreachable() -> asyncpg.Connection:
        raise OSError("no database")

    publisher = LivePublisher("a", unreachable, present=list, max_queued=2)
    publisher.tap([*started("1.1"), *started("1.2")])
    assert (len(publisher.queue), publisher.dropped) == (2, 2)
    assert publisher.link == LinkHealth()
