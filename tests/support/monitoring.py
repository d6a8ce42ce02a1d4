"""A simulator + daemon (live state) + web app rig for the live monitoring tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from callcenter.commands import CommandPort
from callcenter.ingest.daemon import Daemon
from callcenter.live import LiveConsumer
from callcenter.sim import AgentScript, PBXSimulator
from callcenter.sim.server import CallHandle
from callcenter.store.users import UserRepository
from callcenter.web.testing import web_client
from tests.support.settings import sim_settings
from tests.support.wait import until

SPEED = 10.0
TALK = AgentScript(answer_after=1.0, talk=600.0)
NEVER = AgentScript(answer_after=None)


@dataclass
class MonitorRig:
    """The simulator, the daemon with its live state, a signed-in web client."""

    sim: PBXSimulator
    daemon: Daemon
    live: LiveConsumer
    client: TestClient[Any, Any]
    pool: asyncpg.Pool

    async def post(self, path: str, data: dict[str, Any] | None = None) -> ClientResponse:
        return await self.client.post(path, json=data or {},
                                      headers={"X-CSRF-Token": self.client.csrf})

    async def set_softphone(self, endpoint: str | None = "supervisor2001") -> None:
        await UserRepository(self.pool).set_softphone(self.client.username, endpoint)

    async def live_call(self, agent: str = "agent1001") -> CallHandle:
        """A customer call to queue support answered by ``agent``, in the live state."""
        others = {a.config.endpoint: NEVER for a in self.sim.pbx.agents.values()}
        call = await self.sim.inbound_call("13800000301", agents={**others, agent: TALK})
        await until(lambda: self._answered(call.linkedid))
        return call

    def _answered(self, linkedid: str) -> bool:
        record = self.live.state.open_calls.get(("sim", linkedid))
        return record is not None and record.answered

    async def session(self, session_id: int, status: str) -> dict[str, Any]:
        """The session once it has ``status``."""
        async def read() -> dict[str, Any] | None:
            data = await (await self.client.get(f"/api/monitoring/sessions/{session_id}")).json()
            return data if data["status"] == status else None
        found: dict[str, Any] = await until(read)
        return found


@contextlib.asynccontextmanager
async def monitor_rig(pool: asyncpg.Pool, tmp_path: Path, role: str = "supervisor",
                      **monitoring: Any) -> AsyncIterator[MonitorRig]:
    """The rig, signed in as a user of ``role``; ``monitoring``: [monitoring] settings."""
    sim = PBXSimulator(speed=SPEED, keep_events=True, auth_fail_delay=0.01, systemname="sim")
    await sim.start()
    settings = sim_settings(sim, tmp_path)
    settings.monitoring = settings.monitoring.model_copy(update=monitoring)
    live = LiveConsumer.from_settings(settings)
    daemon = Daemon(settings, pool, consumers=[live], log_calls=False)
    await daemon.start()
    try:
        async with web_client(settings, pool, role=role, live=live,
                              commands=CommandPort(daemon.clients)) as client:
            await until(lambda: daemon.clients.get("sim") is not None
                        and daemon.clients["sim"].connected)
            yield MonitorRig(sim, daemon, live, client, pool)
    finally:
        await daemon.stop()
        await sim.stop()


