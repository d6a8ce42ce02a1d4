"""The SQL form of the metrics agrees with the Python form on the same data."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from callcenter.calls.model import AgentStateChanged
from callcenter.kpis import AgentFigures, CallFigures, agent_call_figures, agent_time_figures
from callcenter.kpis import call_figures as py_call_figures
from callcenter.store import report_reads as sql
from callcenter.store.agents import AgentRepository
from callcenter.store.calls import CallRepository
from tests.support.metrics import MS, T0, TZ, approx, at, query, sample, state

TIME_FIELDS = ("available_s", "on_call_s", "wrap_up_s", "paused_s")


def history() -> list[AgentStateChanged]:
    return [state("a1", -3600, "available"), state("a1", 100, "ringing"),
            state("a1", 110, "on_call"), state("a1", 170, "wrap_up"),
            state("a1", 200, "available"),
            state("a1", 300, "available", paused=True, reason="lunch"),
            state("a1", 900, "available"), state("a1", 1000, "logged_out", in_queue=False),
            state("a2", -10, "available", paused=True), state("a2", 500, "on_call")]


async def test_call_figures_agree(pool: asyncpg.Pool) -> None:
    calls = sample()
    await CallRepository(pool).upsert_calls(calls)
    async with pool.acquire() as conn:
        by_hour = await sql.call_figures_by_hour(conn, MS, query())
        closed = await sql.call_figures_by_hour(conn, MS, query(closed_only=True))
        rest = await sql.call_figures_by_hour(conn, MS, query(split=T0 + timedelta(hours=1)))
    # 02:00 UTC is 10:00 in Shanghai; the outbound call has no queue
    assert set(by_hour) == {(T0.date(), 10, "support"), (T0.date(), 10, "")}
    total = sum(by_hour.values(), CallFigures())
    assert approx(total.as_dict()) == py_call_figures(calls, MS, at(160)).as_dict()
    # closed calls + (open calls | after the split) = all calls, each once
    assert approx((sum(closed.values(), CallFigures()) + sum(rest.values(), CallFigures()))
                  .as_dict()) == total.as_dict()
    assert sum(rest.values(), CallFigures()).offered == 2          # c5 and c6 are open


async def test_agent_call_figures_agree(pool: asyncpg.Pool) -> None:
    calls = sample()
    await CallRepository(pool).upsert_calls(calls)
    async with pool.acquire() as conn:
        got = await sql.agent_call_figures(conn, query())
        only_a2 = await sql.agent_call_figures(conn, query(agents=["a2"]))
    expected = agent_call_figures(calls)
    per_agent: dict[str, AgentFigures] = {}
    for (_day, _queue, agent), fig in got.items():
        per_agent[agent] = per_agent.get(agent, AgentFigures()) + fig
    assert set(per_agent) == set(expected) == {"a1", "a2"}
    for agent, fig in expected.items():
        assert approx(per_agent[agent].as_dict()) == fig.as_dict()
    assert {k[-1] for k in only_a2} == {"a2"}


async def test_agent_time_agrees_and_splits_at_local_midnight(pool: asyncpg.Pool) -> None:
    h = history()
    # a1 pauses from 23:30 to 00:45 local (15:30-16:45 UTC)
    night = T0.replace(hour=15, minute=30)
    h += [AgentStateChanged(server="pbx", at=night, interface="PJSIP/a1", agent="a1", name=None,
                            queue="support", state="available", paused=True, reason="break",
                            in_queue=True),
          AgentStateChanged(server="pbx", at=night + timedelta(minutes=75),
                            interface="PJSIP/a1", agent="a1", name=None, queue="support",
                            state="logged_out", paused=False, reason=None, in_queue=False)]
    await AgentRepository(pool).apply_states(h)
    start, end = at(0), night + timedelta(hours=2)
    before = {f.agent: f for f in sorted(h, key=lambda f: f.at) if f.at < start}
    expected = agent_time_figures([f for f in h if f.at >= start], start, end, before)
    async with pool.acquire() as conn:
        got = await sql.agent_time_figures(conn, start, end, TZ)
    per_agent: dict[str, AgentFigures] = {}
    for (_day, agent), fig in got.items():
        per_agent[agent] = per_agent.get(agent, AgentFigures()) + fig
    for agent, fig in expected.items():
        assert approx(per_agent[agent].as_dict()) == fig.as_dict()
    day = T0.date()
    # by hand: 30 min of the break before local midnight, 45 after
    assert got[day, "a1"].paused_s["break"] == 30 * 60
    assert got[day + timedelta(days=1), "a1"].paused_s == {"break": 45 * 60}
    # a2 stays on call from 500 s to the end: it is split at midnight too
    assert got[day + timedelta(days=1), "a2"].on_call_s == (end - T0.replace(hour=16)
                                                             ).total_seconds()
