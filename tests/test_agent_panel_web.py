"""The agent panel over HTTP: pages, forms with their errors, the JSON API, permissions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.agentpanel.customers import CustomerDesk
from callcenter.agentpanel.notes import NoteDesk
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.calls import CallRepository
from callcenter.web.i18n import Catalogues
from callcenter.web.testing import web_client
from tests.support.agent_panel import ALICE, BOB, call, settings

__all__ = ["settings"]  # the fixture

NOW = datetime.now(UTC)


@pytest.fixture
async def world(pool: asyncpg.Pool, settings: Settings) -> dict[str, Any]:
    """Calls of agent1001 (c1, with a complaint note) and agent1002 (c2); a customer."""
    await CallRepository(pool).upsert_calls([
        call("c1", "agent1001", started=NOW - timedelta(hours=1)),
        call("c2", "agent1002", started=NOW - timedelta(hours=2))])
    audit = AuditRepository(pool)
    wang = await CustomerDesk(pool, audit, "9").create(
        ALICE, {"name": "Wang Wei", "phones": "13800000001"})
    notes = NoteDesk(settings, pool, audit)
    await notes.save(ALICE, "pbx1", "c1", {"category": "complaint", "content": "alice's note"},
                     now=NOW - timedelta(hours=60))
    await notes.save(BOB, "pbx1", "c2", {"category": "complaint", "content": "bob's secret"})
    return {"customer": wang.id}


ALLOWED, DENIED, MISSING = 200, 403, 404
# (path, {role: expected status}); agent = agent1001 ("alice")
PERMISSIONS: list[tuple[str, dict[str, int]]] = [
    ("/agent", {"agent": ALLOWED, "supervisor": DENIED, "qa": DENIED, "admin": DENIED}),
    ("/agent/calls/pbx1/c1", {"agent": ALLOWED, "supervisor": ALLOWED, "qa": ALLOWED,
                              "admin": ALLOWED}),
    ("/agent/calls/pbx1/c2", {"agent": DENIED, "supervisor": ALLOWED, "qa": ALLOWED,
                              "admin": ALLOWED}),
    ("/agent/calls/pbx1/none", {"agent": MISSING, "supervisor": MISSING}),
    ("/agent/customers?q=wang", {"agent": ALLOWED, "supervisor": ALLOWED, "qa": DENIED}),
    ("/agent/customers/{customer}", {"agent": ALLOWED, "supervisor": ALLOWED, "qa": DENIED}),
    ("/agent/customers/999999", {"agent": MISSING}),
    ("/agent/customers/abc", {"agent": MISSING}),
    ("/agent/complaints", {"agent": 301, "supervisor": 301}),  # moved to /complaints
    ("/complaints", {"agent": ALLOWED, "supervisor": ALLOWED, "qa": DENIED}),
    ("/agent/follow-ups", {"agent": ALLOWED, "supervisor": DENIED, "qa": DENIED}),
    ("/api/agent/state", {"agent": ALLOWED, "supervisor": DENIED, "qa": DENIED}),
    ("/api/agent/day", {"agent": ALLOWED, "supervisor": DENIED, "qa": DENIED}),
    ("/api/agent/screen-pop?number=13800000001", {"agent": ALLOWED, "supervisor": ALLOWED,
                                                  "qa": DENIED}),
]


async def test_permissions_by_role(pool: asyncpg.Pool, settings: Settings,
                                   world: dict[str, Any]) -> None:
    for role in ("agent", "supervisor", "qa", "admin"):
        async with web_client(settings, pool, role=role) as client:
            for path, expected in PERMISSIONS:
                if role in expected:
                    resp = await client.get(path.format(**world), allow_redirects=False)
                    assert resp.status == expected[role], (role, path)


async def test_what_an_agent_sees_of_colleagues(pool: asyncpg.Pool, settings: Settings,
                                                world: dict[str, Any]) -> None:
    async with web_client(settings, pool, role="agent") as client:
        complaints = await (await client.get("/complaints")).text()
        assert "alice&#39;s note" in complaints and "bob&#39;s secret" not in complaints
        customer = await (await client.get(f"/agent/customers/{world['customer']}")).text()
        assert "alice&#39;s note" in customer and "bob&#39;s secret" not in customer
        pop = await (await client.get("/api/agent/screen-pop?number=8613800000001")).json()
        notes = {c["linkedid"]: c["notes"] for c in pop["history"]}
        assert notes["c2"][0]["content"] is None and notes["c2"][0]["category"] == "complaint"
        assert pop["customer"]["phones"] == ["13800000001"]  # agents see whole numbers
    async with web_client(settings, pool, role="supervisor") as client:
        pop = await (await client.get("/api/agent/screen-pop?number=13800000001")).json()
        assert pop["customer"]["phones"] == ["138****0001"]
        assert {c["linkedid"]: c["notes"] for c in pop["history"]}["c2"][0]["content"] == (
            "bob's secret")
        page = await (await client.get("/complaints")).text()
        assert page.count('class="overdue"') == 1 and "bob&#39;s secret" in page


async def test_customer_forms_validate_and_save(pool: asyncpg.Pool, settings: Settings,
                                                world: dict[str, Any]) -> None:
    async with web_client(settings, pool, role="agent") as client:
        bad = await client.post("/agent/customers/new", data={
            "csrf_token": client.csrf, "name": "", "phones": "13800000001, 12ab"})
        assert bad.status == 400
        text = await bad.text()
        assert 'data-error="name"' in text and 'data-error="phones"' in text
        taken = await client.post("/agent/customers/new", data={
            "csrf_token": client.csrf, "name": "Li", "phones": "+86 138 0000 0001"})
        assert taken.status == 400 and "belongs to another customer" in await taken.text()
        made = await client.post("/agent/customers/new", allow_redirects=False, data={
            "csrf_token": client.csrf, "name": "Li Na", "company": "Shop",
            "phones": "+86 139 0000 0002"})
        assert made.status == 303
        location = made.headers["Location"]
        page = await (await client.get(location)).text()
        assert "Li Na" in page and "13900000002" in page
        edited = await client.post(location, allow_redirects=False, data={
            "csrf_token": client.csrf, "name": "Li Na", "company": "Big Shop",
            "phones": "13900000002"})
        assert edited.status == 303
        no_csrf = await client.post(location, data={"name": "x"})
        assert no_csrf.status == 403
    async with web_client(settings, pool, role="supervisor") as client:
        # a supervisor sees masked numbers and edits the rest; the numbers stay
        resp = await client.post(location, allow_redirects=False, data={
            "csrf_token": client.csrf, "name": "Li Na", "company": "Biggest Shop"})
        assert resp.status == 303
        page = await (await client.get(location)).text()
        assert "Biggest Shop" in page and "139****0002" in page and "13900000002" not in page


async def test_notes_page_stores_the_note_on_the_call(pool: asyncpg.Pool, settings: Settings,
                                                      world: dict[str, Any]) -> None:
    async with web_client(settings, pool, role="agent") as client:
        page = await (await client.get("/agent/calls/pbx1/c1")).text()
        assert 'name="category"' in page and "alice&#39;s note" in page
        bad = await client.post("/agent/calls/pbx1/c1", data={
            "csrf_token": client.csrf, "category": "nonsense", "follow_up_on": "2000-01-01"})
        assert bad.status == 400
        text = await bad.text()
        assert 'data-error="category"' in text and 'data-error="follow_up_on"' in text
        ok = await client.post("/agent/calls/pbx1/c1", allow_redirects=False, data={
            "csrf_token": client.csrf, "category": "repair", "content": "router broken",
            "result": "engineer booked"})
        assert ok.status == 303 and ok.headers["Location"] == "/agent/calls/pbx1/c1?saved=1"
        page = await (await client.get(ok.headers["Location"])).text()
        assert 'id="note-saved"' in page and "Note saved." in page
        assert "c1</h1>" not in page and "c1</title>" not in page  # titled by time and number
        other = await client.post("/agent/calls/pbx1/c2", data={
            "csrf_token": client.csrf, "category": "repair"})
        assert other.status == 403
    notes = await pool.fetch("SELECT linkedid, agent, category, content FROM call_notes"
                             " ORDER BY linkedid")
    assert [tuple(r) for r in notes] == [("c1", "agent1001", "repair", "router broken"),
                                         ("c2", "agent1002", "complaint", "bob's secret")]
    async with web_client(settings, pool, role="supervisor") as client:
        page = await (await client.get("/agent/calls/pbx1/c2")).text()
        assert "bob&#39;s secret" in page and 'name="category"' not in page


async def test_follow_ups_and_complaint_answers(pool: asyncpg.Pool, settings: Settings,
                                                world: dict[str, Any]) -> None:
    async with web_client(settings, pool, role="agent") as client:
        bad = await client.post("/agent/follow-ups", data={
            "csrf_token": client.csrf, "number": "nope", "due_on": ""})
        assert bad.status == 400 and 'data-error="number"' in await bad.text()
        due = (NOW + timedelta(days=2)).date().isoformat()
        ok = await client.post("/agent/follow-ups", allow_redirects=False, data={
            "csrf_token": client.csrf, "number": "13800000001", "due_on": due,
            "purpose": "satisfaction"})
        assert ok.status == 303
        assert (await (await client.get("/api/agent/day")).json())["follow_ups_due"] == []
        listed = await (await client.get("/api/agent/follow-ups")).json()
        assert [(f["number"], f["customer_name"]) for f in listed] == [
            ("13800000001", "Wang Wei")]
        no_pbx = await client.post(f"/api/agent/follow-ups/{listed[0]['id']}/call",
                                   headers={"X-CSRF-Token": client.csrf})
        assert no_pbx.status == 503
        missing = await client.post("/api/agent/follow-ups/0/call",
                                    headers={"X-CSRF-Token": client.csrf})
        assert missing.status == 400
        done = await client.post(f"/agent/follow-ups/{listed[0]['id']}/status",
                                 allow_redirects=False,
                                 data={"csrf_token": client.csrf, "status": "done"})
        assert done.status == 303
        assert await (await client.get("/api/agent/follow-ups")).json() == []
    complaint = await pool.fetchval("SELECT id FROM complaints ORDER BY due_at LIMIT 1")
    async with web_client(settings, pool, role="supervisor") as client:
        started = await client.post(f"/complaints/{complaint}/investigate",
                                    allow_redirects=False, data={"csrf_token": client.csrf})
        assert started.status == 303
        empty = await client.post(f"/complaints/{complaint}/answer", data={
            "csrf_token": client.csrf, "response": " "})
        assert empty.status == 400 and 'data-error="response"' in await empty.text()
        ok = await client.post(f"/complaints/{complaint}/answer", allow_redirects=False, data={
            "csrf_token": client.csrf, "response": "apologised"})
        assert ok.status == 303
        page = await (await client.get(f"/complaints/{complaint}")).text()
        assert "apologised" in page and 'data-status="answered"' in page
        assert '<strong class="flag">' not in page  # answered: no longer overdue
    async with web_client(settings, pool, role="agent") as client:
        refused = await client.post(f"/complaints/{complaint}/close", data={
            "csrf_token": client.csrf, "text": "x"})
        assert refused.status == 403


async def test_api_errors_are_json(pool: asyncpg.Pool, settings: Settings,
                                   world: dict[str, Any]) -> None:
    async with web_client(settings, pool, role="agent") as client:
        headers = {"X-CSRF-Token": client.csrf}
        resp = await client.post("/api/agent/presence/pause", json={"reason": "nap"},
                                 headers=headers)
        assert resp.status == 503  # no PBX link in this app
        bad = await client.post("/api/agent/presence/pause", data="{", headers={
            **headers, "Content-Type": "application/json"})
        assert bad.status == 400 and "body" in (await bad.json())["errors"]
        panel = await (await client.get("/agent")).text()
        assert "/static/agent.js" in panel and "screen pop is off" in panel
    async with web_client(settings, pool, role=None) as client:
        resp = await client.get("/api/agent/state")
        assert resp.status == 401


def test_every_panel_string_has_a_chinese_translation(settings: Settings) -> None:
    zh = Catalogues().gettext("zh")
    templates = Path(__file__).parents[1] / "callcenter/web/templates/agent"
    msgids = {m for f in templates.glob("*.html")
              for m in re.findall(r"""_\(["']([^"']+)["']\)""", f.read_text(encoding="utf-8"))}
    msgids |= set(settings.agent_panel.note_categories) | set(settings.agent_panel.pause_reasons)
    assert msgids and not [m for m in sorted(msgids) if zh(m) == m]
