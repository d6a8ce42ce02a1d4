"""The agent feed: a daemon consumer that pushes each agent's own live events to their panel.

Per agent endpoint (``agent1001``) it keeps what is ringing now and hands every
subscriber (one per open panel) the agent's events as small dicts:

- ``ring``: the phone started ringing (server, linkedid, caller, caller_name,
  queue, direct, started_at) — the screen pop's trigger;
- ``ring_end``: that ring stopped (outcome);
- ``answered`` / ``ended``: a call of theirs was answered / is over (wrap-up);
- ``state``: Asterisk reported a queue member state (queue, state, paused,
  reason, in_queue), whoever changed it.

Subscribers never slow the daemon down: each has a bounded queue and a
subscriber that falls behind loses its oldest events. ``None`` in a queue
means the stream is over (shutdown).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from callcenter.agentpanel.access import call_agents
from callcenter.calls.model import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallStarted,
    CallWithdrawn,
    Fact,
    RingEnded,
    RingStarted,
)

Event = dict[str, Any]


class AgentFeed:
    """Consumer of tracker facts; :meth:`subscribe` gives an agent's live events."""

    def __init__(self, maxsize: int = 100) -> None:
        self.maxsize = maxsize
        self.ringing: dict[str, Event] = {}
        self._callers: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        self._subscribers: dict[str, set[asyncio.Queue[Event | None]]] = {}

    @contextmanager
    def subscribe(self, agent: str) -> Iterator[asyncio.Queue[Event | None]]:
        """A queue of ``agent``'s events from now on (what rings now comes first)."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue(self.maxsize)
        if agent in self.ringing:
            queue.put_nowait(self.ringing[agent])
        self._subscribers.setdefault(agent, set()).add(queue)
        try:
            yield queue
        finally:
            subs = self._subscribers.get(agent, set())
            subs.discard(queue)
            if not subs:
                self._subscribers.pop(agent, None)

    def close_subscribers(self) -> None:
        """Tell every listening panel to stop: each queue gets ``None``."""
        for subs in self._subscribers.values():
            for queue in subs:
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(None)

    @property
    def streams(self) -> int:
        """Browsers connected to the feed, all agents together."""
        return sum(len(subs) for subs in self._subscribers.values())

    def subscribers(self, agent: str) -> int:
        """How many panels of ``agent`` are listening."""
        return len(self._subscribers.get(agent, ()))

    realtime = True
    """On the daemon's real-time path: fed as facts arrive, never waiting for storage."""

    def feed(self, facts: Sequence[Fact]) -> None:
        """Turn facts into agent events (synchronously: no I/O)."""
        for fact in facts:
            self.apply(fact)

    async def on_facts(self, facts: Sequence[Fact]) -> None:
        """:meth:`feed`, for callers that await."""
        self.feed(facts)

    def apply(self, fact: Fact) -> None:
        """Update the ringing state and publish ``fact`` to the agents it concerns."""
        if isinstance(fact, CallStarted):
            self._callers[fact.server, fact.call.linkedid] = (fact.call.caller,
                                                              fact.call.caller_name)
        elif isinstance(fact, CallWithdrawn):
            self._callers.pop((fact.server, fact.linkedid), None)
        elif isinstance(fact, RingStarted):
            self._ring(fact)
        elif isinstance(fact, RingEnded):
            agent = fact.attempt.agent
            if self.ringing.get(agent, {}).get("linkedid") == fact.linkedid:
                del self.ringing[agent]
            self._publish(agent, {"type": "ring_end", "server": fact.server,
                                  "linkedid": fact.linkedid, "outcome": fact.attempt.outcome})
        elif isinstance(fact, CallAnswered) and fact.attempt is not None:
            self._publish(fact.attempt.agent, {"type": "answered", "server": fact.server,
                                               "linkedid": fact.call.linkedid})
        elif isinstance(fact, CallEnded):
            self._callers.pop((fact.server, fact.call.linkedid), None)
            for agent in call_agents(fact.call):
                self._publish(agent, {"type": "ended", "server": fact.server,
                                      "linkedid": fact.call.linkedid,
                                      "direction": fact.call.direction})
        elif isinstance(fact, AgentStateChanged):
            self._publish(fact.agent, {"type": "state", "server": fact.server,
                                       "interface": fact.interface, "queue": fact.queue,
                                       "state": fact.state, "paused": fact.paused,
                                       "reason": fact.reason, "in_queue": fact.in_queue,
                                       "at": fact.at.isoformat()})

    def _ring(self, fact: RingStarted) -> None:
        attempt = fact.attempt
        caller, caller_name = self._callers.get((fact.server, fact.linkedid), (None, None))
        event = {"type": "ring", "server": fact.server, "linkedid": fact.linkedid,
                 "caller": caller, "caller_name": caller_name, "queue": attempt.queue,
                 "direct": fact.direct, "started_at": attempt.started_at.isoformat()}
        self.ringing[attempt.agent] = event
        self._publish(attempt.agent, event)

    def _publish(self, agent: str, event: Event) -> None:
        for queue in self._subscribers.get(agent, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)
