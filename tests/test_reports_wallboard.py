"""The wallboard's today figures and the daily report agree on the same calls."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from callcenter.live.state import LiveState
from callcenter.reports.build import ReportFilter, build_report
from callcenter.reports.periods import parse_period
from callcenter.settings import Settings
from tests.support.metrics import MS, T0, sample

TZ = "Asia/Shanghai"


@pytest.mark.parametrize("later_days", [0, 1])     # today (raw rows), or a day over (rollup)
async def test_wallboard_today_equals_the_daily_report(pool: asyncpg.Pool,
                                                       later_days: int) -> None:
    from callcenter.store.calls import CallRepository

    ended = [c for c in sample() if c.ended_at is not None]
    await CallRepository(pool).upsert_calls(ended)
    clock = T0 + timedelta(hours=2)                      # 12:00 in Shanghai, Nov 3
    board = LiveState(MS, TZ, clock=lambda: clock)
    board.seed(ended)
    snap = board.snapshot(lambda n: n or "")
    settings = Settings.model_validate({"web": {
        "timezone": TZ, "service_level_s": MS.service_level_s,
        "short_abandon_s": MS.short_abandon_s, "service_level_denominator": MS.denominator}})
    report = await build_report(pool, settings, parse_period("day", "2026-11-03", None, TZ),
                                ReportFilter(), now=clock + timedelta(days=later_days))
    t = report.total
    assert snap["total"]["offered"] == t.offered == 8
    for key, value in [("answered", t.answered), ("abandoned", t.abandoned),
                       ("short_abandoned", t.short_abandoned), ("timeouts", t.timeouts),
                       ("ring_no_answer", t.ring_no_answer), ("violations", t.violations),
                       ("service_level", t.service_level(MS.denominator)),
                       ("three_ring_rate", t.three_ring_rate), ("asa_s", t.asa_s),
                       ("aht_s", t.aht_s())]:
        assert snap["total"][key] == pytest.approx(value), key
    board_agents = {a["agent"]: a for a in snap["agents"]}
    for row in report.agents:
        assert board_agents[row.agent]["calls"] == row.figures.answered + row.figures.outbound
        assert board_agents[row.agent]["missed_rings"] == row.figures.ring_no_answer
        assert board_agents[row.agent]["talk_s"] == pytest.approx(
            row.figures.talk_s + row.figures.outbound_talk_s)
