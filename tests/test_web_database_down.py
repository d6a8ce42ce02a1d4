"""PostgreSQL down while people use the web pages: a 503 page in the user's language that
says so (an API answers JSON), logged at error level, never a crash; pages work again once
the database is back."""

from __future__ import annotations

import asyncpg
from structlog.testing import capture_logs

from callcenter.settings import Settings
from callcenter.sim.proxy import CutProxy
from callcenter.web.testing import web_client
from tests.support.db_down import proxied

__all__ = ["proxied"]  # the fixture

PAGES = ("/calls", "/calls/pbx1/x.1", "/violations", "/")
CONSOLE = ("callcenter.console.web", "callcenter.wallboard.web")


def settings() -> Settings:
    s = Settings()
    s.web.secure_cookies = False
    return s


async def test_console_pages_say_the_database_is_down_then_work_again(
        proxied: tuple[CutProxy, asyncpg.Pool]) -> None:
    proxy, pool = proxied
    async with web_client(settings(), pool, role="supervisor", features=CONSOLE) as client:
        assert (await client.get("/calls")).status == 200
        proxy.cut()
        with capture_logs() as logs:
            for path in PAGES:
                answer = await client.get(path, headers={"Accept-Language": "zh-CN"})
                page = await answer.text()
                assert answer.status == 503, path
                assert 'id="error-page"' in page and "暂时无法连接通话数据库" in page, path
        assert [e["event"] for e in logs if e["log_level"] == "error"] == [
            "web_database_unreachable"] * len(PAGES)
        proxy.restore()
        assert (await client.get("/calls")).status == 200


async def test_an_api_answers_json_503_while_the_database_is_down(
        proxied: tuple[CutProxy, asyncpg.Pool]) -> None:
    proxy, pool = proxied
    features = ("callcenter.agentpanel.web",)
    async with web_client(settings(), pool, role="agent", features=features) as client:
        assert (await client.get("/api/agent/day")).status == 200
        proxy.cut()
        answer = await client.get("/api/agent/day")
        assert answer.status == 503
        assert await answer.json() == {"error": "database_unreachable"}
