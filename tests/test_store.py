"""Store repositories and the writer against a real PostgreSQL (no mocks)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from callcenter import db
from callcenter.calls.channels import event_time
from callcenter.calls.model import (
    AgentStateChanged,
    CallRecord,
    RingAttempt,
    Transfer,
    Violation,
)
from callcenter.ingest.journal_policy import is_journaled, is_journaled_action, scrub_action
from callcenter.store import CallRepository, JournalEntry, JournalRepository, StoreWriter
from callcenter.store.agents import AgentRepository
from callcenter.store.journal import SeqClock
from tests.support.wait import until

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def make_call(linkedid: str = "pbx-1.0", *, answered: bool = True) -> CallRecord:
    def at(s: float) -> datetime:
        return T0 + timedelta(seconds=s)

    call = CallRecord(server="pbx", linkedid=linkedid, started_at=at(0), caller="+3225550101",
                      callee="800", queue="support", queues=["support"],
                      queue_joined_at=at(0.5), recordings=[f"{linkedid}.wav"])
    call.ring_attempts = [
        RingAttempt("agent1001", "PJSIP/agent1001", at(1), queue="support", ended_at=at(16),
                    outcome="no_answer", rings=3, within_rule=True),
    ]
    if answered:
        call.ring_attempts.append(RingAttempt("agent1002", "PJSIP/agent1002", at(17),
                                              queue="support", ended_at=at(20),
                                              outcome="answered", rings=1, within_rule=True))
        call.answered_at, call.agent = at(20), "agent1002"
        call.transfers = [Transfer("blind", "agent1002", "agent1003", at(25))]
    call.violations = [Violation("agent1001", "PJSIP/agent1001", "support", 15.0, 3, 15.0, at(16))]
    call.ended_at = at(30)
    call.hangup_by = "agent" if answered else "caller"
    call.disposition = "answered" if answered else "abandoned"
    return call


async def dump(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for table in ("calls", "ring_attempts", "transfers", "violations", "agents", "queues",
                  "queue_members", "agent_state_history", "journal"):
        rows = await pool.fetch(f"SELECT * FROM {table} ORDER BY 1, 2, 3")
        out[table] = [tuple(r.values()) for r in rows]
    return out


async def test_call_roundtrip_and_idempotent_upsert(pool: asyncpg.Pool) -> None:
    repo = CallRepository(pool)
    call = make_call()
    await repo.upsert_calls([call])
    assert await repo.get_call("pbx", call.linkedid) == call
    before = await dump(pool)
    await repo.upsert_calls([call, call])
    assert await dump(pool) == before
    assert len(before["ring_attempts"]) == 2


async def test_child_rows_replaced_per_call(pool: asyncpg.Pool) -> None:
    repo = CallRepository(pool)
    call = make_call()
    await repo.upsert_calls([call])
    call.ring_attempts = call.ring_attempts[1:]
    call.transfers = []
    await repo.upsert_calls([call])
    stored = await repo.get_call("pbx", call.linkedid)
    assert stored is not None and [a.agent for a in stored.ring_attempts] == ["agent1002"]
    assert stored.transfers == []
    assert await repo.count_by_disposition() == {"answered": 1}


async def test_list_calls_order_and_filters(pool: asyncpg.Pool) -> None:
    repo = CallRepository(pool)
    a, b = make_call("pbx-1.0"), make_call("pbx-2.0", answered=False)
    b.started_at += timedelta(minutes=5)
    await repo.upsert_calls([a, b])
    assert [c.linkedid for c in await repo.list_calls()] == ["pbx-2.0", "pbx-1.0"]
    assert [c.linkedid for c in await repo.list_calls(newest_first=False)] == ["pbx-1.0",
                                                                               "pbx-2.0"]
    since = T0 + timedelta(minutes=1)
    assert [c.linkedid for c in await repo.list_calls(since=since)] == ["pbx-2.0"]


async def test_agent_states_latest_wins_and_history_idempotent(pool: asyncpg.Pool) -> None:
    repo = AgentRepository(pool)

    def state(s: float, st: str, paused: bool = False) -> AgentStateChanged:
        return AgentStateChanged("pbx", T0 + timedelta(seconds=s), "PJSIP/agent1001",
                                 "agent1001", "Alice", "support", st, paused,  # type: ignore[arg-type]
                                 "lunch" if paused else None, True)

    facts = [state(0, "available"), state(5, "paused", True)]
    await repo.apply_states(facts)
    await repo.apply_states([state(0, "available")])  # an old fact replayed
    before = await dump(pool)
    await repo.apply_states(facts)
    assert await dump(pool) == before
    agents = await repo.list_agents()
    assert [(a["state"], a["reason"]) for a in agents] == [("paused", "lunch")]
    assert len(await repo.history("PJSIP/agent1001")) == 2
    queues = await repo.list_queues()
    assert queues[0]["name"] == "support" and queues[0]["members"][0]["paused"] is True


def test_noise_filter() -> None:
    assert not is_journaled({"Event": "RTCPSent"})
    assert not is_journaled({"Event": "CEL"})
    assert not is_journaled({"Event": "VarSet", "Variable": "RTPAUDIOQOS"})
    assert is_journaled({"Event": "VarSet", "Variable": "MIXMONITOR_FILENAME"})
    assert not is_journaled({"Event": "Newexten", "Application": "NoOp"})
    assert is_journaled({"Event": "Newexten", "Application": "Queue"})
    assert not is_journaled({"Event": "DeviceStateChange", "Device": "Queue:support_avail"})
    assert is_journaled({"Event": "DeviceStateChange", "Device": "PJSIP/agent1001"})
    assert is_journaled({"Event": "AgentCalled"})
    assert not is_journaled({"Response": "Success", "ActionID": "x"})
    assert is_journaled({"Response": "Success", "ActionID": "x"}, {"x"})
    assert not is_journaled_action({"Action": "Login", "Secret": "s"})
    assert is_journaled_action({"Action": "Hangup"})
    assert scrub_action({"Action": "X", "Secret": "s"}) == {"Action": "X"}


async def test_journal_append_is_idempotent_and_ordered(pool: asyncpg.Pool) -> None:
    repo = JournalRepository(pool)
    clock = SeqClock()
    frames = [{"Event": "Newchannel", "Linkedid": "pbx-1.0", "Timestamp": "1795349633.249224"},
              {"Event": "Hangup", "Linkedid": "pbx-1.0"}]
    entries = [JournalEntry.of("pbx", clock.next(1795349633.25), "frame", f, 1795349633.25)
               for f in frames]
    await repo.append(entries)
    await repo.append(entries)
    got = [e async for e in repo.entries("pbx")]
    assert [e.payload for e in got] == frames
    assert got[0].event_at == 1795349633.249224
    stored = await pool.fetchval("SELECT event_time FROM journal WHERE seq = $1", got[0].seq)
    assert stored == datetime.fromtimestamp(1795349633.249224, UTC)
    assert got[1].seq == got[0].seq + 1
    assert await repo.last_seq("pbx") == got[1].seq


async def test_journal_keeps_frames_whose_timestamp_is_no_time(pool: asyncpg.Pool) -> None:
    """A Timestamp out of any clock's range is the arrival time, not a lost batch."""
    repo = JournalRepository(pool)
    clock = SeqClock()
    stamps = ["1e400", "nan", "inf", "-5", "99999999999999", "soon", "1795349633.5"]
    frames = [{"Event": "Newstate", "Linkedid": "pbx-2.0", "Timestamp": t} for t in stamps]
    await repo.append([JournalEntry.of("pbx", clock.next(1795349700.0), "frame", f, 1795349700.0)
                       for f in frames])
    rows = await pool.fetch("SELECT event_time, frame FROM journal ORDER BY seq")
    assert [r["frame"]["Timestamp"] for r in rows] == stamps
    arrival = datetime.fromtimestamp(1795349700.0, UTC)
    assert [r["event_time"] for r in rows] == [arrival] * 6 + [
        datetime.fromtimestamp(1795349633.5, UTC)]
    # the tracker reads the same time from each frame: live and rebuilt records agree
    assert [event_time(f, 1795349700.0) for f in frames] == [r["event_time"] for r in rows]


async def test_writer_spools_while_database_is_down(pool: asyncpg.Pool, fresh_dsn: str,
                                                    tmp_path: Path) -> None:
    """An unreachable database: writes go to the spool, then land once, in order."""
    dead = await asyncpg.create_pool("postgresql://postgres@127.0.0.1:1/none", min_size=0)
    writer = StoreWriter(dead, tmp_path, timeout_s=2, retry_s=0.05)
    await writer.start()
    call = make_call()
    call.ended_at = call.disposition = None
    await writer.write_calls([call])
    done = make_call()
    await writer.write_calls([done])
    assert writer.pending == 2
    # the database comes back: point the writer at the real pool
    for obj in (writer, writer.calls, writer.agents, writer.journal):
        obj.pool = pool
    await writer.close()
    assert writer.pending == 0
    assert await CallRepository(pool).get_call("pbx", done.linkedid) == done
    assert (await pool.fetchval("SELECT count(*) FROM calls")) == 1
    await db.close_pool(dead)


def test_embedded_server_starts_without_a_runtime_dir_warning(tmp_path: Path) -> None:
    """Root in a container has no XDG_RUNTIME_DIR: the embedded server starts, no warning shown."""
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    code = "import sys; from callcenter.db import embedded_dsn; print(embedded_dsn(sys.argv[1]))"
    out = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code, str(tmp_path / "pg")],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("postgresql://") and "XDG_RUNTIME_DIR" not in out.stderr


async def test_a_spool_left_by_the_previous_version_is_taken_in(pool: asyncpg.Pool,
                                                                tmp_path: Path) -> None:
    """An upgrade during an outage: the old JSON-lines spool is applied, then set aside."""
    import json

    from callcenter.store.codec import record_to_dict

    frame = {"Event": "Newchannel", "Linkedid": "pbx-9.0", "Timestamp": "1700000000.5"}
    old = tmp_path / "store.jsonl"
    lines = [{"op": "journal", "items": [{"server": "pbx", "seq": 7, "kind": "frame",
                                          "received_at": 1700000001.0, "payload": frame}]},
             {"op": "calls", "items": [record_to_dict(make_call("pbx-9.0"))]}]
    old.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"op": "jour',
                   encoding="utf-8")
    writer = StoreWriter(pool, tmp_path, retry_s=0.02)
    await writer.start()
    await until(lambda: (tmp_path / "store.jsonl.imported").exists() and not writer.pending)
    await writer.close()
    [entry] = [e async for e in JournalRepository(pool).entries("pbx")]
    assert (entry.seq, entry.payload, entry.event, entry.linkedid) == (
        7, frame, "Newchannel", "pbx-9.0")
    assert [c.linkedid for c in await CallRepository(pool).list_calls()] == ["pbx-9.0"]
    assert not old.exists()
