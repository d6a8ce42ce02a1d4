"""The bridged part of a call: talk, hold, hangup, blind and attended transfer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from callcenter.sim.clock import whole_seconds
from callcenter.sim.events import bridge_fields, snapshot
from callcenter.sim.model import Agent, AgentScript, Bridge, Channel, Member, Queue

if TYPE_CHECKING:
    from callcenter.sim.calls import Call


@dataclass
class QueueContext:
    """What AgentComplete needs: the queue, the member, the caller's hold time (s)."""

    queue: Queue
    member: Member
    hold_time: int


def two_fields(qc: QueueContext) -> dict[str, str]:
    """Queue, Interface, MemberName of an Agent* event."""
    return {"Queue": qc.queue.config.name, "Interface": qc.member.interface,
            "MemberName": qc.member.name}


class Talk:
    """Runs one bridged conversation between the customer side and an agent phone."""

    def __init__(self, call: Call, customer: Channel, agent_ch: Channel, agent: Agent,
                 script: AgentScript, qctx: QueueContext | None, *,
                 dialed: Channel | None = None) -> None:
        self.call, self.pbx = call, call.pbx
        self.customer, self.agent_ch, self.agent = customer, agent_ch, agent
        self.dialed = dialed or agent_ch  # the called leg enters the bridge first
        self.script, self.qctx = script, qctx
        self.bridge: Bridge | None = None
        self.started = 0.0

    async def run(self) -> None:
        """Bridge the two channels and react until the conversation ends."""
        pbx, call = self.pbx, self.call
        call.talk = self
        br = self.bridge = pbx.new_bridge()
        caller = self.customer if self.dialed is self.agent_ch else self.agent_ch
        pbx.bridge_enter(br, self.dialed)
        pbx.bridge_enter(br, caller)
        pbx.set_var(self.agent_ch, "BRIDGEPEER", self.customer.name)
        pbx.set_var(self.customer, "BRIDGEPEER", self.agent_ch.name)
        pbx.set_agent_status(self.agent, 2)
        self.started = pbx.clock.event_time()
        s = self.script
        if s.hold is not None:
            call.after(s.hold[0], "hold", self)
        if s.blind_transfer_to:
            call.after(s.talk, "blind_transfer", self.agent_ch, s.blind_transfer_to)
        elif s.attended_transfer_to:
            call.after(s.talk, "attended_transfer", self.agent_ch, s.attended_transfer_to)
        else:
            call.after(s.talk, "talk_over", s.hangup_by)
        while True:
            msg = await call.next()
            kind = msg[0]
            if kind == "hold" and msg[1] is self and s.hold is not None:
                pbx.emit(pbx.ev.chan("Hold", self.agent_ch, {"MusicClass": "default"}))
                pbx.emit(pbx.ev.chan("MusicOnHoldStart", self.customer, {"Class": "default"}))
                call.after(s.hold[1], "unhold", self)
            elif kind == "unhold" and msg[1] is self:
                pbx.emit(pbx.ev.chan("Unhold", self.agent_ch))
                pbx.emit(pbx.ev.chan("MusicOnHoldStop", self.customer))
            elif kind == "talk_over":
                self.end(msg[1])
                return
            elif kind == "hangup" and msg[1] in (self.agent_ch, self.customer):
                self.end("agent" if msg[1] is self.agent_ch else "caller")
                return
            elif kind == "blind_transfer" and msg[1] is self.agent_ch:
                await self.blind_transfer(msg[2])
                return
            elif kind == "attended_transfer" and msg[1] is self.agent_ch:
                await self.attended_transfer(msg[2])
                return
            else:
                call.ignore(msg)

    def _agent_complete(self, reason: str) -> None:
        if self.qctx is None:
            return
        talk = whole_seconds(self.pbx.clock.event_time() - self.started)
        extra = {**two_fields(self.qctx), "HoldTime": str(self.qctx.hold_time),
                 "TalkTime": str(talk), "Reason": reason}
        self.pbx.emit(self.pbx.ev.two("AgentComplete", self.customer, self.agent_ch, extra,
                                      "agent,all"))
        self.qctx.member.calls_taken += 1
        self.qctx.member.last_call = int(self.pbx.clock.event_time())
        self.qctx.queue.completed += 1

    def _release_agent(self, cause: int = 16) -> None:
        self.pbx.hangup(self.agent_ch, cause)
        self.pbx.set_agent_status(self.agent, 1)
        self.call.engine.wrap_up(self.agent)
        self.call.engine.kick_agent(self.agent)

    def end(self, who: str, shutdown: bool = False) -> None:
        """Hang up both sides; ``who`` ("agent"/"caller") hung up first.

        ``shutdown``: the PBX ends the call (core restart/stop): nobody's phone
        hung up, both channels end with cause 0.
        """
        pbx, br = self.pbx, self.bridge
        assert br is not None
        first, other = ((self.agent_ch, self.customer) if who == "agent"
                        else (self.customer, self.agent_ch))
        if not shutdown:
            pbx.request_hangup(first)
        self._agent_complete(who)
        pbx.set_var(self.agent_ch, "BRIDGEPEER", "")
        pbx.set_var(self.customer, "BRIDGEPEER", "")
        pbx.bridge_leave(br, first)
        pbx.bridge_leave(br, other)
        now = pbx.clock.event_time()
        pbx.set_var(self.customer, "ANSWEREDTIME", str(whole_seconds(now - self.started)))
        pbx.set_var(self.customer, "DIALEDTIME", str(whole_seconds(now - self.customer.created)))
        if self.call.stays and self.qctx is not None and not shutdown:
            # Queue option c: the caller goes on in the dialplan (the survey), but no step
            # runs on a channel that hung up (sim.survey)
            if who == "agent":
                pbx.bridge_destroy(br)
                pbx.set_var(self.customer, "QUEUESTATUS", "CONTINUE")
                self.call.survey_pending = self._release_agent
                return
            pbx.set_var(self.customer, "QUEUESTATUS", "CONTINUE")
        pbx.request_hangup(other, soft=True, cause=16)
        pbx.bridge_destroy(br)
        pbx.hangup(self.customer, 0 if shutdown else self.call.hangup_cause or 16)
        self._release_agent(0 if shutdown else 16)

    async def blind_transfer(self, exten: str) -> None:
        """The agent transfers the customer to ``exten`` in context ``internal``."""
        pbx, br, cust = self.pbx, self.bridge, self.customer
        assert br is not None
        pbx.emit(pbx.ev.chan("Unhold", self.agent_ch))
        pbx.bridge_leave(br, self.agent_ch)
        pbx.emit(pbx.ev.event(
            "BlindTransfer", "call,all", {"Result": "Success"},
            snapshot(self.agent_ch, "Transferer"), snapshot(cust, "Transferee"),
            bridge_fields(br), {"IsExternal": "No", "Context": "internal", "Extension": exten}))
        self._agent_complete("transfer")
        cust.context, cust.exten, cust.priority = "internal", exten, "1"
        pbx.bridge_leave(br, cust)
        pbx.bridge_destroy(br)
        self._release_agent()
        await self.call.route("internal", exten, "1")

    async def attended_transfer(self, exten: str) -> None:
        """Consult ``exten`` through a Local channel, then hand the customer over."""
        pbx, call, br, cust = self.pbx, self.call, self.bridge, self.customer
        assert br is not None
        target = pbx.agents.get(f"PJSIP/agent{exten}")
        if target is None or target.status != 1:
            call.after(self.script.talk, "talk_over", self.script.hangup_by)
            return await self._resume()
        pbx.emit(pbx.ev.chan("Hold", self.agent_ch, {"MusicClass": "default"}))
        pbx.emit(pbx.ev.chan("MusicOnHoldStart", cust, {"Class": "default"}))
        one, two = pbx.local_pair(exten, "internal", cust.linkedid)
        consult = pbx.new_bridge()
        pbx.emit(pbx.ev.event("LocalBridge", "call,all", snapshot(one, "LocalOne"),
                              snapshot(two, "LocalTwo"),
                              {"Context": "internal", "Exten": exten, "LocalOptimization": "Yes"}))
        pbx.bridge_enter(consult, one)
        pbx.bridge_leave(br, self.agent_ch)
        pbx.bridge_enter(consult, self.agent_ch)
        t_script = call.script_for(target)
        t_ch = pbx.new_channel(target.config.endpoint, target.config.number, target.config.name,
                               "from-agents", "s", 0, cust.linkedid)
        t_ch.owner, t_ch.exten = call, exten
        two.priority = "2"
        pbx.emit(pbx.ev.two("DialBegin", two, t_ch, {"DialString": target.config.endpoint}))
        pbx.set_state(t_ch, 5)
        pbx.set_state(one, 5)
        pbx.set_agent_status(target, 6)
        pbx.emit(pbx.ev.two("DialState", two, t_ch, {"DialStatus": "RINGING"}))
        answer = t_script.answer_after if t_script.answer_after is not None else 3.0
        await pbx.clock.sleep(answer)
        pbx.set_state(t_ch, 6)
        pbx.emit(pbx.ev.two("DialEnd", two, t_ch, {"DialStatus": "ANSWER"}))
        pbx.set_state(two, 6)
        b3 = pbx.new_bridge()
        pbx.bridge_enter(b3, t_ch)
        pbx.set_state(one, 6)
        pbx.bridge_enter(b3, two)
        pbx.set_agent_status(target, 2)
        await pbx.clock.sleep(4.0)
        # the transferer hangs up: the transfer completes
        pbx.request_hangup(self.agent_ch)
        pbx.bridge_leave(consult, self.agent_ch)
        pbx.bridge_leave(consult, one)
        pbx.bridge_enter(br, one)
        pbx.emit(pbx.ev.chan("MusicOnHoldStop", cust))
        pbx.emit(pbx.ev.event(
            "AttendedTransfer", "call,all", {"Result": "Success"},
            snapshot(self.agent_ch, "OrigTransferer"), bridge_fields(br, "OrigBridge"),
            snapshot(self.agent_ch, "SecondTransferer"), bridge_fields(consult, "SecondBridge"),
            snapshot(cust, "Transferee"),
            {"IsExternal": "No", "DestType": "Bridge", "DestBridgeUniqueid": br.uniqueid}))
        self._agent_complete("transfer")
        pbx.bridge_destroy(consult)
        self._release_agent()
        pbx.bridge_leave(b3, t_ch)
        pbx.bridge_leave(br, one)
        pbx.bridge_enter(br, t_ch, swap=one)
        pbx.bridge_leave(b3, two)
        pbx.hangup(one, 16)
        pbx.bridge_destroy(b3)
        pbx.hangup(two, 16)
        self.agent_ch, self.agent, self.script, self.qctx = t_ch, target, t_script, None
        self.started = pbx.clock.event_time()
        call.after(t_script.talk, "talk_over", t_script.hangup_by)
        await self._resume()

    async def _resume(self) -> None:
        """Continue the conversation (after a transfer attempt) until it ends."""
        while True:
            msg = await self.call.next()
            if msg[0] == "talk_over":
                return self.end(msg[1])
            if msg[0] == "hangup" and msg[1] in (self.agent_ch, self.customer):
                return self.end("agent" if msg[1] is self.agent_ch else "caller")
            self.call.ignore(msg)
