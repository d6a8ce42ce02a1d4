"""Complaints in tests: one seeded through the service."""

from __future__ import annotations

import asyncpg

from callcenter.complaints.overdue import OverdueWatch
from callcenter.complaints.service import ComplaintDesk
from callcenter.settings import Settings
from tests.support.agent_panel import Who


async def seed_complaint(pool: asyncpg.Pool) -> int:
    """Complaint 1: on call pbx1/c1 (agent1001), registered, investigated, answered."""
    if not await pool.fetchval("SELECT 1 FROM calls WHERE linkedid = 'c1'"):
        await pool.execute("INSERT INTO calls (server, linkedid, direction, caller, agent, queue,"
                           " started_at) VALUES ('pbx1', 'c1', 'inbound', '13812345678',"
                           " 'agent1001', 'support', now() - interval '1 hour')")
    desk = ComplaintDesk(Settings(), pool, OverdueWatch())
    k = await desk.register(SUE, {"reason": "wait_time", "text": "⟦text⟧", "call": "pbx1/c1"})
    await desk.act(SUE, k.id, "investigate", {})
    await desk.act(SUE, k.id, "record", {"investigation": "⟦text⟧",
                                         "responsible_agent": "agent1001"})
    await desk.act(SUE, k.id, "answer", {"response": "⟦text⟧"})
    return k.id


SUE = Who("test_supervisor", "supervisor")
