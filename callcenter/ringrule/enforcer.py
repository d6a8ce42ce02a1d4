"""Live enforcement of the three-ring rule: a daemon consumer.

Deadlines live in a pure :class:`DeadlineBook`; this module adds the clock,
one loop timer (``loop.call_at``) for the earliest deadline, and the AMI
actions. Times: the enforcer's clock gives seconds on the PBX's event time
scale (``WallClock``: epoch seconds; the simulator's clock runs ``speed``
times faster); an event's time is mapped onto it with a per-server offset
learnt from receive times, so skewed PBX clocks and replays still give
15.0 s of ringing.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import structlog

from callcenter.calls.alerts import AlertKind, SupervisorAlert
from callcenter.calls.channels import read_timestamp
from callcenter.calls.model import (
    AgentStateChanged,
    CallEnded,
    CallStarted,
    CallWithdrawn,
    Fact,
    RingEnded,
    RingStarted,
    Violation,
)
from callcenter.commands import CommandPort, CommandResult
from callcenter.health import Instruments
from callcenter.ringrule import actions as act
from callcenter.ringrule.book import ClockOffset, DeadlineBook, MissBook, Ring, ring_key
from callcenter.ringrule.confcheck import ActionClient, Mismatch, QueueConf, check_server
from callcenter.ringrule.rules import RingSettingsFor, rule_from_settings
from callcenter.ringrule.violations import EnforcedViolation
from callcenter.settings import Settings

log = structlog.get_logger(__name__)

ASTERISK_GRACE_S = 1.0
"""When the queue's own timeout ends rings at the deadline, act only this much later."""
CLOCK_STEP_S = 1.0
"""A frame stamped this much before the newest one means the PBX clock was set back."""
OFFSET_WINDOW_S = 600.0
"""The PBX clock offset is the smallest receive delay seen over this window (drift)."""


class Clock(Protocol):
    """Seconds on the event time scale, running ``speed`` times the loop clock."""

    speed: float

    def now(self) -> float: ...


class WallClock:
    """Epoch seconds (UTC) at real speed."""

    speed = 1.0

    def now(self) -> float:
        return time.time()


class RingEnforcer:
    """Consumer: arms a deadline per ringing agent and acts when it passes.

    ``settings_for(queue)`` gives the ring rule's settings (``Settings.ring_settings_for``).
    Alerts go to ``alerts`` and ``on_alert``; per-violation outcomes to
    ``outcomes`` (by server and linkedid) and ``on_outcome``. Actions leave
    through the daemon's :class:`~callcenter.commands.CommandPort`
    (:meth:`use_commands`).
    """

    def __init__(
        self,
        settings_for: RingSettingsFor,
        *,
        clock: Clock | None = None,
        pause_settle_s: float = 0.5,
        action_timeout_s: float | None = None,
        queues_conf: str | Path | None = None,
        on_alert: Callable[[SupervisorAlert], None] | None = None,
        on_outcome: Callable[[EnforcedViolation], None] | None = None,
        keep_calls: int = 10_000,
    ) -> None:
        self.settings_for = settings_for
        self.clock: Clock = clock or WallClock()
        self.pause_settle_s = pause_settle_s
        self.action_timeout_s = action_timeout_s
        self.queues_conf = Path(queues_conf) if queues_conf else None
        self.on_alert = on_alert
        self.on_outcome = on_outcome
        self.book = DeadlineBook()
        self.misses = MissBook(settings_for(None).misses_before_pause)
        self.alerts: deque[SupervisorAlert] = deque(maxlen=1000)
        self.outcomes: OrderedDict[tuple[str, str], list[EnforcedViolation]] = OrderedDict()
        self.mismatches: dict[str, list[Mismatch]] = {}
        self.queues: dict[tuple[str, str], QueueConf] = {}
        """What the PBX's configuration says of each (server, queue)."""
        self.fired = 0
        self.lateness_s: deque[float] = deque(maxlen=100_000)
        """Loop seconds between each deadline and its firing (for benches)."""
        self.instruments: Instruments | None = None
        """The daemon's figures (``/metrics``): lateness is observed there too."""
        self._keep_calls = keep_calls
        self.commands: CommandPort = CommandPort({})
        self._offsets: dict[str, ClockOffset] = {}
        self._calls: dict[tuple[str, str], CallStarted] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: set[asyncio.Future[Any]] = set()

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> RingEnforcer:
        """An enforcer for ``settings`` (the ring rule per queue, optional queues.conf path)."""
        kwargs.setdefault("queues_conf", settings.ring.queues_conf or None)
        return cls(settings.ring_settings_for, **kwargs)

    # -- consumer interface --------------------------------------------------------
    realtime = True
    """On the daemon's real-time path: fed as facts arrive, never waiting for storage."""

    def use_commands(self, commands: CommandPort) -> None:
        """Send every action through ``commands`` (the daemon's one command port)."""
        self.commands = commands

    async def on_connect(self, server: str, client: ActionClient) -> None:
        """Check ``server``'s queues against the ring rule once connected."""
        self._spawn(self.check_queues(server, client))

    async def on_facts(self, facts: Sequence[Fact]) -> None:
        """Arm, clear and count from the tracker's facts."""
        self.feed(facts)

    def feed(self, facts: Sequence[Fact]) -> None:
        """:meth:`on_facts` for synchronous callers (needs a running loop)."""
        for fact in facts:
            if isinstance(fact, RingStarted):
                self._ring_started(fact)
            elif isinstance(fact, RingEnded):
                self._ring_ended(fact)
            elif isinstance(fact, CallStarted):
                self._calls[(fact.server, fact.call.linkedid)] = fact
            elif isinstance(fact, CallWithdrawn):
                self._calls.pop((fact.server, fact.linkedid), None)
            elif isinstance(fact, CallEnded):
                self._calls.pop((fact.server, fact.call.linkedid), None)
                self.book.end_call(fact.server, fact.call.linkedid)
            elif isinstance(fact, AgentStateChanged):
                self.misses.set_paused(fact.server, fact.interface, fact.queue, fact.paused,
                                       fact.reason)
        self._arm()

    async def drain(self) -> None:
        """Wait for the actions, pauses and checks under way."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop the timer and cancel work under way."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def observe(self, server: str, frame: Mapping[str, Any]) -> None:
        """Learn ``server``'s event-clock offset from a frame *as it is received*.

        Facts reach consumers after the ingest queue and the tracker (up to tens
        of ms in a burst); frames seen here, as the daemon receives them, give
        the offset to within the network delay. A Timestamp the tracker would not
        believe (:func:`~callcenter.calls.channels.read_timestamp`: ``0``, digits of
        another script, far ahead) teaches nothing.
        """
        if "Timestamp" in frame:
            stamp, refused = read_timestamp(frame, self.clock.now())
            if not refused:
                self._learn_offset(server, stamp)

    def quiet_for(self) -> float | None:
        """Loop seconds until the next ring deadline (None: no ring is watched); for
        :class:`~callcenter.ingest.quietgc.QuietGC`."""
        nxt = self.book.next_deadline()
        return None if nxt is None else (nxt - self.clock.now()) / self.clock.speed

    # -- deadlines -----------------------------------------------------------------
    def _learn_offset(self, server: str, event_ts: float) -> float:
        """The server's clock offset after a frame stamped ``event_ts`` (see ClockOffset)."""
        offset = self._offsets.get(server)
        if offset is None:
            speed = self.clock.speed
            offset = self._offsets[server] = ClockOffset(OFFSET_WINDOW_S * speed,
                                                         CLOCK_STEP_S * speed)
        now = self.clock.now()
        return offset.observe(now - event_ts, event_ts, now)

    def _offset(self, server: str, event_at: datetime) -> float:
        return self._learn_offset(server, event_at.timestamp())

    def _replayed_offset(self, server: str) -> float:
        """The offset for a ring told after a replay: the one learnt from frames, else 0
        (its time is the ring's start, not an arrival: it teaches nothing of the clocks)."""
        known = self._offsets.get(server)
        value = known.current() if known is not None else None
        return 0.0 if value is None else value

    def _ring_started(self, fact: RingStarted) -> None:
        call = self._calls.get((fact.server, fact.linkedid))
        if call is not None and call.call.direction == "outbound":
            return
        conf = self.settings_for(None if fact.direct else fact.attempt.queue)
        offset = self._replayed_offset(fact.server) if fact.replayed else self._offset(
            fact.server, fact.at)
        ring = self.book.start(fact, rule_from_settings(conf), offset)
        log.debug("ring_deadline_armed", linkedid=fact.linkedid, channel=ring.key[1],
                  deadline_s=ring.rule.deadline_s)

    def _ring_ended(self, fact: RingEnded) -> None:
        self.book.end(fact.server, fact.linkedid, fact.attempt)
        a = fact.attempt
        if a.outcome == "answered":
            self.misses.answered(fact.server, a.interface)
        elif a.outcome == "no_answer":
            key = ring_key(fact.server, fact.linkedid, a)
            self._count_miss(fact.server, fact.linkedid, a.interface, a.agent, a.queue, key)

    def _arm(self) -> None:
        nxt = self.book.next_deadline()
        if nxt is None or (self._timer_at is not None and self._timer_at <= nxt):
            return
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        when = loop.time() + (nxt - self.clock.now()) / self.clock.speed
        self._timer_at = nxt
        self._timer = loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer = self._timer_at = None
        now = self.clock.now()
        for ring in self.book.due(now):
            if ring.act_at is None and self._pbx_ends_ring(ring):
                self.book.defer(ring, ring.deadline + ASTERISK_GRACE_S)
                continue
            self.fired += 1
            late = max(0.0, now - ring.due_at) / self.clock.speed
            self.lateness_s.append(late)
            if self.instruments is not None:
                self.instruments.enforcement_late_s.observe(late)
            name, action, why = self._plan(ring)
            if action is None:
                self._enforced(ring, now, name, None,
                               ("not_taken" if name == "none" else "failed", why, {}))
            else:  # written now, the rest when answered: a thousand deadlines leave together
                sending = self.commands.submit(ring.server, action, self.action_timeout_s)
                self._tasks.add(sending)
                sending.add_done_callback(self._tasks.discard)
                sending.add_done_callback(partial(self._answered, ring, now, name, action))
        self._arm()

    def _pbx_ends_ring(self, ring: Ring) -> bool:
        """True when app_queue's own member timeout ends this ring by the deadline."""
        conf = self.queues.get((ring.server, ring.attempt.queue or ""))
        return (not ring.direct and conf is not None
                and conf.effective_timeout_s <= ring.rule.deadline_s + 1e-6)

    # -- actions -------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _plan(self, ring: Ring) -> tuple[str, dict[str, str] | None, str]:
        """(action name, AMI action or None, why none)."""
        a = ring.attempt
        kind = ring.rule.direct_action if ring.direct else ring.rule.queue_action
        if kind == "record":
            return "none", None, "policy records only"
        if kind == "hangup":
            if not a.channel:
                return "hangup", None, "agent channel unknown"
            return "hangup", act.hangup_action(a.channel), ""
        conf = self.settings_for(None)
        call = self._calls.get((ring.server, ring.linkedid))
        exten = act.direct_exten(call.call.callee if call else None, a.agent)
        if not ring.caller_channel or not exten:
            return "redirect", None, "caller channel or extension unknown"
        return "redirect", act.redirect_action(
            ring.caller_channel, conf.fallback_context, exten, conf.fallback_priority
        ), ""

    def _answered(self, ring: Ring, now: float, name: str, action: dict[str, str],
                  done: asyncio.Future[CommandResult]) -> None:
        if not done.cancelled():  # cancelled by close(): nothing to record
                self._enforced(ring, now, name, action, _parts(done.result()))

    def _enforced(self, ring: Ring, now: float, name: str, action: dict[str, str] | None,
                  outcome: tuple[str, str, dict[str, Any]]) -> None:
        """Record the violation of ``ring`` with what was done about it:
        ``outcome`` is (result, detail, response)."""
        a = ring.attempt
        result, detail, response = outcome
        ring_s = round(now - ring.started, 3)
        violation = Violation(
            agent=a.agent, interface=a.interface, queue=a.queue, ring_s=ring_s,
            rings=ring.rule.rings(ring_s), deadline_s=ring.rule.deadline_s,
            at=a.started_at + timedelta(seconds=ring.rule.deadline_s), action=name, result=result,
            detail=detail,
        )
        log_fn = log.warning if result == "failed" else log.info
        log_fn("ring_rule_enforced", linkedid=ring.linkedid, server=ring.server, agent=a.agent,
               queue=a.queue, action=name, result=result, detail=detail, ring_s=ring_s)
        self._record(EnforcedViolation(ring.server, ring.linkedid, violation, action, response))
        if action is not None and result == "ok":
            self._count_miss(ring.server, ring.linkedid, a.interface, a.agent, a.queue, ring.key)

    def _record(self, outcome: EnforcedViolation) -> None:
        key = (outcome.server, outcome.linkedid)
        self.outcomes.setdefault(key, []).append(outcome)
        self.outcomes.move_to_end(key)
        while len(self.outcomes) > self._keep_calls:
            self.outcomes.popitem(last=False)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    # -- misses and pauses -----------------------------------------------------------
    def _count_miss(self, server: str, linkedid: str, interface: str, agent: str,
                    queue: str | None, key: tuple[str, str]) -> None:
        threshold = self.misses.threshold
        if self.misses.miss(server, interface, key):
            log.info("ring_misses_threshold", linkedid=linkedid, interface=interface,
                     misses=threshold)
            self._spawn(self._pause_later(server, linkedid, interface, agent, queue, threshold))

    async def _pause_later(self, server: str, linkedid: str, interface: str, agent: str,
                           queue: str | None, misses: int) -> None:
        # app_queue's own autopause event follows the ring-no-answer: let it arrive first.
        await asyncio.sleep(self.pause_settle_s / self.clock.speed)
        needed, why = self.misses.pause_needed(server, interface, queue)
        if needed:
            conf = self.settings_for(queue)
            result, detail, _ = _parts(await self.commands.send(
                server, act.pause_action(interface, conf.pause_reason), self.action_timeout_s))
            kind: AlertKind = "agent_paused" if result == "ok" else "pause_failed"
            action = "pause"
        else:
            result, detail, kind, action = "not_taken", why, "already_paused", "none"
        alert = SupervisorAlert(
            server=server, at=datetime.fromtimestamp(self.clock.now(), UTC), kind=kind,
            interface=interface, agent=agent, misses=misses, linkedid=linkedid, queue=queue,
            action=action, result=result, detail=detail,
        )
        (log.warning if result == "failed" else log.info)(
            "ring_supervisor_alert", linkedid=linkedid, interface=interface, kind=kind,
            result=result, detail=detail,
        )
        self.alerts.append(alert)
        if self.on_alert is not None:
            self.on_alert(alert)

    # -- startup check ---------------------------------------------------------------
    async def check_queues(self, server: str, client: ActionClient) -> list[Mismatch]:
        """Compare ``server``'s queue timeouts with the ring rule (see :func:`check_server`)."""
        found, known = await check_server(server, client, self.settings_for, self.queues_conf,
                                          self.action_timeout_s)
        for name, conf in known.items():
            self.queues[(server, name)] = conf
            if conf.autopause:
                self.misses.autopause_queues.add((server, name))
        self.mismatches[server] = found
        return found


def _parts(outcome: CommandResult) -> tuple[str, str, dict[str, Any]]:
    """(result, detail, response) of an action's typed result."""
    return outcome.status, outcome.message, dict(outcome.response)
