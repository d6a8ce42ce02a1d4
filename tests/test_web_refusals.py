"""A refusal of the services (no such object, not yours, not for your role) is said in the
user's language: on the error page inside the layout, and as JSON by the API."""

from __future__ import annotations

import asyncpg

from callcenter.refusals import Forbidden
from callcenter.settings import Settings
from callcenter.web.i18n import gettext_for
from callcenter.web.testing import web_client

FEATURES = ("callcenter.agentpanel.web", "callcenter.qa.web")


def settings() -> Settings:
    s = Settings()
    s.web.secure_cookies = False
    return s


async def test_refusals_on_pages_are_said_in_the_users_language(pool: asyncpg.Pool) -> None:
    async with web_client(settings(), pool, role="agent", features=FEATURES) as agent:
        await pool.execute("UPDATE users SET language = 'zh' WHERE username = $1",
                           agent.username)
        missing = await agent.get("/agent/calls/pbx1/nope.1")
        page = await missing.text()
        assert missing.status == 404 and 'id="error-page"' in page
        assert "没有通话 pbx1/nope.1。" in page
        review = await agent.get("/qa/reviews/424242")
        assert review.status == 404 and "没有编号为 424242 的质检评分。" in await review.text()
        await pool.execute("UPDATE users SET language = 'en' WHERE username = $1",
                           agent.username)
        english = await agent.get("/agent/calls/pbx1/nope.1")
        assert "No call pbx1/nope.1." in await english.text()


async def test_the_api_says_a_refusal_as_json_in_the_users_language(pool: asyncpg.Pool) -> None:
    async with web_client(settings(), pool, role="agent", features=FEATURES) as agent:
        await pool.execute("UPDATE users SET language = 'zh' WHERE username = $1",
                           agent.username)
        answer = await agent.post("/api/agent/follow-ups/999999/call",
                                  headers={"X-CSRF-Token": agent.csrf})
        assert answer.status == 404
        assert await answer.json() == {"error": "没有编号为 999999 的回访。"}


def test_a_refusals_words_are_translated_too() -> None:
    refusal = Forbidden("A %(role)s may not %(what)s.", role="qa", what="read customers")
    assert str(refusal) == "A qa may not read customers."
    assert refusal.said(gettext_for("zh")) == "质检员无权查看客户。"
