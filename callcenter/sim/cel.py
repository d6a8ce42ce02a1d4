"""Channel Event Logging as Asterisk 22 writes it (cel.conf ``events = ALL``).

:class:`CelTap` listens to the PBX's AMI events, as Asterisk's CEL engine follows
channel snapshots, and turns them into :class:`CelRecord` rows (the ``cel``
table of cel_pgsql): CHAN_START, ANSWER, APP_START/APP_END (the apps of the
captures' cel.conf), BRIDGE_ENTER/BRIDGE_EXIT, HANGUP (cause, source, dial
status), CHAN_END, LINKEDID_END. Field values follow ``real3/*.cel.csv``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from callcenter.ami.protocol import Frame
from callcenter.sim.model import Channel

# cel.conf apps = dial,queue,mixmonitor,chanspy,read,userevent,answer
TRACKED_APPS = frozenset({"Dial", "Queue", "MixMonitor", "ChanSpy", "Read", "UserEvent", "Answer"})
# an outgoing leg's pseudo-application: it stays on the channel to the end
LEG_APPS = frozenset({"AppQueue", "AppDial"})
AMAFLAGS = 3  # DOCUMENTATION
COLUMNS = ("eventtype", "eventtime", "userdeftype", "cid_name", "cid_num", "cid_ani", "cid_rdnis",
           "cid_dnid", "exten", "context", "channame", "appname", "appdata", "amaflags",
           "accountcode", "peeraccount", "uniqueid", "linkedid", "userfield", "peer", "extra")


def _json(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


@dataclass(frozen=True)
class CelRecord:
    """One CEL row; ``eventtime`` in epoch seconds (UTC)."""

    eventtype: str
    eventtime: float
    cid_name: str
    cid_num: str
    cid_ani: str
    cid_dnid: str
    exten: str
    context: str
    channame: str
    appname: str
    appdata: str
    uniqueid: str
    linkedid: str
    peer: str = ""
    extra: str = ""
    cid_rdnis: str = ""
    userdeftype: str = ""
    amaflags: int = AMAFLAGS
    accountcode: str = ""
    peeraccount: str = ""
    userfield: str = ""

    def row(self) -> dict[str, Any]:
        """The cel_pgsql columns; ``eventtime`` a naive UTC datetime (usegmtime = yes)."""
        values = asdict(self)
        values["eventtime"] = datetime.fromtimestamp(self.eventtime, UTC).replace(tzinfo=None)
        return {c: values[c] for c in COLUMNS}

    def ami_fields(self) -> Frame:
        """The body of an ``Event: CEL`` frame (after SystemName), in Asterisk's order."""
        return {
            "EventName": self.eventtype, "AccountCode": self.accountcode,
            "CallerIDnum": self.cid_num, "CallerIDname": self.cid_name,
            "CallerIDani": self.cid_ani, "CallerIDrdnis": self.cid_rdnis,
            "CallerIDdnid": self.cid_dnid, "Exten": self.exten, "Context": self.context,
            "Channel": self.channame, "Application": self.appname, "AppData": self.appdata,
            "EventTime": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.eventtime)),
            "AMAFlags": "DOCUMENTATION", "UniqueID": self.uniqueid, "LinkedID": self.linkedid,
            "Userfield": self.userfield, "Peer": self.peer, "PeerAccount": self.peeraccount,
            "Extra": self.extra,
        }


@dataclass
class _Tracked:
    """What CEL remembers of a live channel besides its snapshot."""

    channel: Channel
    app: str = ""  # the tracked application running (for its APP_END)
    appdata: str = ""
    answered: bool = False
    source: str = ""  # hangupsource
    dialstatus: str = ""
    bridge: str = ""


@dataclass
class CelTap:
    """A PBX listener turning its events into CEL records handed to ``sink``."""

    channels: dict[str, Channel]
    now: Callable[[], float]
    sink: Callable[[CelRecord], None]
    _live: dict[str, _Tracked] = field(default_factory=dict)
    _linked: Counter[str] = field(default_factory=Counter)
    _bridges: dict[str, list[str]] = field(default_factory=dict)

    def __call__(self, frame: Frame) -> None:
        handler = getattr(self, f"_on_{frame.get('Event')}", None)
        if handler is not None:
            handler(frame)

    # -- records ------------------------------------------------------------------
    def _record(self, kind: str, t: _Tracked, *, peer: str = "", extra: str = "",
                app: tuple[str, str] | None = None, start: bool = False) -> None:
        ch = t.channel
        appname, appdata = app if app is not None else (ch.app, ch.appdata)
        self.sink(CelRecord(
            kind, self.now(), ch.cid_name, ch.cid_num,
            "" if start else (ch.ani if ch.ani is not None else ch.cid_num),
            "" if start else ch.dnid, ch.exten, ch.context, ch.name, appname, appdata,
            ch.uniqueid, ch.linkedid, peer, extra))

    def _tracked(self, frame: Frame) -> _Tracked | None:
        return self._live.get(str(frame.get("Channel", "")))

    # -- events -------------------------------------------------------------------
    def _on_Newchannel(self, frame: Frame) -> None:
        ch = self.channels.get(str(frame["Channel"]))
        if ch is None:
            return
        t = self._live[ch.name] = _Tracked(ch)
        self._linked[ch.linkedid] += 1
        self._record("CHAN_START", t, app=("", ""), start=True)

    def _on_Newexten(self, frame: Frame) -> None:
        t = self._tracked(frame)
        if t is None:
            return
        self._app_end(t)
        app = str(frame.get("Application", ""))
        if app == "Hangup":
            t.source = t.source or "dialplan/builtin"
        if app in TRACKED_APPS:
            t.app, t.appdata = app, str(frame.get("AppData", ""))
            self._record("APP_START", t, app=(t.app, t.appdata))

    def _app_end(self, t: _Tracked) -> None:
        if t.app:
            self._record("APP_END", t, app=(t.app, t.appdata))
            t.app = t.appdata = ""

    def _on_Newstate(self, frame: Frame) -> None:
        t = self._tracked(frame)
        if t is not None and frame.get("ChannelState") == "6" and not t.answered:
            t.answered = True
            self._record("ANSWER", t)

    def _on_DialEnd(self, frame: Frame) -> None:
        t = self._tracked(frame)
        if t is not None and t.dialstatus != "ANSWER":
            t.dialstatus = str(frame.get("DialStatus", ""))

    def _on_VarSet(self, frame: Frame) -> None:
        """``DIALSTATUS`` is what HANGUP's extra reports (also for a Dial that made no
        channel: a busy phone)."""
        t = self._tracked(frame)
        if (t is not None and frame.get("Variable") == "DIALSTATUS" and frame.get("Value")
                and t.dialstatus != "ANSWER"):
            t.dialstatus = str(frame["Value"])

    def _on_HangupRequest(self, frame: Frame) -> None:
        """The channel's side hung up: it is the hangup source, of its bridge peers too."""
        t = self._tracked(frame)
        if t is None:
            return
        names = self._bridges.get(t.bridge, []) if t.bridge else [t.channel.name]
        for name in {t.channel.name, *names}:
            peer = self._live.get(name)
            if peer is not None and not peer.source:
                peer.source = t.channel.name

    def _bridge_extra(self, frame: Frame) -> str:
        return _json({"bridge_id": frame["BridgeUniqueid"],
                      "bridge_technology": frame.get("BridgeTechnology", "simple_bridge")})

    def _on_BridgeEnter(self, frame: Frame) -> None:
        t = self._tracked(frame)
        if t is None:
            return
        members = self._bridges.setdefault(str(frame["BridgeUniqueid"]), [])
        peer = members[0] if members else ""
        members.append(t.channel.name)
        t.bridge = str(frame["BridgeUniqueid"])
        self._record("BRIDGE_ENTER", t, peer=peer, extra=self._bridge_extra(frame))

    def _on_BridgeLeave(self, frame: Frame) -> None:
        t = self._tracked(frame)
        if t is None:
            return
        members = self._bridges.get(str(frame["BridgeUniqueid"]), [])
        if t.channel.name in members:
            members.remove(t.channel.name)
        t.bridge = ""
        self._record("BRIDGE_EXIT", t, peer=members[0] if members else "",
                     extra=self._bridge_extra(frame))

    def _on_BridgeDestroy(self, frame: Frame) -> None:
        self._bridges.pop(str(frame["BridgeUniqueid"]), None)

    def _on_Hangup(self, frame: Frame) -> None:
        t = self._live.pop(str(frame.get("Channel", "")), None)
        if t is None:
            return
        self._app_end(t)
        ch = t.channel
        app = (ch.app, ch.appdata) if ch.app in LEG_APPS else ("", "")
        extra = _json({"hangupcause": int(str(frame.get("Cause", "0")) or 0),
                       "hangupsource": t.source, "dialstatus": t.dialstatus})
        self._record("HANGUP", t, extra=extra, app=app)
        self._record("CHAN_END", t, app=app)
        self._linked[ch.linkedid] -= 1
        if self._linked[ch.linkedid] <= 0:
            del self._linked[ch.linkedid]
            self._record("LINKEDID_END", t, app=app)
