"""The three-ring rate never stands alone: the wallboard and the reports show the
violations beside it, so that a rate of 100 % cannot hide missed rings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import asyncpg

from callcenter.calls.model import CallRecord, RingAttempt, Violation
from callcenter.live import LiveConsumer
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from callcenter.web.app import CORE_FEATURES
from callcenter.web.testing import web_client
from tests.support.reports import QUERY, loaded

__all__ = ["loaded"]  # the fixture, shared with the report tests


def missed_then_answered(t: datetime) -> CallRecord:
    """A call of today: agent1002 let it ring past three rings (a violation), agent1001
    answered it."""
    call = CallRecord("pbx1", "9.1", t, direction="inbound", caller="13812345678",
                      queue="sales", queue_joined_at=t, answered_at=t + timedelta(seconds=20),
                      ended_at=t + timedelta(seconds=60), agent="agent1001",
                      disposition="answered")
    call.ring_attempts += [
        RingAttempt("agent1002", "PJSIP/agent1002", t, queue="sales",
                    ended_at=t + timedelta(seconds=16), outcome="no_answer"),
        RingAttempt("agent1001", "PJSIP/agent1001", t + timedelta(seconds=17), queue="sales",
                    ended_at=t + timedelta(seconds=20), outcome="answered")]
    call.violations.append(Violation(
        agent="agent1002", interface="PJSIP/agent1002", queue="sales", ring_s=15.0, rings=3,
        deadline_s=15.0, at=t + timedelta(seconds=15), action="hangup", result="ok"))
    return call


async def test_wallboard_shows_violations_beside_the_three_ring_rate(pool: asyncpg.Pool
                                                                     ) -> None:
    settings = Settings()
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    await CallRepository(pool).upsert_calls([missed_then_answered(t)])
    live = LiveConsumer.from_settings(settings)
    try:
        async with web_client(settings, pool, role="supervisor", live=live,
                              features=CORE_FEATURES) as client:
            en = await (await client.get("/wallboard", headers={"Accept-Language": "en"})).text()
            zh = await (await client.get("/wallboard", headers={"Accept-Language": "zh"})).text()
    finally:
        await live.close()
    row = en.split('data-queue="sales"')[1].split("</tr>")[0]
    assert re.search(r'class="num three-ring">[^<]*<small class="violations">violations: 1<',
                     row)
    assert "违规 1" in zh.split('data-queue="sales"')[1].split("</tr>")[0]


async def test_report_summary_shows_violations_beside_the_three_ring_rate(
        loaded: asyncpg.Pool) -> None:
    t = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    await CallRepository(loaded).upsert_calls([missed_then_answered(t)])
    settings = Settings.model_validate({"web": {"default_language": "en"}})
    async with web_client(settings, loaded, role="supervisor") as client:
        html = await (await client.get(f"/reports?{QUERY}")).text()
    assert re.search(r'<small class="violations" id="three-ring-violations">violations: 1<',
                     html)
