"""Outages completed from CEL (pure): every real3 capture, cut, with the cut part given as
the CEL rows Asterisk itself wrote (``.cel.csv``), yields the capture's expected calls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from callcenter.calls.model import CallEnded
from callcenter.cli.calls_cmd import call_json
from callcenter.ingest.cel.merge import OutageCel, with_outages
from callcenter.ingest.cel.rows import CelRow, CelRowError, read_cel_csv
from callcenter.ingest.cel.translate import frames_from_cel
from callcenter.ingest.daemon import make_tracker
from callcenter.ingest.pipeline import Item, apply_entry
from callcenter.ingest.pipeline_replay import read_capture
from callcenter.settings import Settings
from tests.support.cel import active_at
from tests.support.expected import TRACES, check_calls, expected_calls

REAL3 = sorted((TRACES / "real3").glob("*.expected.json"))
CUTS = [(0.0, 1.0), (0.1, 0.4), (0.3, 0.7), (0.45, 0.55), (0.6, 0.95), (0.2, 1.0)]


def scenario(expected: Path) -> str:
    return expected.name.removesuffix(".expected.json")


def cel_rows(expected: Path) -> list[CelRow]:
    return list(read_cel_csv(expected.with_name(scenario(expected) + ".cel.csv")))


def shutdown_of(expected: Path, rows: list[CelRow]) -> datetime | None:
    """j_core_restart: the PBX went away after its last CEL row (its restart)."""
    return max(r.eventtime for r in rows) if scenario(expected) == "j_core_restart" else None


def track(items: Iterable[Item]) -> list[dict[str, Any]]:
    tracker = make_tracker("pbx4", Settings())
    ended: list[dict[str, Any]] = []
    for kind, payload, at in items:
        ended += [call_json(f.call) for f in apply_entry(tracker, kind, payload, at)
                  if isinstance(f, CallEnded)]
    assert not tracker.open_calls
    return ended


@pytest.mark.parametrize("expected", REAL3, ids=scenario)
def test_cel_alone_gives_the_captures_calls(expected: Path) -> None:
    rows = cel_rows(expected)
    frames = frames_from_cel(rows, shutdown_at=shutdown_of(expected, rows))
    check_calls(track(("frame", f, t) for f, t in frames), expected_calls(expected))


async def _entries(items: list[Item]) -> AsyncIterator[Item]:
    for item in items:
        yield item


def _pbx_time(items: list[Item]) -> datetime | None:
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
    since = _pbx_time([i for i in before if "Timestamp" in i[1]][-1:]) or datetime.fromtimestamp(
        lost_at, UTC)
    until = _pbx_time([i for i in after if "Timestamp" in i[1]][:1]) or back
    seen: dict[str, datetime] = {}
    for _, frame, _ in after:
        lid = frame.get("Linkedid")
        lid = lid[0] if isinstance(lid, list) else lid  # a UserEvent body may repeat it
        if "Timestamp" in frame and lid:
            seen.setdefault(lid, datetime.fromtimestamp(float(frame["Timestamp"]), UTC))
    outage = OutageCel(back, since, until, rows,
                       shutdown_of(expected, rows) if hi == 1.0 else None, seen)
    return track([item async for item in with_outages(_entries(journal), [outage])])


@pytest.mark.parametrize("cut", CUTS, ids=lambda c: f"{c[0]:.2f}-{c[1]:.2f}")
@pytest.mark.parametrize("expected", REAL3, ids=scenario)
async def test_capture_cut_and_filled_from_cel_gives_its_calls(expected: Path,
                                                                cut: tuple[float, float]) -> None:
    check_calls(await cut_and_fill(expected, *cut), expected_calls(expected))


def test_rows_outside_the_window_only_teach_and_are_not_replayed() -> None:
    """The translator uses the rows before the window (who rang whom) without emitting them."""
    expected = TRACES / "real3" / "b_first_agent_no_answer.expected.json"
    rows = cel_rows(expected)
    answer = next(r for r in rows if r.eventtype == "ANSWER" and "agent1001" in r.channame)
    frames = frames_from_cel(rows, since=answer.eventtime.replace(microsecond=0))
    assert {f["Event"] for f, _ in frames} >= {"DialEnd", "Hangup"}
    assert "AgentCalled" not in {f["Event"] for f, _ in frames}
    [answered] = [f for f, _ in frames if f["Event"] == "DialEnd"]
    assert answered["DialStatus"] == "ANSWER" and answered["Channel"] == "PJSIP/trunk-00000004"


def test_a_restart_is_told_by_the_shutdown_time_not_by_cause_zero_alone() -> None:
    """Without knowing that the PBX went away, cause-0 hang-ups are ordinary ones."""
    expected = TRACES / "real3" / "j_core_restart.expected.json"
    rows = cel_rows(expected)
    plain = track(("frame", f, t) for f, t in frames_from_cel(rows))
    assert {c["disposition"] for c in plain} != {"failed"}
    shut = track(("frame", f, t) for f, t in frames_from_cel(rows, shutdown_at=max(
        r.eventtime for r in rows)))
    assert {c["disposition"] for c in shut} == {"failed"}
    assert all(c["incomplete_reason"] for c in shut)


@pytest.mark.parametrize("row", [
    {"id": "1", "eventtype": "", "eventtime": "2026-12-07 00:00:00"},
    {"id": "1", "eventtype": "HANGUP", "eventtime": "yesterday"},
    {"id": "1", "eventtype": "HANGUP", "eventtime": None},
])
def test_unreadable_cel_rows_are_refused_with_a_reason(row: dict[str, Any]) -> None:
    with pytest.raises(CelRowError):
        CelRow.from_mapping(row)


def test_odd_extra_is_read_as_empty() -> None:
    row = CelRow.from_mapping({"id": "7", "eventtype": "HANGUP",
                               "eventtime": "2026-12-07 00:00:00.5", "extra": "{not json"})
    assert row.extra == {} and row.eventtime.tzinfo is UTC
