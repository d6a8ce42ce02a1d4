"""Shared builders for the ring-rule tests: facts, a fast clock, a scripted AMI client."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from callcenter.ami.client import ListResult
from callcenter.calls.model import (
    AgentStateChanged,
    CallEnded,
    CallRecord,
    CallStarted,
    RingAttempt,
    RingEnded,
    RingStarted,
)
from callcenter.sim import SimConfig
from callcenter.sim.model import AgentConfig, QueueConfig

T0 = datetime(2026, 11, 22, 13, 0, 0, tzinfo=UTC)
SERVER = "pbx3"


def attempt(agent: str = "agent1001", chan: str = "PJSIP/agent1001-00000001",
            queue: str | None = "support", at: float = 0.0) -> RingAttempt:
    return RingAttempt(agent=agent, interface=f"PJSIP/{agent}", started_at=T0 + timedelta(seconds=at),
                       queue=queue, channel=chan)


def started(a: RingAttempt, linkedid: str = "L1", direct: bool = False,
            caller: str = "PJSIP/trunk-00000000") -> RingStarted:
    return RingStarted(server=SERVER, at=a.started_at, linkedid=linkedid, attempt=a,
                       caller_channel=caller, direct=direct)


def ended(a: RingAttempt, outcome: str, after: float, linkedid: str = "L1") -> RingEnded:
    a.ended_at = a.started_at + timedelta(seconds=after)
    a.outcome = outcome  # type: ignore[assignment]
    return RingEnded(server=SERVER, at=a.ended_at, linkedid=linkedid, attempt=a)


def call_started(linkedid: str = "L1", callee: str | None = None,
                 direction: str = "inbound") -> CallStarted:
    call = CallRecord(server=SERVER, linkedid=linkedid, started_at=T0, callee=callee,
                      direction=direction)  # type: ignore[arg-type]
    return CallStarted(server=SERVER, at=T0, call=call)


def call_ended(linkedid: str = "L1", at: float = 0.0) -> CallEnded:
    call = CallRecord(server=SERVER, linkedid=linkedid, started_at=T0,
                      ended_at=T0 + timedelta(seconds=at))
    return CallEnded(server=SERVER, at=call.ended_at or T0, call=call)


def paused(agent: str, queue: str, reason: str, is_paused: bool = True) -> AgentStateChanged:
    return AgentStateChanged(server=SERVER, at=T0, interface=f"PJSIP/{agent}", agent=agent,
                             name=None, queue=queue, state="paused" if is_paused else "available",
                             paused=is_paused, reason=reason, in_queue=True)


class FastClock:
    """Event-time seconds starting at T0, running ``speed`` times the loop clock."""

    def __init__(self, speed: float = 100.0, start: datetime = T0) -> None:
        self.speed = speed
        self._t0 = start.timestamp()
        self.reset()

    def reset(self) -> None:
        """Make ``now()`` = the start again."""
        self._m0 = time.monotonic()

    def now(self) -> float:
        return self._t0 + (time.monotonic() - self._m0) * self.speed

    def at(self, seconds: float) -> float:
        """Loop seconds to wait until ``seconds`` after the start."""
        return max(0.0, (self._t0 + seconds - self.now()) / self.speed)

    async def sleep_until(self, seconds: float) -> None:
        await asyncio.sleep(self.at(seconds))


class ScriptedClient:
    """Records actions; answers each by its Action name from ``replies`` (default Success)."""

    def __init__(self, replies: dict[str, Any] | None = None) -> None:
        self.replies = replies or {}
        self.sent: list[tuple[float, dict[str, str]]] = []
        self.connected = True

    async def send_action(self, action: dict[str, str], timeout: float | None = None) -> Any:
        self.sent.append((time.monotonic(), action))
        reply = self.replies.get(action["Action"], {"Response": "Success", "Message": "ok"})
        if isinstance(reply, list):
            reply = reply.pop(0) if len(reply) > 1 else reply[0]
        if isinstance(reply, BaseException):
            raise reply
        return reply

    async def send_list_action(self, action: dict[str, str], timeout: float | None = None
                               ) -> ListResult:
        """A list action: the reply is a ``ListResult`` (a bare response: no events)."""
        reply = await self.send_action(action, timeout)
        return reply if isinstance(reply, ListResult) else ListResult(reply)

    def actions(self, name: str) -> list[dict[str, str]]:
        return [a for _, a in self.sent if a["Action"] == name]


def config(members: list[str], timeout: float = 60.0) -> SimConfig:
    """agent1001..1003; ``support`` rings ``members`` for ``timeout`` s (> the 15 s rule)."""
    cfg = SimConfig.default()
    cfg.queues = [QueueConfig("support", "rrmemory", timeout, 2.0, members, max_wait=120.0)]
    cfg.agents = [AgentConfig(f"agent{n}", f"Agent {n}") for n in (1001, 1002, 1003)]
    return cfg
