"""The agent panel in tests: personas, a stored call, and the rig (simulator, daemon, web
client) with its event stream and member lookups."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from callcenter.agentpanel.feed import AgentFeed
from callcenter.agentpanel.web import attach_feed
from callcenter.ami.protocol import Frame
from callcenter.calls.model import CallRecord, RingAttempt
from callcenter.commands import CommandPort
from callcenter.ingest.daemon import Daemon
from callcenter.settings import Settings
from callcenter.sim import AgentScript, PBXSimulator
from callcenter.web.testing import web_client
from tests.support.settings import sim_settings
from tests.support.wait import until

SPEED = 10.0


NEVER = AgentScript(answer_after=None)


class Events:
    """Reads a Server-Sent Events stream in the background, stamping each arrival."""

    def __init__(self, response: ClientResponse) -> None:
        self.response = response
        self.items: list[tuple[float, str, dict[str, Any]]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        name = ""
        async for raw in self.response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                self.items.append((time.monotonic(), name, json.loads(line[6:])))

    async def first(self, name: str, pred: Callable[[dict[str, Any]], bool] = lambda e: True,
                    timeout: float = 10.0) -> tuple[float, dict[str, Any]]:
        found = await until(lambda: next(((t, e) for t, n, e in self.items
                                          if n == name and pred(e)), None), timeout)
        return found  # type: ignore[no-any-return]

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.response.close()


@dataclass
class Rig:
    sim: PBXSimulator
    daemon: Daemon
    client: TestClient[Any, Any]
    pool: asyncpg.Pool

    def actions(self, name: str) -> list[Frame]:
        return [{k: v for k, v in a.items() if k != "ActionID"}
                for a in self.sim.actions if a.get("Action") == name]

    async def post(self, path: str, data: dict[str, Any] | None = None) -> ClientResponse:
        return await self.client.post(path, json=data or {},
                                      headers={"X-CSRF-Token": self.client.csrf})

    async def members(self) -> dict[str, dict[str, Any]]:
        state = await (await self.client.get("/api/agent/state")).json()
        return {m["queue"]: m for m in state["members"]}

    async def events(self) -> Events:
        resp = await self.client.get("/agent/events")
        assert resp.status == 200
        stream = Events(resp)
        await until(lambda: self.feed().subscribers("agent1001"))
        return stream

    def feed(self) -> AgentFeed:
        return next(c for c in self.daemon.consumers if isinstance(c, AgentFeed))


@pytest.fixture
async def rig(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Rig]:
    sim = PBXSimulator(speed=SPEED, keep_events=True, auth_fail_delay=0.01, systemname="sim")
    await sim.start()
    settings = sim_settings(sim, tmp_path)
    daemon = Daemon(settings, pool, consumers=[AgentFeed()], log_calls=False)
    await daemon.start()
    try:
        async with web_client(settings, pool, role="agent",
                              commands=CommandPort(daemon.clients)) as client:
            attach_feed(client.app, daemon.consumers)
            r = Rig(sim, daemon, client, pool)
            await until(lambda: r.members(), timeout_s=10)
            yield r
    finally:
        await daemon.stop()
        await sim.stop()


async def members_of(rig: Rig, queue: str) -> dict[str, dict[str, Any]] | None:
    members = await rig.members()
    return members if queue in members else None


async def where(rig: Rig, queue: str, pred: Callable[[dict[str, Any]], bool]) -> bool:
    member = (await rig.members()).get(queue)
    return member is not None and pred(member)


@dataclass(frozen=True)
class Who:
    username: str
    role: str
    agent: str | None = None


ALICE = Who("alice", "agent", "agent1001")


BOB = Who("bob", "agent", "agent1002")


SUPER = Who("sue", "supervisor")


QA = Who("quinn", "qa")
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 14:00 in Asia/Shanghai


def call(linkedid: str, agent: str, caller: str = "+8613800000001", *,
         started: datetime = NOW - timedelta(hours=1), talk_s: float = 60.0,
         direction: str = "inbound", callee: str | None = "800",
         server: str = "pbx1") -> CallRecord:
    answered = started + timedelta(seconds=5)
    ring = RingAttempt(agent=agent, interface=f"PJSIP/{agent}", started_at=started,
                       queue="support", ended_at=answered, outcome="answered", rings=1)
    return CallRecord(server=server, linkedid=linkedid, started_at=started,
                      direction=direction,  # type: ignore[arg-type]
                      caller=caller, callee=callee, queue="support", agent=agent,
                      answered_at=answered, ended_at=answered + timedelta(seconds=talk_s),
                      disposition="answered", ring_attempts=[ring])


@pytest.fixture
def settings() -> Settings:
    s = Settings()
    s.web.secure_cookies = False
    s.web.default_language = "en"  # the assertions read English strings
    return s
