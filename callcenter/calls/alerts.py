"""Alerts for supervisors: facts of the model that several consumers raise or show.

The ring-rule enforcer raises :class:`SupervisorAlert`, the recordings consumer
:class:`RecordingAlert`; the live state shows both. They live here, beside the other
facts, so that no consumer imports another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from callcenter.calls.model import Fact

AlertKind = Literal["agent_paused", "already_paused", "pause_failed"]


@dataclass(frozen=True)
class SupervisorAlert(Fact):
    """An agent missed ``misses`` rings in a row; what the daemon did about it.

    ``kind``: ``agent_paused`` (our QueuePause worked), ``already_paused``
    (app_queue's autopause, or another pause, was already in force: not
    doubled; ``detail`` says which), ``pause_failed`` (QueuePause failed or
    came too late). ``action`` is ``pause`` or ``none``; ``result`` is ok |
    failed | too_late | not_taken.
    """

    kind: AlertKind
    interface: str
    agent: str
    misses: int
    linkedid: str
    queue: str | None
    action: str
    result: str
    detail: str = ""


RecordingAlertStatus = Literal["missing", "corrupt", "store_failed", "refused", "orphaned"]


@dataclass(frozen=True)
class RecordingAlert(Fact):
    """A recording still missing or corrupt after every retry, a store that refuses
    files (``store_failed``: the row stays pending), a path from AMI outside the
    monitor directories (``refused``: the file was left alone), or a file in the monitor
    directory that no call claims (``orphaned``: no server nor linkedid; raised once per
    file): supervisors should look."""

    linkedid: str
    file_name: str
    status: RecordingAlertStatus
    attempts: int
    detail: str
