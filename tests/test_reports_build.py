"""Reports over days: local-day bucketing, midnight, transfers, open calls, rollups.

The centre is in Asia/Shanghai (UTC+8). Expected values are worked out by hand.
"""

from __future__ import annotations

from datetime import date

import asyncpg

from callcenter.calls.model import AgentStateChanged
from callcenter.kpis import ServiceLevelRules, agent_call_figures, call_figures
from callcenter.reports.build import ReportFilter, build_report
from callcenter.reports.periods import parse_period
from callcenter.settings import Settings
from callcenter.store.agents import AgentRepository
from callcenter.store.calls import CallRepository
from tests.support.reports import NOW, calls, loaded, local

__all__ = ["loaded"]  # the fixture

NOV3, NOV4 = date(2026, 11, 3), date(2026, 11, 4)


def period() -> object:
    return parse_period("range", "2026-11-03", "2026-11-04", "Asia/Shanghai")


async def test_days_hours_and_totals_by_hand(loaded: asyncpg.Pool) -> None:
    r = await build_report(loaded, Settings(), period(), ReportFilter(), now=NOW)  # type: ignore[arg-type]
    d3, d4 = r.by_day[NOV3], r.by_day[NOV4]
    assert (d3.offered, d3.answered, d3.timeouts, d3.wait_s_max) == (3, 2, 1, 300)   # A C E
    assert (d4.offered, d4.abandoned, d4.waiting, d4.wait_s_max) == (2, 1, 1, 60)    # B D
    assert d4.outbound == {"no_answer": 1} and d3.outbound == {}
    assert [h for h, f in r.by_hour.items() if f.offered] == [0, 10, 15, 23]
    assert r.by_hour[0].offered == 2                                  # E (Nov 3) + B (Nov 4)
    t = r.total
    assert (t.offered, t.answered, t.handled, t.answered_in_sl) == (5, 2, 2, 1)  # A waits 70 s
    assert t.talk_s == 300 + 125 and r.aht_s == 425 / 2               # no wrap-up states
    # decided = 5 offered - 1 waiting; no short abandons
    assert r.service_level == 1 / 4
    assert t.transfer_rate == 1 / 2
    agents = {a.agent: a.figures for a in r.agents}
    assert (agents["a1"].answered, agents["a1"].talk_s, agents["a1"].outbound) == (1, 60, 1)
    assert (agents["a2"].answered, agents["a2"].talk_s) == (2, 300 + 60)
    # the same as the Python form over the same calls
    assert t.as_dict() == call_figures(calls(), ServiceLevelRules(), NOW).as_dict()
    py = agent_call_figures(calls())
    assert {a: f.as_dict() for a, f in agents.items()} == {a: f.as_dict() for a, f in py.items()}


async def test_rollup_follows_changes(loaded: asyncpg.Pool) -> None:
    first = await build_report(loaded, Settings(), period(), ReportFilter(), now=NOW)  # type: ignore[arg-type]
    assert await loaded.fetchval("SELECT count(*) FROM report_days") == 1       # Nov 3 only
    changed = calls()[4]
    changed.disposition = "abandoned"                      # E: timeout → abandoned
    await CallRepository(loaded).upsert_calls([changed])
    again = await build_report(loaded, Settings(), period(), ReportFilter(), now=NOW)  # type: ignore[arg-type]
    assert (first.by_day[NOV3].timeouts, again.by_day[NOV3].timeouts) == (1, 0)
    assert again.by_day[NOV3].abandoned == 1
    # a state fact on Nov 3 (rolled up) shows in the agent's time
    await AgentRepository(loaded).apply_states([AgentStateChanged(
        server="pbx", at=local(2026, 11, 3, 9, 0), interface="PJSIP/a1", agent="a1", name=None,
        queue="support", state="available", paused=True, reason="training", in_queue=True)])
    third = await build_report(loaded, Settings(), period(), ReportFilter(), now=NOW)  # type: ignore[arg-type]
    a1 = next(a.figures for a in third.agents if a.agent == "a1")
    # paused from Nov 3 09:00 until now (Nov 4 10:01): 25 h 1 min
    assert a1.paused_s == {"training": (25 * 60 + 1) * 60}


async def test_threshold_change_rebuilds_the_rollup(loaded: asyncpg.Pool) -> None:
    await build_report(loaded, Settings(), period(), ReportFilter(), now=NOW)  # type: ignore[arg-type]
    strict = Settings.model_validate({"web": {"service_level_s": 80}})
    r = await build_report(loaded, strict, period(), ReportFilter(), now=NOW)  # type: ignore[arg-type]
    assert r.total.answered_in_sl == 2                     # A's 70 s wait is now within


async def test_filters(loaded: asyncpg.Pool) -> None:
    by_queue = await build_report(loaded, Settings(), period(), ReportFilter(queue="sales"),  # type: ignore[arg-type]
                                  now=NOW)
    assert (by_queue.total.offered, by_queue.total.answered) == (1, 1)      # C
    assert by_queue.wrap_up_s is None                      # agent time is not per queue
    by_agent = await build_report(loaded, Settings(), period(), ReportFilter(agents=("a2",)),  # type: ignore[arg-type]
                                  now=NOW)
    assert by_agent.total.offered == 1                     # A (C's agent is a1, who answered)
    assert [a.agent for a in by_agent.agents] == ["a2"]


async def test_a_month_in_the_future_is_empty(loaded: asyncpg.Pool) -> None:
    p = parse_period("month", "2027-01-15", None, "Asia/Shanghai")
    r = await build_report(loaded, Settings(), p, ReportFilter(), now=NOW)
    assert len(r.by_day) == 31 and r.total.offered == 0 and r.agents == []


def test_runs_of_missing_days() -> None:
    from callcenter.store.report_rollup import runs

    d = [date(2026, 11, n) for n in (1, 2, 3, 7, 9, 10)]
    assert list(runs(d)) == [(d[0], d[2]), (d[3], d[3]), (d[4], d[5])]
    assert list(runs([])) == []
