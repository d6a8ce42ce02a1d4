"""Builders of AMI event frames with the field names and order of Asterisk 22.

Every event starts ``Event, Privilege, [Timestamp], SystemName``; channel
events then carry the channel snapshot (``Channel`` … ``Linkedid``,
``ChanVariable``), two-channel events a ``Dest``-prefixed copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from callcenter.ami.protocol import FieldValue, Frame
from callcenter.sim.model import CAUSE_TXT, STATE_DESC, Bridge, Channel, Member


def snapshot(ch: Channel, prefix: str = "") -> Frame:
    """The channel snapshot fields of ``ch``, keys prefixed with ``prefix``."""
    return {
        f"{prefix}Channel": ch.name,
        f"{prefix}ChannelState": str(ch.state),
        f"{prefix}ChannelStateDesc": STATE_DESC.get(ch.state, "Unknown"),
        f"{prefix}CallerIDNum": ch.cid_num,
        f"{prefix}CallerIDName": ch.cid_name,
        f"{prefix}ConnectedLineNum": ch.connected_num,
        f"{prefix}ConnectedLineName": ch.connected_name,
        f"{prefix}Language": "en",
        f"{prefix}AccountCode": "",
        f"{prefix}Context": ch.context,
        f"{prefix}Exten": ch.exten,
        f"{prefix}Priority": ch.priority,
        f"{prefix}Uniqueid": ch.uniqueid,
        f"{prefix}Linkedid": ch.linkedid,
        f"{prefix}ChanVariable": [f"{k}={v}" for k, v in ch.variables.items()],
    }


def bridge_fields(br: Bridge, prefix: str = "Bridge") -> Frame:
    """The bridge snapshot fields (``BridgeUniqueid`` … ``BridgeVideoSourceMode``)."""
    return {
        f"{prefix}Uniqueid": br.uniqueid,
        f"{prefix}Type": "basic",
        f"{prefix}Technology": "simple_bridge",
        f"{prefix}Creator": "<unknown>",
        f"{prefix}Name": "<unknown>",
        f"{prefix}NumChannels": str(len(br.channels)),
        f"{prefix}VideoSourceMode": "none",
    }


def member_fields(m: Member, status: int, in_call: bool, *, list_form: bool = False) -> Frame:
    """QueueMember* event fields; ``list_form`` gives the QueueStatus ``QueueMember`` form."""
    head: Frame = (
        {"Queue": m.queue, "Name": m.name, "Location": m.interface}
        if list_form
        else {"Queue": m.queue, "MemberName": m.name, "Interface": m.interface}
    )
    head.update(
        {
            "StateInterface": m.interface,
            "Membership": m.membership,
            "Penalty": str(m.penalty),
            "CallsTaken": str(m.calls_taken),
            "LastCall": str(m.last_call),
            "LastPause": str(m.last_pause),
            "LoginTime": str(m.login_time),
            "InCall": "1" if in_call else "0",
            "Status": str(status),
            "Paused": "1" if m.paused else "0",
            "PausedReason": m.paused_reason,
        }
    )
    if not list_form:
        head["Ringinuse"] = "1" if m.ringinuse else "0"
    head["Wrapuptime"] = "0"
    return head


class EventFactory:
    """Makes event frames stamped with the simulated clock."""

    def __init__(self, systemname: str, timestampevents: bool, now: Callable[[], float]) -> None:
        self.systemname = systemname
        self.timestampevents = timestampevents
        self.now = now

    def event(self, name: str, privilege: str, *parts: Mapping[str, FieldValue]) -> Frame:
        """An event ``name`` with the standard header followed by ``parts`` in order."""
        frame: Frame = {"Event": name, "Privilege": privilege}
        if self.timestampevents:
            frame["Timestamp"] = f"{self.now():.6f}"
        frame["SystemName"] = self.systemname
        for part in parts:
            frame.update(part)
        return frame

    def chan(self, name: str, ch: Channel, extra: Mapping[str, FieldValue] | None = None,
             priv: str = "call,all") -> Frame:
        """A one-channel event."""
        return self.event(name, priv, snapshot(ch), extra or {})

    def two(self, name: str, ch: Channel, dest: Channel, extra: Mapping[str, FieldValue],
            priv: str = "call,all") -> Frame:
        """A two-channel event (caller snapshot, ``Dest`` snapshot, extra fields)."""
        return self.event(name, priv, snapshot(ch), snapshot(dest, "Dest"), extra)

    def hangup(self, ch: Channel, cause: int, tech_cause: str | None = None) -> Frame:
        """A ``Hangup`` event with ``Cause``/``Cause-txt`` (and ``TechCause``)."""
        extra: Frame = {"Cause": str(cause), "Cause-txt": CAUSE_TXT.get(cause, "Unknown")}
        if tech_cause:
            extra["TechCause"] = tech_cause
        return self.chan("Hangup", ch, extra)

    def varset(self, ch: Channel, variable: str, value: str) -> Frame:
        """A ``VarSet`` event."""
        return self.chan("VarSet", ch, {"Variable": variable, "Value": value}, "dialplan,all")

    def bridge(self, name: str, br: Bridge, ch: Channel | None = None) -> Frame:
        """BridgeCreate/Destroy (no channel) or BridgeEnter/Leave (with ``ch``)."""
        parts = [bridge_fields(br)]
        if ch is not None:
            parts.append(snapshot(ch))
        return self.event(name, "call,all", *parts)

    def member(self, name: str, m: Member, status: int, in_call: bool) -> Frame:
        """A QueueMember* event (QueueMemberStatus, ...Pause, ...Added, ...Removed)."""
        return self.event(name, "agent,all", member_fields(m, status, in_call))
