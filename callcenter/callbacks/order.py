"""Which callback to place now, and with which agent (pure: no I/O).

:class:`QueueView` follows the queues from the tracker's facts: the callers waiting in
each queue in app_queue's order (a ``QueueCallerJoin`` position puts a key account
ahead) and each member's state. :func:`choose` keeps a callback's place in its queue: a
request whose caller joined before the caller now at the head of the queue is placed
first; a later one waits until the callers ahead of it are answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from callcenter.calls.model import (
    AgentStateChanged,
    CallEnded,
    Fact,
    QueueCallerJoined,
    QueueCallerLeft,
)

FREE_STATES = frozenset({"available", "wrap_up"})
"""Member states a callback may take: wrap-up included, the moment app_queue leaves the
member alone (wrapuptime), so a callback keeps its turn ahead of later callers."""


@dataclass(frozen=True)
class Pending:
    """A request that may be placed: its id, queue, and when its caller joined the queue."""

    id: int
    server: str
    queue: str
    joined_at: datetime


@dataclass
class Member:
    """A queue member as the facts tell: its endpoint and whether it can take a call."""

    agent: str
    state: str = "logged_out"
    paused: bool = False
    in_queue: bool = False

    @property
    def free(self) -> bool:
        return self.in_queue and not self.paused and self.state in FREE_STATES


class QueueView:
    """Callers waiting and members of every queue of one server, from facts."""

    def __init__(self) -> None:
        self.waiting: dict[tuple[str, str], list[tuple[str, datetime]]] = {}
        """(server, queue) → [(linkedid, joined at)] in queue order."""
        self.members: dict[tuple[str, str], dict[str, Member]] = {}
        """(server, queue) → interface → member."""

    def apply(self, facts: Iterable[Fact]) -> None:
        """Fold the facts in."""
        for f in facts:
            if isinstance(f, QueueCallerJoined):
                line = self.waiting.setdefault((f.server, f.queue), [])
                self._drop(f.server, f.linkedid)
                line.insert(max(0, min(f.position - 1, len(line))), (f.linkedid, f.at))
            elif isinstance(f, QueueCallerLeft):
                self._drop(f.server, f.linkedid)
            elif isinstance(f, CallEnded):
                self._drop(f.server, f.call.linkedid)
            elif isinstance(f, AgentStateChanged):
                self._member(f)

    def _drop(self, server: str, linkedid: str) -> None:
        for (srv, _), line in self.waiting.items():
            if srv == server:
                line[:] = [w for w in line if w[0] != linkedid]

    def _member(self, f: AgentStateChanged) -> None:
        queues = [f.queue] if f.queue else [q for (s, q), m in self.members.items()
                                            if s == f.server and f.interface in m]
        for queue in queues:
            m = self.members.setdefault((f.server, queue), {}).setdefault(
                f.interface, Member(f.agent))
            m.state, m.paused, m.in_queue = f.state, f.paused, f.in_queue

    def head(self, server: str, queue: str) -> datetime | None:
        """When the caller at the head of the queue joined it; None when nobody waits."""
        line = self.waiting.get((server, queue))
        return line[0][1] if line else None

    def free(self, server: str, queue: str) -> list[str]:
        """Interfaces of the queue's members free to take a call now, in a stable order."""
        members = self.members.get((server, queue), {})
        return sorted(i for i, m in members.items() if m.free)


def choose(pending: Sequence[Pending], view: QueueView, busy: set[str]
           ) -> list[tuple[Pending, str]]:
    """(request, interface) pairs to place now: per queue, the requests oldest join first,
    each to a free member not in ``busy``, while the request's caller joined before the
    head of the queue."""
    out: list[tuple[Pending, str]] = []
    taken = set(busy)
    for p in sorted(pending, key=lambda p: (p.joined_at, p.id)):
        head = view.head(p.server, p.queue)
        if head is not None and p.joined_at >= head:
            continue
        free = [i for i in view.free(p.server, p.queue) if i not in taken]
        if free:
            taken.add(free[0])
            out.append((p, free[0]))
    return out
