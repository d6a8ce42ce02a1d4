"""CEL rows → the AMI frames the call tracker understands (pure, no I/O).

An outage's calls are completed by feeding the tracker, in the outage's place, the
frames real Asterisk would have sent for what its CEL rows record, so one set of
rules judges every call. What real Asterisk 22 writes (``tests/traces/real3/*.cel.csv``,
one for one with the AMI CEL frames of the captures) and how it is read:

- ``CHAN_START`` → ``Newchannel``. A channel started in a call while one of its
  channels runs ``Queue`` or ``Dial`` (the latest such ``APP_START``) is a ring of
  that channel: ``AgentCalled`` (Queue; the queue is AppData's first argument) or
  ``DialBegin`` (Dial; DialString from AppData). Local channels are plumbing.
- ``ANSWER`` of a rung channel → ``DialEnd ANSWER`` (an answer of any other channel
  is its own pick-up: nothing to say).
- ``HANGUP`` (``extra``: ``hangupcause``, ``hangupsource``, ``dialstatus``): the
  channel named as ``hangupsource`` asked to hang up → ``HangupRequest`` at the start
  of that hang-up's burst (Asterisk hangs the other channels up within a few ms,
  and their rows may come first: real3/d). A rung channel that never answered ends
  its ring: ``DialEnd`` with the status its cause tells (``CANCEL`` once the dialling
  side asked to hang up; 17 busy; 18/19, or 0 with no source = the PBX's own ring
  timeout: ``NOANSWER``, with ``AgentRingNoAnswer`` for a queue member; 26 answered
  elsewhere, 16 a redirect: ``CANCEL``), then ``Hangup`` with ``Cause``.
- A channel that ran ``Dial`` tells its last ``DIALSTATUS`` in its ``HANGUP`` extra →
  ``VarSet DIALSTATUS`` (a Dial to a busy phone makes no channel at all).
- ``APP_START Queue`` → ``QueueCallerJoin``; its ``APP_END`` → ``QueueCallerLeave``,
  after ``QueueCallerAbandon`` when the caller hung up unanswered, or ``VarSet
  QUEUESTATUS=TIMEOUT`` when the Queue ran its full timeout (AppData's 5th argument).
- ``APP_START MixMonitor`` → ``Newexten`` (Application MixMonitor): the file name.
- ``APP_START Read`` → ``Newexten`` (Application Read, its context: the post-call survey
  asking); ``APP_START UserEvent`` → ``UserEvent`` with the name and ``Key: value``
  headers of its substituted AppData (the survey's ``Score``), when cel.conf ``apps``
  lists read and userevent.
- ``BRIDGE_ENTER`` → ``BridgeEnter``; ``ATTENDEDTRANSFER`` / ``BLINDTRANSFER`` → the
  AMI transfer events (Result Success).
- A PBX restart or stop (``shutdown_at``: the moment the old PBX process went away,
  known from the outage): the hang-ups with cause 0 and no source in its last second
  are the core hanging every channel up → ``SoftHangupRequest Cause 4`` first
  (real3/j_core_restart), so those calls end ``failed`` and their rings ``cancelled``.

CEL has no hold events: hold time within CEL-filled stretches is not known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from callcenter.calls.channels import interface_of, is_local
from callcenter.calls.survey import user_event_fields
from callcenter.cel.rows import CelRow

BURST = timedelta(milliseconds=100)
"""Rows of one call this close before a hang-up belong to the same hang-up."""
CEL_AHEAD = timedelta(milliseconds=50)
"""A CEL row is stamped a few ms before the AMI event of the same moment (real3/chanspy:
CHAN_START 4 ms before its Newchannel); a call's rows this close to its first AMI event
after an outage are that event's."""
SHUTDOWN_BURST = timedelta(seconds=1)
"""Hang-ups this close before the PBX went away were the core's own (restart / stop)."""
_BUSY = {17}
_NO_ANSWER = {18, 19}
_UNAVAILABLE = {1, 3, 20, 21, 22, 27, 28, 34, 38, 41, 42, 44, 58, 66, 88}
SOFTHANGUP_SHUTDOWN = "4"
_SNAPSHOT_KEYS = frozenset({"Event", "Channel", "Uniqueid", "Linkedid"})
"""A UserEvent's own headers of these names would collide with the channel's."""
Frame = dict[str, Any]
Timed = tuple[Frame, float]


@dataclass
class _Leg:
    """A rung channel: who dialled it, for which queue, and whether it answered."""

    dialer: str
    queue: str | None
    started: datetime
    answered: bool = False


@dataclass
class _Call:
    """What the translator keeps of one linkedid."""

    apps: dict[str, tuple[str, str, datetime]] = field(default_factory=dict)
    """channel → (application, appdata, started) of the application it runs."""
    legs: dict[str, _Leg] = field(default_factory=dict)
    queue_answered: dict[str, bool] = field(default_factory=dict)
    """caller channel → answered during its current Queue."""
    requested: dict[str, datetime] = field(default_factory=dict)
    """channel → when it asked to hang up (the start of its hang-up burst)."""
    shut_down: bool = False
    dialled: set[str] = field(default_factory=set)
    """Channels that ran Dial."""


def frames_from_cel(rows: Iterable[CelRow], *, since: datetime | None = None,
                    until: datetime | None = None, shutdown_at: datetime | None = None,
                    seen_from: Mapping[str, datetime] | None = None) -> list[Timed]:
    """The AMI frames (with their Unix times) for the rows strictly between ``since``
    and ``until`` (None: open), and for a call in ``seen_from`` (linkedid → its first
    event received after the outage) only the rows before :data:`CEL_AHEAD` of that:
    its AMI events tell the rest. Give every row of the calls concerned, also those
    outside the window: they tell which channel rang which, and who hung up."""
    ordered = sorted(rows, key=lambda r: (r.eventtime, r.id))
    frames = _Translator(ordered, shutdown_at).frames(since, until)
    if not seen_from:
        return frames
    cut = {lid: (at - CEL_AHEAD).timestamp() for lid, at in seen_from.items()}
    return [(f, t) for f, t in frames if t < cut.get(f["Linkedid"], t + 1)]


class _Translator:
    def __init__(self, rows: list[CelRow], shutdown_at: datetime | None) -> None:
        self.rows = rows
        self.shutdown_at = shutdown_at
        self.calls: dict[str, _Call] = {}
        self.requests = _hangup_requests(rows)
        self.hangups = {(r.linkedid, r.channame): r for r in rows if r.eventtype == "HANGUP"}
        self.out: list[tuple[datetime, int, int, Frame]] = []
        self.handlers = {
            "CHAN_START": self._chan_start, "ANSWER": self._answer, "HANGUP": self._hangup,
            "APP_START": self._app_start, "APP_END": self._app_end,
            "BRIDGE_ENTER": self._bridge_enter, "ATTENDEDTRANSFER": self._attended,
            "BLINDTRANSFER": self._blind,
        }

    def frames(self, since: datetime | None, until: datetime | None) -> list[Timed]:
        pending = sorted(self.requests.items(), key=lambda kv: kv[1][0])
        for n, row in enumerate(self.rows):
            call = self.calls.setdefault(row.linkedid, _Call())
            while pending and pending[0][1][0] <= row.eventtime:
                (lid, channel), (at, uniqueid) = pending.pop(0)
                self.calls.setdefault(lid, _Call()).requested[channel] = at
                self._emit(at, -1, n, {"Event": "HangupRequest", "Channel": channel,
                                       "Uniqueid": uniqueid, "Linkedid": lid})
            handler = self.handlers.get(row.eventtype)
            if handler is not None:
                handler(row, call, n)
        return [(frame, at.timestamp()) for at, _, _, frame in sorted(self.out, key=_order)
                if (since is None or at > since) and (until is None or at < until)]

    # -- output ---------------------------------------------------------------------
    def _emit(self, at: datetime, rank: int, n: int, frame: Frame) -> None:
        frame["Timestamp"] = f"{at.timestamp():.6f}"
        self.out.append((at, rank, n, frame))

    def _event(self, row: CelRow, n: int, name: str, **fields: Any) -> None:
        self._emit(row.eventtime, 0, n, {
            "Event": name, "Channel": row.channame, "Uniqueid": row.uniqueid,
            "Linkedid": row.linkedid, **fields})

    # -- rows -----------------------------------------------------------------------
    def _chan_start(self, row: CelRow, call: _Call, n: int) -> None:
        self._event(row, n, "Newchannel", ChannelState="0", ChannelStateDesc="Down",
                    CallerIDNum=row.cid_num, CallerIDName=row.cid_name, Exten=row.exten,
                    Context=row.context)
        if row.uniqueid == row.linkedid or is_local(row.channame):
            return
        dialling = [(started, ch, app, data) for ch, (app, data, started) in call.apps.items()
                    if app in ("Queue", "Dial")]
        if not dialling:
            return
        _, dialer, app, data = max(dialling)
        dest = {"Channel": dialer, "DestChannel": row.channame, "DestUniqueid": row.uniqueid,
                "DestLinkedid": row.linkedid, "DestContext": row.context, "Linkedid": row.linkedid}
        queue = data.split(",", 1)[0] if app == "Queue" else None
        call.legs[row.channame] = _Leg(dialer, queue, row.eventtime)
        if queue is not None:
            self._emit(row.eventtime, 0, n, {"Event": "AgentCalled", "Queue": queue,
                                             "Interface": interface_of(row.channame), **dest})
        else:
            self._emit(row.eventtime, 0, n, {
                "Event": "DialBegin", "DialString": data.split(",", 1)[0],
                **dest})

    def _answer(self, row: CelRow, call: _Call, n: int) -> None:
        leg = call.legs.get(row.channame)
        if leg is None or leg.answered:
            return
        leg.answered = True
        if leg.dialer in call.queue_answered:
            call.queue_answered[leg.dialer] = True
        self._emit(row.eventtime, 0, n, {
            "Event": "DialEnd", "Channel": leg.dialer, "DestChannel": row.channame,
            "DestUniqueid": row.uniqueid, "DialStatus": "ANSWER", "Linkedid": row.linkedid})

    def _hangup(self, row: CelRow, call: _Call, n: int) -> None:
        cause = _int(row.extra.get("hangupcause"))
        source = str(row.extra.get("hangupsource") or "")
        if self._core_hung_up(row, cause, source) and not call.shut_down:
            call.shut_down = True
            for channel in [row.channame, *(c for c in call.apps if c != row.channame)]:
                self._emit(row.eventtime, -1, n, {
                    "Event": "SoftHangupRequest", "Channel": channel, "Linkedid": row.linkedid,
                    "Cause": SOFTHANGUP_SHUTDOWN})
        # a dialling channel's rings end before it does (as DialEnd comes before its Hangup)
        for channel in [c for c, leg in call.legs.items() if leg.dialer == row.channame]:
            self._end_ring(row, call, channel, n)
        self._end_ring(row, call, row.channame, n)
        call.apps.pop(row.channame, None)
        dial_status = str(row.extra.get("dialstatus") or "")
        if dial_status and row.channame in call.dialled:
            # the channel's last Dial ended so (e.g. BUSY before any channel was made)
            self._event(row, n, "VarSet", Variable="DIALSTATUS", Value=dial_status)
        self._event(row, n, "Hangup", Cause=str(cause))

    def _end_ring(self, row: CelRow, call: _Call, channel: str, n: int) -> None:
        """End the ring of ``channel`` (if it rang unanswered) at ``row``, with the status
        its own ``HANGUP`` row tells."""
        leg = call.legs.pop(channel, None)
        if leg is None or leg.answered:
            return
        own = self.hangups.get((row.linkedid, channel), row)
        cause = _int(own.extra.get("hangupcause"))
        status = self._ring_status(call, leg, cause, str(own.extra.get("hangupsource") or ""))
        if status == "NOANSWER" and leg.queue is not None:
            ring_ms = int((row.eventtime - leg.started).total_seconds() * 1000)
            self._emit(row.eventtime, 0, n, {
                "Event": "AgentRingNoAnswer", "Channel": leg.dialer, "Queue": leg.queue,
                "DestChannel": channel, "Interface": interface_of(channel),
                "RingTime": str(ring_ms), "Linkedid": row.linkedid})
        self._emit(row.eventtime, 0, n, {
            "Event": "DialEnd", "Channel": leg.dialer, "DestChannel": channel,
            "DestUniqueid": own.uniqueid, "DialStatus": status, "Linkedid": row.linkedid})

    def _app_start(self, row: CelRow, call: _Call, n: int) -> None:
        call.apps[row.channame] = (row.appname, row.appdata, row.eventtime)
        if row.appname == "Dial":
            call.dialled.add(row.channame)
        elif row.appname == "Queue":
            call.queue_answered[row.channame] = False
            self._event(row, n, "QueueCallerJoin", Queue=row.appdata.split(",", 1)[0],
                        Position="")
        elif row.appname == "MixMonitor":
            self._event(row, n, "Newexten", Application="MixMonitor", AppData=row.appdata)
        elif row.appname == "Read":  # the post-call survey asks (context cc-survey)
            self._event(row, n, "Newexten", Application="Read", AppData=row.appdata,
                        Context=row.context)
        elif row.appname == "UserEvent":  # the survey's answer
            fields = user_event_fields(row.appdata)
            self._event(row, n, "UserEvent", **{k: v for k, v in fields.items()
                                                if k not in _SNAPSHOT_KEYS})

    def _app_end(self, row: CelRow, call: _Call, n: int) -> None:
        app = call.apps.pop(row.channame, None)
        if row.appname != "Queue":
            return
        queue = row.appdata.split(",", 1)[0]
        answered = call.queue_answered.pop(row.channame, False)
        if not answered and row.channame in call.requested:
            self._event(row, n, "QueueCallerAbandon", Queue=queue)
        elif not answered and app is not None and not call.shut_down:
            timeout = _queue_timeout(row.appdata)
            if timeout is not None and (row.eventtime - app[2]).total_seconds() >= timeout - 1:
                self._event(row, n, "VarSet", Variable="QUEUESTATUS", Value="TIMEOUT")
        self._event(row, n, "QueueCallerLeave", Queue=queue)

    def _bridge_enter(self, row: CelRow, call: _Call, n: int) -> None:
        self._event(row, n, "BridgeEnter", BridgeUniqueid=str(row.extra.get("bridge_id", "")))

    def _attended(self, row: CelRow, call: _Call, n: int) -> None:
        self._emit(row.eventtime, 0, n, {
            "Event": "AttendedTransfer", "Result": "Success",
            "OrigTransfererChannel": row.channame, "OrigTransfererLinkedid": row.linkedid,
            "SecondTransfererChannel": str(row.extra.get("channel2_name", "")),
            "TransfereeChannel": str(row.extra.get("transferee_channel_name", "")),
            "Linkedid": row.linkedid})

    def _blind(self, row: CelRow, call: _Call, n: int) -> None:
        self._emit(row.eventtime, 0, n, {
            "Event": "BlindTransfer", "Result": "Success", "TransfererChannel": row.channame,
            "TransfererLinkedid": row.linkedid,
            "TransfereeChannel": str(row.extra.get("transferee_channel_name", "")),
            "Extension": str(row.extra.get("extension", "")),
            "Context": str(row.extra.get("context", "")), "Linkedid": row.linkedid})

    # -- rules ----------------------------------------------------------------------
    def _core_hung_up(self, row: CelRow, cause: int, source: str) -> bool:
        return (self.shutdown_at is not None and cause == 0 and not source
                and self.shutdown_at - SHUTDOWN_BURST <= row.eventtime <= self.shutdown_at)

    @staticmethod
    def _ring_status(call: _Call, leg: _Leg, cause: int, source: str) -> str:
        if leg.dialer in call.requested:
            return "CANCEL"
        if cause in _BUSY:
            return "BUSY"
        if cause in _NO_ANSWER or (cause == 0 and not source):
            return "NOANSWER"
        if cause in _UNAVAILABLE:
            return "CONGESTION" if cause in (34, 38, 42) else "CHANUNAVAIL"
        return "CANCEL"


def _hangup_requests(rows: list[CelRow]) -> dict[tuple[str, str], tuple[datetime, str]]:
    """(linkedid, channel) → (when, its uniqueid) for every channel a ``HANGUP`` names as
    its ``hangupsource``: the first such hang-up, dated at the start of its burst."""
    uniqueids = {(r.linkedid, r.channame): r.uniqueid for r in rows if r.eventtype == "CHAN_START"}
    out: dict[tuple[str, str], tuple[datetime, str]] = {}
    for i, row in enumerate(rows):
        source = str(row.extra.get("hangupsource") or "") if row.eventtype == "HANGUP" else ""
        key = (row.linkedid, source)
        if not source or key not in uniqueids or key in out:
            continue
        start = row.eventtime
        for earlier in reversed(rows[:i]):
            if row.eventtime - earlier.eventtime > BURST:
                break
            if earlier.linkedid == row.linkedid:
                start = min(start, earlier.eventtime)
        out[key] = (start, uniqueids[key])
    return out


def _queue_timeout(appdata: str) -> float | None:
    """``Queue(name,options,URL,announce,timeout,...)``: the caller's maximum wait."""
    parts = appdata.split(",")
    try:
        return float(parts[4]) if len(parts) > 4 and parts[4].strip() else None
    except ValueError:
        return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _order(item: tuple[datetime, int, int, Frame]) -> tuple[datetime, int, int]:
    return item[0], item[2], item[1]
