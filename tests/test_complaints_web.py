"""The complaint pages over HTTP: registration errors naming the field, the steps each role
may take, filters, the timeline and audit, and a database that does not answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.web.testing import web_client
from tests.support.agent_panel import settings
from tests.support.complaints import seed_complaint

NOW = datetime.now(UTC)


__all__ = ["settings"]  # the fixture: plain-http cookies, English pages


async def post(client: Any, path: str, **data: str) -> Any:
    return await client.post(path, allow_redirects=False,
                             data={"csrf_token": client.csrf, **data})


async def test_registration_names_the_bad_field(pool: asyncpg.Pool, settings: Settings) -> None:
    async with web_client(settings, pool, role="supervisor") as client:
        bad = await post(client, "/complaints", reason="rudeness", text="x", number="138")
        page = await bad.text()
        assert bad.status == 400 and 'data-error="reason"' in page
        assert "Choose one of the list." in page
        none = await post(client, "/complaints", reason="billing", text="charged twice")
        assert none.status == 400 and 'data-error="number"' in await none.text()
        no_call = await post(client, "/complaints", reason="billing", text="x", call="pbx1/zz")
        assert no_call.status == 400 and 'data-error="call"' in await no_call.text()
        ok = await post(client, "/complaints", reason="billing", text="charged twice",
                        number="+86 138 0000 0009")
        assert ok.status == 303
        page = await (await client.get(ok.headers["Location"])).text()
        assert "Registered" in page and "charged twice" in page and "Billing" in page
    row = await pool.fetchrow("SELECT number, status, due_at - opened_at AS left FROM complaints")
    assert (row["number"], row["status"]) == ("13800000009", "registered")
    assert abs(row["left"] - timedelta(hours=48)) < timedelta(minutes=1)


async def test_a_round_with_escalation_then_closure(pool: asyncpg.Pool,
                                                    settings: Settings) -> None:
    cid = await seed_complaint(pool)
    async with web_client(settings, pool, role="agent") as agent:
        page = await (await agent.get(f"/complaints/{cid}")).text()  # agent1001's call
        assert 'data-step="not_satisfied"' in page and 'data-step="close"' not in page
        refused = await post(agent, f"/complaints/{cid}/close", text="x")
        assert refused.status == 403
        no_source = await post(agent, f"/complaints/{cid}/not_satisfied")
        assert no_source.status == 400 and 'data-error="verdict_source"' in await no_source.text()
        reopened = await post(agent, f"/complaints/{cid}/not_satisfied",
                              verdict_source="follow_up_call", text="still waiting")
        assert reopened.status == 303
    async with web_client(settings, pool, role="supervisor") as sup:
        early = await post(sup, f"/complaints/{cid}/answer", response="x")
        assert early.status == 409  # escalated: investigate first
        assert "cannot be" in await early.text()
        for action, data in (("investigate", {}), ("answer", {"response": "refunded"}),
                             ("satisfied", {"verdict_source": "survey"})):
            assert (await post(sup, f"/complaints/{cid}/{action}", **data)).status == 303
        page = await (await sup.get(f"/complaints/{cid}")).text()
        assert 'data-status="closed"' in page and 'class="round">2<' in page
        assert 'data-step=' not in page  # closed: no step left
    events = [r["action"] for r in await pool.fetch(
        "SELECT action FROM complaint_events WHERE complaint_id = $1 ORDER BY id", cid)]
    assert events == ["register", "investigate", "record", "answer", "not_satisfied",
                      "investigate", "answer", "satisfied"]
    audited = [e.action for e in reversed(await AuditRepository(pool).entries(
        object=f"complaint:{cid}"))]
    assert audited == [f"complaint_{a}" for a in events]


async def test_filters_and_the_empty_state(pool: asyncpg.Pool, settings: Settings) -> None:
    cid = await seed_complaint(pool)
    late = await pool.fetchval(
        "INSERT INTO complaints (number, reason, opened_at, due_at, first_due_at)"
        " VALUES ('13800000002', 'billing', now() - interval '3 days',"
        " now() - interval '1 day', now() - interval '1 day') RETURNING id")
    async with web_client(settings, pool, role="supervisor") as client:
        def ids(page: str) -> set[int]:
            return {k for k in (cid, late) if f'data-complaint="{k}"' in page}
        assert ids(await (await client.get("/complaints")).text()) == {cid, late}
        assert ids(await (await client.get("/complaints?overdue=1")).text()) == {late}
        assert ids(await (await client.get("/complaints?reason=wait_time")).text()) == {cid}
        assert ids(await (await client.get("/complaints?agent=agent1001")).text()) == {cid}
        assert ids(await (await client.get("/complaints?status=answered")).text()) == {cid}
        empty = await (await client.get("/complaints?status=closed")).text()
        assert 'id="no-complaints"' in empty
    async with web_client(settings, pool, role="agent", agent="agent1002") as other:
        assert 'id="no-complaints"' in await (await other.get("/complaints")).text()
        assert (await other.get(f"/complaints/{cid}")).status == 404


async def test_database_down_gives_the_error_page(pool: asyncpg.Pool, settings: Settings,
                                                  pg_server_dsn: str) -> None:
    cid = await seed_complaint(pool)
    async with web_client(settings, pool, role="supervisor") as client:
        assert (await client.get(f"/complaints/{cid}")).status == 200
        name = await pool.fetchval("SELECT current_database()")
        admin = await asyncpg.connect(pg_server_dsn)
        try:  # PostgreSQL refuses this database from now on, its sessions are cut
            await admin.execute("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false")
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                " WHERE datname = $1 AND pid <> pg_backend_pid()", name)
            for path in ("/complaints", f"/complaints/{cid}"):
                down = await client.get(path)
                page = await down.text()
                assert down.status == 503 and 'id="error-page"' in page, path
                assert "The call database cannot be reached right now." in page
            posted = await post(client, f"/complaints/{cid}/close", text="x")
            assert posted.status == 503 and 'id="error-page"' in await posted.text()
        finally:
            await admin.execute("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true")
            await admin.close()
