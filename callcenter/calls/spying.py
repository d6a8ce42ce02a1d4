"""Supervisors' spy legs (ChanSpy): monitoring sessions of a call, never calls themselves.

A spy leg is a channel the daemon originates to a supervisor's phone running
``ChanSpy`` on an agent's channel. Asterisk 22 gives it its own linkedid
(``tests/traces/real3/chanspy.jsonl``); it is told apart by

- its linkedid, when the daemon chose it (Originate ``ChannelId``,
  :func:`spy_channel_id`): known from its first event;
- ``OriginateResponse`` with ``Application: ChanSpy`` (its ``Uniqueid``), or
  ``ChanSpyStart`` (its ``SpyerLinkedid``): a leg someone else originated.

``ChanSpyStart``/``ChanSpyStop`` name the spied call by ``SpyeeLinkedid``; the
mode is only in the Originate's ``Data`` (ChanSpy options). Pure: no I/O.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from callcenter.calls.channels import Fields, text
from callcenter.calls.model import (
    Fact,
    MonitorEnd,
    MonitoringEnded,
    MonitoringStarted,
    MonitorMode,
)

SPY_EVENTS = frozenset({"OriginateResponse", "ChanSpyStart", "ChanSpyStop"})
MODE_OPTIONS: dict[MonitorMode, str] = {"listen": "qES", "whisper": "qwES", "barge": "qBES"}
"""ChanSpy options per mode: q quiet (no beep, no name), w whisper, B barge; E ends the
spy leg when the spied channel hangs up, S when there is nothing (left) to spy on."""
_SPY_ID = re.compile(r"^cc-spy-[0-9a-f]{16}$")
_FAILURE_REASONS: dict[str, MonitorEnd] = {"3": "no_answer", "5": "busy", "1": "no_answer"}
"""OriginateResponse ``Reason`` → outcome (3 no answer, 5 busy, 1 hung up while ringing)."""
_HANGUP_CAUSES: dict[str, MonitorEnd] = {"17": "busy", "0": "no_answer", "16": "no_answer",
                                             "19": "no_answer", "127": "no_answer"}
DONE_MEMORY = 1000


def spy_channel_id() -> str:
    """A fresh ``ChannelId`` for a spy leg (Asterisk never makes one of this form)."""
    return f"cc-spy-{secrets.token_hex(8)}"


def is_spy_id(linkedid: str) -> bool:
    """True for a linkedid made by :func:`spy_channel_id`."""
    return bool(_SPY_ID.match(linkedid))


def chanspy_data(target: str, mode: MonitorMode) -> str:
    """The ``Data`` of an Originate running ChanSpy on ``target`` (a channel name prefix)."""
    return f"{target},{MODE_OPTIONS[mode]}"


def mode_of(data: str) -> MonitorMode | None:
    """The mode of ChanSpy ``data`` ("PJSIP/agent1002,qw" → whisper); None without it."""
    if "," not in data:
        return None
    options = data.split(",", 1)[1]
    return "barge" if "B" in options else "whisper" if "w" in options else "listen"


@dataclass
class SpyLeg:
    """What is known of one spy leg."""

    answered: bool = False
    mode: MonitorMode | None = None
    linkedid: str | None = None
    """The spied call, once ChanSpy started."""


class SpyLegs:
    """The spy legs of one server: which linkedids they are, and their monitoring facts."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.legs: dict[str, SpyLeg] = {}
        self._done: OrderedDict[str, None] = OrderedDict()

    def owns(self, linkedid: str) -> bool:
        """True when ``linkedid`` is a spy leg (live or over)."""
        return bool(linkedid) and (linkedid in self.legs or linkedid in self._done
                                   or is_spy_id(linkedid))

    def on_event(self, frame: Fields, at: datetime) -> tuple[str | None, list[Fact]]:
        """OriginateResponse / ChanSpyStart / ChanSpyStop: (a linkedid now known to be a
        spy leg, or None; the facts)."""
        name = frame.get("Event")
        if name == "OriginateResponse":
            return self._originated(frame, at)
        lid = text(frame, "SpyerLinkedid")
        if not lid or lid in self._done:
            return None, []
        leg = self.legs.setdefault(lid, SpyLeg(answered=True))
        if name == "ChanSpyStart":
            leg.linkedid = text(frame, "SpyeeLinkedid") or None
            if leg.linkedid is None:
                return lid, []
            return lid, [MonitoringStarted(self.server, at, lid, leg.linkedid,
                                           text(frame, "SpyerChannel"),
                                           text(frame, "SpyeeChannel"), leg.mode)]
        return lid, self._end(lid, at, "ended")

    def on_channel_event(self, frame: Fields, at: datetime) -> list[Fact]:
        """An event of a spy leg's own channel: an answer is noted; a hang-up ends the
        leg (not answered: the supervisor's phone did not take it)."""
        lid = text(frame, "Linkedid")
        if lid in self._done:
            return []
        leg = self.legs.setdefault(lid, SpyLeg())
        if text(frame, "ChannelState") == "6":
            leg.answered = True
        if frame.get("Event") != "Hangup":
            return []
        if leg.answered:
            return self._end(lid, at, "ended")
        cause = text(frame, "Cause")
        return self._end(lid, at, _HANGUP_CAUSES.get(cause, "failed"), f"cause {cause}")

    def _originated(self, frame: Fields, at: datetime) -> tuple[str | None, list[Fact]]:
        lid = text(frame, "Uniqueid")
        if text(frame, "Application").lower() != "chanspy" or not lid or lid.startswith("<"):
            return None, []
        if lid in self._done:
            return lid, []
        leg = self.legs.setdefault(lid, SpyLeg())
        leg.mode = mode_of(text(frame, "Data"))
        if text(frame, "Response") == "Success":
            leg.answered = True
            return lid, []
        reason = text(frame, "Reason")
        return lid, self._end(lid, at, _FAILURE_REASONS.get(reason, "failed"), f"reason {reason}")

    def _end(self, lid: str, at: datetime, outcome: MonitorEnd,
             detail: str = "") -> list[Fact]:
        leg = self.legs.pop(lid, SpyLeg())
        self._done[lid] = None
        if len(self._done) > DONE_MEMORY:
            self._done.popitem(last=False)
        return [MonitoringEnded(self.server, at, lid, leg.linkedid, outcome, detail)]
