"""The wallboard's in-memory state: per queue and per agent, today, from the tracker's facts
(and the alerts of the three-ring enforcer and of the recordings consumer).

Pure (no I/O; the clock is injected). ``apply(facts)`` folds facts in,
``seed(calls)`` adds today's stored calls after a restart, ``snapshot()``
gives the figures at this instant. "Today" is the centre's local day
(``web.timezone``); a call counts on the day it started. Ended calls are
counted once (by server and linkedid), however often they are seen.
Figures come from :mod:`callcenter.kpis`.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.calls.alerts import RecordingAlert, SupervisorAlert
from callcenter.calls.model import (
    AgentStateChanged,
    CallAnswered,
    CallbacksWaiting,
    CallEnded,
    CallRecord,
    CallStarted,
    CallWithdrawn,
    Fact,
    QueueCallerJoined,
    QueueCallerLeft,
    RingEnded,
    RingStarted,
    ServiceAlert,
)
from callcenter.kpis import (
    AgentFigures,
    CallFigures,
    ServiceLevelRules,
    agent_call_figures,
    call_figures,
)
from callcenter.survey.figures import SurveyFigures, call_survey

CallKey = tuple[str, str]
"""(server, linkedid)."""
MemberKey = tuple[str, str, str]
"""(server, interface, queue)."""
Clock = Callable[[], datetime]
MEMBER_STATES = ("available", "ringing", "on_call", "wrap_up", "paused", "unavailable")
ALERTS_KEPT = 50
_RUNG = ("on_call", "available")
"""Member states an unanswered ring shows as ringing (busy: ``device_state_busy_at``)."""


def utcnow() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


@dataclass
class AgentNow:
    """What one agent is doing: the latest member fact and since when that has been so."""

    fact: AgentStateChanged
    since: datetime

    @property
    def display(self) -> tuple[str, bool, str | None]:
        return self.fact.state, self.fact.paused, self.fact.reason


def _member_state(f: AgentStateChanged) -> str:
    """available | ringing | on_call | wrap_up | paused | unavailable | logged_out."""
    if not f.in_queue or f.state == "logged_out":
        return "logged_out"
    if f.paused and f.state in ("available", "paused", "wrap_up"):
        return "paused"
    return f.state


class LiveState:
    """Queue and agent figures of today, kept up to date from facts."""

    def __init__(self, ms: ServiceLevelRules, timezone: str = "UTC", clock: Clock = utcnow) -> None:
        self.ms = ms
        self.zone = ZoneInfo(timezone)
        self.clock = clock
        self.day: date = self._local_day(clock())
        self.open_calls: dict[CallKey, CallRecord] = {}
        self.waiting: dict[CallKey, tuple[str, datetime]] = {}
        self.members: dict[MemberKey, AgentStateChanged] = {}
        self.agents: dict[str, AgentNow] = {}
        self.rings: dict[str, dict[CallKey, datetime]] = {}
        """Each agent's phone ringing now (not answered yet): call → ring start. Real
        Asterisk may report a ringing phone as busy (``device_state_busy_at``): these
        facts, not the device state, tell ringing from talking."""
        self.current_call: dict[str, tuple[CallKey, datetime | None]] = {}
        """Each agent's call now and since when it has it (None: answered at a time not
        observed, e.g. an answer learnt from a bridge after a resync)."""
        self.alerts: deque[SupervisorAlert] = deque(maxlen=ALERTS_KEPT)
        self.recording_alerts: deque[RecordingAlert] = deque(maxlen=ALERTS_KEPT)
        self.service_alerts: dict[str, ServiceAlert] = {}
        """The service's problems now (database, spool, dropped data), by problem."""
        self.callbacks: CallbacksWaiting | None = None
        """Queue callbacks not placed or not reached yet (the callback service's)."""
        self.latest_at: datetime | None = None
        self.known_queues: set[str] = set()
        """Queues seen since start: they stay on the board after midnight."""
        self._reset_day()
        self.version = 0

    def now(self) -> datetime:
        """The board's clock: the wall clock, or the latest event time when that is ahead
        (a PBX clock running ahead, or the simulator's faster time)."""
        now = self.clock()
        return self.latest_at if self.latest_at is not None and self.latest_at > now else now

    def _reset_day(self) -> None:
        self.ended: dict[str | None, CallFigures] = {}
        self.agent_figures: dict[str, AgentFigures] = {}
        self.counted: set[CallKey] = set()
        self.surveys: dict[str | None, SurveyFigures] = {}
        """Today's post-call survey counts per queue (None: direct calls)."""

    def _local_day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def _roll_day(self) -> None:
        today = self._local_day(self.now())
        if today != self.day:
            self.queue_names()
            self.day = today
            self._reset_day()
            self.version += 1

    # ------------------------------------------------------------ input

    def apply(self, facts: Iterable[Fact]) -> bool:
        """Fold ``facts`` in; True when anything the board shows changed."""
        self._roll_day()
        changed = False
        for f in facts:
            changed |= self._apply(f)
        if changed:
            self.version += 1
        return changed

    def _apply(self, f: Fact) -> bool:
        if isinstance(f, CallbacksWaiting):
            changed = self.callbacks is None or self.callbacks.waiting != f.waiting
            self.callbacks = f
            return changed
        if self.latest_at is None or f.at > self.latest_at:
            self.latest_at = f.at
        if isinstance(f, CallStarted):
            self.open_calls[(f.server, f.call.linkedid)] = f.call
        elif isinstance(f, QueueCallerJoined):
            self.waiting[(f.server, f.linkedid)] = (f.queue, f.at)
        elif isinstance(f, QueueCallerLeft):
            self.waiting.pop((f.server, f.linkedid), None)
        elif isinstance(f, CallAnswered):
            key = (f.server, f.call.linkedid)
            self.open_calls[key] = f.call
            self.waiting.pop(key, None)
            outbound = f.call.direction == "outbound"
            agent = f.attempt.agent if f.attempt and not outbound else f.call.agent
            if f.attempt:
                self._ring_stopped(f.attempt.agent, key)
            if agent:
                unseen = f.attempt is None and f.call.answered_at is None
                self.current_call[agent] = (key, None if unseen else f.at)
        elif isinstance(f, RingStarted):
            key = (f.server, f.linkedid)
            self.rings.setdefault(f.attempt.agent, {})[key] = f.attempt.started_at
        elif isinstance(f, RingEnded):
            self._ring_stopped(f.attempt.agent, (f.server, f.linkedid))
            self._ring_answered(f)
        elif isinstance(f, CallEnded):
            self._end_call(f.server, f.call)
        elif isinstance(f, CallWithdrawn):  # a supervisor's spy leg: no call
            self.open_calls.pop((f.server, f.linkedid), None)
        elif isinstance(f, AgentStateChanged):
            self._member(f)
        elif isinstance(f, SupervisorAlert):
            self.alerts.appendleft(f)
        elif isinstance(f, RecordingAlert):
            self.recording_alerts.appendleft(f)
        elif isinstance(f, ServiceAlert):
            if f.active:
                self.service_alerts[f.problem] = f
            else:
                self.service_alerts.pop(f.problem, None)
        else:
            return False
        return True

    def _ring_stopped(self, agent: str, key: CallKey) -> None:
        rings = self.rings.get(agent, {})
        rings.pop(key, None)
        if not rings:
            self.rings.pop(agent, None)

    def _ring_answered(self, f: RingEnded) -> None:
        """A later answer (e.g. the target of a transfer) gives that agent the call."""
        key = (f.server, f.linkedid)
        call = self.open_calls.get(key)
        if (f.attempt.outcome == "answered" and call is not None
                and call.direction != "outbound"):
            self.current_call[f.attempt.agent] = (key, f.at)

    def _end_call(self, server: str, call: CallRecord) -> None:
        key = (server, call.linkedid)
        self.open_calls.pop(key, None)
        self.waiting.pop(key, None)
        for agent, (k, _) in list(self.current_call.items()):
            if k == key:
                del self.current_call[agent]
        for agent in list(self.rings):
            self._ring_stopped(agent, key)
        self._count(call)

    def _count(self, call: CallRecord) -> None:
        key = (call.server, call.linkedid)
        if key in self.counted or self._local_day(call.started_at) != self.day:
            return
        self.counted.add(key)
        now = call.ended_at or self.now()
        self.ended[call.queue] = self.ended.get(call.queue, CallFigures()) + call_figures(
            [call], self.ms, now)
        for agent, fig in agent_call_figures([call]).items():
            self.agent_figures[agent] = self.agent_figures.get(agent, AgentFigures()) + fig
        if call.survey_offered:
            before = self.surveys.get(call.queue, SurveyFigures())
            self.surveys[call.queue] = before + call_survey(call)

    def _member(self, f: AgentStateChanged) -> None:
        self.members[(f.server, f.interface, f.queue or "")] = f
        was = self.agents.get(f.agent)
        now = AgentNow(f, f.at)
        if was is not None and was.display == now.display:
            now.since = was.since
        self.agents[f.agent] = now

    def seed(self, calls: Iterable[CallRecord]) -> None:
        """Count today's ended calls read from the database (those not counted yet)."""
        self._roll_day()
        for call in calls:
            if call.ended_at is not None:
                self._count(call)
        self.version += 1

    # ------------------------------------------------------------ output

    def queue_names(self) -> list[str]:
        """Every queue seen since start: members, callers, calls."""
        self.known_queues |= {q for (_, _, q) in self.members if q}
        self.known_queues |= {q for q, _ in self.waiting.values()}
        self.known_queues |= {q for q in self.ended if q}
        self.known_queues |= {c.queue for c in self.open_calls.values() if c.queue}
        return sorted(self.known_queues)

    def snapshot(self, mask: Callable[[str | None], str]) -> dict[str, Any]:
        """The board now: queues, direct calls (no queue), centre total (= the queues + the
        direct calls), agents, alerts (numbers through ``mask``).

        Times are ISO 8601 UTC strings, durations seconds, rates 0..1 or None.
        """
        self._roll_day()
        now = self.now()
        open_by_queue: dict[str | None, list[CallRecord]] = {}
        for c in self.open_calls.values():
            open_by_queue.setdefault(c.queue, []).append(c)
        figures = {q: self.ended.get(q, CallFigures()) + call_figures(calls, self.ms, now)
                   for q, calls in open_by_queue.items()}
        for q, fig in self.ended.items():
            figures.setdefault(q, fig)
        by_agent: dict[str, list[AgentStateChanged]] = {}
        for (_, _, q), f in self.members.items():
            if q:
                by_agent.setdefault(f.agent, []).append(f)
        alerts = Counter(a.agent for a in self.alerts)
        waits = [at for _, at in self.waiting.values()]
        return {
            "now": now.isoformat(), "day": self.day.isoformat(), "version": self.version,
            "settings": {"service_level_s": self.ms.service_level_s,
                         "denominator": self.ms.denominator,
                         "short_abandon_s": self.ms.short_abandon_s},
            "queues": [self._queue(q, figures.get(q, CallFigures()), now)
                       for q in self.queue_names()],
            "direct": {**self._figures(figures.get(None, CallFigures())), "waiting": 0,
                       "longest_wait_s": 0.0},
            "total": {**self._figures(sum(figures.values(), CallFigures())),
                      "waiting": len(waits), "longest_wait_s": _longest(waits, now)},
            "agents": [self._agent(a, by_agent.get(a, []), alerts[a], mask)
                       for a in sorted(self._agent_names())],
            "surveys": self._surveys(),
            "alerts": [_alert(a) for a in self.alerts],
            "service_alerts": [{"at": a.at.isoformat(), "problem": a.problem,
                                "detail": a.detail} for a in self.service_alerts.values()],
            "callbacks": [{"queue": q, "waiting": n, "oldest_since": at.isoformat(),
                           "oldest_s": max(0.0, (now - at).total_seconds())}
                          for q, n, at in (self.callbacks.waiting if self.callbacks else ())],
            "recording_alerts": [
                {"at": a.at.isoformat(), "server": a.server, "linkedid": a.linkedid,
                 "file": a.file_name, "status": a.status, "attempts": a.attempts,
                 "detail": a.detail} for a in self.recording_alerts],
        }

    def _surveys(self) -> dict[str, Any]:
        """Today's survey figures per queue (every queue of the board) and in total."""
        return {"queues": [{"name": q, **self.surveys.get(q, SurveyFigures()).as_dict()}
                           for q in self.queue_names()],
                "total": sum(self.surveys.values(), SurveyFigures()).as_dict()}

    def _figures(self, fig: CallFigures) -> dict[str, Any]:
        return {
            "offered": fig.offered, "answered": fig.answered, "abandoned": fig.abandoned,
            "short_abandoned": fig.short_abandoned, "timeouts": fig.timeouts,
            "service_level": fig.service_level(self.ms.denominator),
            "three_ring_rate": fig.three_ring_rate, "asa_s": fig.asa_s, "aht_s": fig.aht_s(),
            "ring_no_answer": fig.ring_no_answer, "violations": fig.violations,
            "wait_unknown": fig.wait_unknown, "talk_unknown": fig.talk_unknown,
            "hold_unknown": fig.hold_unknown,
        }

    def _queue(self, name: str, fig: CallFigures, now: datetime) -> dict[str, Any]:
        waits = [at for q, at in self.waiting.values() if q == name]
        states: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for (_, _, q), f in self.members.items():
            if q != name:
                continue
            state = self._shown(f.agent, _member_state(f))
            states[state] += 1
            if state == "paused":
                reasons[f.reason or ""] += 1
        logged_in = sum(n for s, n in states.items() if s != "logged_out")
        return {
            "name": name, **self._figures(fig), "waiting": len(waits),
            "longest_wait_s": _longest(waits, now),
            "oldest_waiting_since": min(waits).isoformat() if waits else None,
            "agents": {"logged_in": logged_in, **{s: states[s] for s in MEMBER_STATES}},
            "paused_reasons": dict(sorted(reasons.items())),
        }

    def _agent_names(self) -> set[str]:
        return (set(self.agents) | set(self.agent_figures) | set(self.current_call)
                | set(self.rings))

    def _agent(self, agent: str, memberships: list[AgentStateChanged], alerts: int,
               mask: Callable[[str | None], str]) -> dict[str, Any]:
        state = self.agents.get(agent)
        fig = self.agent_figures.get(agent, AgentFigures())
        logged = [f for f in memberships if _member_state(f) != "logged_out"]
        shown = _member_state(state.fact) if state else "logged_out"
        if state is not None and shown == "logged_out" and logged:
            shown = _member_state(logged[-1])
        shown = self._shown(agent, shown, (*_RUNG, "logged_out"))  # a direct call rings too
        call = self._call_of(agent, mask)
        # on a call answered at a time not observed: how long is not known either
        unseen = shown == "on_call" and call is not None and call["since"] is None
        since = self._since(agent, shown, state.since) if state and not unseen else None
        return {
            "agent": agent, "name": state.fact.name if state else None, "state": shown,
            "paused": bool(state and state.fact.paused),
            "reason": state.fact.reason if state and state.fact.paused else None,
            "since": since.isoformat() if since else None,
            "since_unknown": unseen,
            "queues": sorted(f.queue for f in logged if f.queue),
            "unreachable": bool(logged) and all(f.state == "unavailable" for f in logged),
            "call": call,
            "calls": fig.answered + fig.outbound, "talk_s": fig.talk_s + fig.outbound_talk_s,
            "talk_unknown": fig.talk_unknown + fig.outbound_talk_unknown,
            "missed_rings": fig.ring_no_answer, "violations": fig.violations,
            "three_ring_rate": fig.three_ring_rate,
            "alerts": alerts,
        }

    def _talking(self, agent: str) -> bool:
        current = self.current_call.get(agent)
        return current is not None and current[0] in self.open_calls

    def _shown(self, agent: str, state: str, over: tuple[str, ...] = _RUNG) -> str:
        """``state`` corrected by the call facts: a phone rung and not answered is
        ringing (even when its device state says busy), unless the agent is on a call."""
        if state in over and agent in self.rings and not self._talking(agent):
            return "ringing"
        return state

    def _since(self, agent: str, shown: str, state_since: datetime) -> datetime:
        """Since when ``agent`` is ``shown``: from the first ring while ringing, from the
        answer while on a call (a busy device state may date from the ring)."""
        if shown == "ringing" and agent in self.rings:
            return min(self.rings[agent].values())
        answered = self.current_call.get(agent, (None, None))[1]
        if shown == "on_call" and self._talking(agent) and answered is not None:
            return max(state_since, answered)
        return state_since

    def _call_of(self, agent: str, mask: Callable[[str | None], str]) -> dict[str, Any] | None:
        current = self.current_call.get(agent)
        if current is None or current[0] not in self.open_calls:
            return None
        key, since = current
        c = self.open_calls[key]
        if any(t.from_agent == agent and (since is None or t.at >= since)
               for t in c.transfers):
            return None  # transferred away: no longer this agent's call
        number = c.callee if c.direction == "outbound" else c.caller
        return {"linkedid": c.linkedid, "server": c.server, "number": mask(number),
                "direction": c.direction, "queue": c.queue,
                "since": since.isoformat() if since else None}


def _longest(waits: list[datetime], now: datetime) -> float:
    return max(0.0, max(((now - at).total_seconds() for at in waits), default=0.0))


def _alert(a: SupervisorAlert) -> dict[str, Any]:
    return {"at": a.at.isoformat(), "kind": a.kind, "agent": a.agent, "queue": a.queue,
            "misses": a.misses, "result": a.result, "detail": a.detail,
            "linkedid": a.linkedid}
