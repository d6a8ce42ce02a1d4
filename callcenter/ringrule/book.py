"""Pure bookkeeping of the ring rule: open deadlines and consecutive misses.

No I/O and no clock of its own: callers pass ``now`` (seconds on the
enforcer's clock) so tests drive it with a fake clock.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass

from callcenter.calls.model import RingAttempt, RingRule, RingStarted

AUTOPAUSE_REASON = "auto-pause"


@dataclass
class Ring:
    """One agent phone ringing under a deadline."""

    key: tuple[str, str]
    server: str
    linkedid: str
    attempt: RingAttempt
    caller_channel: str | None
    direct: bool
    rule: RingRule
    started: float
    """Clock seconds when the phone started ringing (event time + clock offset)."""
    act_at: float | None = None
    """Clock seconds to act, when later than the deadline (see :meth:`DeadlineBook.defer`)."""

    @property
    def deadline(self) -> float:
        """Clock seconds when the rule is broken."""
        return self.started + self.rule.deadline_s

    @property
    def due_at(self) -> float:
        """Clock seconds when the book hands the ring out."""
        return self.deadline if self.act_at is None else self.act_at


def ring_key(server: str, linkedid: str, attempt: RingAttempt) -> tuple[str, str]:
    """Identity of a ring attempt: the agent channel, else linkedid + interface."""
    return server, attempt.channel or f"{linkedid}|{attempt.interface}|{attempt.started_at}"


class DeadlineBook:
    """Open rings ordered by deadline (a heap with lazy deletion)."""

    def __init__(self) -> None:
        self._rings: dict[tuple[str, str], Ring] = {}
        self._by_call: dict[tuple[str, str], set[tuple[str, str]]] = {}
        self._heap: list[tuple[float, int, tuple[str, str]]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._rings)

    def __contains__(self, key: object) -> bool:
        return key in self._rings

    def start(self, fact: RingStarted, rule: RingRule, offset: float = 0.0) -> Ring:
        """Open a deadline for ``fact`` (event time ``fact.at`` + ``offset`` = clock seconds)."""
        key = ring_key(fact.server, fact.linkedid, fact.attempt)
        ring = Ring(
            key=key,
            server=fact.server,
            linkedid=fact.linkedid,
            attempt=fact.attempt,
            caller_channel=fact.caller_channel,
            direct=fact.direct,
            rule=rule,
            started=fact.attempt.started_at.timestamp() + offset,
        )
        self._rings[key] = ring
        self._by_call.setdefault((fact.server, fact.linkedid), set()).add(key)
        heapq.heappush(self._heap, (ring.deadline, next(self._seq), key))
        return ring

    def defer(self, ring: Ring, until: float) -> None:
        """Put a ring handed out by :meth:`due` back, to be handed out again at ``until``.

        Used when the PBX is about to end the ring itself; an end clears it as usual.
        """
        ring.act_at = until
        self._rings[ring.key] = ring
        self._by_call.setdefault((ring.server, ring.linkedid), set()).add(ring.key)
        heapq.heappush(self._heap, (until, next(self._seq), ring.key))

    def end(self, server: str, linkedid: str, attempt: RingAttempt) -> Ring | None:
        """Clear the deadline of a ring that ended (answer, RNA, cancel, hang-up)."""
        return self._discard(ring_key(server, linkedid, attempt))

    def end_call(self, server: str, linkedid: str) -> list[Ring]:
        """Clear every deadline of a call that ended."""
        keys = self._by_call.pop((server, linkedid), set())
        return [r for r in (self._discard(k) for k in list(keys)) if r is not None]

    def next_deadline(self) -> float | None:
        """The earliest open deadline (clock seconds), or None."""
        while self._heap and not self._live(self._heap[0]):
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def due(self, now: float) -> list[Ring]:
        """Remove and return every ring due (deadline, or deferred time) ``<= now``, in order."""
        fired: list[Ring] = []
        while self._heap and self._heap[0][0] <= now:
            entry = heapq.heappop(self._heap)
            if self._live(entry):
                ring = self._discard(entry[2])
                if ring is not None:
                    fired.append(ring)
        return fired

    def _live(self, entry: tuple[float, int, tuple[str, str]]) -> bool:
        ring = self._rings.get(entry[2])
        return ring is not None and ring.due_at == entry[0]

    def _discard(self, key: tuple[str, str]) -> Ring | None:
        ring = self._rings.pop(key, None)
        if ring is not None:
            keys = self._by_call.get((ring.server, ring.linkedid))
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_call[(ring.server, ring.linkedid)]
        return ring


class MissBook:
    """Consecutive misses per agent and whether a pause is ours to send.

    A miss is a ring-no-answer or an enforced cut; each ring counts once
    (by key); an answer resets the count.
    """

    def __init__(self, threshold: int, remember: int = 10_000) -> None:
        self.threshold = threshold
        self._misses: dict[tuple[str, str], int] = {}
        self._counted: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._remember = remember
        self._paused: dict[tuple[str, str], dict[str | None, str]] = {}
        self.autopause_queues: set[tuple[str, str]] = set()

    def misses(self, server: str, interface: str) -> int:
        """The agent's current run of misses."""
        return self._misses.get((server, interface), 0)

    def miss(self, server: str, interface: str, ring: tuple[str, str]) -> bool:
        """Count a miss of ``ring``; True when it makes the run reach the threshold.

        The run restarts from zero once the threshold is reached.
        """
        if ring in self._counted:
            return False
        self._counted[ring] = None
        if len(self._counted) > self._remember:
            self._counted.popitem(last=False)
        count = self._misses.get((server, interface), 0) + 1
        if self.threshold and count >= self.threshold:
            self._misses.pop((server, interface), None)
            return True
        self._misses[(server, interface)] = count
        return False

    def answered(self, server: str, interface: str) -> None:
        """The agent answered: the run of misses is over."""
        self._misses.pop((server, interface), None)

    def set_paused(self, server: str, interface: str, queue: str | None, paused: bool,
                   reason: str | None) -> None:
        """Asterisk reported the member (un)paused in ``queue``."""
        queues = self._paused.setdefault((server, interface), {})
        if paused:
            queues[queue] = reason or ""
        else:
            queues.pop(queue, None)

    def pause_needed(self, server: str, interface: str, queue: str | None) -> tuple[bool, str]:
        """Whether our QueuePause is needed, and why not when it is not.

        Not when app_queue's autopause is on for ``queue`` or already paused
        the member (any pause already in force is not doubled either).
        """
        if queue is not None and (server, queue) in self.autopause_queues:
            return False, f"queue {queue} has autopause"
        paused = self._paused.get((server, interface)) or {}
        for q, reason in paused.items():
            if reason.lower() == AUTOPAUSE_REASON:
                return False, f"autopaused by app_queue in {q}"
        if paused:
            return False, f"already paused ({', '.join(sorted(set(paused.values())))})"
        return True, ""


class ClockOffset:
    """How far the enforcer's clock is ahead of one PBX's event clock (seconds).

    A sample is "now minus the event's Timestamp" as a frame arrives; delays
    (the network, a busy daemon, a burst of events) only ever make it larger, so
    the smallest sample is the clocks' difference plus the least delay. The
    minimum is kept over a sliding window (two half-window buckets) so that it
    follows drift; a frame stamped ``step_s`` before the newest one seen means
    the PBX clock was set back, and the offset starts again from that frame. A
    burst that delays frames therefore never moves the deadlines later.
    """

    def __init__(self, window_s: float = 600.0, step_s: float = 1.0) -> None:
        self.window_s = window_s
        self.step_s = step_s
        self._current = self._previous = math.inf
        self._bucket_start: float | None = None
        self._newest = -math.inf

    def current(self) -> float | None:
        """The offset as the samples so far give it (None: no sample yet)."""
        value = min(self._current, self._previous)
        return None if math.isinf(value) else value

    def observe(self, sample: float, event_ts: float, now: float) -> float:
        """Take one sample (event at ``event_ts``, seen at ``now``); the offset now."""
        if event_ts < self._newest - self.step_s:
            self._current = self._previous = math.inf
            self._newest = event_ts
        else:
            self._newest = max(self._newest, event_ts)
        if self._bucket_start is None or now - self._bucket_start >= self.window_s / 2:
            self._previous, self._current, self._bucket_start = self._current, math.inf, now
        self._current = min(self._current, sample)
        return min(self._current, self._previous)
