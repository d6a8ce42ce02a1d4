"""The SQL form of the metrics agrees with the Python form on the same data."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from test_metrics import MS, T0, at, sample, state

from callcenter.metrics import AgentFigures, CallFigures, agent_call_figures, agent_time_figures
from callcenter.metrics import call_figures as py_call_figures
from callcenter.reports import sql
from callcenter.store.agents import AgentRepository
from callcenter.store.calls import CallRepository

TZ = "Asia/Shanghai"


def approx(d: dict[str, object]) -> dict[str, object]:
    return {k: pytest.approx(v) if isinstance(v, float) else v for k, v in d.items()}


def history() -> list:
    return [state("a1", -3600, "available"), state("a1", 100, "ringing"),
            state("a1", 110, "on_call"), state("a1", 170, "wrap_up"),
            state("a1", 200, "available"),
            state("a1", 300, "available", paused=True, reason="lunch"),
            state("a1", 900, "available"), state("a1", 1000, "logged_out", in_queue=False),
            state("a2", -10, "available", paused=True), state("a2", 500, "on_call")]


async def test_call_figures_agree(pool: asyncpg.Pool) -> None:
    calls = sample()
    await CallRepository(pool).upsert_calls(calls)
    now = at(160)
    async with pool.acquire() as conn:
        by_hour = await sql.call_figures_by_hour(
            conn, MS, start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1), now=now, tz=TZ)
    assert list(by_hour) == [(T0.date(), 10)]          # 02:00 UTC is 10:00 in Shanghai
    total = sum(by_hour.values(), CallFigures())
    assert approx(total.as_dict()) == py_call_figures(calls, MS, now).as_dict()


async def test_agent_figures_agree(pool: asyncpg.Pool) -> None:
    calls = sample()
    await CallRepository(pool).upsert_calls(calls)
    await AgentRepository(pool).apply_states(history())
    start, end = at(0), at(1200)
    expected = agent_call_figures(calls)
    h = history()
    before = {f.agent: f for f in h if f.at < start}
    times = agent_time_figures([f for f in h if f.at >= start], start, end, before)
    for agent, fig in times.items():
        expected[agent] = expected.get(agent, AgentFigures()) + fig
    async with pool.acquire() as conn:
        got = await sql.agent_figures(conn, start=T0 - timedelta(hours=1), end=end, now=end,
                                      tz=TZ)
        # the time part is measured over [start, end) like the Python form
        got_time = await sql.agent_figures(conn, start=start, end=end, now=end, tz=TZ)
    assert set(got) == set(expected) == {"a1", "a2"}
    for agent in expected:
        calls_part = {k: v for k, v in got[agent].as_dict().items()
                      if k not in ("available_s", "on_call_s", "wrap_up_s", "paused_s")}
        time_part = {k: v for k, v in got_time[agent].as_dict().items()
                     if k in ("available_s", "on_call_s", "wrap_up_s", "paused_s")}
        assert approx({**calls_part, **time_part}) == expected[agent].as_dict()
