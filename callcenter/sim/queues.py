"""app_queue: callers waiting, member selection (rrmemory, ringall), member actions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from callcenter.sim.model import Agent, Member, Queue, Waiter
from callcenter.sim.pbx import PBX


class QueueEngine:
    """Offers waiting callers to available members and manages memberships."""

    def __init__(self, pbx: PBX) -> None:
        self.pbx = pbx

    def join(self, queue: Queue, call: Any, priority: int = 0,
             position: int | None = None) -> Waiter:
        """Put ``call`` (its channel and inbox) in ``queue`` behind the callers of its
        ``priority`` or higher (QUEUE_PRIO), or at ``position`` (Queue()'s argument) when
        that is earlier; emit QueueCallerJoin."""
        ch = call.channel
        at = sum(1 for w in queue.waiting if w.priority >= priority)
        if position is not None:
            at = min(at, max(0, position - 1))
        waiter = Waiter(call, ch, self.pbx.clock.event_time(), at + 1, priority=priority)
        queue.waiting.insert(at, waiter)
        extra = {"Queue": queue.config.name, "Position": str(at + 1),
                 "Count": str(len(queue.waiting))}
        self.pbx.emit(self.pbx.ev.chan("QueueCallerJoin", ch, extra, "agent,all"))
        return waiter

    def leave(self, queue: Queue, waiter: Waiter) -> None:
        """Remove the caller from the queue; emit QueueCallerLeave."""
        pos = queue.waiting.index(waiter) + 1 if waiter in queue.waiting else 1
        if waiter in queue.waiting:
            queue.waiting.remove(waiter)
        extra = {"Queue": queue.config.name, "Position": str(pos), "Count": str(len(queue.waiting))}
        self.pbx.emit(self.pbx.ev.chan("QueueCallerLeave", waiter.channel, extra, "agent,all"))

    def position(self, queue: Queue, waiter: Waiter) -> int:
        """The caller's 1-based position (1 when already gone)."""
        return queue.waiting.index(waiter) + 1 if waiter in queue.waiting else 1

    def free_members(self, queue: Queue) -> Iterator[tuple[int, Agent]]:
        """(member index, agent) of the members that may be rung now, in the strategy's order.

        Lazy: a kick that needs one member stops at the first free one.
        """
        names = list(queue.members)
        start = queue.last_index + 1
        for i in range(len(names)):
            pos = (start + i) % len(names)
            iface = names[pos]
            agent = self.pbx.agents.get(iface)
            if (agent is not None and agent.status == 1 and not queue.members[iface].paused
                    and agent.wrapup_until <= self.pbx.clock.event_time()):
                yield pos, agent

    def kick(self, queue: Queue) -> None:
        """Offer idle waiting callers, in order, to available members.

        Members are taken from :meth:`free_members` as callers need them: a
        kick costs at most O(waiters + members), not their product, and
        nothing when no caller is idle.
        """
        idle = [w for w in queue.waiting if w.idle]
        if not idle:
            return
        free = self.free_members(queue)
        if queue.config.strategy == "ringall":
            # app_queue's ringall walks its member container in hash order: newest first here
            chosen = [agent for _, agent in free][::-1]
            if chosen:
                self._offer(idle[0], chosen)
            return
        for waiter, (pos, agent) in zip(idle, free):
            queue.last_index = pos
            self._offer(waiter, [agent])

    @staticmethod
    def _offer(waiter: Waiter, agents: list[Agent]) -> None:
        for agent in agents:
            agent.status = 6  # reserved; the ring emits QueueMemberStatus
        waiter.idle = False
        waiter.call.post("ring", agents)

    def wrap_up(self, agent: Agent) -> None:
        """After a call: app_queue offers ``agent`` nothing for its queues' wrapuptime."""
        wrapup = max((q.config.wrapup for q in self.pbx.queues.values()
                      if agent.interface in q.members), default=0.0)
        if wrapup > 0:
            agent.wrapup_until = self.pbx.clock.event_time() + wrapup
            self.pbx.clock.call_later(wrapup, self.kick_agent, agent)

    def kick_agent(self, agent: Agent) -> None:
        """Re-run the distribution of every queue ``agent`` belongs to."""
        for q in self.pbx.queues.values():
            if agent.interface in q.members:
                self.kick(q)

    # -- member actions -----------------------------------------------------------
    def pause(self, iface: str, paused: bool, reason: str, queue: str | None) -> bool:
        """QueuePause: one QueueMemberPause per affected queue. False if not a member."""
        members = [
            q.members[iface]
            for q in self.pbx.queues.values()
            if iface in q.members and (queue is None or q.config.name == queue)
        ]
        if not members:
            return False
        agent = self.pbx.agents.get(iface)
        for m in members:
            self._set_pause(m, paused, reason)
        if agent is not None and not paused:
            self.kick_agent(agent)
        return True

    def _set_pause(self, m: Member, paused: bool, reason: str) -> None:
        m.paused = paused
        m.paused_reason = reason if paused else ""
        if paused:
            m.last_pause = int(self.pbx.clock.event_time())
        status = self.status_of(m)
        self.pbx.emit(self.pbx.ev.member("QueueMemberPause", m, status, status == 2))

    def autopause(self, agent: Agent) -> None:
        """app_queue autopause after a ring-no-answer, in queues with autopause on."""
        for q in self.pbx.queues.values():
            m = q.members.get(agent.interface)
            if m is not None and q.config.autopause and not m.paused:
                self._set_pause(m, True, "Auto-Pause")

    def status_of(self, m: Member) -> int:
        """The member's device status (1 when the interface is no agent phone)."""
        agent = self.pbx.agents.get(m.interface)
        return agent.status if agent is not None else 1

    def add(self, queue: str, iface: str, name: str, penalty: int, paused: bool, reason: str) -> str | None:
        """QueueAdd; returns an error message or None."""
        q = self.pbx.queues.get(queue)
        if q is None:
            return "Unable to add interface to queue: No such queue"
        if iface in q.members:
            return "Unable to add interface: Already there"
        m = Member(queue, iface, name or iface, "dynamic", penalty,
                   login_time=int(self.pbx.clock.event_time()), paused=paused,
                   paused_reason=reason if paused else "")
        q.members[iface] = m
        status = self.status_of(m)
        self.pbx.emit(self.pbx.ev.member("QueueMemberAdded", m, status, status == 2))
        self.kick(q)
        return None

    def remove(self, queue: str, iface: str) -> str | None:
        """QueueRemove; returns an error message or None."""
        q = self.pbx.queues.get(queue)
        m = q.members.get(iface) if q is not None else None
        if q is None or m is None:
            return "Unable to remove interface: Not there"
        if m.membership != "dynamic":
            return "Member not dynamic"
        del q.members[iface]
        status = self.status_of(m)
        self.pbx.emit(self.pbx.ev.member("QueueMemberRemoved", m, status, status == 2))
        return None
