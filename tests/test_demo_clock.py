"""The demo keeps one clock: after `callcenter demo --for N` nothing in the database is
stamped after now, a note written now is after its call, and the agents' figures add up
(on-call time covers talk time; occupancy = (on-call + wrap-up) / logged-in time)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from callcenter import db
from callcenter.cli.demo_cmd import HISTORY_S, demo_clock
from callcenter.reports.build import ReportFilter, build_report
from callcenter.reports.periods import parse_period
from callcenter.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
LATEST = """SELECT max(t) FROM (
    SELECT greatest(started_at, queue_joined_at, answered_at, ended_at) AS t FROM calls
    UNION ALL SELECT greatest(started_at, ended_at) FROM ring_attempts
    UNION ALL SELECT at FROM agent_state_history
    UNION ALL SELECT eventtime FROM cel) AS stamps"""


def test_demo_clock_replays_the_last_hour_then_keeps_the_wall_clock() -> None:
    clock = demo_clock(100.0)
    assert time.time() - HISTORY_S - 1 < clock.now() < time.time()
    clock._fast_s = 0.0  # as if the hour had been replayed
    clock._epoch0 = time.time()
    before = clock.now()
    time.sleep(0.05)
    assert 0.04 < clock.now() - before < 0.5  # real time, not ×100
    assert demo_clock(1.0).now() == pytest.approx(time.time(), abs=0.5)


def talking_s(talks: list[asyncpg.Record], agent: str) -> float:
    """Seconds ``agent`` spent in at least one conversation (overlaps counted once)."""
    total, end = 0.0, None
    for row in sorted((r for r in talks if r["agent"] == agent), key=lambda r: r["answered_at"]):
        start = row["answered_at"] if end is None else max(row["answered_at"], end)
        if end is None or row["until"] > end:
            total += max(0.0, (row["until"] - start).total_seconds())
            end = row["until"]
    return total


async def run_demo(dsn: str, tmp_path: Path, seconds: float) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env |= {"CALLCENTER_DSN": dsn, "CALLCENTER_WEB__PORT": "0",
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter", "demo", "--for", str(seconds), "--speed", "60",
        "--calls-per-hour", "900", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]


async def test_demo_stamps_nothing_in_the_future_and_figures_add_up(
        fresh_dsn: str, tmp_path: Path) -> None:
    await run_demo(fresh_dsn, tmp_path, 8)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(fresh_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM calls WHERE ended_at IS NOT NULL") > 0
        assert await conn.fetchval(LATEST) <= now
        # a note written now, as the agent panel stamps it (the database's now())
        await conn.execute(
            "INSERT INTO call_notes (server, linkedid, agent, category) SELECT server, "
            "linkedid, agent, 'inquiry' FROM calls WHERE ended_at IS NOT NULL AND agent "
            "IS NOT NULL ORDER BY ended_at DESC LIMIT 1")
        early = await conn.fetchval(
            "SELECT count(*) FROM call_notes n JOIN calls c USING (server, linkedid) "
            "WHERE n.created_at < c.ended_at")
        assert early == 0
        talks = await conn.fetch(
            "SELECT agent, answered_at, coalesce(talk_ended_at, ended_at) AS until FROM calls"
            " WHERE direction = 'inbound' AND agent IS NOT NULL AND answered_at IS NOT NULL"
            " AND coalesce(talk_ended_at, ended_at) IS NOT NULL")
    finally:
        await conn.close()

    settings = Settings()
    tz = settings.web.timezone
    today = now.astimezone(__import__("zoneinfo").ZoneInfo(tz)).date()
    period = parse_period("range", (today - timedelta(days=1)).isoformat(), today.isoformat(),
                          tz, today=today)
    pool = await db.create_pool(fresh_dsn)
    try:
        report = await build_report(pool, settings, period, ReportFilter(), now=now)
    finally:
        await db.close_pool(pool, 10.0)
    talked = [row for row in report.agents if row.figures.talk_s > 0]
    assert talks
    assert talked, "no agent talked in the demo"
    for row in report.agents:
        fig = row.figures
        # a paused agent may still talk (an outbound call on a break): its state stays
        # paused, so the talk is covered by on-call, wrap-up and paused time together; the
        # simulator may give one agent two queue calls at once, so the time talking is the
        # union of the calls' talks (the bug this guards against: 6.4 s on call for 319.6 s
        # of talk)
        busy = fig.on_call_s + fig.wrap_up_s + sum(fig.paused_s.values())
        assert busy >= talking_s(talks, row.agent) - 2.0, (row.agent, fig)
        if fig.available_s:
            assert fig.occupancy == pytest.approx((fig.on_call_s + fig.wrap_up_s)
                                                  / fig.available_s)
            assert fig.on_call_s + fig.wrap_up_s <= fig.available_s + 1e-6
