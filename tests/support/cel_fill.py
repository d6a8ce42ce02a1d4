"""A capture's calls tracked from CEL alone, or with a stretch cut out and filled from CEL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from callcenter.calls.model import CallEnded
from callcenter.cli.calls_cmd import call_json
from callcenter.ingest.cel.merge import OutageCel, with_outages
from callcenter.ingest.cel.rows import CelRow, read_cel_csv
from callcenter.ingest.daemon import make_tracker
from callcenter.ingest.pipeline import Item, apply_entry
from callcenter.ingest.pipeline_replay import read_capture
from callcenter.settings import Settings
from tests.support.cel import active_at


def scenario(expected: Path) -> str:
    return expected.name.removesuffix(".expected.json")


def cel_rows(expected: Path) -> list[CelRow]:
    return list(read_cel_csv(expected.with_name(scenario(expected) + ".cel.csv")))


def shutdown_of(expected: Path, rows: list[CelRow]) -> datetime | None:
    """j_core_restart: the PBX went away after its last CEL row (its restart)."""
    return max(r.eventtime for r in rows) if scenario(expected) == "j_core_restart" else None


def ended_calls(items: Iterable[Item]) -> list[dict[str, Any]]:
    tracker = make_tracker("pbx4", Settings())
    ended: list[dict[str, Any]] = []
    for kind, payload, at in items:
        ended += [call_json(f.call) for f in apply_entry(tracker, kind, payload, at)
                  if isinstance(f, CallEnded)]
    assert not tracker.open_calls
    return ended


async def entries_of(items: list[Item]) -> AsyncIterator[Item]:
    for item in items:
        yield item


def pbx_time(items: list[Item]) -> datetime | None:
    """The PBX's time (its Timestamp) of the one frame in ``items``, if any."""
    return datetime.fromtimestamp(float(items[0][1]["Timestamp"]), UTC) if items else None


async def cut_and_fill(expected: Path, lo: float, hi: float) -> list[dict[str, Any]]:
    """The capture with the share ``lo``..``hi`` of its time lost (nothing received), the
    link back at ``hi`` (a resync), and that stretch filled from CEL."""
    items = list(read_capture(expected.with_name(scenario(expected) + ".jsonl")))
    first, last = items[0][2], items[-1][2]
    lost_at, resumed_at = first + lo * (last - first), first + hi * (last - first)
    rows = cel_rows(expected)
    before = [i for i in items if i[2] < lost_at]
    after = [i for i in items if i[2] >= resumed_at]
    back = datetime.fromtimestamp(resumed_at, UTC)
    journal = [*before, ("resync", active_at(rows, back), resumed_at), *after]
    since = pbx_time([i for i in before if "Timestamp" in i[1]][-1:]) or datetime.fromtimestamp(
        lost_at, UTC)
    until = pbx_time([i for i in after if "Timestamp" in i[1]][:1]) or back
    seen: dict[str, datetime] = {}
    for _, frame, _ in after:
        lid = frame.get("Linkedid")
        lid = lid[0] if isinstance(lid, list) else lid  # a UserEvent body may repeat it
        if "Timestamp" in frame and lid:
            seen.setdefault(lid, datetime.fromtimestamp(float(frame["Timestamp"]), UTC))
    outage = OutageCel(back, since, until, rows,
                       shutdown_of(expected, rows) if hi == 1.0 else None, seen)
    return ended_calls([item async for item in with_outages(entries_of(journal), [outage])])
