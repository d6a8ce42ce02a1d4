"""A supervisor's live monitoring: Originate (Application ChanSpy) to the supervisor's phone.

What Asterisk 22.10.1 sent for it (``tests/traces/real3/chanspy.jsonl``): the
supervisor's channel with its own Uniqueid = Linkedid (the Originate's
``ChannelId`` when given), ``Newexten AppDial2``, ``DialBegin``/``DialState``/
``DialEnd`` with only ``Dest`` fields, ``Newstate`` Ringing → Up,
``OriginateResponse`` (Application ChanSpy, Data, Reason 4), ~100 ms later
``ChanSpyStart`` (Spyer*/Spyee* snapshots); when the supervisor hangs up
``HangupRequest``, ``ChanSpyStop``, ``Hangup`` Cause 0. Not answered: ``DialEnd
NOANSWER``, ``Hangup``, then ``OriginateResponse Failure`` Reason 3 (its Uniqueid
the ChannelId: assumed, not captured). Messages: ``("hangup", channel, cause)``
(AMI Hangup), ``("supervisor_hangup",)``, ``("check",)`` (is the spied channel
still there: option E).
"""

from __future__ import annotations

from typing import Any

from callcenter.ami.protocol import Frame
from callcenter.sim.calls import Call
from callcenter.sim.events import snapshot
from callcenter.sim.model import Channel, SupervisorConfig
from callcenter.sim.pbx import PBX
from callcenter.sim.queues import QueueEngine

CHECK_S = 0.5
"""How often ChanSpy notices that the spied channel has gone (option E)."""


def _header(action: Frame, key: str) -> str:
    value = next((v for k, v in action.items() if k.lower() == key.lower()), "")
    return value[-1] if isinstance(value, list) else str(value)


class SpyCall(Call):
    """One spy leg: rings the supervisor, runs ChanSpy on the first channel whose name
    starts with the Data's prefix."""

    def __init__(self, pbx: PBX, engine: QueueEngine, supervisor: SupervisorConfig,
                 action: Frame) -> None:
        super().__init__(pbx, engine)
        self.supervisor, self.action = supervisor, action
        self.data = _header(action, "Data")
        self.prefix, _, self.options = self.data.partition(",")
        timeout = _header(action, "Timeout")
        self.timeout_s = int(timeout) / 1000 if timeout.isdigit() else 30.0
        self.channel = pbx.new_channel(supervisor.endpoint, supervisor.number, supervisor.name,
                                       "from-agents", "s", 0,
                                       uniqueid=_header(action, "ChannelId") or None)
        self.channel.owner = self
        self.spyee: Channel | None = None

    async def run(self) -> str:
        """Ring, spy, end; returns the outcome (ended | no_answer)."""
        pbx, ch = self.pbx, self.channel
        pbx.newexten(ch, "1", "AppDial2", "(Outgoing Line)")
        cid = _header(self.action, "CallerID")
        ch.cid_name = cid.split("<", 1)[0].strip().strip('"') or ch.cid_name
        ch.connected_num, ch.connected_name = ch.cid_num, ch.cid_name
        self._dial("DialBegin", {"DialString": self.supervisor.endpoint})
        pbx.set_state(ch, 5)
        self._dial("DialState", {"DialStatus": "RINGING"})
        answer = self.supervisor.answer_after
        if answer is None or answer >= self.timeout_s:
            self.after(self.timeout_s, "no_answer")
        else:
            self.after(answer, "answer")
        msg = await self.next()
        if msg[0] != "answer":
            return self._not_answered(msg)
        pbx.set_state(ch, 6)
        self._originate_response(True)
        self._dial("DialEnd", {"DialStatus": "ANSWER"})
        await self.pbx.clock.sleep(0.1)
        return await self._spy()

    async def _spy(self) -> str:
        pbx, ch = self.pbx, self.channel
        self.spyee = next((c for c in pbx.channels.values()
                           if c.name.startswith(self.prefix) and c.alive and c is not ch), None)
        if self.spyee is None or not ch.alive:  # option S: nothing to spy on
            pbx.hangup(ch, 16)
            self.outcome = "ended"
            return self.outcome
        self._chanspy("ChanSpyStart")
        self.after(CHECK_S, "check")
        while True:
            msg = await self.next()
            if msg[0] == "check":
                if self.spyee.alive:
                    self.after(CHECK_S, "check")
                    continue
                self._chanspy("ChanSpyStop")
                pbx.hangup(ch, 16)
            elif msg[0] == "supervisor_hangup":
                pbx.request_hangup(ch)
                self._chanspy("ChanSpyStop")
                pbx.hangup(ch, 0)
            elif msg[0] == "hangup":
                pbx.request_hangup(ch, soft=True, cause=msg[2] or 16)
                self._chanspy("ChanSpyStop")
                pbx.hangup(ch, msg[2] or 16)
            else:
                continue
            self.outcome = "ended"
            return self.outcome

    def _not_answered(self, msg: tuple[Any, ...]) -> str:
        pbx, ch = self.pbx, self.channel
        cancelled = msg[0] == "hangup"
        self._dial("DialEnd", {"DialStatus": "CANCEL" if cancelled else "NOANSWER"})
        pbx.hangup(ch, 16 if cancelled else 19)
        self._originate_response(False)
        self.outcome = "no_answer"
        return self.outcome

    def _dial(self, name: str, extra: Frame) -> None:
        self.pbx.emit(self.pbx.ev.event(name, "call,all", snapshot(self.channel, "Dest"), extra))

    def _chanspy(self, name: str) -> None:
        assert self.spyee is not None
        self.pbx.emit(self.pbx.ev.event(name, "call,all", snapshot(self.channel, "Spyer"),
                                        snapshot(self.spyee, "Spyee")))

    def _originate_response(self, ok: bool) -> None:
        ch = self.channel
        self.pbx.emit(self.pbx.ev.event("OriginateResponse", "call,all", {
            "ActionID": _header(self.action, "ActionID"),
            "Response": "Success" if ok else "Failure", "Channel": ch.name,
            "Application": "ChanSpy", "Data": self.data, "Reason": "4" if ok else "3",
            "Uniqueid": ch.uniqueid, "CallerIDNum": ch.cid_num, "CallerIDName": ch.cid_name}))
