"""Queue members' states from QueueMember* events (and QueueStatus's ``QueueMember``).

Asterisk's member ``Status`` is a device state: 1 not in use, 2 in use, 3 busy,
4 invalid, 5 unavailable, 6 ringing, 7 ring in use, 8 on hold, 0 unknown.
A member is *paused* with a reason independently of that. The agent state
we report: on a call / ringing / unavailable (device first), otherwise paused,
otherwise available — or wrap-up right after a call when the member has a
``Wrapuptime``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from callcenter.calls.channels import endpoint_of, known, text
from callcenter.calls.model import AgentStateChanged, AgentStateName

MEMBER_EVENTS = frozenset({
    "QueueMemberStatus", "QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause",
    "QueueMemberPaused", "QueueMemberPenalty", "QueueMemberRinginuse", "QueueMember",
})
_ON_CALL = frozenset({"2", "3", "8"})
_RINGING = frozenset({"6", "7"})
_UNAVAILABLE = frozenset({"4", "5"})

Key = tuple[str, str]
"""(interface, queue)."""


def _state(status: str, paused: bool, was: AgentStateChanged | None,
           wrapup: bool) -> AgentStateName:
    if status in _ON_CALL:
        return "on_call"
    if status in _RINGING:
        return "ringing"
    if status in _UNAVAILABLE:
        return "unavailable"
    if paused:
        return "paused"
    if wrapup and was is not None and was.state == "on_call":
        return "wrap_up"
    return "available"


class AgentBook:
    """The latest state of every queue member of one server; emits changes only."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.members: dict[Key, AgentStateChanged] = {}

    def on_event(self, frame: Mapping[str, Any], at: datetime) -> list[AgentStateChanged]:
        """The state change a QueueMember* frame means (none when nothing changed)."""
        name = text(frame, "Event")
        interface = text(frame, "Interface") or text(frame, "Location")
        queue = text(frame, "Queue")
        if not interface or not queue:
            return []
        key = (interface, queue)
        was = self.members.get(key)
        removed = name == "QueueMemberRemoved"
        paused = text(frame, "Paused") in ("1", "true", "yes")
        reason = known(text(frame, "PausedReason")) if paused else None
        wrapup = text(frame, "Wrapuptime") not in ("", "0")
        state: AgentStateName = "logged_out" if removed else _state(
            text(frame, "Status"), paused, was, wrapup)
        member = known(text(frame, "MemberName")) or known(text(frame, "Name"))
        fact = AgentStateChanged(
            server=self.server, at=at, interface=interface, agent=endpoint_of(interface),
            name=member or (was.name if was else None), queue=queue, state=state,
            paused=paused and not removed, reason=None if removed else reason,
            in_queue=not removed)
        if was is not None and (was.state, was.paused, was.reason, was.in_queue, was.name) == (
                fact.state, fact.paused, fact.reason, fact.in_queue, fact.name):
            return []
        self.members[key] = fact
        return [fact]
