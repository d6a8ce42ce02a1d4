"""PostgreSQL down under the customer and follow-up pages: the database-down page (503,
in the layout, in the user's language), not a traceback; the pages work again when it is
back."""

from __future__ import annotations

import asyncpg
import pytest

from callcenter.settings import Settings
from callcenter.sim.proxy import CutProxy
from callcenter.web.testing import web_client
from tests.support.db_down import proxied

__all__ = ["proxied"]  # the fixture: a pool through a proxy the test can cut


@pytest.mark.parametrize(("role", "path"), [
    ("supervisor", "/agent/customers"), ("supervisor", "/agent/follow-ups/overdue"),
    ("agent", "/agent/follow-ups"), ("agent", "/agent/customers/new")])
async def test_database_down_shows_the_error_page(proxied: tuple[CutProxy, asyncpg.Pool],
                                                  role: str, path: str) -> None:
    proxy, pool = proxied
    settings = Settings.model_validate({"web": {"secure_cookies": False}})
    async with web_client(settings, pool, role=role) as client:
        assert (await client.get(path)).status == 200
        proxy.cut()
        answer = await client.get(path, headers={"Accept-Language": "zh-CN"})
        page = await answer.text()
        assert answer.status == 503
        assert 'id="error-page"' in page and "暂时无法连接通话数据库" in page
        proxy.restore()
        assert (await client.get(path)).status == 200
