"""The simulator's AMI server: connections, Login (plain and MD5), event fan-out."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import structlog

from callcenter.ami.protocol import AMIProtocol, Frame, serialize_frame
from callcenter.ami.writes import TurnWriter
from callcenter.sim.actions import Actions, field
from callcenter.sim.calls import InboundCall
from callcenter.sim.cel import CelRecord, CelTap
from callcenter.sim.celdb import CelWriter
from callcenter.sim.clock import SimClock
from callcenter.sim.model import AgentScript, SimConfig, SurveyReply
from callcenter.sim.outbound import OutboundCall, OutboundScript
from callcenter.sim.pbx import PBX
from callcenter.sim.queues import QueueEngine
from callcenter.sim.shutdown import hang_up_everything

log = structlog.get_logger(__name__)
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
MAX_BACKLOG_BYTES = 64 << 20
READ_SIZE = 1 << 16
BURST_BYTES = 1 << 14
SHUTDOWN_COMMANDS = {"core restart now": True, "core stop now": False}  # -> Restart
SHUTDOWN_NOTICE_S = 1.1  # SoftHangupRequest Cause 4 -> Event: Shutdown (real3/j_core_restart)


def classes(spec: str) -> frozenset[str]:
    """``"call,agent"`` → its set of AMI classes (lower case)."""
    return frozenset(c.strip().lower() for c in spec.split(",") if c.strip())


@dataclass
class CallHandle:
    """A scripted call: its Linkedid, customer channel name and the running flow."""

    linkedid: str
    channel: str
    task: asyncio.Task[str]

    async def wait(self) -> str:
        """Wait for the call to end; returns answered | abandoned | timeout | no_answer | busy."""
        return await self.task

    def __await__(self) -> Any:
        return self.task.__await__()


class _Session:
    def __init__(self, sim: PBXSimulator, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.sim, self.reader, self.writer = sim, reader, writer
        self.authed = False
        self.events = True
        self.challenge = ""
        self.read: frozenset[str] = frozenset()
        self._out = TurnWriter(self._write)

    def send(self, data: bytes) -> None:
        """Queue ``data`` for the client: what one loop turn sends leaves in one write,
        as Asterisk's manager thread batches a client's pending events."""
        if not self.writer.is_closing():
            self._out.write(data)

    def _write(self, data: bytes) -> None:
        """Write a turn's data (a client too slow to take it is dropped)."""
        if self.writer.is_closing():
            return
        if self.writer.transport.get_write_buffer_size() > MAX_BACKLOG_BYTES:
            log.warning("sim_client_too_slow")
            self.writer.close()
            return
        self.writer.write(data)

    def reads(self, frame: Frame) -> bool:
        """Whether the session's read classes cover the event's Privilege."""
        if "all" in self.read:
            return True
        privilege = frame.get("Privilege")
        if not isinstance(privilege, str):
            return True
        return any(c in self.read for c in classes(privilege) - {"all"})

    async def drain(self) -> None:
        """Flush, then wait until the transport has sent it."""
        self._out.flush()
        await self.writer.drain()

    async def _buffered(self) -> bytes:
        """What the reader holds already (b"" when nothing is waiting)."""
        if not self.reader._buffer:  # private, but StreamReader has no read_nowait
            return b""
        return await self.reader.read(1 << 20)

    async def serve(self) -> None:
        proto = AMIProtocol()
        self.writer.write(BANNER)
        try:
            while not self.writer.is_closing():
                data = await self.reader.read(READ_SIZE)
                if not data:
                    break
                if len(data) >= BURST_BYTES:
                    # a burst may still be arriving in further TCP segments: let the loop
                    # take them in before this batch's reactions hold it up (Asterisk's
                    # manager thread reads apart from the channels' work)
                    await asyncio.sleep(0)
                    data += await self._buffered()
                for action in proto.feed(data):
                    if not await self.on_action(action):
                        return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.sim._sessions.discard(self)
            self.writer.close()

    async def on_action(self, action: Frame) -> bool:
        sim = self.sim
        sim.clock.sync()
        sim.actions.append(dict(action))
        name = field(action, "Action").lower()
        aid = field(action, "ActionID")
        head: Frame = {"Response": "Success"}
        if aid:
            head["ActionID"] = aid
        if name == "login":
            return await self.login(action, head)
        if name == "challenge":
            self.challenge = str(sim.pbx.rng.randrange(10**8, 10**9))
            self.send(serialize_frame(head | {"Challenge": self.challenge}))
            return True
        if name == "logoff":
            self.send(serialize_frame(
                {**head, "Response": "Goodbye", "Message": "Thanks for all the fish."}))
            await self.drain()
            return False
        if not self.authed:
            self.send(serialize_frame(head | {"Response": "Error", "Message": "Permission denied"}))
            return True
        if name == "command" and (restart := SHUTDOWN_COMMANDS.get(
                " ".join(field(action, "Command").lower().split()))) is not None:
            if not ({"command", "all"} & sim.write):
                self.send(serialize_frame(head | {"Response": "Error",
                                                  "Message": "Permission denied"}))
                return True
            sim.control(sim.restart() if restart else sim.stop_pbx())  # no response: the
            return True  # socket just closes
        if name == "events":
            self.events = field(action, "EventMask", "on").lower() not in ("off", "none", "0")
            self.send(serialize_frame(head | {"Events": "On" if self.events else "Off"}))
            return True
        out = b"".join(serialize_frame(f) for f in sim.action_handler.handle(action))
        self.send(out)
        return True

    async def login(self, action: Frame, head: Frame) -> bool:
        sim = self.sim
        user, secret = field(action, "Username"), field(action, "Secret")
        if field(action, "AuthType").lower() == "md5":
            expected = hashlib.md5((self.challenge + sim.secret).encode()).hexdigest()
            ok = bool(self.challenge) and secrets.compare_digest(field(action, "Key"), expected)
        else:
            ok = secrets.compare_digest(secret.encode(), sim.secret.encode())
        if user != sim.username or not ok:
            self.security("InvalidAccountID" if user != sim.username else "InvalidPassword", user)
            await asyncio.sleep(sim.auth_fail_delay)
            self.send(serialize_frame(head | {"Response": "Error",
                                              "Message": "Authentication failed"}))
            await self.drain()
            return False
        self.authed = True
        self.read = sim.read
        self.events = field(action, "Events", "on").lower() not in ("off", "none", "0")
        self.send(serialize_frame(head | {"Message": "Authentication accepted"}))
        up = str(int(sim.now() - sim.pbx.started))
        if self.events and ({"system", "all"} & self.read):
            self.send(serialize_frame({"Event": "FullyBooted", "Privilege": "system,all",
                                       "Uptime": up, "LastReload": up, "Status": "Fully Booted"}))
        sim._sessions.add(self)
        self.security("SuccessfulAuth", user)
        return True

    def security(self, event: str, user: str) -> None:
        """Emit an AMI security event about this session's login (to every session)."""
        local = self.writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        peer = self.writer.get_extra_info("peername") or ("127.0.0.1", 0)
        tv = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.sim.now())) + ".000+0000"
        fields: Frame = {
            "EventTV": tv, "Severity": "Informational" if event == "SuccessfulAuth" else "Error",
            "Service": "AMI", "EventVersion": "1", "AccountID": user,
            "SessionID": f"0x{id(self):x}", "LocalAddress": f"IPV4/TCP/{local[0]}/{local[1]}",
            "RemoteAddress": f"IPV4/TCP/{peer[0]}/{peer[1]}"}
        if event == "SuccessfulAuth":
            fields["UsingPassword"] = "0"
        fields["SessionTV"] = tv
        self.sim.pbx.emit(self.sim.pbx.ev.event(event, "security,all", fields))


class PBXSimulator:
    """A simulated Asterisk 22 speaking real AMI over TCP (see the package docstring).

    ``read``/``write``: the AMI user's classes (manager.conf); events are sent to a
    session only when its read classes cover their Privilege. ``cel_ami``: emit
    ``Event: CEL`` frames (cel.conf ``[manager] enabled = yes``); ``cel_dsn``: insert
    the CEL rows into ``cel_table`` of that PostgreSQL database (cel_pgsql).
    ``restart_delay_s``: simulated seconds a ``core restart`` keeps the PBX down.
    ``answers_getconfig``: answer ``GetConfig queues.conf`` with the simulated queues (a
    daemon then leaves rings its queues' member timeout ends to app_queue). ``agi``: the
    FastAGI server the dialplan asks (DID 810, callbacks): the daemon's, as
    extensions.conf's CALLCENTER_AGI.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int = 1,
        speed: float = 1.0,
        recordings_dir: str | Path | None = None,
        systemname: str = "sim",
        timestampevents: bool = True,
        username: str = "callcenter",
        secret: str = "secret",
        config: SimConfig | None = None,
        auth_fail_delay: float = 1.0,
        keep_events: bool = False,
        read: str = "all",
        write: str = "all",
        cel_ami: bool = False,
        cel_dsn: str | None = None,
        cel_table: str = "cel",
        restart_delay_s: float = 2.0,
        answers_getconfig: bool = False,
        clock: SimClock | None = None,
        agi: tuple[str, int] | None = ("127.0.0.1", 4573),
    ) -> None:
        self.host, self.port = host, port
        self.username, self.secret = username, secret
        self.read, self.write = classes(read), classes(write)
        self.auth_fail_delay = auth_fail_delay
        self.restart_delay_s = restart_delay_s
        self.clock = clock or SimClock(speed)
        self.scheduled = False
        """True while a seeded schedule (``run_random``) drives the scripting calls: they
        then keep the logical time instead of catching up with the wall clock, so a
        run is the same on a loaded machine."""
        self.config = config or SimConfig.default()
        self._pbx_kw: dict[str, Any] = {
            "systemname": systemname, "timestampevents": timestampevents,
            "recordings_dir": Path(recordings_dir) if recordings_dir else None}
        self.seed = seed
        self.boots = 0
        self.cel_ami = cel_ami
        self.answers_getconfig = answers_getconfig
        self.agi = agi
        self.cel_writer = CelWriter(cel_dsn, cel_table) if cel_dsn else None
        self.cel_records: list[CelRecord] = []
        self.actions: list[Frame] = []
        self.events: list[Frame] = []
        self._keep_events = keep_events
        self._sessions: set[_Session] = set()
        self._server: asyncio.Server | None = None
        self._client_tasks: set[asyncio.Task[Any]] = set()
        self._control_tasks: set[asyncio.Task[Any]] = set()
        self._power = asyncio.Lock()
        self.up = True
        self._boot()

    def _boot(self) -> None:
        """A new PBX process: configured members, no calls, uniqueids counted from 0."""
        old = getattr(self, "pbx", None)
        self.pbx = PBX(self.config, self.clock, seed=self.seed + self.boots, **self._pbx_kw)
        self.boots += 1
        if old is not None:  # the phones and the disk outlive the PBX process
            self.pbx.default_script = old.default_script
            self.pbx.recording_files = old.recording_files
            for iface, agent in old.agents.items():
                self.pbx.agents[iface].script = agent.script
        self.pbx.agi_address = self.agi
        self.engine = QueueEngine(self.pbx)
        self.action_handler = Actions(self.pbx, self.engine,
                                      answers_getconfig=self.answers_getconfig)
        self.pbx.listeners.append(self._fan_out)
        if self.cel_ami or self.cel_writer is not None or self._keep_events:
            self.pbx.listeners.append(CelTap(self.pbx.channels, self.clock.event_time,
                                             self._on_cel))
        self.up = True

    def _on_cel(self, record: CelRecord) -> None:
        if self.cel_ami:
            self.pbx.emit(self.pbx.ev.event("CEL", "call,all", record.ami_fields()))
        if self.cel_writer is not None:
            self.cel_writer.put(record)
        if self._keep_events:
            self.cel_records.append(record)

    # -- server -----------------------------------------------------------------
    async def start(self) -> None:
        """Listen on ``host:port`` (``port`` is updated when 0 was asked)."""
        self._server = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        if self.cel_writer is not None:
            self.cel_writer.start()
        log.info("sim_started", host=self.host, port=self.port, speed=self.clock.speed)

    async def _close_server(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._client_tasks):
            task.cancel()
        await asyncio.gather(*self._client_tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _cancel_flows(self) -> None:
        for task in list(self.pbx.tasks):
            task.cancel()
        await asyncio.gather(*self.pbx.tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop every call flow and close the server and its connections."""
        for task in list(self._control_tasks):
            task.cancel()
        await asyncio.gather(*self._control_tasks, return_exceptions=True)
        await self._cancel_flows()
        await self._close_server()
        if self.cel_writer is not None:
            await self.cel_writer.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- restart / shutdown -------------------------------------------------------
    def control(self, coro: Any) -> asyncio.Task[Any]:
        """Run a restart/stop in the background (an AMI ``Command`` asked for it)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._control_tasks.add(task)
        task.add_done_callback(self._control_tasks.discard)
        return task

    async def restart(self, delay_s: float | None = None) -> None:
        """``core restart now``: every call ends, ``Shutdown`` (Restart: True), every AMI
        connection closes; after ``delay_s`` simulated seconds (default
        ``restart_delay_s``) a fresh PBX accepts logins again."""
        async with self._power:
            await self._shut_down(restart=True)
            await self.clock.sleep(self.restart_delay_s if delay_s is None else delay_s)
            self._boot()
            await self.start()

    async def stop_pbx(self) -> None:
        """``core stop now``: as :meth:`restart` (Restart: False), and the PBX stays down."""
        async with self._power:
            await self._shut_down(restart=False)

    async def _shut_down(self, restart: bool) -> None:
        if not self.up:
            return
        self.up = False
        self._sync()
        old = self.pbx
        hang_up_everything(old)
        old.listeners.remove(self._fan_out)  # the flows' last gasps go nowhere
        await self._cancel_flows()
        old.listeners.clear()
        await self.clock.sleep(SHUTDOWN_NOTICE_S)
        if self._server is not None:
            self._server.close()  # no new connections from now on
        self._fan_out(old.ev.event("Shutdown", "system,all",
                                   {"Shutdown": "Cleanly", "Restart": str(restart)}))
        for s in list(self._sessions):
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(s.drain(), 1.0)
            s.writer.close()
        self._sessions.clear()
        await self._close_server()
        if self.cel_writer is not None:
            await self.cel_writer.flush()
        log.info("sim_pbx_down", restart=restart)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._client_tasks.add(task)
        try:
            await _Session(self, reader, writer).serve()
        except asyncio.CancelledError:
            pass  # the simulator is stopping
        finally:
            self._client_tasks.discard(task)

    def _fan_out(self, frame: Frame) -> None:
        if self._keep_events:
            self.events.append(frame)
        if not self._sessions:
            return
        data = serialize_frame(frame)
        for s in list(self._sessions):
            if s.events and s.reads(frame):
                s.send(data)

    def disconnect_all(self) -> None:
        """Drop every client connection (tests of reconnects)."""
        for s in list(self._sessions):
            s.writer.close()

    # -- scripting --------------------------------------------------------------
    def now(self) -> float:
        """Simulated time (epoch seconds)."""
        return self.clock.now()

    def _sync(self) -> None:
        if not self.scheduled:
            self.clock.sync()

    def _check_up(self) -> None:
        if not self.up:
            raise RuntimeError("the simulated PBX is down (core stop / restart)")

    async def advance(self, sim_seconds: float) -> None:
        """Let ``sim_seconds`` of simulated time pass."""
        self._sync()
        await self.clock.sleep(sim_seconds)

    def set_agent(self, endpoint: str, script: AgentScript | None) -> None:
        """An agent's default behaviour (None: the PBX default, ``pbx.default_script``)."""
        self.pbx.agents[f"PJSIP/{endpoint.removeprefix('PJSIP/')}"].script = script

    async def inbound_call(self, caller: str, did: str = "800", *,
                           agents: dict[str, AgentScript] | None = None,
                           patience: float | None = None,
                           caller_name: str | None = None,
                           survey: SurveyReply | None = None,
                           press_1_after: float | None = None) -> CallHandle:
        """A customer calls ``did`` (800/801 queues, 810 with the daemon's priority and
        callback offer, 1001.. direct); agents follow ``agents``.

        ``patience``: the caller hangs up after that many simulated seconds unless
        an agent answered; ``survey``: how the caller meets the post-call survey of a
        surveyed queue (default: drawn from ``config.survey``); ``press_1_after``: the
        caller presses 1 (a callback) after that many seconds in a queue that offers it.
        Returns at once (the call runs in the background).
        """
        self._check_up()
        self._sync()
        call = InboundCall(self.pbx, self.engine, caller, did, caller_name,
                           scripts=agents, patience=patience, survey=survey)
        call.press_1_after = press_1_after
        return CallHandle(call.linkedid, call.channel.name, self.pbx.spawn(call.run()))

    async def outbound_call(self, agent: str, number: str, *, outcome: str = "answer",
                            ring: float = 4.0, talk: float = 15.0,
                            hangup_by: str = "agent") -> CallHandle:
        """``agent`` (e.g. "agent1001") dials 9 + ``number`` out through the trunk;
        ``hangup_by`` "agent" or "caller" (the far end) ends an answered call."""
        self._check_up()
        self._sync()
        a = self.pbx.agents[f"PJSIP/{agent.removeprefix('PJSIP/')}"]
        call = OutboundCall(self.pbx, self.engine, a, number,
                            OutboundScript(outcome, ring, talk, hangup_by))
        return CallHandle(call.linkedid, call.channel.name, self.pbx.spawn(call.run()))

    def use_agi(self, host: str, port: int) -> None:
        """The dialplan's AGI() steps ask ``host:port`` from now on (and after a restart)."""
        self.agi = self.pbx.agi_address = (host, port)

    def supervisor_hangup(self, endpoint: str) -> bool:
        """The supervisor hangs up the phone on which they monitor a call; False if none."""
        self._sync()
        prefix = f"PJSIP/{endpoint.removeprefix('PJSIP/')}-"
        for ch in list(self.pbx.channels.values()):
            if ch.name.startswith(prefix) and ch.owner is not None:
                ch.owner.post("supervisor_hangup")
                return True
        return False

    def agent_login(self, agent: str, queue: str) -> str | None:
        """Add the agent to ``queue`` (QueueMemberAdded); an error message or None."""
        self._sync()
        a = self.pbx.agents[f"PJSIP/{agent.removeprefix('PJSIP/')}"]
        return self.engine.add(queue, a.interface, a.config.name, 0, False, "")

    def agent_logout(self, agent: str, queue: str) -> str | None:
        """Remove a dynamic member (QueueMemberRemoved); an error message or None."""
        self._sync()
        return self.engine.remove(queue, f"PJSIP/{agent.removeprefix('PJSIP/')}")

    def agent_pause(self, agent: str, paused: bool = True, reason: str = "",
                    queue: str | None = None) -> bool:
        """Pause/unpause in ``queue`` or every queue (QueueMemberPause each)."""
        self._sync()
        return self.engine.pause(f"PJSIP/{agent.removeprefix('PJSIP/')}", paused, reason, queue)
