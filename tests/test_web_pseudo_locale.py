"""Every page for every role in a pseudo locale: nothing shown escapes translation.

The pseudo locale (tests/support/pseudo.py) marks every translated string; a page's
visible text (text nodes, titles, placeholders, aria-labels) and a JSON answer's
messages must hold no ASCII letters outside the marks, apart from the documented
allow-list of data (agent ids, queue names, numbers...). Run over every GET route of
the whole app, and over pages that show seeded calls, reviews, notes and errors.
"""

from __future__ import annotations

import asyncpg
import pytest

from callcenter.live import LiveConsumer
from callcenter.settings import Settings
from callcenter.web.testing import web_client
from tests.support.complaints import seed_complaint
from tests.support.console_seed import scenario
from tests.support.pseudo import leaks_in_html, leaks_in_json, leftover, pseudo, use_pseudo_locale
from tests.support.routes import routes

ROLES = ("admin", "supervisor", "qa", "agent")
DAY = "from=2026-11-02&to=2026-11-02"
WITH_DATA = (
    f"/calls?{DAY}", "/calls/pbx1/c1", "/calls/pbx1/c2", "/calls/pbx1/c3",
    f"/violations?{DAY}", "/reports?period=day&from=2026-11-02",
    "/reports?period=range&from=2026-11-01&to=2026-11-30", "/agent/calls/pbx1/c1",
    "/agent/complaints", "/qa/report?period=2026-W45",
    "/complaints", "/complaints?status=answered&overdue=1", "/complaints/1",
    "/reports/kpi?grain=quarter&by=reason&from=2026-01-01&to=2026-12-31",
    "/reports/kpi?grain=day&by=agent&from=2026-11-01&to=2026-11-30",
    "/reports/kpi?grain=fortnight", "/complaints/999",
    # bad input and errors: the messages too
    "/reports?period=month&from=2026-02-30", "/reports?period=fortnight",
    "/calls?from=yesterday", "/calls/pbx1/nope", "/no/such/page",
)
SEEDED_TEXT = ("customer waited long",)
"""What the seeded notes say (free text people wrote)."""
SKIP = ("/wallboard/events", "/agent/events", "/healthz", "/readyz", "/metrics",
        "/api/v1/openapi.json")
"""Streams, and machine-readable answers with no message for people."""


def test_the_checker_finds_what_escaped() -> None:
    assert leftover(pseudo("Calls of %(agent)s") % {"agent": "agent1001"}).strip() == ""
    assert leaks_in_html(f"<p>{pseudo('Status')}: available</p>") == [
        "⟦Status⟧: available"]
    assert leaks_in_html('<input placeholder="2026-W48 or a month">') == [
        "2026-W48 or a month"]
    assert leaks_in_html("<script>var x = 'code';</script><p>138****5678 · 12:30</p>") == []
    assert leaks_in_json('{"ok": false, "message": "Interface not found"}') == [
        "Interface not found"]


@pytest.fixture
def settings() -> Settings:
    s = Settings()
    s.web.secure_cookies = False
    s.web.company_name = "⟦company⟧"  # configured by the centre, in its own language
    return s


async def test_every_page_for_every_role_goes_through_translation(
        pool: asyncpg.Pool, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    use_pseudo_locale(monkeypatch)
    await scenario(pool)
    await pool.execute("INSERT INTO call_notes (server, linkedid, agent, category, content)"
                       " VALUES ('pbx1', 'c2', 'agent1002', 'complaint', '⟦text⟧')")
    await seed_complaint(pool)
    # the audit page shows action codes and objects as stored (data): keep it to the seed's
    await pool.execute("DELETE FROM audit_log WHERE object LIKE 'complaint:%'")
    live = LiveConsumer.from_settings(settings)
    leaks: dict[tuple[str, str], list[str]] = {}
    try:
        for role in ROLES:
            async with web_client(settings, pool, role=role, live=live) as client:
                paths = [p for m, p in routes(client.server.app) if m == "GET"]
                for path in [*paths, *WITH_DATA]:
                    if path in SKIP or path.endswith((".csv", ".xlsx")) or "/recordings/" in path:
                        continue
                    resp = await client.get(path, allow_redirects=False)
                    assert resp.status < 500, (role, path, resp.status)
                    body = await resp.text()
                    if resp.content_type == "application/json":
                        found = leaks_in_json(body)
                    elif resp.content_type == "text/html":
                        found = leaks_in_html(body, SEEDED_TEXT)
                    else:
                        found = [body] if resp.status >= 400 else []
                    if found:
                        leaks[(role, path)] = found
    finally:
        await live.close()
    assert not leaks, "\n".join(f"{role} {path}: {found}"
                                for (role, path), found in leaks.items())
