"""The wallboard shows the queue callbacks waiting (how many, the oldest request's age),
in both languages, and nothing when none wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from callcenter.calls.model import CallbacksWaiting
from callcenter.live import LiveConsumer
from callcenter.settings import Settings
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
