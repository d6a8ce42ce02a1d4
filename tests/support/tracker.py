"""The call tracker fed in tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from callcenter.calls.model import CallEnded, CallRecord
from callcenter.calls.replay import record_to_json
from callcenter.calls.tracker import CallTracker
from callcenter.ingest.pipeline import Item, apply_entry
from callcenter.ingest.pipeline_replay import read_capture
from tests.support.expected import TRACES


def track(items: Iterable[Item], tracker: CallTracker) -> list[CallRecord]:
    """Feed ``items`` to ``tracker``: the calls that ended, in order, then those still open."""
    ended = [f.call for kind, body, t in items for f in apply_entry(tracker, kind, body, t)
             if isinstance(f, CallEnded)]
    return ended + list(tracker.open_calls.values())


def replay(capture: str, tracker: CallTracker | None = None) -> list[dict[str, Any]]:
    """The calls of ``capture`` (relative to tests/traces) as JSON, internal ones left out."""
    calls = track(read_capture(TRACES / f"{capture}.jsonl"), tracker or CallTracker("pbx"))
    return [j for j in map(record_to_json, calls) if j["direction"] != "internal"]
