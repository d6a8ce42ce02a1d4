"""The simulated PBX's state and the primitives every call flow uses.

Each primitive changes the state and emits the events real Asterisk emits for
it, in its order, to every listener (the AMI connections).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from callcenter.ami.protocol import Frame
from callcenter.sim.clock import SimClock
from callcenter.sim.events import EventFactory
from callcenter.sim.model import (
    CHANNEL_VARS,
    Agent,
    AgentScript,
    Bridge,
    Channel,
    Member,
    Queue,
    SimConfig,
)
from callcenter.sim.wav import write_wav

log = structlog.get_logger(__name__)
MONITOR_DIR = "/var/spool/asterisk/monitor"


@dataclass
class Recording:
    """A MixMonitor on one channel; the file's duration is the channel's bridged time."""

    channel: Channel
    path: str
    bridged_s: float = 0.0
    since: float | None = None


class PBX:
    """Channels, bridges, agents, queues and the event fan-out."""

    def __init__(
        self,
        config: SimConfig,
        clock: SimClock,
        *,
        systemname: str = "sim",
        timestampevents: bool = True,
        recordings_dir: Path | None = None,
        seed: int = 1,
    ) -> None:
        self.config = config
        self.clock = clock
        self.systemname = systemname
        self.ev = EventFactory(systemname, timestampevents, clock.event_time)
        self.recordings_dir = recordings_dir
        self.rng = random.Random(seed)
        self.listeners: list[Callable[[Frame], None]] = []
        self.channels: dict[str, Channel] = {}
        self.agents: dict[str, Agent] = {}
        self.supervisors = {s.interface: s for s in config.supervisors}
        self.queues: dict[str, Queue] = {}
        self.recordings: dict[str, Recording] = {}
        self.recording_files: list[Path] = []
        self.default_script = AgentScript()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.agi_address: tuple[str, int] | None = None
        """The FastAGI server the dialplan's AGI() steps connect to (the daemon's)."""
        self.far_ends: dict[str, Any] = {}
        """Outside number → how it answers a call the PBX places (an OutboundScript)."""
        self.started = clock.event_time()  # the process start (FullyBooted Uptime)
        self._seq = 0
        self._local_seq = 0
        login = int(clock.event_time())
        for a in config.agents:
            agent = Agent(a)
            self.agents[agent.interface] = agent
        for qc in config.queues:
            q = Queue(qc)
            for iface in qc.members:
                agent = self.agents[iface]
                q.members[iface] = Member(qc.name, iface, agent.config.name,
                                          "dynamic" if qc.dynamic else "static", login_time=login)
            self.queues[qc.name] = q

    # -- plumbing ---------------------------------------------------------------
    def emit(self, frame: Frame) -> None:
        """Send ``frame`` to every listener."""
        for listener in list(self.listeners):
            listener(frame)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task owned by the PBX (cancelled on stop)."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sim_flow_failed", error=repr(task.exception()))

    # -- channels ---------------------------------------------------------------
    def new_channel(
        self,
        endpoint: str,
        cid_num: str,
        cid_name: str,
        context: str,
        exten: str,
        state: int,
        linkedid: str | None = None,
        name: str | None = None,
        uniqueid: str | None = None,
    ) -> Channel:
        """Create a channel (``PJSIP/<endpoint>-<seq>``) and emit Newchannel."""
        seq = self._seq
        self._seq += 1
        uniqueid = uniqueid or f"{self.systemname}-{int(self.clock.event_time())}.{seq}"
        ch = Channel(
            name=name or f"PJSIP/{endpoint}-{seq:08x}",
            uniqueid=uniqueid,
            linkedid=linkedid or uniqueid,
            cid_num=cid_num,
            cid_name=cid_name,
            context=context,
            exten=exten,
            state=state,
            created=self.clock.event_time(),
        )
        self.channels[ch.name] = ch
        self.emit(self.ev.chan("Newchannel", ch))
        return ch

    def local_pair(self, exten: str, context: str, linkedid: str) -> tuple[Channel, Channel]:
        """Create ``Local/<exten>@<context>-<n>;1`` and ``;2`` (Down and Ring)."""
        base = f"Local/{exten}@{context}-{self._local_seq:08x}"
        self._local_seq += 1
        one = self.new_channel("", "", "", context, exten, 0, linkedid, f"{base};1")
        two = self.new_channel("", "", "", context, exten, 4, linkedid, f"{base};2")
        return one, two

    def set_state(self, ch: Channel, state: int) -> None:
        """Change the channel state and emit Newstate."""
        ch.state = state
        self.emit(self.ev.chan("Newstate", ch))

    def set_var(self, ch: Channel, name: str, value: str) -> None:
        """Set a channel variable and emit VarSet."""
        if name in CHANNEL_VARS:
            ch.variables[name] = value
        self.emit(self.ev.varset(ch, name, value))

    def newexten(self, ch: Channel, priority: str, app: str, appdata: str) -> None:
        """Move the channel to ``priority`` running ``app`` and emit Newexten."""
        ch.priority, ch.app, ch.appdata = priority, app, appdata
        extra = {"Extension": ch.exten, "Application": app, "AppData": appdata}
        self.emit(self.ev.chan("Newexten", ch, extra, "dialplan,all"))

    def hangup(self, ch: Channel, cause: int, tech_cause: str | None = None) -> None:
        """Destroy the channel: finish its recording and emit Hangup."""
        if not ch.alive:
            return
        ch.alive = False
        self.channels.pop(ch.name, None)
        self._finish_recording(ch)
        self.emit(self.ev.hangup(ch, cause, tech_cause))

    def request_hangup(self, ch: Channel, soft: bool = False, cause: int | None = None,
                       tech_cause: str | None = None) -> None:
        """Emit HangupRequest (or SoftHangupRequest) with an optional Cause."""
        extra: Frame = {} if cause is None else {"Cause": str(cause)}
        if tech_cause:
            extra["TechCause"] = tech_cause
        self.emit(self.ev.chan("SoftHangupRequest" if soft else "HangupRequest", ch, extra))

    # -- bridges ----------------------------------------------------------------
    def new_bridge(self) -> Bridge:
        """Create a basic bridge and emit BridgeCreate."""
        br = Bridge(str(uuid.UUID(int=self.rng.getrandbits(128), version=4)))
        self.emit(self.ev.bridge("BridgeCreate", br))
        return br

    def bridge_enter(self, br: Bridge, ch: Channel, swap: Channel | None = None) -> None:
        """Put ``ch`` into ``br`` and emit BridgeEnter."""
        br.channels.append(ch)
        ch.bridge = br
        frame = self.ev.bridge("BridgeEnter", br, ch)
        if swap is not None:
            frame["SwapUniqueid"] = swap.uniqueid
        self.emit(frame)
        self._recording_tick(br)

    def bridge_leave(self, br: Bridge, ch: Channel) -> None:
        """Take ``ch`` out of ``br`` and emit BridgeLeave."""
        if ch in br.channels:
            br.channels.remove(ch)
        ch.bridge = None
        self.emit(self.ev.bridge("BridgeLeave", br, ch))
        self._recording_tick(br, ch)

    def bridge_destroy(self, br: Bridge) -> None:
        """Emit BridgeDestroy."""
        self.emit(self.ev.bridge("BridgeDestroy", br))

    # -- recordings -------------------------------------------------------------
    def mixmonitor(self, ch: Channel, priority: str = "5") -> str:
        """Start MixMonitor(...,b) on ``ch``: the events of the captures' dialplan.

        Returns the Asterisk path ``/var/spool/asterisk/monitor/<stamp>-<cid>-<uniqueid>.wav``.
        """
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.clock.event_time()))
        path = f"{MONITOR_DIR}/{stamp}-{ch.cid_num}-{ch.uniqueid}.wav"
        self.newexten(ch, str(int(priority) - 1), "Set", f"MIXMON_FILE={path}")
        self.set_var(ch, "MIXMON_FILE", path)
        self.newexten(ch, priority, "MixMonitor", f"{path},b")
        self.set_var(ch, "MIXMONITOR_FILENAME", path)
        self.emit(self.ev.chan("MixMonitorStart", ch))
        self.recordings[ch.name] = Recording(ch, path)
        return path

    def _recording_tick(self, br: Bridge, left: Channel | None = None) -> None:
        now = self.clock.event_time()
        for ch in [*br.channels, *([left] if left else [])]:
            rec = self.recordings.get(ch.name)
            if rec is None:
                continue
            talking = ch.bridge is br and len(br.channels) >= 2
            if talking and rec.since is None:
                rec.since = now
            elif not talking and rec.since is not None:
                rec.bridged_s += now - rec.since
                rec.since = None

    def _finish_recording(self, ch: Channel) -> None:
        rec = self.recordings.pop(ch.name, None)
        if rec is None:
            return
        if rec.since is not None:
            rec.bridged_s += self.clock.event_time() - rec.since
        if self.recordings_dir is not None:
            target = self.recordings_dir / Path(rec.path).name
            write_wav(target, rec.bridged_s)
            self.recording_files.append(target)

    def by_uniqueid(self, uniqueid: str) -> Channel | None:
        """The live channel whose Uniqueid is ``uniqueid`` (AMI actions accept one)."""
        return next((c for c in self.channels.values() if c.uniqueid == uniqueid), None)

    # -- agents -----------------------------------------------------------------
    def agent_of(self, ch: Channel) -> Agent | None:
        """The agent whose phone ``ch`` is (by endpoint), if any."""
        return self.agents.get(ch.name.rsplit("-", 1)[0])

    def memberships(self, agent: Agent) -> list[Member]:
        """The agent's queue memberships."""
        return [q.members[agent.interface] for q in self.queues.values() if agent.interface in q.members]

    def set_agent_status(self, agent: Agent, status: int) -> None:
        """Change the device status (1 idle, 2 in use, 6 ringing); emit QueueMemberStatus."""
        agent.status = status
        state = {1: "NOT_INUSE", 2: "INUSE", 6: "RINGING"}[status]
        self.emit(self.ev.event("DeviceStateChange", "call,all",
                                {"Device": agent.interface, "State": state}))
        for m in self.memberships(agent):
            self.emit(self.ev.member("QueueMemberStatus", m, status, status == 2))
