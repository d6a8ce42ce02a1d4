"""A live state's present for some PBXs, as the facts that rebuild it elsewhere (pure).

What an owner publishes when a listener (re)connects: the queue members and each
agent's state (since when), the open calls, who answered them, the callers waiting
and the phones ringing. Today's ended calls are not in it: a listener counts them from
the database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from callcenter.calls.model import (
    CallAnswered,
    CallStarted,
    Fact,
    QueueCallerJoined,
    RingAttempt,
    RingStarted,
)
from callcenter.live.state import LiveState


def present_facts(state: LiveState, owned: Callable[[str], bool]) -> list[Fact]:
    """The facts that give a fresh :class:`LiveState` the present of the PBXs ``owned``
    says yes to."""
    facts: list[Fact] = [f for f in state.members.values() if owned(f.server)]
    facts += [dataclasses.replace(now.fact, at=now.since) for now in state.agents.values()
              if owned(now.fact.server)]  # applied last: each agent's state and since when
    for (server, _), call in state.open_calls.items():
        if owned(server):
            facts.append(CallStarted(server, call.started_at, call))
    for agent, ((server, linkedid), since) in state.current_call.items():
        talking = state.open_calls.get((server, linkedid))
        if talking is None or not owned(server):
            continue
        attempt = None if since is None else RingAttempt(agent, "", since, talking.queue,
                                                         ended_at=since, outcome="answered")
        facts.append(CallAnswered(server, since or talking.started_at, talking, attempt))
    for (server, linkedid), (queue, at) in state.waiting.items():
        if owned(server):
            facts.append(QueueCallerJoined(server, at, linkedid, queue, 0))
    for agent, rings in state.rings.items():
        for (server, linkedid), at in rings.items():
            if owned(server):
                facts.append(RingStarted(server, at, linkedid, RingAttempt(agent, "", at),
                                         None, False))
    return facts
