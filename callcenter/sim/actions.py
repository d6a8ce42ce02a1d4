"""AMI actions: the replies (and list events) real Asterisk 22 sends to each."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from callcenter.ami.protocol import Frame
from callcenter.sim.events import member_fields, snapshot
from callcenter.sim.model import Channel
from callcenter.sim.outbound import OutboundCall
from callcenter.sim.pbx import PBX
from callcenter.sim.queues import QueueEngine
from callcenter.sim.spy import SpyCall

TRUE = {"true", "yes", "1", "on", "y", "t"}


def field(action: Frame, key: str, default: str = "") -> str:
    """A header of ``action`` (case-insensitive key), as a string."""
    for k, v in action.items():
        if k.lower() == key.lower():
            return v[-1] if isinstance(v, list) else v
    return default


def _resp(aid: str, status: str = "Success", message: str | None = None, **extra: str) -> Frame:
    frame: Frame = {"Response": status}
    if aid:
        frame["ActionID"] = aid
    if message is not None:
        frame["Message"] = message
    frame.update(extra)
    return frame


def _with_aid(frame: Frame, aid: str, first: bool = False) -> Frame:
    if not aid:
        return frame
    if first:
        return {"Event": frame["Event"], "ActionID": aid, **{k: v for k, v in frame.items() if k != "Event"}}
    return {**frame, "ActionID": aid}


def _complete(name: str, aid: str, n: int, **extra: str) -> Frame:
    return _with_aid({"Event": name}, aid) | {"EventList": "Complete", "ListItems": str(n), **extra}


class Actions:
    """Dispatches an action to its handler; returns the frames to send back in order."""

    def __init__(self, pbx: PBX, engine: QueueEngine, *, answers_getconfig: bool = False
                 ) -> None:
        self.pbx, self.engine = pbx, engine
        self.handlers: dict[str, Callable[[Frame, str], list[Frame]]] = {
            name[3:].lower(): getattr(self, name) for name in dir(self) if name.startswith("do_")
        }
        if not answers_getconfig:  # most tests' daemons then enforce every deadline themselves
            del self.handlers["getconfig"]

    def handle(self, action: Frame) -> list[Frame]:
        """Reply to ``action`` (a parsed frame)."""
        aid = field(action, "ActionID")
        name = field(action, "Action")
        if not name:
            return [_resp(aid, "Error", "Missing action in request")]
        handler = self.handlers.get(name.lower())
        if handler is None:
            return [_resp(aid, "Error", f"Invalid/unknown command: {name}. "
                          "Use Action: ListCommands to show available commands.")]
        return handler(action, aid)

    def _channel(self, action: Frame) -> Channel | None:
        return self.pbx.channels.get(field(action, "Channel"))

    # -- simple -----------------------------------------------------------------
    def do_Ping(self, action: Frame, aid: str) -> list[Frame]:
        return [_resp(aid, Ping="Pong", Timestamp=f"{self.pbx.clock.now():.6f}")]

    def do_Command(self, action: Frame, aid: str) -> list[Frame]:
        cmd = " ".join(field(action, "Command").split())
        if cmd == "core show version":
            out: list[str] = ["Asterisk 22.10.1 (simulated by callcenter)"]
        elif cmd == "queue show":
            out = [f"{q.config.name} has {len(q.waiting)} calls (max unlimited) in "
                   f"'{q.config.strategy}' strategy" for q in self.pbx.queues.values()]
        elif cmd == "core show channels":
            out = [*self.pbx.channels, f"{len(self.pbx.channels)} active channels"]
        else:
            return [_resp(aid, "Error", "Command output follows",
                          Output=f"No such command '{cmd}' (type 'core show help {cmd}' "
                          "for other possible commands)")]
        frame = _resp(aid, "Success", "Command output follows")
        frame["Output"] = out if len(out) > 1 else out[0]
        return [frame]

    def do_GetConfig(self, action: Frame, aid: str) -> list[Frame]:
        """``GetConfig`` of ``queues.conf``: the simulated queues as Asterisk lists them
        (``Category-NNNNNN`` / ``Line-NNNNNN-MMMMMM: key=value``)."""
        if field(action, "Filename") != "queues.conf":
            return [_resp(aid, "Error", "Config file not found")]
        frame = _resp(aid)
        for i, q in enumerate(self.pbx.config.queues):
            frame[f"Category-{i:06d}"] = q.name
            lines = [f"strategy={q.strategy}", f"timeout={q.timeout:g}", f"retry={q.retry:g}",
                     *(f"member={m}" for m in ([] if q.dynamic else q.members))]
            frame.update((f"Line-{i:06d}-{n:06d}", line) for n, line in enumerate(lines))
        return [frame]

    # -- queues -----------------------------------------------------------------
    def do_QueueStatus(self, action: Frame, aid: str) -> list[Frame]:
        qname, member = field(action, "Queue"), field(action, "Member")
        items: list[Frame] = []
        now = self.pbx.clock.event_time()
        for q in self.pbx.queues.values():
            if qname and q.config.name != qname:
                continue
            c = q.config
            items.append(_with_aid({
                "Event": "QueueParams", "Queue": c.name, "Max": "0", "Strategy": c.strategy,
                "Calls": str(len(q.waiting)), "Holdtime": "0", "TalkTime": "0",
                "Completed": str(q.completed), "Abandoned": str(q.abandoned), "ServiceLevel": "0",
                "ServicelevelPerf": "0.0", "ServicelevelPerf2": "0.0", "Weight": "0"}, aid))
            for m in q.members.values():
                if member and m.interface != member:
                    continue
                status = self.engine.status_of(m)
                items.append(_with_aid({"Event": "QueueMember",
                                        **member_fields(m, status, status == 2, list_form=True)}, aid))
            for pos, w in enumerate(q.waiting, 1):
                ch = w.channel
                items.append(_with_aid({
                    "Event": "QueueEntry", "Queue": c.name, "Position": str(pos), "Channel": ch.name,
                    "Uniqueid": ch.uniqueid, "CallerIDNum": ch.cid_num, "CallerIDName": ch.cid_name,
                    "ConnectedLineNum": ch.connected_num, "ConnectedLineName": ch.connected_name,
                    "Wait": str(int(now - w.joined)), "Priority": "0"}, aid))
        head = _resp(aid, EventList="start", Message="Queue status will follow")
        return [head, *items, _complete("QueueStatusComplete", aid, len(items))]

    def do_QueueSummary(self, action: Frame, aid: str) -> list[Frame]:
        qname = field(action, "Queue")
        now = self.pbx.clock.event_time()
        items = []
        for q in self.pbx.queues.values():
            if qname and q.config.name != qname:
                continue
            avail = [m for m in q.members.values() if not m.paused and self.engine.status_of(m) == 1]
            longest = max((int(now - w.joined) for w in q.waiting), default=0)
            items.append(_with_aid({
                "Event": "QueueSummary", "Queue": q.config.name, "LoggedIn": str(len(q.members)),
                "Available": str(len(avail)), "Callers": str(len(q.waiting)), "HoldTime": "0",
                "TalkTime": "0", "LongestHoldTime": str(longest)}, aid))
        head = _resp(aid, EventList="start", Message="Queue summary will follow")
        return [head, *items, _complete("QueueSummaryComplete", aid, len(items))]

    def do_QueuePause(self, action: Frame, aid: str) -> list[Frame]:
        iface = field(action, "Interface")
        paused = field(action, "Paused", "false").lower() in TRUE
        ok = self.engine.pause(iface, paused, field(action, "Reason"), field(action, "Queue") or None)
        if not ok:
            return [_resp(aid, "Error", "Interface not found")]
        return [_resp(aid, message=f"Interface {'paused' if paused else 'unpaused'} successfully")]

    def do_QueueAdd(self, action: Frame, aid: str) -> list[Frame]:
        try:
            penalty = int(field(action, "Penalty", "0") or 0)
        except ValueError:
            return [_resp(aid, "Error", "Invalid penalty")]
        err = self.engine.add(field(action, "Queue"), field(action, "Interface"),
                              field(action, "MemberName"), penalty,
                              field(action, "Paused", "false").lower() in TRUE, field(action, "Reason"))
        return [_resp(aid, "Error", err) if err else _resp(aid, message="Added interface to queue")]

    def do_QueueRemove(self, action: Frame, aid: str) -> list[Frame]:
        err = self.engine.remove(field(action, "Queue"), field(action, "Interface"))
        return [_resp(aid, "Error", err) if err else _resp(aid, message="Removed interface from queue")]

    # -- channels ---------------------------------------------------------------
    def do_CoreShowChannels(self, action: Frame, aid: str) -> list[Frame]:
        now = self.pbx.clock.event_time()
        items = []
        for ch in list(self.pbx.channels.values()):
            secs = int(now - ch.created)
            items.append(_with_aid({
                "Event": "CoreShowChannel", **snapshot(ch), "Application": ch.app,
                "ApplicationData": ch.appdata,
                "Duration": f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}",
                "BridgeId": ch.bridge.uniqueid if ch.bridge else ""}, aid, first=True))
        head = _resp(aid, EventList="start", Message="Channels will follow")
        return [head, *items, _complete("CoreShowChannelsComplete", aid, len(items))]

    def do_Status(self, action: Frame, aid: str) -> list[Frame]:
        now = self.pbx.clock.event_time()
        wanted = field(action, "Channel")
        items = []
        for ch in list(self.pbx.channels.values()):
            if wanted and ch.name != wanted:
                continue
            items.append(_with_aid({
                "Event": "Status", "Privilege": "Call", **snapshot(ch), "Type": "PJSIP",
                "DNID": ch.exten if ch.context == "from-trunk" else "",
                "EffectiveConnectedLineNum": ch.connected_num,
                "EffectiveConnectedLineName": ch.connected_name, "TimeToHangup": "0",
                "BridgeID": ch.bridge.uniqueid if ch.bridge else "", "Application": ch.app,
                "Data": ch.appdata, "Nativeformats": "(ulaw)", "Readformat": "ulaw",
                "Readtrans": "", "Writeformat": "ulaw", "Writetrans": "", "Callgroup": "0",
                "Pickupgroup": "0", "Seconds": str(int(now - ch.created))}, aid))
        head = _resp(aid, EventList="start", Message="Channel status will follow")
        return [head, *items, _complete("StatusComplete", aid, len(items), Items=str(len(items)))]

    def do_Hangup(self, action: Frame, aid: str) -> list[Frame]:
        name = field(action, "Channel")
        cause_txt = field(action, "Cause")
        cause = int(cause_txt) if cause_txt.isdigit() else None
        if len(name) > 1 and name.startswith("/") and name.endswith("/"):
            try:
                rx = re.compile(name[1:-1])
            except re.error:
                return [_resp(aid, "Error", "Invalid regex")]
            hits = [ch for ch in list(self.pbx.channels.values()) if rx.search(ch.name)]
            out = [_resp(aid, EventList="start", Message="Channels hung up will follow")]
            for hit in hits:
                self._post(hit, "hangup", hit, cause)
                out.append(_with_aid({"Event": "ChannelHungup", "Channel": hit.name}, aid))
            return [*out, _complete("ChannelsHungupListComplete", aid, len(hits))]
        ch = self.pbx.channels.get(name) or self.pbx.by_uniqueid(name)
        if ch is None:
            return [_resp(aid, "Error", "No such channel")]
        self._post(ch, "hangup", ch, cause)
        return [_resp(aid, message="Channel Hungup")]

    def _post(self, ch: Channel, *msg: Any) -> None:
        if ch.owner is not None:
            ch.owner.post(*msg)

    def do_Redirect(self, action: Frame, aid: str) -> list[Frame]:
        name = field(action, "Channel")
        ch = self.pbx.channels.get(name)
        if ch is None:
            return [_resp(aid, "Error", f"Channel does not exist: {name}")]
        exten = field(action, "Exten")
        if not exten:
            return [_resp(aid, "Error", "Exten not specified")]
        self._post(ch, "redirect", ch, field(action, "Context"), exten, field(action, "Priority", "1"))
        return [_resp(aid, message="Redirect successful")]

    def do_BlindTransfer(self, action: Frame, aid: str) -> list[Frame]:
        ch = self._channel(action)
        if ch is None:
            return [_resp(aid, "Error", f"No channel found with name {field(action, 'Channel')}")]
        self._post(ch, "blind_transfer", ch, field(action, "Exten"))
        return [_resp(aid, message="Transfer succeeded")]

    def do_Atxfer(self, action: Frame, aid: str) -> list[Frame]:
        ch = self._channel(action)
        if ch is None:
            return [_resp(aid, "Error", "No such channel")]
        self._post(ch, "attended_transfer", ch, field(action, "Exten"))
        return [_resp(aid, message="Atxfer successfully queued")]

    def do_Originate(self, action: Frame, aid: str) -> list[Frame]:
        if field(action, "Application").lower() == "chanspy":
            return self._spy(action, aid)
        agent = self.pbx.agents.get(field(action, "Channel"))
        exten = field(action, "Exten")
        if agent is None or not exten:
            return [_resp(aid, "Error", "Originate failed")]
        call = OutboundCall(self.pbx, self.engine, agent, exten, originate=dict(action))
        self.pbx.spawn(call.run())
        return [_resp(aid, message="Originate successfully queued")]

    def _spy(self, action: Frame, aid: str) -> list[Frame]:
        """Originate with Application ChanSpy: only to a supervisor's phone here."""
        supervisor = self.pbx.supervisors.get(field(action, "Channel"))
        if supervisor is None or "," not in field(action, "Data"):
            return [_resp(aid, "Error", "Originate failed")]
        self.pbx.spawn(SpyCall(self.pbx, self.engine, supervisor, action).run())
        return [_resp(aid, message="Originate successfully queued")]
