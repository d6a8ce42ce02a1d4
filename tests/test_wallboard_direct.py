"""The wallboard's rows add up: the queues plus the direct calls make "All inbound calls",
which is what the daily report counts (and each queue row is the report of that queue)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from callcenter.calls.model import CallRecord, RingAttempt
from callcenter.kpis import ServiceLevelRules
from callcenter.live import LiveConsumer
from callcenter.live.state import LiveState
from callcenter.reports.build import ReportFilter, build_report
from callcenter.reports.periods import parse_period
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from callcenter.web.app import CORE_FEATURES
from callcenter.web.testing import web_client

T0 = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
TZ = "Asia/Shanghai"
FIGURES = ("offered", "answered", "abandoned", "short_abandoned", "timeouts",
           "ring_no_answer", "violations")


def call(lid: str, queue: str | None, answer_s: float | None, start_s: float = 0) -> CallRecord:
    start = T0 + timedelta(seconds=start_s)
    answered = start + timedelta(seconds=answer_s) if answer_s is not None else None
    attempts = [RingAttempt("agent1001", "PJSIP/agent1001", start, queue=queue,
                            ended_at=answered, outcome="answered", within_rule=True)
                ] if answered else []
    return CallRecord("pbx1", lid, start, direction="inbound", caller="13812345678",
                      queue=queue, queue_joined_at=start if queue else None,
                      answered_at=answered, agent="agent1001" if answered else None,
                      ended_at=start + timedelta(seconds=60),
                      disposition="answered" if answered else "abandoned",
                      ring_attempts=attempts)


def calls() -> list[CallRecord]:
    return [call("q1", "support", 5), call("q2", "support", None, 10), call("q3", "sales", 8),
            call("d1", None, 4), call("d2", None, None, 20), call("d3", None, 6, 30)]


def board() -> LiveState:
    live = LiveState(ServiceLevelRules(), TZ, clock=lambda: T0 + timedelta(hours=2))
    live.seed(calls())
    return live


def test_all_inbound_calls_are_the_queues_plus_the_direct_calls() -> None:
    snap = board().snapshot(str)
    assert snap["direct"]["offered"] == 3 and snap["direct"]["answered"] == 2
    for key in FIGURES:
        rows = sum(q[key] for q in snap["queues"]) + snap["direct"][key]
        assert rows == snap["total"][key], key
    assert snap["total"]["offered"] == 6


async def test_the_rows_match_the_daily_report(pool: asyncpg.Pool) -> None:
    await CallRepository(pool).upsert_calls(calls())
    snap = board().snapshot(str)
    settings = Settings.model_validate({"web": {"timezone": TZ}})
    period = parse_period("day", "2026-11-03", None, TZ)
    now = T0 + timedelta(hours=2)
    report = await build_report(pool, settings, period, ReportFilter(), now=now)
    assert (report.total.offered, report.total.answered) == (
        snap["total"]["offered"], snap["total"]["answered"])
    for q in snap["queues"]:
        per_queue = await build_report(pool, settings, period, ReportFilter(queue=q["name"]),
                                       now=now)
        assert (per_queue.total.offered, per_queue.total.answered) == (
            q["offered"], q["answered"])
    assert report.total.offered - sum(q["offered"] for q in snap["queues"]) == snap[
        "direct"]["offered"]


async def test_the_rows_are_labelled_for_what_they_count(pool: asyncpg.Pool) -> None:
    live = LiveConsumer(board())
    async with web_client(Settings(), pool, role="supervisor", live=live,
                          features=CORE_FEATURES) as client:
        en = await (await client.get("/wallboard", headers={"Accept-Language": "en"})).text()
        zh = await (await client.get("/wallboard", headers={"Accept-Language": "zh"})).text()
    assert "All queues" not in en and "全部队列" not in zh
    for html, direct, total in [(en, "Direct calls (no queue)", "All inbound calls"),
                                (zh, "直拨来电（不经队列）", "全部呼入来电")]:
        assert f">{direct}</th>" in html and f">{total}</th>" in html
        assert 'data-row="direct"' in html and 'data-row="total"' in html
        assert '<td class="num offered">3</td>' in html  # the direct row
        assert '<td class="num offered">6</td>' in html  # all inbound calls
    await live.close()
