"""``core restart now`` / ``core stop now``: how Asterisk 22 ends every live call.

As in real3/j_core_restart: SoftHangupRequest Cause 4 (AST_SOFTHANGUP_SHUTDOWN) on
every channel at once; then app_queue gives up on each waiting caller (newest
first): DialEnd CANCEL twice on its ringing members, except the ring started
first in the PBX, reported as DialEnd NOANSWER + AgentRingNoAnswer; VarSet
ABANDONED=TRUE, QueueCallerAbandon, QueueCallerLeave, SoftHangupRequest Cause 16,
Hangup Cause 0 on every channel, no QUEUESTATUS. Bridged calls leave their bridge
(AgentComplete) and hang up with cause 0 too.
"""

from __future__ import annotations

from callcenter.sim.calls import Call, Leg
from callcenter.sim.model import Queue, Waiter
from callcenter.sim.pbx import PBX


def _calls(pbx: PBX) -> list[Call]:
    """The calls owning live channels, in the order their channels were created."""
    out: list[Call] = []
    for ch in pbx.channels.values():
        if isinstance(ch.owner, Call) and ch.owner not in out:
            out.append(ch.owner)
    return out


def _waiting(pbx: PBX, call: Call) -> tuple[Queue, Waiter] | None:
    for q in pbx.queues.values():
        for w in q.waiting:
            if w.call is call:
                return q, w
    return None


def _ringing(call: Call) -> list[Leg]:
    return [leg for leg in call.legs if leg.active and leg.channel.alive]


def hang_up_everything(pbx: PBX) -> None:
    """End every channel as a shutting-down Asterisk 22 does (see the module docstring)."""
    for ch in list(pbx.channels.values()):
        pbx.request_hangup(ch, soft=True, cause=4)
    calls = _calls(pbx)
    queue_legs = [leg for c in calls if _waiting(pbx, c) for leg in _ringing(c)]
    first = min(queue_legs, key=lambda leg: leg.started, default=None)
    for call in reversed(calls):
        if call.talk is not None and call.talk.bridge is not None and call.channel.alive:
            call.talk.end("caller", shutdown=True)
        elif (found := _waiting(pbx, call)) is not None:
            _abandon(pbx, call, *found, first)
        else:
            _cancel_dial(pbx, call)
    for ch in list(pbx.channels.values()):  # Local channels, outbound trunks, ...
        pbx.hangup(ch, 0)
    for agent in pbx.agents.values():
        if agent.status != 1:
            pbx.set_agent_status(agent, 1)


def _abandon(pbx: PBX, call: Call, q: Queue, waiter: Waiter, first: Leg | None) -> None:
    """app_queue's caller leaving the queue at shutdown."""
    cust, now = call.channel, pbx.clock.event_time()
    legs = _ringing(call)
    for leg in legs:
        if leg is first:
            call.dial_end(leg, "NOANSWER")
            call.ring_no_answer(leg, (int(now) - int(leg.started)) * 1000)
        else:
            call.dial_end(leg, "CANCEL")
            call.dial_end(leg, "CANCEL")
    pbx.emit(pbx.ev.chan("MusicOnHoldStop", cust))
    pbx.set_var(cust, "ABANDONED", "TRUE")
    abandon = {"Queue": q.config.name, "Position": str(call.engine.position(q, waiter)),
               "OriginalPosition": str(waiter.original_position),
               "HoldTime": str(int(now) - int(waiter.joined))}
    pbx.emit(pbx.ev.chan("QueueCallerAbandon", cust, abandon, "agent,all"))
    call.engine.leave(q, waiter)
    pbx.request_hangup(cust, soft=True, cause=16)
    for leg in legs:
        call.drop_leg(leg, 0)
    q.abandoned += 1
    pbx.hangup(cust, 0)


def _cancel_dial(pbx: PBX, call: Call) -> None:
    """A direct Dial (or an outbound call) ringing: DialEnd CANCEL, everything down."""
    legs = _ringing(call)
    for leg in legs:
        call.dial_end(leg, "CANCEL")
    for leg in legs:
        call.drop_leg(leg, 0)
    if call.channel.alive:
        pbx.hangup(call.channel, 0)
