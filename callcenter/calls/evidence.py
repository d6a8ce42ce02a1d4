"""What a call joined mid-way can still tell, and which parts of it stay unknown.

The daemon joins a call mid-way after a (re)connect (``CoreShowChannels``), a
restart, or an AMI outage during the call; it then missed some events. Rules
(values of :data:`~callcenter.calls.model.UNKNOWN_PARTS`):

- ``start``: the call was first seen after it began (its first frame is not the
  originating channel's ``Newchannel``). ``started_at`` is then dated by the
  second in the originating channel's ``Uniqueid`` (the PBX's clock) or its
  ``CoreShowChannel`` ``Duration`` (whole seconds, truncated: the midpoint,
  ±0.5 s) and ``start`` is known; without that dating
  ``started_at`` is the earliest moment seen (a bound, not the start) and
  ``start`` is unknown. ``QueueEntry`` ``Wait`` and ``AgentComplete``
  ``HoldTime`` date the queue join, not the start.
- ``answer``: the call was answered (the customer's channel and an agent's are
  Up in one bridge: ``BridgeEnter``/``BridgeLeave`` ``BridgeUniqueid``, or the
  same ``CoreShowChannel`` ``BridgeId``), but the answer was not seen:
  ``answered_at`` is None unless ``AgentComplete`` ``TalkTime`` dates it.
  The disposition is ``answered``, never failed or abandoned.
- ``agent``: answered, but who answered is not known (the customer is bridged
  to a Local channel: a transfer happened before we joined).
- ``ring_attempts``: rings may have happened unseen (joined mid-way, or an
  outage while the call was unanswered): the list holds those seen.
- ``hold``: part of the conversation was not seen (answered before we joined,
  an outage during it, its end not seen): ``hold_s`` is None.
- ``end``: the end was not seen (the call was gone when the link came back):
  ``ended_at`` is the latest moment known of.
- ``wait`` (``wait_s`` None): the start is unknown, or the answer time, or the
  end of an unanswered call.
- ``talk`` (``talk_s`` None): the answer time is unknown, or the end while
  the answering agent was still in the call; also for an unanswered call whose
  end was not seen (it may have been answered).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from callcenter.calls.channels import is_local, text
from callcenter.calls.model import CallRecord

UP = "6"
PLAUSIBLE_SKEW = timedelta(hours=12)
"""A uniqueid's second further than this from the Duration's dating is not a time."""
RINGING = "5"


def duration_s(value: str) -> int | None:
    """``CoreShowChannel`` ``Duration`` (``HH:MM:SS``) in whole seconds, or None."""
    parts = value.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    h, m, s = (int(p) for p in parts)
    return h * 3600 + m * 60 + s


def uniqueid_epoch(uniqueid: str) -> int | None:
    """The creation second an Asterisk uniqueid carries (``[system-]<epoch>.<n>``:
    ``ast_channel_alloc`` writes ``time(NULL)``), or None."""
    head = uniqueid.rpartition("-")[2].partition(".")[0]
    return int(head) if head.isdigit() and len(head) >= 9 else None


def created_at(snapshot: Mapping[str, Any], at: datetime) -> datetime | None:
    """When the channel of a ``CoreShowChannel`` taken at ``at`` was created, to the
    midpoint of its second (±0.5 s): by the second its ``Uniqueid`` carries (the PBX's
    own clock, as event Timestamps), else by its ``Duration`` before ``at`` (our
    clock; whole seconds, truncated)."""
    secs = duration_s(text(snapshot, "Duration"))
    by_duration = None if secs is None else at - timedelta(seconds=secs + 0.5)
    epoch = uniqueid_epoch(text(snapshot, "Uniqueid"))
    if epoch is None:
        return by_duration
    by_uniqueid = datetime.fromtimestamp(epoch + 0.5, UTC)
    if by_duration is not None and abs(by_uniqueid - by_duration) > PLAUSIBLE_SKEW:
        return by_duration  # not a time (a uniqueid set by hand): the Duration's
    return by_uniqueid


def other_half(channel: str) -> str | None:
    """The other half of a Local channel (``...;1`` ↔ ``...;2``), else None."""
    if not is_local(channel) or channel[-2:] not in (";1", ";2"):
        return None
    return channel[:-1] + ("2" if channel.endswith("1") else "1")


def bridged_party(bridges: Mapping[str, set[str]], channel: str) -> tuple[str, bool] | None:
    """The non-Local channel sharing a bridge with ``channel`` (through Local channels:
    then ``True``, a transfer put it there), or None."""
    seen, todo, through = {channel}, [channel], False
    while todo:
        ch = todo.pop()
        for members in bridges.values():
            if ch not in members:
                continue
            for peer in sorted(members - seen):
                seen.add(peer)
                half = other_half(peer)
                if half is None:
                    return peer, through
                through = True
                seen.add(half)
                todo.append(half)
    return None


def settle(record: CallRecord) -> None:
    """Add the ``wait`` and ``talk`` flags that the record's other unknown parts imply."""
    u = set(record.unknown)
    if "start" in u or ("end" in u and not record.answered) or (
            record.answered and record.answered_at is None):
        record.mark_unknown("wait")
    if record.answered and (record.answered_at is None or (
            "end" in u and record.talk_ended_at is None)):
        record.mark_unknown("talk")
