"""The wallboard shows the queue callbacks waiting (how many, the oldest request's age),
in both languages, and nothing when none wait; the report counts callbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from callcenter.calls.model import CallbacksWaiting
from callcenter.live import LiveConsumer
from callcenter.settings import Settings
from callcenter.store.callbacks import CallbackRepository
from callcenter.web.app import CORE_FEATURES
from callcenter.web.testing import web_client


async def test_wallboard_shows_callbacks_waiting(pool: asyncpg.Pool) -> None:
    settings = Settings()
    live = LiveConsumer.from_settings(settings)
    oldest = datetime.now(UTC) - timedelta(minutes=3)
    await live.on_facts([CallbacksWaiting("", datetime.now(UTC),
                                          (("sales", 1, datetime.now(UTC)),
                                           ("support", 2, oldest)))])
    async with web_client(settings, pool, role="supervisor", live=live,
                          features=CORE_FEATURES) as client:
        zh = await (await client.get("/wallboard", headers={"Accept-Language": "zh-CN"})).text()
        assert "待回拨" in zh
        assert '<tr data-callback-queue="support"><th>support</th><td class="num ' \
            'callbacks-waiting">2</td>' in zh
        assert f'data-since="{oldest.isoformat()}">' in zh  # the page ticks its age
        en = await (await client.get("/wallboard", headers={"Accept-Language": "en"})).text()
        assert "Callbacks waiting" in en and "待回拨" not in en
        board = await (await client.get("/api/v1/live")).json()
        assert [(c["queue"], c["waiting"]) for c in board["callbacks"]] == [
            ("sales", 1), ("support", 2)]
        await live.on_facts([CallbacksWaiting("", datetime.now(UTC), ())])
        after = await (await client.get("/wallboard", headers={"Accept-Language": "en"})).text()
        assert "Callbacks waiting" not in after
    await live.close()


async def test_report_counts_callbacks_requested_made_reached(pool: asyncpg.Pool) -> None:
    """The report of the day: requests of the period, those called back, those reached; the
    original calls are no abandons (their disposition is callback_requested)."""
    repo = CallbackRepository(pool)
    for n, outcome in enumerate(("reached", "no_answer", None)):
        made = await repo.request(server="pbx", linkedid=f"pbx-{n}", queue="support",
                                  number=f"1380000050{n}", joined_at=datetime.now(UTC),
                                  position=1)
        await pool.execute("INSERT INTO calls (server, linkedid, started_at, ended_at,"
                           " direction, queue, disposition) VALUES ('pbx', $1, now(), now(),"
                           " 'inbound', 'support', 'callback_requested')", f"pbx-{n}")
        if outcome is not None:
            await repo.start_attempt(made.id, f"cc-cb-{made.id}-1", "PJSIP/agent1001")
            await repo.finish_attempt(f"cc-cb-{made.id}-1", outcome, retry_at=None,
                                      give_up="unreachable" if outcome != "reached" else None,
                                      at=datetime.now(UTC))
    async with web_client(Settings(), pool, role="supervisor") as client:
        zh = await (await client.get("/reports?period=day",
                                     headers={"Accept-Language": "zh-CN"})).text()
        assert "排队回拨" in zh
        for key, n in (("requested", 3), ("made", 2), ("reached", 1)):
            assert f'<dd id="callbacks-{key}">{n}</dd>' in zh
        data = await (await client.get("/api/v1/reports?period=day")).json()
        assert data["callbacks"] == {"requested": 3, "made": 2, "reached": 1}
        summary = dict(data["tables"]["summary"]["rows"])
        assert (summary["offered"], summary["abandoned"], summary["short abandoned"]) == (3, 0, 0)
