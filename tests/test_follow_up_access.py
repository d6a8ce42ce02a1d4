"""Who sees and does what with follow-ups (回访): every role against every follow-up route.

Agents plan, close and call their own; supervisors and admins read any agent's (the
team leader supervises the callbacks) but do not act on them; QA has no part in them.
docs/agent-panel.md's role table says the same.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
import pytest

from callcenter.settings import Settings
from callcenter.store.followups import FollowUpRepository
from callcenter.web.testing import web_client

ROLES = ("agent", "supervisor", "admin", "qa")


@pytest.fixture
def settings() -> Settings:
    return Settings.model_validate({"web": {"secure_cookies": False, "default_language": "en"}})


@pytest.fixture
async def follow_ups(pool: asyncpg.Pool) -> dict[str, int]:
    """One open follow-up of agent1001 (the agent user) and one of agent1002."""
    repo = FollowUpRepository(pool)
    mine = await repo.create(agent="agent1001", number="13800000001", due_on=date(2026, 12, 1),
                             purpose="call back", customer_id=None)
    theirs = await repo.create(agent="agent1002", number="13800000002",
                               due_on=date(2026, 12, 1), purpose="call back", customer_id=None)
    return {"mine": mine.id, "theirs": theirs.id}


# (method, path, {role: status}); {mine}/{theirs}: the follow-ups of agent1001/agent1002
ROUTES: list[tuple[str, str, dict[str, int]]] = [
    ("GET", "/agent/follow-ups", {"agent": 200, "supervisor": 403, "admin": 403, "qa": 403}),
    ("GET", "/api/agent/follow-ups?agent=agent1002",
     {"agent": 200, "supervisor": 200, "admin": 200, "qa": 403}),
    ("GET", "/api/agent/follow-ups?all=1&agent=agent1001",
     {"agent": 200, "supervisor": 200, "admin": 200, "qa": 403}),
    ("GET", "/api/agent/follow-ups", {"agent": 200, "supervisor": 400, "admin": 400, "qa": 403}),
    ("POST", "/agent/follow-ups", {"agent": 400, "supervisor": 403, "admin": 403, "qa": 403}),
    ("POST", "/agent/follow-ups/{theirs}/status",
     {"agent": 404, "supervisor": 403, "admin": 403, "qa": 403}),
    ("POST", "/agent/follow-ups/{mine}/status",
     {"agent": 400, "supervisor": 403, "admin": 403, "qa": 403}),
    ("POST", "/api/agent/follow-ups/{theirs}/call",
     {"agent": 404, "supervisor": 403, "admin": 403, "qa": 403}),
    ("POST", "/agent/follow-ups/{theirs}/take",
     {"agent": 409, "supervisor": 403, "admin": 403, "qa": 403}),
    ("GET", "/agent/follow-ups/overdue",
     {"agent": 403, "supervisor": 200, "admin": 200, "qa": 403}),
]


@pytest.mark.parametrize("role", ROLES)
async def test_follow_up_routes_by_role(role: str, settings: Settings, pool: asyncpg.Pool,
                                        follow_ups: dict[str, int]) -> None:
    async with web_client(settings, pool, role=role) as client:
        for method, path, expected in ROUTES:
            url = path.format(**follow_ups)
            kwargs: dict[str, Any] = {"allow_redirects": False}
            if method == "POST":
                kwargs["data"] = {"csrf_token": client.csrf}
            resp = await client.request(method, url, **kwargs)
            assert resp.status == expected[role], (role, method, url, await resp.text())


async def test_what_each_role_reads(settings: Settings, pool: asyncpg.Pool,
                                    follow_ups: dict[str, int]) -> None:
    async with web_client(settings, pool, role="agent") as client:  # agent1001
        listed = await (await client.get("/api/agent/follow-ups?agent=agent1002")).json()
        assert [f["id"] for f in listed] == [follow_ups["mine"]]  # ?agent= is not theirs
        assert listed[0]["number"] == "13800000001"  # agents see whole numbers
    for role in ("supervisor", "admin"):
        async with web_client(settings, pool, role=role) as client:
            listed = await (await client.get("/api/agent/follow-ups?agent=agent1002")).json()
            assert [f["id"] for f in listed] == [follow_ups["theirs"]]
            assert listed[0]["number"] == "138****0002"  # managers see them masked
            missing = await (await client.get("/api/agent/follow-ups")).json()
            assert missing == {"errors": {"agent": "Name the agent, e.g. ?agent=agent1001."}}
