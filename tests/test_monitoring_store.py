"""Monitoring sessions in the store: the softphone setting, spooled facts, idempotent writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from callcenter.calls.model import CallWithdrawn, MonitoringEnded, MonitoringStarted
from callcenter.settings import Settings
from callcenter.store.monitoring import MonitoringRepository, fact_from_dict, fact_to_dict
from callcenter.store.users import UserError, UserRepository
from callcenter.store.writer import Op
from callcenter.web.testing import web_client

AT = datetime(2026, 12, 7, tzinfo=UTC)
STARTED = MonitoringStarted("s", AT, "spy-1", "call-1", "PJSIP/supervisor2001-00000001",
                            "PJSIP/agent1001-00000002", "barge")
ENDED = MonitoringEnded("s", AT + timedelta(seconds=9), "spy-1", "call-1", "ended")


def test_facts_survive_the_spool() -> None:
    facts = [STARTED, ENDED, CallWithdrawn("s", AT, "spy-1")]
    assert Op.decode(Op("monitoring", facts).encode()).items == facts
    assert fact_from_dict(fact_to_dict(ENDED)) == ENDED


async def test_apply_is_idempotent_and_an_unstarted_end_is_too_late(pool: asyncpg.Pool) -> None:
    repo = MonitoringRepository(pool)
    async with pool.acquire() as conn:
        for _ in range(2):
            await repo.apply([STARTED, ENDED], conn)
        await repo.apply([MonitoringEnded("s", AT, "spy-2", None, "ended")], conn)
    rows = await pool.fetch("SELECT spy_linkedid, status, outcome, mode, endpoint, started_at,"
                            " ended_at FROM monitoring_sessions ORDER BY id")
    assert [tuple(r.values()) for r in rows] == [
        ("spy-1", "ended", "ended", "barge", "supervisor2001", AT, AT + timedelta(seconds=9)),
        ("spy-2", "ended", "too_late", None, "", None, AT)]


async def test_softphone_on_the_account_page(pool: asyncpg.Pool) -> None:
    settings = Settings()
    settings.web.secure_cookies = False
    settings.web.default_language = "en"
    with pytest.raises(UserError):
        await UserRepository(pool).set_softphone("nobody", "bad endpoint")
    async with web_client(settings, pool, role="supervisor") as boss:
        assert "softphone-form" in await (await boss.get("/account")).text()
        resp = await boss.post("/account/softphone", data={"csrf_token": boss.csrf,
                                                           "softphone": "supervisor2001"})
        assert resp.status == 200 and "Your softphone endpoint was saved." in await resp.text()
        bad = await boss.post("/account/softphone", data={"csrf_token": boss.csrf,
                                                          "softphone": "a b"})
        assert bad.status == 400
        user = await UserRepository(pool).get(boss.username)
        assert user is not None and user.softphone == "supervisor2001"
    async with web_client(settings, pool, role="agent") as agent:
        assert "softphone-form" not in await (await agent.get("/account")).text()
        resp = await agent.post("/account/softphone", data={"csrf_token": agent.csrf,
                                                            "softphone": "x"})
        assert resp.status == 403
