"""Agent actions from the wallboard over HTTP: who may act, what reaches the PBX through the
command port, the audit rows, and our own translated sentences instead of Asterisk's."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from callcenter.calls.model import AgentStateChanged
from callcenter.commands import CommandPort
from callcenter.live import LiveConsumer
from callcenter.settings import Settings
from callcenter.store.agents import AgentRepository
from callcenter.store.audit import AuditRepository
from callcenter.web.app import CORE_FEATURES
from callcenter.web.testing import web_client

AGENT = "agent1001"


class Pbx:
    """An AMI client stand-in: records actions, answers with the next canned response."""

    def __init__(self) -> None:
        self.actions: list[dict[str, Any]] = []
        self.replies: list[dict[str, str]] = []

    async def send_action(self, action: Mapping[str, Any],
                          timeout: float | None = None) -> Mapping[str, Any]:
        self.actions.append({k: v for k, v in action.items() if k != "ActionID"})
        return self.replies.pop(0) if self.replies else {"Response": "Success",
                                                         "Message": "Interface paused"}


@pytest.fixture
async def board(pool: asyncpg.Pool) -> LiveConsumer:
    settings = Settings()
    live = LiveConsumer.from_settings(settings)
    now = datetime.now(UTC)
    fact = AgentStateChanged("pbx1", now, f"PJSIP/{AGENT}", AGENT, None, "support",
                             "available", False, None, True)
    await live.on_facts([fact])
    await AgentRepository(pool).touch_queues([("pbx1", "support", now)])
    return live


async def post(client: Any, action: str, lang: str = "en", agent: str = AGENT,
               **form: str) -> tuple[int, dict[str, Any]]:
    resp = await client.post(f"/wallboard/agents/{agent}/{action}",
                             data={"csrf_token": client.csrf, **form},
                             headers={"Accept-Language": lang})
    body = await resp.json() if resp.content_type == "application/json" else {}
    return resp.status, body


@pytest.mark.parametrize("role", ["qa", "agent"])
async def test_qa_and_agents_may_not_act(pool: asyncpg.Pool, board: LiveConsumer,
                                         role: str) -> None:
    pbx = Pbx()
    async with web_client(Settings(), pool, role=role, live=board, features=CORE_FEATURES,
                          commands=CommandPort({"pbx1": pbx})) as client:
        for action, form in [("pause", {"reason": "lunch"}), ("unpause", {}),
                             ("remove", {"queue": "support"})]:
            status, _ = await post(client, action, **form)
            assert status == 403, (role, action)
    assert pbx.actions == []
    assert await AuditRepository(pool).entries(object=f"agent:PJSIP/{AGENT}") == []
    await board.close()


async def test_without_csrf_or_sign_in_nothing_happens(pool: asyncpg.Pool,
                                                       board: LiveConsumer) -> None:
    pbx = Pbx()
    async with web_client(Settings(), pool, role="supervisor", live=board,
                          features=CORE_FEATURES, commands=CommandPort({"pbx1": pbx})) as client:
        resp = await client.post(f"/wallboard/agents/{AGENT}/pause", data={"reason": "lunch"})
        assert resp.status == 403
    async with web_client(Settings(), pool, role=None, live=board, features=CORE_FEATURES,
                          commands=CommandPort({"pbx1": pbx})) as client:
        resp = await client.post(f"/wallboard/agents/{AGENT}/pause", allow_redirects=False,
                                 data={"reason": "lunch", "csrf_token": "x"})
        assert resp.status in (302, 403)
    assert pbx.actions == []
    await board.close()


@pytest.mark.parametrize("role", ["supervisor", "admin"])
async def test_supervisors_and_admins_pause_unpause_and_remove(
        pool: asyncpg.Pool, board: LiveConsumer, role: str) -> None:
    pbx = Pbx()
    async with web_client(Settings(), pool, role=role, live=board, features=CORE_FEATURES,
                          commands=CommandPort({"pbx1": pbx})) as client:
        assert await post(client, "pause", reason="lunch") == (200, {
            "ok": True, "status": "ok", "message": "agent1001 is paused: Lunch."})
        status, body = await post(client, "unpause", lang="zh")
        assert (status, body["ok"]) == (200, True) and "已示闲" in body["message"]
        status, body = await post(client, "remove", queue="support")
        assert (status, body["message"]) == (200, "agent1001 was removed from queue support.")
        user = client.username
    assert pbx.actions == [
        {"Action": "QueuePause", "Interface": "PJSIP/agent1001", "Paused": "true",
         "Reason": "lunch"},
        {"Action": "QueuePause", "Interface": "PJSIP/agent1001", "Paused": "false"},
        {"Action": "QueueRemove", "Queue": "support", "Interface": "PJSIP/agent1001"}]
    rows = await AuditRepository(pool).entries(object="agent:PJSIP/agent1001")
    assert [(r.actor, r.action, r.details["ok"], r.details.get("reason"),
             r.details.get("queue")) for r in reversed(rows)] == [
        (user, "agent_paused", True, "lunch", None),
        (user, "agent_unpaused", True, "", None),
        (user, "queue_leave", True, None, "support")]
    await board.close()


async def test_asterisk_english_is_never_shown(pool: asyncpg.Pool, board: LiveConsumer) -> None:
    pbx = Pbx()
    pbx.replies = [{"Response": "Error", "Message": "Interface not found"},
                   {"Response": "Error", "Message": "Unable to remove interface: Not there"},
                   {"Response": "Error", "Message": "Permission denied"}]
    async with web_client(Settings(), pool, role="supervisor", live=board,
                          features=CORE_FEATURES, commands=CommandPort({"pbx1": pbx})) as client:
        status, body = await post(client, "pause", reason="break")
        assert (status, body["status"]) == (409, "too_late")
        assert body["message"] == ("Asterisk does not know agent1001 in any queue: "
                                   "nothing was changed.")
        status, body = await post(client, "remove", lang="zh", queue="support")
        assert status == 502 and "Not there" not in body["message"] and "support" in body[
            "message"] and "未" in body["message"]
        status, body = await post(client, "unpause", lang="zh")
        assert status == 502 and "Permission" not in body["message"]
        assert body["message"].startswith("Asterisk 未")
        status, body = await post(client, "pause", reason="nap")       # not a configured reason
        assert status == 400 and body["message"] == "Choose a pause reason from the list."
        status, body = await post(client, "remove", queue="nosuch")
        assert status == 400 and body["message"] == "No such queue."
        status, body = await post(client, "pause", agent="agent9999", reason="lunch")
        assert status == 404
    assert len(pbx.actions) == 3
    rows = await AuditRepository(pool).entries(object="agent:PJSIP/agent1001")
    assert [(r.action, r.details["ok"], r.details["message"]) for r in reversed(rows)] == [
        ("agent_paused", False, "Interface not found"),
        ("queue_leave", False, "Error: Unable to remove interface: Not there"),
        ("agent_unpaused", False, "Error: Permission denied")]
    async with web_client(Settings(), pool, role="supervisor", live=board,
                          features=CORE_FEATURES) as client:  # no PBX link in this process
        status, body = await post(client, "pause", reason="lunch")
        assert status == 503 and "No connection" in body["message"]
    await board.close()


def test_every_action_sentence_has_a_chinese_translation() -> None:
    from callcenter.wallboard import actions as wa
    from callcenter.web.i18n import Catalogues

    zh = Catalogues().translations("zh")
    msgids = {*wa.DONE.values(), *wa.NOT_THERE.values(), wa.FAILED, wa.NO_PBX,
              "No such agent on the board.", "Choose a pause reason from the list.",
              "No such queue.", "Act…", "Pause", "Unpause", "Remove from queue",
              "Direct calls (no queue)", "All inbound calls", "Legend"}
    assert sorted(m for m in msgids if zh.gettext(m) == m) == []
