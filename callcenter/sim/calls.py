"""Customer call flows: the dialplan (DIDs, direct dial, ``toqueue``), queue ringing.

One :class:`Call` per customer call owns its channels; timers, agents' phones
and AMI actions reach it as messages in its ``inbox``:
``("ring", [agents])``, ``("answered", leg)``, ``("ring_timeout", leg)``,
``("retry",)``, ``("queue_timeout",)``, ``("hangup", channel, cause|None)``, ``("abandon", channel, None)`` (patience),
``("redirect", channel, context, exten, priority)``, ``("talk_over", who)``,
``("hold",)``, ``("unhold",)``, ``("blind_transfer"|"attended_transfer", channel, exten)``,
``("survey_key"|"survey_timeout"|"survey_hangup", channel)`` (:mod:`callcenter.sim.survey`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from callcenter.sim.agi import run_agi
from callcenter.sim.clock import whole_seconds
from callcenter.sim.model import Agent, AgentScript, Channel, Queue, SurveyReply, Waiter
from callcenter.sim.pbx import PBX
from callcenter.sim.queues import QueueEngine
from callcenter.sim.survey import run_survey, skip_survey
from callcenter.sim.talk import QueueContext, Talk, two_fields

log = structlog.get_logger(__name__)


@dataclass(eq=False)
class Leg:
    """One ringing agent phone."""

    agent: Agent
    channel: Channel
    queue: Queue | None
    started: float
    script: AgentScript
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    active: bool = True

    def stop(self) -> None:
        """Cancel the leg's timers."""
        self.active = False
        for t in self.timers:
            t.cancel()


class Call:
    """A customer call: see the module docstring for its messages."""

    def __init__(self, pbx: PBX, engine: QueueEngine, scripts: dict[str, AgentScript] | None = None,
                 patience: float | None = None, survey: SurveyReply | None = None) -> None:
        self.pbx, self.engine = pbx, engine
        self.inbox: asyncio.Queue[tuple[float, tuple[Any, ...]]] = asyncio.Queue()
        self.scripts = {k.removeprefix("PJSIP/"): v for k, v in (scripts or {}).items()}
        self.patience = patience
        self.channel: Channel  # the customer's channel, set by the subclass
        self.outcome = ""
        self.hangup_cause: int | None = None  # a dialled leg's cause sticks to the customer
        self.gosub = ""
        self.legs: list[Leg] = []  # the agents' phones ringing for the customer now
        self.talk: Talk | None = None  # the conversation, once bridged
        self.survey_reply = survey  # None: drawn from the PBX's SurveyConfig
        self.stays = False  # Queue option c (a surveyed queue): the caller outlives the agent
        self.queue_priority = ""
        self.survey_pending: Callable[[], None] | None = None
        """Set when the agent hung up first on a surveyed queue: releases the agent's
        channel once the survey's Read started."""
        self.press_1_after: float | None = None  # s after joining a queue the caller presses 1
        self.callback_offer = False  # the daemon offered a callback (CALLBACK_OFFER=1)
        self.cc_joined = ""  # CC_JOINED: ${EPOCH} before Queue()

    # -- messages ---------------------------------------------------------------
    def post(self, *msg: Any) -> None:
        """Deliver a message to the call, now."""
        self.inbox.put_nowait((self.pbx.clock.event_time(), msg))

    def after(self, sim_s: float, *msg: Any) -> asyncio.TimerHandle:
        """Deliver ``msg`` after ``sim_s`` simulated seconds (it carries that instant)."""
        due = self.pbx.clock.due(sim_s)
        return self.pbx.clock.call_later(sim_s, self.inbox.put_nowait, (due, msg))

    async def next(self) -> tuple[Any, ...]:
        """The next message; the PBX's logical time moves to the instant it was due."""
        item: tuple[float, tuple[Any, ...]] = await self.inbox.get()
        self.pbx.clock.advance(item[0])
        return item[1]

    def ignore(self, msg: tuple[Any, ...]) -> None:
        """Drop a stale message; a late queue offer gives its agents back."""
        if msg[0] == "ring":
            for agent in msg[1]:
                agent.status = 1
                self.engine.kick_agent(agent)

    def script_for(self, agent: Agent) -> AgentScript:
        """This call's script for ``agent``, else the agent's, else the PBX default."""
        return self.scripts.get(agent.config.endpoint) or agent.script or self.pbx.default_script

    # -- ringing ----------------------------------------------------------------
    def ring(self, agent: Agent, queue: Queue | None, dialstring: str, timeout: float) -> Leg:
        """Ring ``agent``'s phone for the customer (AgentCalled when from a queue)."""
        leg = self.dial(agent, queue, dialstring)
        self.alert(leg, timeout)
        return leg

    def dial(self, agent: Agent, queue: Queue | None, dialstring: str) -> Leg:
        """Create the agent's channel: Newchannel, AgentCalled (queue), DialBegin."""
        pbx, cust = self.pbx, self.channel
        ch = pbx.new_channel(agent.config.endpoint, agent.config.number, agent.config.name,
                             "from-agents", "s", 0, cust.linkedid)
        ch.owner, ch.exten = self, cust.exten
        ch.app, ch.appdata = ("AppQueue" if queue is not None else "AppDial"), "(Outgoing Line)"
        ch.set_connected(cust)
        leg = Leg(agent, ch, queue, pbx.clock.event_time(), self.script_for(agent))
        if queue is not None:
            m = queue.members[agent.interface]
            pbx.emit(pbx.ev.two("AgentCalled", cust, ch, {"Queue": queue.config.name,
                     "Interface": agent.interface, "MemberName": m.name}, "agent,all"))
        pbx.emit(pbx.ev.two("DialBegin", cust, ch, {"DialString": dialstring}))
        return leg

    def alert(self, leg: Leg, timeout: float) -> None:
        """The phone rings: Newstate Ringing, DialState RINGING, member Status 6, timers."""
        pbx, cust, ch, agent = self.pbx, self.channel, leg.channel, leg.agent
        pbx.set_state(ch, 5)
        cust.set_connected(ch)
        pbx.emit(pbx.ev.two("DialState", cust, ch, {"DialStatus": "RINGING"}))
        pbx.set_agent_status(agent, 6)
        if leg.script.answer_after is not None:
            leg.timers.append(self.after(leg.script.answer_after, "answered", leg))
        leg.timers.append(self.after(timeout, "ring_timeout", leg))

    def dial_end(self, leg: Leg, status: str) -> None:
        """Emit DialEnd for ``leg``."""
        self.pbx.emit(self.pbx.ev.two("DialEnd", self.channel, leg.channel, {"DialStatus": status}))

    def drop_leg(self, leg: Leg, cause: int) -> None:
        """Hang up a ringing leg and free its agent."""
        leg.stop()
        self.pbx.hangup(leg.channel, cause)
        self.pbx.set_agent_status(leg.agent, 1)

    def ring_no_answer(self, leg: Leg, ms: int) -> None:
        """AgentRingNoAnswer (RingTime in ms) and app_queue's autopause."""
        assert leg.queue is not None
        extra = {**two_fields(QueueContext(leg.queue, leg.queue.members[leg.agent.interface], 0)),
                 "RingTime": str(ms)}
        self.pbx.emit(self.pbx.ev.two("AgentRingNoAnswer", self.channel, leg.channel, extra,
                                      "agent,all"))
        self.engine.autopause(leg.agent)

    # -- dialplan ---------------------------------------------------------------
    async def route(self, context: str, exten: str, priority: str) -> None:
        """Run the dialplan of the captures' PBX from ``context,exten,priority``."""
        cust, pbx = self.channel, self.pbx
        cust.context, cust.exten = context, exten
        agent = pbx.agents.get(f"PJSIP/agent{exten}")
        if context == "from-trunk" and exten in pbx.config.agent_recording_dids:
            await self.queue_phase(pbx.config.dids[exten], "4", gosub="sub-record-agent")
        elif context == "from-trunk" and exten in pbx.config.priority_dids:
            pbx.mixmonitor(cust)
            await self.priority_phase(pbx.config.priority_dids[exten])
        elif context == "from-trunk" and exten in pbx.config.dids:
            if priority == "1":
                pbx.mixmonitor(cust)
            await self.queue_phase(pbx.config.dids[exten], "6")
        elif context == "from-trunk" and agent is not None:
            if priority in ("toqueue", "10"):
                await self.queue_phase("support", "10")
            else:
                pbx.mixmonitor(cust)
                await self.direct_dial(agent, "6", fallback=True)
        elif context == "internal" and agent is not None:
            await self.direct_dial(agent, "2", fallback=False)
        else:
            self.hangup_customer(16)

    def hangup_customer(self, cause: int) -> None:
        """The dialplan hangs up the customer."""
        self.pbx.request_hangup(self.channel, soft=True, cause=16)
        self.pbx.hangup(self.channel, cause)

    async def direct_dial(self, agent: Agent, priority: str, fallback: bool) -> None:
        """``Dial(PJSIP/agentX,30,t)``; NOANSWER goes on to ``toqueue`` when ``fallback``."""
        pbx, cust = self.pbx, self.channel
        pbx.newexten(cust, priority, "Dial", f"{agent.interface},30,t")
        for var in ("DIALSTATUS", "ANSWEREDTIME", "DIALEDTIME"):
            pbx.set_var(cust, var, "")
        if agent.status != 1:
            pbx.set_var(cust, "DIALSTATUS", "BUSY")
            return self.hangup_customer(17)
        agent.status = 6
        leg = self.ring(agent, None, agent.config.endpoint, pbx.config.direct_dial_timeout)
        self.legs = [leg]
        while True:
            msg = await self.next()
            kind, target = msg[0], msg[1] if len(msg) > 1 else None
            if kind == "answered" and target is leg and leg.active:
                leg.stop()
                pbx.set_state(leg.channel, 6)
                self.dial_end(leg, "ANSWER")
                pbx.set_var(cust, "DIALSTATUS", "ANSWER")
                self.outcome = "answered"
                return await Talk(self, cust, leg.channel, agent, leg.script, None).run()
            if kind == "ring_timeout" and target is leg and leg.active:
                self.dial_end(leg, "NOANSWER")
                pbx.set_var(cust, "DIALSTATUS", "NOANSWER")
                self.drop_leg(leg, 0)
                self.engine.kick_agent(agent)
                status = "NOANSWER"
            elif kind == "hangup" and target is leg.channel:
                self.dial_end(leg, "NOANSWER")
                self.drop_leg(leg, msg[2] or 0)
                self.engine.kick_agent(agent)
                status = "NOANSWER" if msg[2] else "CHANUNAVAIL"
                self.hangup_cause = msg[2] or None
                pbx.set_var(cust, "DIALSTATUS", status)
            elif kind in ("hangup", "abandon") and target is cust:
                pbx.request_hangup(cust)
                self.dial_end(leg, "CANCEL")
                self.drop_leg(leg, 0)
                self.engine.kick_agent(agent)
                self.outcome = "abandoned"
                return pbx.hangup(cust, msg[2] or 16)
            elif kind == "redirect" and target is cust:
                self.dial_end(leg, "CANCEL")
                pbx.set_var(cust, "DIALSTATUS", "CANCEL")
                self.drop_leg(leg, 16)
                self.engine.kick_agent(agent)
                return await self.route(*msg[2:])
            else:
                self.ignore(msg)
                continue
            if status == "NOANSWER" and fallback:
                pbx.set_var(cust, "ANSWEREDTIME", "")
                pbx.set_var(cust, "DIALEDTIME", "")
                return await self.queue_phase("support", "10")
            cust.priority = str(int(priority) + 3)
            self.outcome = "no_answer"
            return self.hangup_customer(16)

    async def priority_phase(self, qname: str) -> None:
        """``Gosub(sub-queue-priority,s,1(<qname>))`` (the daemon's FastAGI answers
        QUEUE_PRIO and CALLBACK_OFFER), then ``Queue()`` with that priority."""
        pbx, cust = self.pbx, self.channel
        pbx.newexten(cust, "6", "Gosub", f"sub-queue-priority,s,1({qname})")
        home = cust.context, cust.exten
        cust.context, cust.exten = "sub-queue-priority", "s"
        self.cc_joined = str(int(pbx.clock.event_time()))
        for n, (name, value) in enumerate((("QUEUE_PRIO", "0"), ("CALLBACK_OFFER", "0"),
                                           ("CC_QUEUE", qname), ("CC_JOINED", self.cc_joined)), 1):
            pbx.newexten(cust, str(n), "Set", f"{name}={value}")
            pbx.set_var(cust, name, value)
        answer = await run_agi(pbx, cust, "5", "priority", [qname, cust.linkedid])
        prio = answer.get("QUEUE_PRIO", "0")
        self.callback_offer = answer.get("CALLBACK_OFFER") == "1"
        pbx.newexten(cust, "6", "ExecIf", '$["${AGISTATUS}" != "SUCCESS" | "${QUEUE_PRIO}" = ""]'
                     "?Set(QUEUE_PRIO=0)")
        pbx.newexten(cust, "7", "Return", "")
        cust.context, cust.exten = home
        await self.queue_phase(qname, "7", prio=int(prio) if prio.isdigit() else 0)

    async def queue_phase(self, qname: str, priority: str, gosub: str = "", *,
                          prio: int = 0, position: int | None = None) -> None:
        """``Queue(<qname>,t,,,60[,,gosub])``: wait, ring, connect, abandon or time out.

        With ``gosub`` the answering agent's channel runs it: MixMonitor there. ``prio``
        is QUEUE_PRIO, ``position`` Queue()'s position argument.
        """
        pbx, cust, engine = self.pbx, self.channel, self.engine
        q = pbx.queues[qname]
        self.gosub, self.queue_priority = gosub, priority
        self.stays = qname in pbx.config.survey.queues
        options = "ct" if self.stays else "t"
        appdata = f"{qname},{options},,,{int(q.config.max_wait)}" + (f",,{gosub}" if gosub else "")
        pbx.newexten(cust, priority, "Queue", appdata)
        pbx.set_var(cust, "ANSWEREDTIME", "")
        pbx.set_var(cust, "DIALEDTIME", "")
        waiter = engine.join(q, self, prio, position)
        pbx.emit(pbx.ev.chan("MusicOnHoldStart", cust, {"Class": "default"}))
        legs: list[Leg] = []
        self.legs = legs
        qt = self.after(q.config.max_wait, "queue_timeout")
        if self.press_1_after is not None and q.config.callback_context:
            self.after(self.press_1_after, "press", "1")
            self.press_1_after = None
        engine.kick(q)
        while True:
            msg = await self.next()
            kind, target = msg[0], msg[1] if len(msg) > 1 else None
            if kind == "ring":
                new = [self.dial(agent, q, agent.interface) for agent in msg[1]]
                for leg in new:
                    self.alert(leg, q.config.timeout)
                legs.extend(new)
            elif kind == "answered" and target in legs and target.active:
                qt.cancel()
                return await self.connect(q, waiter, target, legs)
            elif kind == "ring_timeout" and target in legs and target.active:
                self.ring_no_answer(target, int(q.config.timeout * 1000))
                self.dial_end(target, "NOANSWER")
                self.dial_end(target, "CANCEL")
                legs.remove(target)
                self.drop_leg(target, 0)
                engine.kick_agent(target.agent)
                if not legs:
                    self.after(q.config.retry, "retry")
            elif kind == "retry" and not legs and waiter in q.waiting:
                waiter.idle = True
                engine.kick(q)
            elif kind in ("hangup", "abandon") and target is cust or kind == "queue_timeout":
                qt.cancel()
                return self.leave_unanswered(q, waiter, legs, msg)
            elif kind == "hangup" and any(leg.channel is target for leg in legs):
                leg = next(leg for leg in legs if leg.channel is target)
                self.dial_end(leg, "NOANSWER")
                self.ring_no_answer(leg, int((pbx.clock.event_time() - leg.started) * 1000))
                legs.remove(leg)
                self.drop_leg(leg, msg[2] or 0)
                if not legs:
                    waiter.idle = True
                    engine.kick(q)
                engine.kick_agent(leg.agent)
            elif kind == "redirect" and target is cust:
                qt.cancel()
                self.cancel_legs(legs)
                pbx.emit(pbx.ev.chan("MusicOnHoldStop", cust))
                engine.leave(q, waiter)
                self.drain()
                return await self.route(*msg[2:])
            elif kind == "press" and waiter in q.waiting:
                qt.cancel()
                self.cancel_legs(legs)
                pbx.emit(pbx.ev.chan("MusicOnHoldStop", cust))
                position = engine.position(q, waiter)
                engine.leave(q, waiter)  # EXITWITHKEY: no QueueCallerAbandon
                pbx.set_var(cust, "QUEUEPOSITION", str(position))
                self.drain()
                return await self.exit_with_key(q, position)
            else:
                self.ignore(msg)

    async def exit_with_key(self, q: Queue, position: int) -> None:
        """The caller pressed 1: ``[<context>] 1`` → ``Gosub(sub-callback,s,1(<queue>))``:
        the daemon records the request and the caller hangs up, or the caller goes back
        into the queue at ``position``."""
        pbx, cust, name = self.pbx, self.channel, q.config.name
        cust.context, cust.exten = q.config.callback_context, "1"
        pbx.newexten(cust, "1", "Gosub", f"sub-callback,s,1({name})")
        cust.context, cust.exten = "sub-callback", "s"
        pbx.newexten(cust, "1", "Set", "CALLBACK_ACCEPTED=0")
        pbx.set_var(cust, "CALLBACK_ACCEPTED", "0")
        pbx.newexten(cust, "2", "GotoIf", '$["${CALLBACK_OFFER}" != "1"]?back')
        answer: dict[str, str] = {}
        if self.callback_offer:
            answer = await run_agi(pbx, cust, "3", "callback",
                                   [name, cust.linkedid, str(position), self.cc_joined,
                                    str(int(pbx.clock.event_time()))])
            pbx.newexten(cust, "4", "GotoIf", '$["${AGISTATUS}" != "SUCCESS" | '
                         '"${CALLBACK_ACCEPTED}" != "1"]?back')
        if answer.get("AGISTATUS") == "SUCCESS" and answer.get("CALLBACK_ACCEPTED") == "1":
            pbx.newexten(cust, "5", "Set", f"CALLBACK_REQUESTED={answer.get('CALLBACK_ID')}")
            pbx.set_var(cust, "CALLBACK_REQUESTED", answer.get("CALLBACK_ID", ""))
            pbx.newexten(cust, "6", "Playback", "callcenter/zh/cc-callback-confirmed")
            pbx.newexten(cust, "7", "Hangup", "")
            self.outcome = "callback_requested"
            return self.hangup_customer(16)
        await self.queue_phase(name, "8", position=position)

    def cancel_legs(self, legs: list[Leg], cause: int = 0) -> None:
        """DialEnd CANCEL and Hangup ``cause`` (26: answered elsewhere) on ringing legs."""
        for leg in legs:
            self.dial_end(leg, "CANCEL")
        for leg in legs:
            self.drop_leg(leg, cause)
            self.engine.kick_agent(leg.agent)

    def drain(self) -> None:
        """Hand back queue offers that arrived after the caller left the queue."""
        while not self.inbox.empty():
            self.ignore(self.inbox.get_nowait()[1])

    def leave_unanswered(self, q: Queue, waiter: Waiter, legs: list[Leg], msg: tuple[Any, ...]) -> None:
        """The caller abandons (hangup) or times out of the queue."""
        pbx, cust = self.pbx, self.channel
        timeout = msg[0] == "queue_timeout"
        hold = whole_seconds(pbx.clock.event_time() - waiter.joined)
        abandon = {"Queue": q.config.name, "Position": str(self.engine.position(q, waiter)),
                   "OriginalPosition": str(waiter.original_position), "HoldTime": str(hold)}
        if timeout:
            for leg in legs:
                self.dial_end(leg, "CANCEL")
            pbx.emit(pbx.ev.chan("QueueCallerAbandon", cust, abandon, "agent,all"))
            pbx.emit(pbx.ev.chan("MusicOnHoldStop", cust))
            self.engine.leave(q, waiter)
            pbx.set_var(cust, "QUEUESTATUS", "TIMEOUT")
            for leg in legs:
                self.drop_leg(leg, 0)
                self.engine.kick_agent(leg.agent)
            self.outcome = "timeout"
            if self.stays:
                skip_survey(self, self.queue_priority)
            else:
                cust.priority = str(int(cust.priority) + 2)
            self.hangup_customer(16)
        else:
            pbx.request_hangup(cust)
            pbx.emit(pbx.ev.chan("MusicOnHoldStop", cust))
            for _ in range(2):
                for leg in legs:
                    self.dial_end(leg, "CANCEL")
            pbx.emit(pbx.ev.chan("QueueCallerAbandon", cust, abandon, "agent,all"))
            self.engine.leave(q, waiter)
            pbx.request_hangup(cust, soft=True, cause=16)
            for leg in legs:
                self.drop_leg(leg, 0)
                self.engine.kick_agent(leg.agent)
            self.outcome = "abandoned"
            pbx.hangup(cust, msg[2] or 0)
        q.abandoned += 1
        self.drain()

    async def connect(self, q: Queue, waiter: Waiter, leg: Leg, legs: list[Leg]) -> None:
        """An agent answers a queue call: AgentConnect, bridge, talk."""
        pbx, cust = self.pbx, self.channel
        leg.stop()
        pbx.set_state(leg.channel, 6)
        self.dial_end(leg, "ANSWER")
        self.cancel_legs([other for other in legs if other is not leg], 26)
        pbx.emit(pbx.ev.chan("MusicOnHoldStop", cust))
        for ch in (cust, leg.channel):
            pbx.set_var(ch, "MEMBERINTERFACE", leg.agent.interface)
        for ch in (cust, leg.channel):
            pbx.set_var(ch, "QUEUENAME", q.config.name)
        self.engine.leave(q, waiter)
        self.drain()
        if self.gosub:
            self.record_agent(leg.channel)
        now = pbx.clock.event_time()
        qctx = QueueContext(q, q.members[leg.agent.interface], whole_seconds(now - waiter.joined))
        extra = {**two_fields(qctx), "HoldTime": str(qctx.hold_time),
                 "RingTime": str(whole_seconds(now - leg.started))}
        pbx.emit(pbx.ev.two("AgentConnect", cust, leg.channel, extra, "agent,all"))
        self.outcome = "answered"
        await Talk(self, cust, leg.channel, leg.agent, leg.script, qctx).run()
        if self.survey_pending is not None:
            release, self.survey_pending = self.survey_pending, None
            await run_survey(self, self.queue_priority, release)


    def record_agent(self, ch: Channel) -> None:
        """The queue gosub on the agent's channel: MixMonitor(...,b) there."""
        context, exten, priority = ch.context, ch.exten, ch.priority
        ch.context, ch.exten = self.gosub, "s"
        self.pbx.newexten(ch, "1", "NoOp", f"Agent {ch.name} answered queue call - "
                          "recording on agent channel")
        self.pbx.mixmonitor(ch, "3")
        self.pbx.newexten(ch, "4", "Return", "")
        ch.context, ch.exten, ch.priority = context, exten, priority
        ch.app, ch.appdata = "AppQueue", "(Outgoing Line)"


class InboundCall(Call):
    """A customer calling a DID (800 support, 801 sales) or an agent directly (100X)."""

    def __init__(self, pbx: PBX, engine: QueueEngine, caller: str, dest: str,
                 caller_name: str | None = None, **kw: Any) -> None:
        super().__init__(pbx, engine, **kw)
        self.channel = pbx.new_channel("trunk", caller, caller_name or f"Customer {caller[-4:]}",
                                       "from-trunk", dest, 4)
        self.channel.owner = self
        self.channel.dnid = dest
        self.dest = dest

    @property
    def linkedid(self) -> str:
        """The Linkedid shared by every channel of the call."""
        return self.channel.linkedid

    async def run(self) -> str:
        """Answer, run the dialplan; returns the outcome (answered, abandoned, ...)."""
        pbx, cust = self.pbx, self.channel
        pbx.newexten(cust, "1", "NoOp", f'Inbound call from "{cust.cid_name}" <{cust.cid_num}> '
                     f"to {self.dest}")
        pbx.newexten(cust, "2", "Answer", "")
        cust.priority = "3"
        pbx.set_state(cust, 6)
        pbx.set_var(cust, "CUSTOMER_ID", cust.cid_num)
        if self.patience is not None:
            self.after(self.patience, "abandon", cust, None)
        await self.route("from-trunk", self.dest, "1")
        if cust.alive:  # e.g. a flow ended without hanging up the customer
            self.hangup_customer(16)
        return self.outcome
