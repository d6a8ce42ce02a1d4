"""The call tracker fed in tests."""

from __future__ import annotations

from collections.abc import Iterable

from callcenter.calls.model import CallEnded, CallRecord
from callcenter.calls.tracker import CallTracker
from callcenter.pipeline import Item, apply_entry


def track(items: Iterable[Item], tracker: CallTracker) -> list[CallRecord]:
    """Feed ``items`` to ``tracker``: the calls that ended, in order, then those still open."""
    ended = [f.call for kind, body, t in items for f in apply_entry(tracker, kind, body, t)
             if isinstance(f, CallEnded)]
    return ended + list(tracker.open_calls.values())
