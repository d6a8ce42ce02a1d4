"""The simulator's CEL records against the rows real Asterisk 22 wrote (real3/*.cel.csv)."""

from __future__ import annotations

import asyncio
import csv
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.sim import AgentScript, PBXSimulator
from callcenter.sim.cel import CelRecord
from callcenter.sim.testing import SimClient

TRACES = Path(__file__).parent / "traces" / "real3"
NO = AgentScript(answer_after=None)
MONITOR = re.compile(r"/var/spool/asterisk/monitor/\d{8}-\d{6}-\d+-[\w-]+\.\d+\.wav")
Scenario = Callable[[PBXSimulator], Awaitable[None]]


def real_rows(name: str) -> list[dict[str, str]]:
    with (TRACES / f"{name}.cel.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def sim_rows(records: list[CelRecord]) -> list[dict[str, str]]:
    return [{k: str(v) for k, v in r.row().items()} for r in records]


def roles(rows: list[dict[str, str]]) -> dict[str, str]:
    """Channel name → ``<endpoint>#<n>`` (the n-th channel of that endpoint)."""
    out: dict[str, str] = {}
    seen: dict[str, int] = {}
    for r in rows:
        name = r["channame"]
        if r["eventtype"] == "CHAN_START" and name not in out:
            endpoint = name.removeprefix("PJSIP/").rsplit("-", 1)[0]
            seen[endpoint] = seen.get(endpoint, 0) + 1
            out[name] = f"{endpoint}#{seen[endpoint]}"
    return out


def normalized(rows: list[dict[str, str]]) -> dict[str, list[tuple[str, ...]]]:
    """Per channel role, its rows in order: what must match real Asterisk."""
    names = roles(rows)
    uid = {r["channame"]: r["uniqueid"] for r in rows}
    out: dict[str, list[tuple[str, ...]]] = {}
    for r in rows:
        if r["eventtype"] == "LINKEDID_END":
            continue  # on the call's last channel to end: a race between threads (see below)
        extra = json.loads(r["extra"]) if r["extra"] else {}
        if "bridge_id" in extra:
            extra["bridge_id"] = "<bridge>"
        if "hangupsource" in extra:
            extra["hangupsource"] = names.get(extra["hangupsource"], extra["hangupsource"])
        linked = next((n for n, u in uid.items() if u == r["linkedid"]), "?")
        out.setdefault(names[r["channame"]], []).append((
            r["eventtype"], r["exten"], r["context"], r["appname"],
            MONITOR.sub("<file>", r["appdata"]), r["cid_dnid"], "ani" if r["cid_ani"] else "",
            names.get(r["peer"], r["peer"]), json.dumps(extra, sort_keys=True),
            names.get(linked, "?"), r["amaflags"]))
    return out


def next_agent(sim: PBXSimulator, queue: str, endpoint: str) -> None:
    """rrmemory: make ``endpoint`` the next member rung (the captures' PBX carried on)."""
    members = list(sim.pbx.queues[queue].members)
    sim.pbx.queues[queue].last_index = members.index(f"PJSIP/{endpoint}") - 1


async def a_queue_answer(sim: PBXSimulator) -> None:
    next_agent(sim, "support", "agent1002")
    await (await sim.inbound_call("13800000001", "800", caller_name="Cust 13800000001",
                                  agents={"agent1002": AgentScript(1.5, 6)})).wait()


async def b_first_agent_no_answer(sim: PBXSimulator) -> None:
    next_agent(sim, "support", "agent1003")
    await (await sim.inbound_call("13800000002", "800", caller_name="Cust 13800000002",
                                  agents={"agent1003": NO, "agent1001": AgentScript(2, 5)})).wait()


async def d_abandon_while_ringing(sim: PBXSimulator) -> None:
    next_agent(sim, "support", "agent1003")
    await (await sim.inbound_call("13800000004", "800", caller_name="Cust 13800000004",
                                  agents={"agent1003": NO}, patience=8)).wait()


async def e_outbound_busy_noanswer_answer(sim: PBXSimulator) -> None:
    await (await sim.outbound_call("agent1001", "913900000001", outcome="busy", ring=1)).wait()
    await (await sim.outbound_call("agent1001", "913900000002", outcome="no_answer",
                                   ring=20)).wait()
    await (await sim.outbound_call("agent1001", "913900000003", ring=2, talk=5,
                                   hangup_by="caller")).wait()


async def h_sales_ringall(sim: PBXSimulator) -> None:
    await (await sim.inbound_call("13800000008", "801", caller_name="Cust 13800000008",
                                  agents={"agent1002": NO, "agent1003": AgentScript(3, 5)})).wait()


async def run(scenario: Scenario, **kw: Any) -> PBXSimulator:
    sim = PBXSimulator(speed=200, keep_events=True, systemname="pbx4", **kw)
    await sim.start()
    sim.scheduled = True  # logical time only: no ring times out on a loaded machine
    try:
        await asyncio.wait_for(scenario(sim), 10)
    finally:
        await sim.stop()
    return sim


@pytest.mark.parametrize("scenario", [a_queue_answer, b_first_agent_no_answer,
                                      d_abandon_while_ringing, e_outbound_busy_noanswer_answer,
                                      h_sales_ringall], ids=lambda s: s.__name__)
async def test_cel_rows_match_real_asterisk(scenario: Scenario) -> None:
    sim = await run(scenario)
    ours, real = sim_rows(sim.cel_records), real_rows(scenario.__name__)
    assert normalized(ours) == normalized(real)
    for rows in (ours, real):  # every row of a call carries the first channel's uniqueid
        assert {r["linkedid"] for r in rows} <= {r["uniqueid"] for r in rows}
        assert_linkedid_end_last(rows)


def assert_linkedid_end_last(rows: list[dict[str, str]]) -> None:
    """One LINKEDID_END per call, its last row."""
    for linkedid in {r["linkedid"] for r in rows}:
        mine = [r["eventtype"] for r in rows if r["linkedid"] == linkedid]
        assert mine.count("LINKEDID_END") == 1 and mine[-1] == "LINKEDID_END"


async def test_cel_frames_on_ami_equal_the_rows() -> None:
    """cel.conf [manager] enabled: one ``Event: CEL`` per row, fields as in the captures."""
    sim = await run(a_queue_answer, cel_ami=True)
    frames = [f for f in sim.events if f.get("Event") == "CEL"]
    assert [f["EventName"] for f in frames] == [r.eventtype for r in sim.cel_records]
    real = next(json.loads(line)["frame"] for line in
                (TRACES / "a_queue_answer.jsonl").read_text().splitlines()
                if '"Event": "CEL"' in line)
    assert list(frames[0]) == list(real)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", str(frames[0]["EventTime"]))
    assert all(f["AMAFlags"] == "DOCUMENTATION" for f in frames)


async def test_cel_frames_are_off_by_default() -> None:
    async with PBXSimulator(speed=200) as sim:
        client = await SimClient.connect(sim.port)
        await client.login()
        await (await sim.inbound_call("13800000001", "800",
                                      agents={"agent1001": AgentScript(1, 1)})).wait()
        await client.action({"Action": "Ping"})
        await client.close()
    assert client.events and not any(f["Event"] == "CEL" for f in client.events)


async def test_cel_rows_land_in_postgresql(fresh_dsn: str) -> None:
    sim = await run(a_queue_answer, cel_dsn=fresh_dsn)
    conn = await asyncpg.connect(fresh_dsn)
    try:
        rows = await conn.fetch("SELECT * FROM cel ORDER BY id")
    finally:
        await conn.close()
    assert [r["eventtype"] for r in rows] == [r.eventtype for r in sim.cel_records]
    first = rows[0]
    assert first["eventtime"].tzinfo is None and first["amaflags"] == 3
    stamp = first["eventtime"].replace(tzinfo=UTC).timestamp()
    assert abs(stamp - sim.cel_records[0].eventtime) < 1e-3  # naive UTC, microseconds
    assert normalized([{k: str(v) for k, v in dict(r).items()} for r in rows]) == normalized(
        real_rows("a_queue_answer"))


async def test_a_database_down_does_not_stop_the_simulation() -> None:
    sim = await run(a_queue_answer, cel_dsn="postgresql://nobody@127.0.0.1:1/none")
    assert sim.cel_records and sim.cel_writer is not None and sim.cel_writer.written == 0


async def test_restart_cel_matches_real_asterisk() -> None:
    async def restart(sim: PBXSimulator) -> None:
        for i in range(4):
            await sim.inbound_call(f"1380000010{i + 1}", "800", caller_name=f"Cust 1380000010{i+1}",
                                   agents={a: NO for a in ("agent1001", "agent1002", "agent1003")})
            await sim.advance(1.0)
        await sim.advance(10.5)
        await sim.restart(delay_s=0.1)

    sim = await run(restart)
    assert normalized(sim_rows(sim.cel_records)) == normalized(real_rows("j_core_restart"))
