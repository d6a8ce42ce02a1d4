"""The PBX simulator in tests: a fast one, a capture's frames, the summary compared."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from callcenter.ami.protocol import Frame
from callcenter.sim import AgentScript, PBXSimulator
from tests.support.expected import TRACES
from tests.support.wait import until

KEY = {
    "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled", "AgentConnect",
    "AgentComplete", "AgentRingNoAnswer", "DialBegin", "DialState", "DialEnd", "Hangup", "Hold",
    "Unhold", "MixMonitorStart", "BlindTransfer", "AttendedTransfer", "QueueMemberPause",
}
SPEED = 200.0


def capture_frames(name: str) -> list[Frame]:
    """The frames of a capture (``real2/q_rna_twice``)."""
    with (TRACES / f"{name}.jsonl").open(encoding="utf-8") as fh:
        return [e["frame"] for e in map(json.loads, fh) if "frame" in e]


def agent_of(channel: str) -> str:
    """``PJSIP/agent1001-00000003`` → ``agent1001`` (``trunk`` for the trunk)."""
    return channel.removeprefix("PJSIP/").rsplit("-", 1)[0] if channel.startswith("PJSIP/") else channel.split("-")[0]


def summary(frames: list[Frame], keys: set[str] = KEY) -> list[tuple[str, ...]]:
    """(event, channel endpoint, dest endpoint, status/cause/reason) of the relevant events.

    Adjacent Hangup events are sorted: Asterisk hangs up the two sides of a
    bridge in separate threads and the captures show both orders.
    """
    out: list[tuple[str, ...]] = []
    for f in frames:
        name = f.get("Event")
        if name not in keys:
            continue
        detail = f.get("DialStatus") or f.get("Cause") or f.get("Reason") or f.get("Paused") or ""
        item = (str(name), agent_of(str(f.get("Channel") or f.get("Interface") or "")),
                agent_of(str(f.get("DestChannel", ""))), str(detail))
        run = len(out)
        while run > 0 and name == "Hangup" and out[run - 1][0] == "Hangup" and out[run - 1] > item:
            run -= 1
        out.insert(run, item)
    return out


def make_sim(**kw: Any) -> PBXSimulator:
    return PBXSimulator(speed=SPEED, keep_events=True, auth_fail_delay=0.01, **kw)


async def wait_for(sim: PBXSimulator, pred: Callable[[Frame], bool], timeout: float = 5.0) -> Frame:
    """The first event (already emitted or future) matching ``pred``."""
    await until(lambda: any(pred(f) for f in sim.events), timeout, every_s=0.002)
    return next(f for f in sim.events if pred(f))


def ringing(endpoint: str) -> Callable[[Frame], bool]:
    return lambda f: f.get("Event") == "DialState" and f"/{endpoint}-" in str(f.get("DestChannel"))


NO = AgentScript(answer_after=None)
