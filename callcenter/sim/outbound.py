"""Outbound calls: an agent dials 9 + number out through ``PJSIP/trunk``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callcenter.ami.protocol import Frame
from callcenter.sim.calls import Call
from callcenter.sim.model import Agent
from callcenter.sim.pbx import PBX
from callcenter.sim.queues import QueueEngine
from callcenter.sim.talk import Talk


@dataclass
class OutboundScript:
    """The far end: ``outcome`` answer | busy | no_answer; ``ring`` s before the
    answer (or before the agent gives up), ``talk`` s, who hangs up first."""

    outcome: str = "answer"
    ring: float = 4.0
    talk: float = 15.0
    hangup_by: str = "agent"


CALLBACK_CONTEXT = "callback-dial"
"""The shipped dialplan's context of the daemon's callbacks: Exten is the customer's number."""


class OutboundCall(Call):
    """``from-agents`` / ``from-internal`` / ``callback-dial``: MixMonitor on the agent
    channel, Dial the trunk; an Originate rings the agent first (its ChannelId, when given,
    is the call's Uniqueid and Linkedid); the far end answers as ``pbx.far_ends`` says."""

    def __init__(self, pbx: PBX, engine: QueueEngine, agent: Agent, number: str,
                 script: OutboundScript | None = None, originate: Frame | None = None,
                 **kw: Any) -> None:
        super().__init__(pbx, engine, **kw)
        o = originate or {}
        context = str(o.get("Context") or "from-internal") if originate else "from-agents"
        prefixed = context != CALLBACK_CONTEXT  # the shipped contexts dial 9 + number
        self.agent = agent
        self.number = number.removeprefix("9") if prefixed else number
        dialled = f"9{self.number}" if prefixed else number
        self.script = script or pbx.far_ends.get(self.number) or OutboundScript()
        self.originate = originate
        cfg = agent.config
        state = 0 if originate else 4
        self.channel = pbx.new_channel(cfg.endpoint, cfg.number, cfg.name, context, dialled,
                                       state, uniqueid=str(o.get("ChannelId") or "") or None)
        self.channel.owner = self
        self.channel.dnid = self.channel.exten
        agent.status = 2

    @property
    def linkedid(self) -> str:
        """The Linkedid shared by both legs."""
        return self.channel.linkedid

    async def _ring_agent_first(self) -> bool:
        """Originate: the agent's phone rings first; False when it is not answered."""
        pbx, ch = self.pbx, self.channel
        pbx.set_state(ch, 5)
        answer = self.script_for(self.agent).answer_after
        o = self.originate or {}
        timeout = int(str(o.get("Timeout") or "30000")) / 1000
        if answer is not None and answer > timeout:
            answer = None
        await pbx.clock.sleep(answer if answer is not None else timeout)
        ok = answer is not None and ch.alive
        pbx.emit(pbx.ev.event("OriginateResponse", "call,all", {
            "ActionID": str(o.get("ActionID", "")), "Response": "Success" if ok else "Failure",
            "Channel": ch.name, "Context": ch.context, "Exten": ch.exten,
            "Application": "", "Data": "", "Reason": "4" if ok else "3",
            "Uniqueid": ch.uniqueid, "CallerIDNum": ch.cid_num, "CallerIDName": ch.cid_name}))
        if not ok:
            pbx.hangup(ch, 19)
            return False
        pbx.set_state(ch, 6)
        return True

    async def run(self) -> str:
        """Run the outbound call; returns answered | busy | no_answer."""
        pbx, ch, s = self.pbx, self.channel, self.script
        pbx.set_agent_status(self.agent, 2)
        try:
            if self.originate and not await self._ring_agent_first():
                self.outcome = "no_answer"
                return self.outcome
            pbx.newexten(ch, "1", "NoOp", f'Outbound call from "{ch.cid_name}" <{ch.cid_num}>')
            pbx.mixmonitor(ch, "3")
            pbx.newexten(ch, "4", "Dial", f"PJSIP/{self.number}@trunk,60")
            for var in ("DIALSTATUS", "ANSWEREDTIME", "DIALEDTIME"):
                pbx.set_var(ch, var, "")
            trunk = pbx.new_channel("trunk", self.number, "", "from-trunk", "s", 0, ch.linkedid)
            trunk.owner, trunk.exten = self, ch.exten
            trunk.app, trunk.appdata, trunk.ani = "AppDial", "(Outgoing Line)", ""
            trunk.set_connected(ch)
            dial = {"DialString": f"{self.number}@trunk"}
            pbx.emit(pbx.ev.two("DialBegin", ch, trunk, dial))
            if s.outcome == "busy":
                return self._busy(trunk)
            pbx.set_state(trunk, 5)
            pbx.emit(pbx.ev.two("DialState", ch, trunk, {"DialStatus": "RINGING"}))
            await pbx.clock.sleep(s.ring)
            if s.outcome != "answer" or not ch.alive:
                return self._gave_up(trunk)
            pbx.set_state(trunk, 6)
            trunk.exten = ""  # app_dial's answered leg: Newexten AppDial with an empty Exten
            pbx.set_var(ch, "DIALSTATUS", "ANSWER")
            pbx.emit(pbx.ev.two("DialEnd", ch, trunk, {"DialStatus": "ANSWER"}))
            pbx.set_state(ch, 6)
            self.outcome = "answered"
            script = self.script_for(self.agent)
            from callcenter.sim.model import AgentScript

            talk = AgentScript(0, s.talk, s.hangup_by, script.hold)
            await Talk(self, trunk, ch, self.agent, talk, None, dialed=trunk).run()
            return self.outcome
        finally:
            if self.agent.status != 1 and not ch.alive:
                pbx.set_agent_status(self.agent, 1)
                self.engine.kick_agent(self.agent)

    def _busy(self, trunk: Any) -> str:
        pbx, ch = self.pbx, self.channel
        pbx.request_hangup(trunk, cause=17, tech_cause="486")
        pbx.emit(pbx.ev.two("DialEnd", ch, trunk, {"DialStatus": "BUSY"}))
        pbx.set_var(ch, "DIALSTATUS", "BUSY")
        pbx.hangup(trunk, 17, "486")
        pbx.newexten(ch, "5", "NoOp", "Outbound result DIALSTATUS=BUSY")
        pbx.newexten(ch, "6", "Hangup", "")
        pbx.request_hangup(ch, soft=True, cause=16)
        pbx.hangup(ch, 17, "486")
        self.outcome = "busy"
        return self.outcome

    def _gave_up(self, trunk: Any) -> str:
        pbx, ch = self.pbx, self.channel
        pbx.request_hangup(ch, cause=127, tech_cause="487")
        pbx.emit(pbx.ev.two("DialEnd", ch, trunk, {"DialStatus": "CANCEL"}))
        pbx.set_var(ch, "DIALSTATUS", "CANCEL")
        pbx.request_hangup(ch, soft=True, cause=16)
        pbx.hangup(ch, 127, "487")
        pbx.hangup(trunk, 127, "500")
        self.outcome = "no_answer"
        return self.outcome
