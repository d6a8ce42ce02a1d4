"""The call tracker: a pure state machine from AMI events to call records and facts.

No I/O and no clock of its own: every event carries its time (the AMI
``Timestamp`` field, else the receive time given by the caller), so the same
code gives the same records live, on a replayed capture and on ``callcenter
rebuild``. One handler per event name (:attr:`CallTracker.handlers`); events
nobody handles are ignored. Every fact names its server; a call is a linkedid.

What real Asterisk 22 does, and the tracker relies on, is listed in
``tests/traces/README.md``; the rules that judge a finished call are in
:mod:`callcenter.calls.callstate`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from callcenter.calls.agents import MEMBER_EVENTS, AgentBook
from callcenter.calls.callstate import (
    DIAL_OUTCOMES,
    END_UNSEEN,
    JOINED_UNSEEN,
    PBX_RESTARTED,
    PBX_RESTARTED_UNSEEN,
    PBX_SHUTDOWN,
    PBX_STOPPED,
    QUEUE_EXITS,
    SOFTHANGUP_SHUTDOWN,
    CallState,
    disposition,
    hangup_by,
    judge_attempt,
    latest_time,
    pbx_ended_ring,
    transfer_target,
)
from callcenter.calls.channels import (
    TimestampCheck,
    base_name,
    chan_variable_paths,
    dialled_number,
    endpoint_of,
    interface_of,
    is_local,
    is_trunk,
    known,
    local_inbound,
    recording_paths,
    text,
)
from callcenter.calls.evidence import RINGING, UP, bridged_party, created_at, settle
from callcenter.calls.model import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallRecord,
    CallStarted,
    CallWithdrawn,
    Fact,
    HangupBy,
    QueueCallerJoined,
    QueueCallerLeft,
    RecordingAnnounced,
    RingAttempt,
    RingEnded,
    RingOutcome,
    RingRule,
    RingStarted,
    Transfer,
)
from callcenter.calls.sent import SentActions
from callcenter.calls.spying import SPY_EVENTS, SpyLegs
from callcenter.calls.survey import SurveyCounts, is_survey, is_survey_prompt, read_score

Frame = Mapping[str, Any]
Handler = Callable[[Frame, datetime, CallState], None]
RuleFor = Callable[[str | None], RingRule]
LeaveReason = Literal["answered", "abandoned", "timeout", "left"]
ENDED_MEMORY = 10_000
"""Linkedids of ended calls remembered, so that late events do not reopen them."""


def _default_rule(queue: str | None) -> RingRule:
    return RingRule()


class CallTracker:
    """Tracks the calls and queue members of one Asterisk server.

    ``feed(frame, received_at)`` / ``feed_sent(action, sent_at)`` /
    ``resync(active_linkedids, at)`` return the facts each entry taught.
    ``rule_for(queue)`` gives the three-ring rule of a queue (None: direct calls).
    """

    def __init__(self, server: str, *, rule_for: RuleFor = _default_rule) -> None:
        self.server = server
        self.rule_for = rule_for
        self.calls: dict[str, CallState] = {}
        self.members = AgentBook(server)
        self._by_channel: dict[str, str] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()
        self.sent = SentActions()
        self.spies = SpyLegs(server)
        self.pbx_started_at: datetime | None = None
        """When the PBX process started, from the ``Uptime`` of the latest ``FullyBooted``."""
        self._login_at: datetime | None = None
        self._open_at_login: set[str] | None = None
        """The calls open when the latest login's ``FullyBooted`` came: those a resync finds
        still there spanned the outage (calls begun since then were seen whole)."""
        self.timestamps = TimestampCheck(server)  # .refused: Timestamps not believed
        self._out: list[Fact] = []
        self.handlers: dict[str, Handler] = {
            "Newchannel": self._on_channel, "Newstate": self._on_channel,
            "Newexten": self._on_newexten, "VarSet": self._on_varset,
            "Rename": self._on_rename, "HangupRequest": self._on_hangup_request,
            "SoftHangupRequest": self._on_soft_hangup_request,
            "Hangup": self._on_hangup, "QueueCallerJoin": self._on_queue_join,
            "QueueCallerAbandon": self._on_queue_abandon,
            "QueueCallerLeave": self._on_queue_leave, "AgentCalled": self._on_agent_called,
            "DialBegin": self._on_dial_begin, "DialEnd": self._on_dial_end,
            "AgentRingNoAnswer": self._on_ring_no_answer, "AgentConnect": self._on_agent_connect,
            "AgentComplete": self._on_agent_complete,
            "BridgeEnter": self._on_bridge, "BridgeLeave": self._on_bridge, "Hold": self._on_hold, "Unhold": self._on_unhold,
            "BlindTransfer": self._on_blind_transfer,
            "AttendedTransfer": self._on_attended_transfer,
            "UserEvent": self._on_user_event,
        }
        self.surveys = SurveyCounts()

    # -- public surface ----------------------------------------------------------
    @property
    def open_calls(self) -> dict[str, CallRecord]:
        """The calls in progress, by linkedid."""
        return {lid: cs.record for lid, cs in self.calls.items()}

    def ringing(self) -> list[Fact]:
        """The rings in progress as the facts that began them: what a consumer starting
        after a replay (the ring rule after a restart or a takeover) must be told."""
        return [RingStarted(self.server, attempt.started_at, cs.linkedid, attempt,
                            cs.customer, channel in cs.direct, replayed=True)
                for cs in self.calls.values() for channel, attempt in cs.open_attempts()]

    @property
    def agents(self) -> dict[tuple[str, str], AgentStateChanged]:
        """The latest state of every queue member, by (interface, queue)."""
        return self.members.members

    def feed(self, frame: Frame, received_at: float) -> list[Fact]:
        """Apply one AMI frame (event or response); the facts it taught."""
        self._out = []
        name = frame.get("Event")
        if not isinstance(name, str):
            self._on_response(frame)
            return self._take()
        at = self.timestamps.event_time(frame, received_at)
        if name in MEMBER_EVENTS:
            self._out += self.members.on_event(frame, at)
            return self._take()
        if name == "QueueEntry":
            self._on_queue_entry(frame, at)
            return self._take()
        if name == "Shutdown":
            self._on_shutdown(frame, at)
            return self._take()
        if name in SPY_EVENTS:
            spy, facts = self.spies.on_event(frame, at)
            if spy is not None:
                self._withdraw(spy, at)
            self._out += facts
            return self._take()
        if name == "FullyBooted":
            uptime = text(frame, "Uptime")
            if uptime.isdigit():
                self.pbx_started_at = at - timedelta(seconds=int(uptime))
            self._open_at_login, self._login_at = set(self.calls), at
            return self._take()
        handler = self.handlers.get(name)
        if handler is not None:
            cs = self._call_for(frame, at)
            if cs is not None:
                self._learn_recordings(frame, at, cs)
                handler(frame, at, cs)
        return self._take()

    def feed_sent(self, action: Frame, sent_at: float) -> list[Fact]:
        """Note an action we sent (enforcement, MixMonitor) until its response arrives."""
        self.sent.note(action, sent_at,
                       self.calls.get(self._by_channel.get(text(action, "Channel"), "")))
        return []

    def resync(self, active: Iterable[str | Mapping[str, Any]], at: datetime) -> list[Fact]:
        """After a (re)connect: ``active`` is what Asterisk has now, as linkedids or as
        ``CoreShowChannel`` frames (one per channel, taken at ``at``), and possibly the
        ``Pong`` of a Ping sent just before (its ``Timestamp``: the PBX's clock then).

        Every open call Asterisk no longer has is closed as incomplete, its end not seen:
        it ends at the latest moment its record knows of. When the PBX started after that
        moment (``FullyBooted`` at login tells its ``Uptime``), a restart ended it:
        ``failed`` with that reason, its rings ``cancelled``. A call still there spans the
        outage when it was open at the login's ``FullyBooted`` (class system): what it may
        have missed is flagged unknown. From the channel frames a call
        we did not know is joined mid-way and the state of each call is learnt (its start
        from ``Duration``, its answer from a bridge, its ringing agents): see
        :mod:`callcenter.calls.evidence`.
        """
        self._out = []
        linkedids: set[str] = set()
        snapshots: dict[str, list[Mapping[str, Any]]] = {}
        for item in active:
            if not isinstance(item, str) and "Timestamp" in item:
                self.timestamps.event_time(item, at.timestamp())  # a Pong: the PBX's clock
            lid = item if isinstance(item, str) else text(item, "Linkedid")
            if lid:
                linkedids.add(lid)
                if not isinstance(item, str):
                    snapshots.setdefault(lid, []).append(item)
        for lid in [lid for lid in self.calls if lid not in linkedids]:
            cs = self.calls[lid]
            end = latest_time(cs.record)
            if self.pbx_started_at is not None and end < self.pbx_started_at:
                # the PBX restarted under the call while we were away: as if we had seen it
                cs.pbx_ended = PBX_RESTARTED_UNSEEN
                self._finish(cs, end, judge=True, end_seen=False)
                continue
            cs.record.disposition, cs.record.incomplete_reason = "incomplete", END_UNSEEN
            self._finish(cs, end, judge=False, end_seen=False)
        spanned, self._open_at_login = self._open_at_login or set(), None
        for lid in sorted(linkedids - self._ended.keys()):
            if self.spies.owns(lid):
                continue
            known_call = self.calls.get(lid)
            if known_call is not None:
                if lid not in spanned:
                    continue  # begun after the login, or no login seen: followed whole
                self._across_gap(known_call, snapshots.get(lid))
            if lid in snapshots:
                cs = known_call or self._start_call(lid, at, joined=True)
                # Durations count on the PBX's clock; ``at`` is ours
                self._apply_snapshot(cs, snapshots[lid], self.timestamps.pbx_time(at))
        return self._take()

    def _across_gap(self, cs: CallState, snaps: list[Mapping[str, Any]] | None) -> None:
        """A call we tracked is still there after an outage: what happened meanwhile is
        unknown (hold while answered, rings while not); channels gone hung up unseen."""
        cs.joined = True
        r = cs.record
        r.mark_unknown("hold" if r.answered else "ring_attempts")
        if snaps is None:
            return
        alive = {text(s, "Channel") for s in snaps}
        for channel, attempt in cs.open_attempts():
            if channel not in alive and (self._login_at is None
                                         or attempt.started_at <= self._login_at):
                del cs.attempts[channel]  # its ring ended unseen: outcome and length unknown
                r.mark_unknown("ring_attempts")

    def _apply_snapshot(self, cs: CallState, snaps: list[Mapping[str, Any]],
                        at: datetime) -> None:
        """Learn a call's channels, start, queue, answer and rings from ``CoreShowChannel``."""
        r = cs.record
        for s in snaps:
            channel = text(s, "Channel")
            if channel and channel not in cs.gone:  # a snapshot older than its Hangup
                self._add_channel(cs, channel, s)
                self._learn_recordings(s, at, cs)
                if text(s, "BridgeId") and text(s, "ChannelState") == UP:
                    cs.bridges.setdefault(text(s, "BridgeId"), set()).add(channel)
        by_channel = {text(s, "Channel"): s for s in snaps}
        if "start" in r.unknown:
            origin = next((s for s in snaps if text(s, "Uniqueid") == cs.linkedid), None)
            born = created_at(origin, at) if origin is not None else None
            if born is not None:
                r.started_at = born
                r.mark_known("start")
            else:
                r.started_at = min([r.started_at, *filter(None, (created_at(s, at)
                                                                 for s in snaps))])
        if r.direction == "internal" and cs.originator is not None:
            self._outbound_from(cs, by_channel)
        customer = by_channel.get(cs.customer or "", {})
        if text(customer, "Application") == "Queue" and r.queue is None:
            r.queue = text(customer, "ApplicationData").split(",", 1)[0] or None
            r.queues += [r.queue] if r.queue and r.queue not in r.queues else []
        self._answer_from_bridges(cs, at, alone=text(customer, "BridgeId") != "")
        # rung by the customer's Dial or Queue, or (answered already) a transfer's target
        direct = text(customer, "Application") == "Dial" and not r.answered
        queue = None if direct or r.answered else r.queue
        for channel, s in by_channel.items():
            if (text(s, "ChannelState") == RINGING and channel != cs.customer
                    and not is_local(channel) and channel not in cs.attempts):
                attempt = RingAttempt(
                    agent=endpoint_of(channel), interface=interface_of(channel),
                    started_at=created_at(s, at) or at, queue=queue,
                    channel=channel, uniqueid=text(s, "Uniqueid") or None)
                # a RingStarted as if seen: the ring rule enforces its deadline too
                self._ring(cs, channel, {"Channel": cs.customer or ""}, attempt.started_at,
                           attempt, direct=direct)

    def _outbound_from(self, cs: CallState, by_channel: Mapping[str, Mapping[str, Any]]
                       ) -> None:
        """An agent's call out to a trunk, seen mid-way: the dialled trunk leg is the customer."""
        origin = cs.originator or ""
        trunk = next((ch for ch, s in by_channel.items()
                      if ch != origin and is_trunk(ch, text(s, "Context"))), None)
        if trunk is not None and not is_trunk(origin, text(by_channel.get(origin, {}),
                                                           "Context")):
            r = cs.record
            r.direction, cs.customer, r.agent = "outbound", trunk, endpoint_of(origin)
            cs.talking.add(origin)

    def _answer_from_bridges(self, cs: CallState, at: datetime, *, alone: bool = False) -> None:
        """A call joined mid-way whose customer shares a bridge with an agent was answered,
        at a time not seen (by whom not known when Local channels stand between them, or
        when the customer is ``alone`` in a bridge: the agent stepped out to consult)."""
        if cs.answer_channel is not None or cs.customer is None:
            return
        found = bridged_party(cs.bridges, cs.customer) or (
            (cs.customer, True) if alone else None)
        if found is None:
            return
        channel, transferred = found
        r = cs.record
        outbound = r.direction == "outbound"
        cs.answer_channel = cs.customer if outbound else channel
        cs.talking.add(channel)
        if channel in cs.hung_up and cs.hangup_by is None:
            cs.hangup_by = "agent"  # its HangupRequest came before the bridge told of it
        r.mark_unknown("answer", "hold", "ring_attempts")
        if not outbound:
            r.agent = None if transferred else endpoint_of(channel)
            if transferred:
                r.mark_unknown("agent")
        attempt = cs.attempts.get(channel)
        if attempt is not None and attempt.outcome is None:
            attempt.outcome = "answered"  # when is not known: no ring length, no judgement
        self._out.append(CallAnswered(self.server, at, r, None))

    def adopt(self, records: list[CallRecord]) -> None:
        """Take over calls a previous run left open (from the store), before any event.

        The first :meth:`resync` then closes those Asterisk no longer has; the
        journal replayed by ``rebuild`` reaches the same records.
        """
        for record in records:
            if record.ended_at is None and record.linkedid not in self.calls:
                self.calls[record.linkedid] = CallState(record)

    # -- plumbing --------------------------------------------------------------------
    def _take(self) -> list[Fact]:
        out, self._out = self._out, []
        return out

    def _call_for(self, frame: Frame, at: datetime) -> CallState | None:
        channel = text(frame, "Channel") or text(frame, "TransfererChannel") or text(
            frame, "OrigTransfererChannel")
        lid = text(frame, "Linkedid") or self._by_channel.get(channel, "")
        if self.spies.owns(lid):
            self._out += self.spies.on_channel_event(frame, at)
            return None
        if not lid or lid in self._ended:
            return None
        cs = self.calls.get(lid)
        if cs is None:
            cs = self._start_call(lid, at, joined=not (
                frame.get("Event") == "Newchannel" and text(frame, "Uniqueid") == lid))
        cs.last_at = at
        if channel and text(frame, "Linkedid") == lid and frame.get("Event") != "Hangup":
            self._add_channel(cs, channel, frame)
        return cs

    def _withdraw(self, lid: str, at: datetime) -> None:
        """``lid`` is a spy leg: forget it as a call (:class:`CallWithdrawn` if it was one)."""
        cs = self.calls.pop(lid, None)
        if cs is not None:
            for channel in cs.channels:
                self._by_channel.pop(channel, None)
        if cs is not None or lid in self._ended:
            self._out.append(CallWithdrawn(self.server, at, lid))

    def _start_call(self, lid: str, at: datetime, *, joined: bool) -> CallState:
        cs = CallState(CallRecord(server=self.server, linkedid=lid, started_at=at,
                                  direction="internal"), joined=joined)
        if joined:  # first seen mid-way: it began earlier, and may have rung unseen
            cs.record.mark_unknown("start", "ring_attempts")
        self.calls[lid] = cs
        self._out.append(CallStarted(self.server, at, cs.record))
        return cs

    def _add_channel(self, cs: CallState, channel: str, frame: Frame) -> None:
        if channel not in cs.channels:
            cs.channels.add(channel)
            self._by_channel[channel] = cs.linkedid
        if cs.originator is None and text(frame, "Uniqueid") == cs.linkedid:
            cs.originator = channel
            r = cs.record
            r.caller = known(text(frame, "CallerIDNum"))
            r.caller_name = known(text(frame, "CallerIDName"))
            r.callee = known(text(frame, "Exten"))
            if is_trunk(channel, text(frame, "Context")):
                r.direction, cs.customer = "inbound", channel
            elif (local := local_inbound(channel)) is not None:
                r.direction, r.callee, cs.customer = "inbound", local[0], local[1]
        elif channel == cs.customer and cs.record.caller is None:
            cs.record.caller = known(text(frame, "CallerIDNum"))  # a Local call's ;2 half

    # -- channels ----------------------------------------------------------------------
    def _on_channel(self, frame: Frame, at: datetime, cs: CallState) -> None:
        """Newchannel / Newstate: membership is all they teach."""

    def _on_bridge(self, frame: Frame, at: datetime, cs: CallState) -> None:
        """BridgeEnter / BridgeLeave: who shares a bridge; in a call joined mid-way, the
        customer and an agent in one bridge tell of an answer not seen."""
        bridge = text(frame, "BridgeUniqueid")
        if bridge and text(frame, "Linkedid") == cs.linkedid:
            cs.bridges.setdefault(bridge, set()).add(text(frame, "Channel"))
            if cs.joined:
                self._answer_from_bridges(cs, at)

    def _on_rename(self, frame: Frame, at: datetime, cs: CallState) -> None:
        old, new = text(frame, "Channel"), text(frame, "Newname")
        if new and old in cs.channels:
            cs.channels.discard(old)
            cs.channels.add(new)
            self._by_channel[new] = self._by_channel.pop(old, cs.linkedid)

    def _on_hangup_request(self, frame: Frame, at: datetime, cs: CallState) -> None:
        channel = text(frame, "Channel")
        cs.hung_up.add(channel)
        if channel == cs.customer and (cs.record.direction == "inbound"
                                       or channel == cs.answer_channel):
            cs.hangup_by = "caller"  # a dialled customer who never answered hung up nothing
        elif channel in cs.talking or (channel == cs.originator
                                       and cs.record.direction != "inbound"):
            cs.hangup_by = "agent"

    def _on_soft_hangup_request(self, frame: Frame, at: datetime, cs: CallState) -> None:
        """The core hangs channels up; ``Cause`` here is the soft-hangup flag, and the
        shutdown flag means the PBX is restarting or stopping: not the caller, not a timeout."""
        cause = text(frame, "Cause")
        if cause.isdigit() and int(cause) & SOFTHANGUP_SHUTDOWN and cs.pbx_ended is None:
            cs.pbx_ended = PBX_SHUTDOWN

    def _on_shutdown(self, frame: Frame, at: datetime) -> None:
        """``Shutdown`` (class system, so only a read=system user sees it): the PBX stops or
        restarts; every call still open ends now as failed (the AMI link drops next)."""
        reason = PBX_RESTARTED if text(frame, "Restart").lower() in ("true", "yes") else PBX_STOPPED
        for cs in list(self.calls.values()):
            cs.pbx_ended = reason
            self._finish(cs, at, judge=True)

    def _on_hangup(self, frame: Frame, at: datetime, cs: CallState) -> None:
        channel = text(frame, "Channel")
        cause = text(frame, "Cause")
        attempt = cs.attempts.get(channel)
        if attempt is not None and attempt.outcome is None:
            by_cause: dict[str, RingOutcome] = {"17": "busy", "19": "no_answer"}
            outcome = by_cause.get(cause, "caller_hangup" if cs.customer_gone() else "cancelled")
            self._end_attempt(cs, channel, attempt, outcome, at)
        cs.end_hold(channel, at)
        r = cs.record
        if channel == cs.answer_channel and r.talk_ended_at is None:
            r.talk_ended_at = at
        if channel == cs.customer and cause.isdigit():
            r.hangup_cause = int(cause)
        cs.talking.discard(channel)
        cs.channels.discard(channel)
        cs.gone.add(channel)
        self._by_channel.pop(channel, None)
        if not cs.channels:
            self._finish(cs, at, judge=True)

    def _finish(self, cs: CallState, at: datetime, *, judge: bool,
                end_seen: bool = True) -> None:
        r = cs.record
        if not end_seen:  # closed at the latest moment known: the rest is unknown
            r.mark_unknown("end", "hold")
            if not r.answered or r.talk_ended_at is None:
                r.mark_unknown("talk")
            if cs.open_attempts():
                r.mark_unknown("ring_attempts")
        if judge:
            for channel, attempt in cs.open_attempts():
                self._end_attempt(cs, channel, attempt,
                                  "caller_hangup" if cs.customer_gone() else "cancelled", at)
        for channel in list(cs.holds):
            cs.end_hold(channel, at)
        for channel in cs.channels:
            self._by_channel.pop(channel, None)
        if cs.open_transfer is not None and cs.open_transfer.to_agent is None:
            t = cs.open_transfer
            t.to_agent = transfer_target(cs, t.at, t.from_agent)
        r.ended_at = at
        if r.answered_at is not None and r.talk_ended_at is None and end_seen:
            r.talk_ended_at = at
        if judge:
            r.disposition, r.hangup_by = disposition(cs), hangup_by(cs)
            if cs.pbx_ended is not None and r.disposition in ("failed", "answered"):
                r.incomplete_reason = cs.pbx_ended
            elif r.disposition == "incomplete":
                r.incomplete_reason = JOINED_UNSEEN
        settle(r)
        self.calls.pop(cs.linkedid, None)
        self._ended[cs.linkedid] = None
        if len(self._ended) > ENDED_MEMORY:
            self._ended.popitem(last=False)
        self._out.append(CallEnded(self.server, at, r))

    # -- dialplan ----------------------------------------------------------------------
    def _on_newexten(self, frame: Frame, at: datetime, cs: CallState) -> None:
        if text(frame, "Application") == "MixMonitor":
            for path in recording_paths(text(frame, "AppData")):
                self._announce(cs, path, text(frame, "Channel"), at)
        elif is_survey_prompt(frame):
            self._survey_offered(cs)

    def _on_varset(self, frame: Frame, at: datetime, cs: CallState) -> None:
        variable, value = text(frame, "Variable"), text(frame, "Value")
        if variable == "MIXMONITOR_FILENAME" and value:
            self._announce(cs, value, text(frame, "Channel"), at)
        elif variable == "DIALSTATUS" and value:
            cs.last_dial_status = value
        elif variable == "QUEUESTATUS" and value in QUEUE_EXITS:
            cs.queue_exit = QUEUE_EXITS[value]
        elif variable == "CALLBACK_REQUESTED" and value:
            cs.queue_exit = "callback_requested"  # left the queue to be called back

    def _learn_recordings(self, frame: Frame, at: datetime, cs: CallState) -> None:
        """The recording file a channel carries in its ``ChanVariable`` (manager.conf
        ``channelvars``): a call joined mid-way (a daemon restart) still learns the
        recording whose MixMonitor start it missed. ``DestChanVariable`` counts when the
        destination channel belongs to the same call."""
        for key, channel, linkedid in (
                ("ChanVariable", "Channel", "Linkedid"),
                ("DestChanVariable", "DestChannel", "DestLinkedid")):
            if key in frame and text(frame, linkedid) in ("", cs.linkedid):
                for path in chan_variable_paths(frame, key):
                    self._announce(cs, path, text(frame, channel), at)

    def _announce(self, cs: CallState, path: str, channel: str, at: datetime) -> None:
        name = base_name(path)
        if name and name not in cs.record.recordings:
            cs.record.recordings.append(name)
            self._out.append(RecordingAnnounced(self.server, at, cs.linkedid, path, channel))

    def _on_user_event(self, frame: Frame, at: datetime, cs: CallState) -> None:
        """The post-call survey's answer (:mod:`callcenter.calls.survey`); a call's
        first answer counts, a repeated one is ignored."""
        if not is_survey(frame) or cs.survey_answer_seen:
            return
        score, invalid = read_score(frame)
        self._survey_offered(cs)
        cs.survey_answer_seen, cs.record.survey_score = True, score
        self.surveys.answered += score is not None
        self.surveys.invalid += invalid

    def _survey_offered(self, cs: CallState) -> None:
        """The survey ran for this call (its Read, or its answer, came)."""
        if not cs.record.survey_offered:
            cs.record.survey_offered = True
            self.surveys.offered += 1

    # -- queues --------------------------------------------------------------------------
    def _on_queue_join(self, frame: Frame, at: datetime, cs: CallState) -> None:
        queue, r = text(frame, "Queue"), cs.record
        if not queue:
            return
        r.queue = r.queue or queue
        if queue not in r.queues:
            r.queues.append(queue)
        r.queue_joined_at = r.queue_joined_at or at
        cs.left_queue = False
        position = text(frame, "Position")
        self._out.append(QueueCallerJoined(self.server, at, cs.linkedid, queue,
                                           int(position) if position.isdigit() else 0))

    def _on_queue_entry(self, frame: Frame, at: datetime) -> None:
        """QueueStatus lists a waiting caller: after a restart, the wait we did not see.

        The entry has no Linkedid: the caller's channel (or its Uniqueid, the
        linkedid of a call that started on it) names the call; ``Wait`` dates the join.
        """
        channel, queue, wait = text(frame, "Channel"), text(frame, "Queue"), text(frame, "Wait")
        if "Timestamp" not in frame:  # a list event: our clock, Wait counts on the PBX's
            at = self.timestamps.pbx_time(at)
        lid = self._by_channel.get(channel) or text(frame, "Uniqueid")
        if not channel or not queue or not lid or lid in self._ended:
            return
        cs = self.calls.get(lid)
        if cs is not None and not cs.left_queue:
            return  # already known to wait
        joined = at - timedelta(seconds=int(wait) if wait.isdigit() else 0)
        if cs is None:
            cs = self._start_call(lid, joined, joined=True)
            self._add_channel(cs, channel, {**frame, "Uniqueid": lid})
        cs.record.started_at = min(cs.record.started_at, joined)
        cs.last_at = at
        self._on_queue_join(frame, joined, cs)

    def _on_queue_abandon(self, frame: Frame, at: datetime, cs: CallState) -> None:
        if cs.pbx_ended is not None and not cs.customer_gone():
            return  # a restart also "abandons" every waiting caller: neither abandon nor timeout
        cs.queue_exit = "abandoned" if cs.customer_gone() else "timeout"

    def _on_queue_leave(self, frame: Frame, at: datetime, cs: CallState) -> None:
        if cs.left_queue:
            return
        cs.left_queue = True
        reason: LeaveReason = "left"
        if cs.answer_channel:
            reason = "answered"
        elif cs.queue_exit == "abandoned" or cs.queue_exit == "timeout":
            reason = cs.queue_exit
        self._out.append(QueueCallerLeft(self.server, at, cs.linkedid, text(frame, "Queue"),
                                         reason))

    # -- rings ----------------------------------------------------------------------------
    def _on_agent_called(self, frame: Frame, at: datetime, cs: CallState) -> None:
        dest, interface = text(frame, "DestChannel"), text(frame, "Interface")
        if dest and interface:
            self._ring(cs, dest, frame, at, RingAttempt(
                agent=endpoint_of(interface), interface=interface, started_at=at,
                queue=text(frame, "Queue") or None, channel=dest,
                uniqueid=text(frame, "DestUniqueid") or None), direct=False)

    def _on_dial_begin(self, frame: Frame, at: datetime, cs: CallState) -> None:
        dest, caller = text(frame, "DestChannel"), text(frame, "Channel")
        if not dest or is_local(dest) or dest in cs.attempts and cs.attempts[dest].outcome is None:
            return
        r = cs.record
        if is_trunk(dest, text(frame, "DestContext")):
            if r.direction != "inbound":
                r.direction, cs.customer = "outbound", dest
                r.agent = endpoint_of(cs.originator or caller)
                cs.talking.add(cs.originator or caller)
            number = dialled_number(text(frame, "DialString")) or endpoint_of(dest)
            attempt = RingAttempt(agent=number, interface=interface_of(dest), started_at=at,
                                  channel=dest, uniqueid=text(frame, "DestUniqueid") or None)
        else:
            attempt = RingAttempt(agent=endpoint_of(dest), interface=interface_of(dest),
                                  started_at=at, channel=dest,
                                  uniqueid=text(frame, "DestUniqueid") or None)
        self._ring(cs, dest, frame, at, attempt, direct=caller == cs.customer)

    def _ring(self, cs: CallState, dest: str, frame: Frame, at: datetime, attempt: RingAttempt,
              *, direct: bool) -> None:
        cs.attempts[dest] = attempt
        if direct:
            cs.direct.add(dest)
        cs.record.ring_attempts.append(attempt)
        self._out.append(RingStarted(self.server, at, cs.linkedid, attempt,
                                     text(frame, "Channel") or None, direct))

    def _on_dial_end(self, frame: Frame, at: datetime, cs: CallState) -> None:
        dest, status = text(frame, "DestChannel"), text(frame, "DialStatus")
        attempt = cs.attempts.get(dest)
        if attempt is None or attempt.outcome is not None:
            return
        cs.last_dial_status = status
        if status == "ANSWER":
            self._answer(cs, dest, attempt, at)
            return
        outcome = DIAL_OUTCOMES.get(status, "cancelled")
        if outcome == "cancelled" and text(frame, "Channel") in cs.hung_up:
            outcome = "caller_hangup"
        self._end_attempt(cs, dest, attempt, outcome, at)

    def _on_ring_no_answer(self, frame: Frame, at: datetime, cs: CallState) -> None:
        dest = text(frame, "DestChannel")
        attempt = cs.attempts.get(dest)
        if attempt is not None and attempt.outcome is None:
            self._end_attempt(cs, dest, attempt, "no_answer", at)

    def _on_agent_connect(self, frame: Frame, at: datetime, cs: CallState) -> None:
        dest = text(frame, "DestChannel")
        attempt = cs.attempts.get(dest)
        if attempt is not None and attempt.outcome is None:
            self._answer(cs, dest, attempt, at)

    def _on_agent_complete(self, frame: Frame, at: datetime, cs: CallState) -> None:
        """A queue call's conversation ended; it also tells of an answer we did not see.

        (The daemon joined mid-call, e.g. after an AMI outage: AgentComplete's
        ``TalkTime`` dates the answer and ``HoldTime`` the queue join before it; its
        ``Interface`` is the member who answered.)
        """
        interface, talk = text(frame, "Interface"), text(frame, "TalkTime")
        dest = text(frame, "DestChannel")
        r = cs.record
        if cs.answer_seen or not (dest or interface) or not talk.isdigit():
            return
        first = cs.answer_channel is None
        cs.answer_channel = dest or cs.answer_channel or cs.customer
        r.answered_at = at - timedelta(seconds=int(talk))
        r.talk_ended_at = r.talk_ended_at or at  # the member's part of the call ends here
        r.agent = endpoint_of(interface or dest)
        r.queue = r.queue or text(frame, "Queue") or None
        waited = text(frame, "HoldTime")
        if waited.isdigit() and r.queue_joined_at is None:
            r.queue_joined_at = r.answered_at - timedelta(seconds=int(waited))
            r.started_at = min(r.started_at, r.queue_joined_at)
        r.mark_known("answer", "agent")
        r.mark_unknown("hold")  # the conversation before we joined was not seen
        if dest:
            cs.talking.add(dest)
        ended_by: dict[str, HangupBy] = {"agent": "agent", "caller": "caller"}
        cs.hangup_by = ended_by.get(text(frame, "Reason"), cs.hangup_by)
        if first:
            self._out.append(CallAnswered(self.server, r.answered_at, r, None))

    def _answer(self, cs: CallState, dest: str, attempt: RingAttempt, at: datetime) -> None:
        self._end_attempt(cs, dest, attempt, "answered", at)
        r = cs.record
        if dest != cs.customer:
            cs.talking.add(dest)
        if cs.answer_channel is None:
            if cs.joined and not (attempt.queue or dest in cs.direct
                                  or r.direction == "outbound"):
                # a transfer target answering in a call joined mid-way: the first answer,
                # and who gave it, were not seen
                cs.answer_channel = dest
                r.mark_unknown("answer", "agent", "hold")
                self._out.append(CallAnswered(self.server, at, r, attempt))
                return
            cs.answer_channel, r.answered_at, cs.answer_seen = dest, at, True
            if r.direction != "outbound":
                r.agent = attempt.agent
            self._out.append(CallAnswered(self.server, at, r, attempt))

    def _end_attempt(self, cs: CallState, channel: str, attempt: RingAttempt,
                     outcome: RingOutcome, at: datetime) -> None:
        attempt.ended_at = at
        direct = channel in cs.direct
        rule, applies = self.rule_for(None if direct else attempt.queue), channel != cs.customer
        enforced = cs.enforced.get(channel)
        if applies and pbx_ended_ring(cs, attempt, outcome, rule, enforced=enforced):
            outcome = "cancelled"
        attempt.outcome = outcome
        violation = judge_attempt(attempt, rule, direct=direct, applies=applies,
                                  enforced=enforced)
        if violation is not None:
            cs.record.violations.append(violation)
        self._out.append(RingEnded(self.server, at, cs.linkedid, attempt))

    # -- hold and transfers ---------------------------------------------------------------
    def _on_hold(self, frame: Frame, at: datetime, cs: CallState) -> None:
        cs.holds.setdefault(text(frame, "Channel"), at)

    def _on_unhold(self, frame: Frame, at: datetime, cs: CallState) -> None:
        cs.end_hold(text(frame, "Channel"), at)

    def _on_blind_transfer(self, frame: Frame, at: datetime, cs: CallState) -> None:
        if text(frame, "Result") == "Success":
            self._transfer(cs, "blind", text(frame, "TransfererChannel"), at)

    def _on_attended_transfer(self, frame: Frame, at: datetime, cs: CallState) -> None:
        if text(frame, "Result") == "Success":
            transfer = self._transfer(cs, "attended", text(frame, "OrigTransfererChannel"), at)
            transfer.to_agent = transfer_target(cs, cs.record.started_at, transfer.from_agent)

    def _transfer(self, cs: CallState, kind: str, transferer: str, at: datetime) -> Transfer:
        transfer = Transfer(type="blind" if kind == "blind" else "attended",
                            from_agent=endpoint_of(transferer), to_agent=None, at=at)
        cs.record.transfers.append(transfer)
        cs.open_transfer = transfer
        return transfer

    # -- our own actions ------------------------------------------------------------------
    def _on_response(self, frame: Frame) -> None:
        answered = self.sent.answer(frame)
        if answered is None:
            return
        action, sent_at, result = answered
        channel = text(action, "Channel")
        cs = self.calls.get(self._by_channel.get(channel, ""))
        if text(action, "Action").lower() == "mixmonitor" and cs is not None and result == "ok":
            paths = [text(action, "File"), *recording_paths("," + text(action, "Options"))]
            for path in filter(None, paths):
                self._announce(cs, path, channel, sent_at)
